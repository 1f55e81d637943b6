/**
 * Reads ingress permissions out of the three resource types that can open a security group, so
 * every rule judges them alike (facts-pulumi.md §9: a rule that checks one type misses the others).
 */

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
}

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
    switch (type) {
        case SECURITY_GROUP: {
            const ingress = Array.isArray(props.ingress) ? props.ingress : [];
            return ingress.map((entry: Record<string, unknown>, index: number) =>
                permission(
                    entry.protocol,
                    entry.fromPort,
                    entry.toPort,
                    [...strings(entry.cidrBlocks), ...strings(entry.ipv6CidrBlocks)],
                    `ingress[${index}]`,
                ),
            );
        }
        case SECURITY_GROUP_RULE:
            if (props.type !== "ingress") {
                return [];
            }
            return [
                permission(
                    props.protocol,
                    props.fromPort,
                    props.toPort,
                    [...strings(props.cidrBlocks), ...strings(props.ipv6CidrBlocks)],
                    "rule",
                ),
            ];
        case SECURITY_GROUP_INGRESS_RULE:
            return [
                permission(
                    props.ipProtocol,
                    props.fromPort,
                    props.toPort,
                    [...strings(props.cidrIpv4), ...strings(props.cidrIpv6)],
                    "rule",
                ),
            ];
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
): IngressPermission {
    const name = String(protocol ?? "-1");
    // For "all protocols" AWS ignores the ports (they are -1 or absent): every port is open.
    if (
        isAllProtocols(name) ||
        fromPort === undefined ||
        fromPort === null ||
        Number(fromPort) < 0
    ) {
        return { protocol: name, fromPort: 0, toPort: 65_535, cidrs, where };
    }
    return {
        protocol: name,
        fromPort: Number(fromPort),
        toPort: toPort === undefined || toPort === null ? Number(fromPort) : Number(toPort),
        cidrs,
        where,
    };
}

function strings(value: unknown): string[] {
    if (typeof value === "string") {
        return [value];
    }
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
