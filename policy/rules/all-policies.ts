/** Every policy of the pack, in the order the pack reports them. */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { noCidrIngressToEmqxMqtt } from "./no-cidr-ingress-to-emqx-mqtt.ts";
import { noPublicIpOnHosts } from "./no-public-ip-on-hosts.ts";
import { noSecretsInUserData } from "./no-secrets-in-user-data.ts";
import { noWorldIngress } from "./no-world-ingress.ts";

/** The policies `index.ts` hands to the PolicyPack. */
export const allPolicies: ResourceValidationPolicy[] = [
    noWorldIngress,
    noCidrIngressToEmqxMqtt,
    noSecretsInUserData,
    noPublicIpOnHosts,
];
