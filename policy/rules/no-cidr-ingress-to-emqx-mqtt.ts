/**
 * EMQX's 1883 listener trusts the PROXY v2 header it receives, device CN included
 * (facts-emqx-haproxy.md §0.3): whoever reaches 1883 can claim any device identity. So 1883 may
 * only be opened to the HAProxy security group, never to a CIDR - not even a private one.
 */
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import { admitsTcpPort, describePorts, ingressPermissions } from "./ingress-permissions.ts";

/** Configuration of the rule. */
export interface NoCidrIngressToEmqxMqttConfig {
    /** EMQX's PROXY-protocol MQTT port; default 1883. */
    mqttPort?: number;
}

/** The validation, exported for unit tests. */
export function validateNoCidrIngressToEmqxMqtt(
    args: ResourceValidationArgs,
    report: ReportViolation,
): void {
    const port = args.getConfig<NoCidrIngressToEmqxMqttConfig>().mqttPort ?? 1883;
    for (const permission of ingressPermissions(args.type, args.props)) {
        if (permission.unknown.length > 0 && admitsTcpPort(permission, port)) {
            report(
                `${args.name} ${permission.where}: ${permission.unknown.join(", ")} not known at preview, so it may open ${port} to a CIDR; ${port} may only be reached from the HAProxy security group`,
            );
            continue;
        }
        if (permission.cidrs.length > 0 && admitsTcpPort(permission, port)) {
            report(
                `${args.name} ${permission.where}: opens ${describePorts(permission)} (includes ${port}) to ${permission.cidrs.join(", ")}; ${port} may only be reached from the HAProxy security group`,
            );
        }
    }
}

/** Policy: EMQX 1883 only from HAProxy's security group. */
export const noCidrIngressToEmqxMqtt: ResourceValidationPolicy = {
    name: "emqx-mqtt-only-from-haproxy",
    description:
        "No CIDR ingress that covers EMQX's PROXY-protocol port 1883; only the HAProxy security group may reach it.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { mqttPort: { type: "integer", minimum: 1, maximum: 65535, default: 1883 } },
    },
    validateResource: validateNoCidrIngressToEmqxMqtt,
};
