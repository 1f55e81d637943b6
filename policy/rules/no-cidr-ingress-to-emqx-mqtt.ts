/**
 * EMQX's 1883 listener trusts the PROXY v2 header it receives, device CN included
 * (facts-emqx-haproxy.md §0.3): whoever reaches 1883 can claim any device identity. So 1883 may
 * only be opened to the HAProxy security group, never to a CIDR - not even a private one. The
 * same holds for every further PROXY-protocol listener a stack sized for a large maxconn runs
 * (1884 up to 1898, capacity/backend-ports.ts): the rule watches the whole range.
 */
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import { EMQX_MQTT_LAST_PORT } from "../../capacity/backend-ports.ts";
import { admitsTcpPort, describePorts, ingressPermissions } from "./ingress-permissions.ts";

/** Configuration of the rule. */
export interface NoCidrIngressToEmqxMqttConfig {
    /** EMQX's first PROXY-protocol MQTT port; default 1883. */
    mqttPort?: number;
    /** EMQX's last PROXY-protocol MQTT port; default 1898 (at most 16 listeners per node). */
    mqttLastPort?: number;
}

/** The validation, exported for unit tests. */
export function validateNoCidrIngressToEmqxMqtt(
    args: ResourceValidationArgs,
    report: ReportViolation,
): void {
    const config = args.getConfig<NoCidrIngressToEmqxMqttConfig>();
    const first = config.mqttPort ?? 1883;
    const last = Math.max(first, config.mqttLastPort ?? EMQX_MQTT_LAST_PORT);
    for (const permission of ingressPermissions(args.type, args.props)) {
        const ports = Array.from({ length: last - first + 1 }, (_, i) => first + i);
        const port = ports.find((p) => admitsTcpPort(permission, p));
        if (port === undefined) continue;
        if (permission.unknown.length > 0) {
            report(
                `${args.name} ${permission.where}: ${permission.unknown.join(", ")} not known at preview, so it may open ${port} to a CIDR; ${port} may only be reached from the HAProxy security group`,
            );
            continue;
        }
        if (permission.cidrs.length > 0) {
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
        "No CIDR ingress that covers EMQX's PROXY-protocol ports (1883-1898); only the HAProxy security group may reach them.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            mqttPort: { type: "integer", minimum: 1, maximum: 65535, default: 1883 },
            mqttLastPort: {
                type: "integer",
                minimum: 1,
                maximum: 65535,
                default: EMQX_MQTT_LAST_PORT,
            },
        },
    },
    validateResource: validateNoCidrIngressToEmqxMqtt,
};
