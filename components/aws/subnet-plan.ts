/**
 * How the VPC's address space is cut into subnets: 32 equal blocks; public subnets in blocks 0-7,
 * proxy subnets (HAProxy only) in 8-15, private subnets (EMQX, SSM endpoints) in 16-23, one of
 * each per availability zone; 24-31 stay free. HAProxy gets subnets of its own because EMQX
 * trusts the device identity in a PROXY v2 header from whoever sends it: its access_rules admit
 * exactly the proxy subnets, which nothing but HAProxy uses.
 */

/** The three CIDRs of one zone. */
export interface ZoneSubnetCidrs {
    /** CIDR of the zone's public subnet (NLB nodes, NAT gateway). */
    publicCidr: string;
    /** CIDR of the zone's proxy subnet (HAProxy hosts, and nothing else). */
    proxyCidr: string;
    /** CIDR of the zone's private subnet (EMQX hosts, SSM endpoints). */
    privateCidr: string;
}

const MAX_ZONES = 8;

/** Splits `vpcCidr` (a /16 to /22 IPv4 block) into a public, a proxy and a private subnet per zone. */
export function planSubnets(vpcCidr: string, zoneCount: number): ZoneSubnetCidrs[] {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(vpcCidr);
    const octets = match?.slice(1, 5).map(Number) ?? [];
    const prefix = Number(match?.[5]);
    if (!match || octets.some((o) => o > 255) || prefix < 16 || prefix > 22) {
        throw new Error(
            `vpcCidr: ${JSON.stringify(vpcCidr)} is not allowed; use an IPv4 CIDR from /16 to /22, e.g. 10.40.0.0/16`,
        );
    }
    if (!Number.isInteger(zoneCount) || zoneCount < 2 || zoneCount > MAX_ZONES) {
        throw new Error(
            `availabilityZones: ${zoneCount} zones is not allowed; use 2 to ${MAX_ZONES}`,
        );
    }
    const base = octets.reduce((acc, o) => acc * 256 + o, 0) >>> 0;
    const hostBits = 32 - prefix;
    if (base % 2 ** hostBits !== 0) {
        throw new Error(
            `vpcCidr: ${JSON.stringify(vpcCidr)} is not allowed; the address must be the start of the block`,
        );
    }
    const subnetPrefix = prefix + 5;
    const blockSize = 2 ** (32 - subnetPrefix);
    const cidrAt = (index: number): string => {
        const address = base + index * blockSize;
        const parts = [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256);
        return `${parts.join(".")}/${subnetPrefix}`;
    };
    return Array.from({ length: zoneCount }, (_, zone) => ({
        publicCidr: cidrAt(zone),
        proxyCidr: cidrAt(MAX_ZONES + zone),
        privateCidr: cidrAt(2 * MAX_ZONES + zone),
    }));
}
