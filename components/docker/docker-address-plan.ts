/**
 * Addresses on the Docker network. HAProxy needs a fixed IPv4 address because EMQX admits PROXY v2
 * connections only from it (listeners.tcp.default.access_rules; EMQX trusts the CN in the header
 * without checking the sender, shared/reference/facts-emqx-haproxy.md §0.3). Docker hands out
 * dynamic addresses from the network's ip_range; a fixed address outside that range can never be
 * given to another container first, so the plan puts the gateway and HAProxy at the start of the
 * subnet and lets Docker allocate only from its upper half.
 */
import { CONFIG_NAMESPACE, ConfigError } from "../../infra/config.ts";

/** The addresses the Docker network and its containers use. */
export interface DockerAddressPlan {
    /** The network's subnet, e.g. `172.30.83.0/24`. */
    readonly subnet: string;
    /** The bridge's gateway: the subnet's first address. */
    readonly gateway: string;
    /** HAProxy's fixed address: the subnet's second address, outside `dynamicRange`. */
    readonly haproxyAddress: string;
    /** Where Docker allocates every other container's address: the upper half of the subnet. */
    readonly dynamicRange: string;
}

const minPrefix = 16;
const maxPrefix = 24;

function toNumber(address: string): number {
    return address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

function toAddress(value: number): string {
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function isPrivate(value: number): boolean {
    const inside = (network: string, prefix: number) =>
        Math.floor(value / 2 ** (32 - prefix)) ===
        Math.floor(toNumber(network) / 2 ** (32 - prefix));
    // RFC 1918: the network must not shadow a public route on the host.
    return inside("10.0.0.0", 8) || inside("172.16.0.0", 12) || inside("192.168.0.0", 16);
}

/** Plans the addresses; throws a one-line ConfigError naming `docker.subnet` for a bad subnet. */
export function planDockerAddresses(subnet: string): DockerAddressPlan {
    const allowed = `must be a private (RFC 1918) IPv4 network with prefix ${minPrefix}-${maxPrefix} and no host bits set, e.g. 172.30.83.0/24`;
    const fail = (): never => {
        throw new ConfigError(
            `${CONFIG_NAMESPACE}:docker.subnet = ${JSON.stringify(subnet) ?? String(subnet)}: ${allowed}`,
        );
    };
    const match =
        typeof subnet === "string" ? /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(subnet) : null;
    if (match === null) return fail();
    const [, address = "", prefixText = ""] = match;
    const octets = address.split(".");
    if (octets.some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith("0")))) fail();
    const prefix = Number(prefixText);
    if (prefix < minPrefix || prefix > maxPrefix) fail();
    const base = toNumber(address);
    const size = 2 ** (32 - prefix);
    if (base % size !== 0 || !isPrivate(base)) fail();
    return {
        subnet: `${address}/${prefix}`,
        gateway: toAddress(base + 1),
        haproxyAddress: toAddress(base + 2),
        dynamicRange: `${toAddress(base + size / 2)}/${prefix + 1}`,
    };
}
