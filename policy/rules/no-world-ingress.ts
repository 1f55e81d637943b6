/**
 * No ingress from 0.0.0.0/0 or ::/0, except TCP on the device port(s), which the edge NLB must
 * open to devices anywhere. A rule for "all protocols" or a port range that merely contains the
 * device port is still a violation: it opens more than the device port.
 */
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import { describePorts, ingressPermissions, isWorldCidr } from "./ingress-permissions.ts";

/** Configuration of the rule. */
export interface NoWorldIngressConfig {
    /** TCP ports that may be open to the world (the device port of the NLB); default [8883]. */
    worldOpenTcpPorts?: number[];
}

/** The validation, exported for unit tests. */
export function validateNoWorldIngress(
    args: ResourceValidationArgs,
    report: ReportViolation,
): void {
    const allowed = args.getConfig<NoWorldIngressConfig>().worldOpenTcpPorts ?? [8883];
    for (const permission of ingressPermissions(args.type, args.props)) {
        const isAllowedDevicePort =
            ["tcp", "6"].includes(permission.protocol.toLowerCase()) &&
            permission.fromPort === permission.toPort &&
            allowed.includes(permission.fromPort);
        if (permission.unknown.length > 0 && !isAllowedDevicePort) {
            report(
                `${args.name} ${permission.where}: ${permission.unknown.join(", ")} not known at preview, so it may open ${describePorts(permission)} to the world; give a literal value`,
            );
            continue;
        }
        const world = permission.cidrs.filter(isWorldCidr);
        if (world.length === 0) {
            continue;
        }
        if (!isAllowedDevicePort) {
            report(
                `${args.name} ${permission.where}: opens ${describePorts(permission)} to ${world.join(", ")}; only TCP ${allowed.join(", ")} (the device port) may be open to the world`,
            );
        }
    }
}

/** Policy: no world ingress except the device port at the edge. */
export const noWorldIngress: ResourceValidationPolicy = {
    name: "no-world-ingress-except-device-port",
    description:
        "Security groups admit 0.0.0.0/0 or ::/0 only on the device port (TCP) of the edge NLB.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            worldOpenTcpPorts: {
                type: "array",
                items: { type: "integer", minimum: 1, maximum: 65535 },
                default: [8883],
            },
        },
    },
    validateResource: validateNoWorldIngress,
};
