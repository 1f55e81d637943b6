/** Every policy of the pack, in the order the pack reports them. */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { emqxPortsFromTheirPeers } from "./emqx-ports-from-their-peers.ts";
import { kmsKeysRotate } from "./kms-keys-rotate.ts";
import { noCidrIngressToEmqxMqtt } from "./no-cidr-ingress-to-emqx-mqtt.ts";
import { noDataReadsOnEverything } from "./no-data-reads-on-everything.ts";
import { noPublicIpOnHosts } from "./no-public-ip-on-hosts.ts";
import { noSecretsInUserData } from "./no-secrets-in-user-data.ts";
import { noWorldIngress } from "./no-world-ingress.ts";
import { worldIngressOnlyOnTheNlb } from "./world-ingress-only-on-the-nlb.ts";

/** The per-resource policies. */
export const resourcePolicies: ResourceValidationPolicy[] = [
    noWorldIngress,
    noCidrIngressToEmqxMqtt,
    noSecretsInUserData,
    noPublicIpOnHosts,
    noDataReadsOnEverything,
    kmsKeysRotate,
];

/** The policies over the whole stack (they need to know which group is which). */
export const stackPolicies: StackValidationPolicy[] = [
    worldIngressOnlyOnTheNlb,
    emqxPortsFromTheirPeers,
];

/** The policies `index.ts` hands to the PolicyPack. */
export const allPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    ...resourcePolicies,
    ...stackPolicies,
];
