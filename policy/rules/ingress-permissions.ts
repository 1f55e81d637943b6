/**
 * Reads ingress permissions out of the three resource types that can open a security group, so
 * every rule judges them alike (facts-pulumi.md §9: a rule that checks one type misses the others).
 *
 * A value not known at preview (an output of a resource not yet created) is not skipped: the
 * policy server turns a read of it into an UnknownValueError, which @pulumi/policy would report as
 * an advisory "can't run during preview" (server.js), letting the rule pass silently. Every read
 * here catches it and lists the field in `unknown`, so the rules can refuse what they cannot see.
 */
import { UnknownValueError } from "@pulumi/policy";

/** One ingress permission: protocol, port range and the CIDRs it admits. */
export interface IngressPermission {
    /** Protocol as written: `tcp`, `udp`, `icmp`, `-1`/`all`, or a protocol number. */
    protocol: string;
    /** First port, 0 when the protocol covers all ports. */
    fromPort: number;
    /** Last port, 65535 when the protocol covers all ports. */
    toPort: number;
    /** IPv4 and IPv6 CIDRs admitted (security-group peers are not CIDRs and are not listed). */
    cidrs: string[];
    /** Where in the resource it was found, for messages: `ingress[2]` or `rule`. */
    where: string;
    /** Fields not known at preview (ports, protocol or sources), e.g. `cidrIpv4`. */
    unknown: string[];
}

/** The value of `object[key]`, or `unknown` when the engine does not know it yet. */
export function readField(object: unknown, key: string): unknown {
    try {
        return (object as Record<string, unknown> | undefined)?.[key];
    } catch (error) {
        if (error instanceof UnknownValueError) return UNKNOWN;
        throw error;
    }
}

/** Stands for a value not known at preview. */
export const UNKNOWN: unique symbol = Symbol("unknown at preview");

/** Resource types that carry ingress permissions. */
export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const SECURITY_GROUP_INGRESS_RULE =
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

/** The ingress permissions of a resource; empty for other types and for egress rules. */
export function ingressPermissions(
    type: string,
    props: Record<string, unknown>,
): IngressPermission[] {
    const field = (object: unknown, key: string, unknown: string[], prefix = ""): unknown => {
        const value = readField(object, key);
        if (value === UNKNOWN) unknown.push(`${prefix}${key}`);
        return value === UNKNOWN ? undefined : value;
    };
    switch (type) {
        case SECURITY_GROUP: {
            const top: string[] = [];
            const ingress = field(props, "ingress", top);
            if (top.length > 0) {
                return [
                    {
                        protocol: "-1",
                        fromPort: 0,
                        toPort: 65_535,
                        cidrs: [],
                        where: "ingress",
                        unknown: top,
                    },
                ];
            }
            const entries = Array.isArray(ingress) ? ingress : [];
            return entries.map((entry: unknown, index: number) => {
                const unknown: string[] = [];
                const where = `ingress[${index}]`;
                return permission(
                    field(entry, "protocol", unknown, `${where}.`),
                    field(entry, "fromPort", unknown, `${where}.`),
                    field(entry, "toPort", unknown, `${where}.`),
                    [
                        ...strings(
                            field(entry, "cidrBlocks", unknown, `${where}.`),
                            unknown,
                            `${where}.cidrBlocks`,
                        ),
                        ...strings(
                            field(entry, "ipv6CidrBlocks", unknown, `${where}.`),
                            unknown,
                            `${where}.ipv6CidrBlocks`,
                        ),
                    ],
                    where,
                    unknown,
                );
            });
        }
        case SECURITY_GROUP_RULE: {
            const unknown: string[] = [];
            if (field(props, "type", unknown) !== "ingress" && unknown.length === 0) {
                return [];
            }
            return [
                permission(
                    field(props, "protocol", unknown),
                    field(props, "fromPort", unknown),
                    field(props, "toPort", unknown),
                    [
                        ...strings(field(props, "cidrBlocks", unknown), unknown, "cidrBlocks"),
                        ...strings(
                            field(props, "ipv6CidrBlocks", unknown),
                            unknown,
                            "ipv6CidrBlocks",
                        ),
                    ],
                    "rule",
                    unknown,
                ),
            ];
        }
        case SECURITY_GROUP_INGRESS_RULE: {
            const unknown: string[] = [];
            return [
                permission(
                    field(props, "ipProtocol", unknown),
                    field(props, "fromPort", unknown),
                    field(props, "toPort", unknown),
                    [
                        ...strings(field(props, "cidrIpv4", unknown), unknown, "cidrIpv4"),
                        ...strings(field(props, "cidrIpv6", unknown), unknown, "cidrIpv6"),
                    ],
                    "rule",
                    unknown,
                ),
            ];
        }
        default:
            return [];
    }
}

/** True when the permission's protocol covers every port (`-1`/`all`, as AWS treats them). */
export function coversAllPorts(permission: IngressPermission): boolean {
    return permission.fromPort === 0 && permission.toPort === 65_535;
}

/** True when `port` over TCP is admitted by the permission. */
export function admitsTcpPort(permission: IngressPermission, port: number): boolean {
    const tcp =
        isAllProtocols(permission.protocol) ||
        ["tcp", "6"].includes(permission.protocol.toLowerCase());
    return tcp && permission.fromPort <= port && port <= permission.toPort;
}

/** True for a CIDR that spans the whole address family: 0.0.0.0/0 or ::/0. */
export function isWorldCidr(cidr: string): boolean {
    return cidr.trim().endsWith("/0");
}

/** Human-readable port range for messages. */
export function describePorts(permission: IngressPermission): string {
    if (isAllProtocols(permission.protocol)) {
        return "all protocols and ports";
    }
    return permission.fromPort === permission.toPort
        ? `${permission.protocol} port ${permission.fromPort}`
        : `${permission.protocol} ports ${permission.fromPort}-${permission.toPort}`;
}

function isAllProtocols(protocol: string): boolean {
    return protocol === "-1" || protocol.toLowerCase() === "all";
}

function permission(
    protocol: unknown,
    fromPort: unknown,
    toPort: unknown,
    cidrs: string[],
    where: string,
    unknown: string[],
): IngressPermission {
    const name = String(protocol ?? "-1");
    // For "all protocols" AWS ignores the ports (they are -1 or absent): every port is open. A
    // port or protocol unknown at preview counts as every port too.
    const portsUnknown = unknown.some((f) => /(protocol|ipProtocol|fromPort|toPort)$/.test(f));
    if (
        portsUnknown ||
        isAllProtocols(name) ||
        fromPort === undefined ||
        fromPort === null ||
        Number(fromPort) < 0
    ) {
        return {
            protocol: portsUnknown ? "-1" : name,
            fromPort: 0,
            toPort: 65_535,
            cidrs,
            where,
            unknown,
        };
    }
    return {
        protocol: name,
        fromPort: Number(fromPort),
        toPort: toPort === undefined || toPort === null ? Number(fromPort) : Number(toPort),
        cidrs,
        where,
        unknown,
    };
}

/** The strings of a string or list field; an element unknown at preview is listed in `unknown`. */
function strings(value: unknown, unknown: string[], name: string): string[] {
    if (typeof value === "string") {
        return [value];
    }
    if (!Array.isArray(value)) return [];
    const found: string[] = [];
    for (let i = 0; i < value.length; i++) {
        const element = readField(value, String(i));
        if (element === UNKNOWN) unknown.push(`${name}[${i}]`);
        else if (typeof element === "string") found.push(element);
    }
    return found;
}
