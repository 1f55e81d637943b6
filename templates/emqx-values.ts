/**
 * Checks for every value that lands in emqx.conf (or in the secrets environment file). Each value is
 * held to the narrowest form EMQX accepts for that key, so nothing a caller passes can end a line,
 * open a block or start a substitution, whatever the quoting does. Each check throws a one-line
 * Error naming the spec field, the bad value and what is allowed; secret values are never shown.
 */

import { showBadValue } from "./bad-value.ts";
import { quoteOneLine } from "./hocon.ts";

const show = (value: unknown): string => showBadValue(value, quoteOneLine);

function fail(field: string, value: unknown, allowed: string): never {
    throw new Error(`emqx spec: ${field} = ${show(value)} is not allowed; expected ${allowed}`);
}

/** Like `fail`, but says only how long the value was: secrets must not reach logs. */
function failSecret(field: string, value: unknown, allowed: string): never {
    const shape =
        typeof value === "string" ? `<redacted, ${value.length} characters>` : typeof value;
    throw new Error(`emqx spec: ${field} = ${shape} is not allowed; expected ${allowed}`);
}

/** An integer within [min, max]. */
export function checkInteger(field: string, value: unknown, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        fail(field, value, `an integer from ${min} to ${max}`);
    }
    return value;
}

/** A boolean. */
export function checkBoolean(field: string, value: unknown): boolean {
    if (typeof value !== "boolean") fail(field, value, "true or false");
    return value;
}

/** One of a fixed set of words. */
export function checkOneOf<T extends string>(
    field: string,
    value: unknown,
    allowed: readonly T[],
): T {
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
        fail(field, value, `one of ${allowed.join(", ")}`);
    }
    return value as T;
}

const ipv4Pattern = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a dotted IPv4 address without leading zeros. */
export function isIpv4(value: string): boolean {
    return ipv4Pattern.test(value);
}

function ipv4ToNumber(address: string): number {
    return address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
}

/** `<IPv4>:<port>`, as EMQX's `ip_port()` type reads it. */
export function checkBind(field: string, value: unknown): { address: string; port: number } {
    const allowed = "<IPv4 address>:<port 1-65535>, e.g. 0.0.0.0:1883";
    if (typeof value !== "string") fail(field, value, allowed);
    const match = /^([0-9.]+):(\d{1,5})$/.exec(value);
    const address = match?.[1];
    const port = Number(match?.[2]);
    if (address === undefined || !isIpv4(address) || !(port >= 1 && port <= 65_535)) {
        fail(field, value, allowed);
    }
    return { address, port };
}

/**
 * An IPv4 address or network in CIDR form, written back as a network (`/32` added to a bare
 * address). EMQX splits each access rule on spaces and hands the second word to esockd_cidr
 * (emqx_schema.erl@v5.8.9 `is_invalid_rule/1`); a network with host bits set is refused here so the
 * rule means exactly what it says.
 */
export function checkIpv4Network(field: string, value: unknown): string {
    const allowed =
        "an IPv4 address or network such as 10.0.1.10 or 10.0.0.0/16 (prefix 1-32, no host bits set)";
    if (typeof value !== "string") fail(field, value, allowed);
    const [address = "", prefixText = "32", extra] = value.split("/");
    const prefix = Number(prefixText);
    if (
        extra !== undefined ||
        !isIpv4(address) ||
        !/^\d{1,2}$/.test(prefixText) ||
        prefix < 1 ||
        prefix > 32
    ) {
        fail(field, value, allowed);
    }
    const hostBits = 2 ** (32 - prefix);
    if (ipv4ToNumber(address) % hostBits !== 0) fail(field, value, allowed);
    return `${address}/${prefix}`;
}

const dnsLabel = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const hostnamePattern = new RegExp(`^${dnsLabel}(?:\\.${dnsLabel})*$`);

/** A DNS host name (letters, digits, hyphens, dots; at most 253 characters). */
export function checkHostname(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length > 253 || !hostnamePattern.test(value)) {
        fail(
            field,
            value,
            "a DNS name such as emqx.edge.internal (labels of letters, digits, '-')",
        );
    }
    return value;
}

const dnsQueryLabel = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?";
const dnsQueryPattern = new RegExp(`^${dnsQueryLabel}(?:\\.${dnsQueryLabel})*$`);

/** A DNS name to look records up by: a host name, or an SRV owner name like _emqx._tcp.example. */
export function checkDnsQueryName(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length > 253 || !dnsQueryPattern.test(value)) {
        fail(
            field,
            value,
            "a DNS name such as emqx.edge.internal or _emqx._tcp.edge.internal (letters, digits, '-', '_')",
        );
    }
    return value;
}

/**
 * An Erlang long node name `<short>@<host>`: EMQX starts a long-named node when the name has an `@`
 * (bin/emqx@v5.8.9). The short part must not end in a digit: the distribution port is 4370 plus
 * those digits (ekka_dist.erl `offset/0`), and the security groups open 4370 only.
 */
export function checkNodeName(field: string, value: unknown): { short: string; host: string } {
    const allowed =
        "<short>@<DNS name or IPv4>, short part of letters, digits, '_' or '-' not ending in a digit, e.g. emqx@emqx-1.edge.internal";
    if (typeof value !== "string" || value.length > 255) fail(field, value, allowed);
    const [short = "", host = "", extra] = value.split("@");
    if (extra !== undefined || !/^[A-Za-z0-9_-]*[A-Za-z_-]$/.test(short)) {
        fail(field, value, allowed);
    }
    if (!isIpv4(host) && !hostnamePattern.test(host)) fail(field, value, allowed);
    return { short, host };
}

/** An absolute POSIX path of plain characters, without `.`/`..` segments or doubled slashes. */
export function checkAbsolutePath(field: string, value: unknown): string {
    const allowed =
        "an absolute path of letters, digits, '.', '_', '-' and '/', e.g. /var/lib/emqx";
    if (typeof value !== "string" || !/^(\/[A-Za-z0-9._-]+)+$/.test(value)) {
        fail(field, value, allowed);
    }
    if (value.split("/").some((segment) => segment === "." || segment === "..")) {
        fail(field, value, allowed);
    }
    return value;
}

/** A lower-case Erlang atom name, as `cluster.name` is read (`atom()` in emqx_conf_schema.erl). */
export function checkAtomName(field: string, value: unknown): string {
    if (typeof value !== "string" || !/^[a-z][a-z0-9_]{0,63}$/.test(value)) {
        fail(
            field,
            value,
            "a lower-case name of 1-64 letters, digits or '_' starting with a letter",
        );
    }
    return value;
}

/**
 * A duration with an explicit unit, in milliseconds. EMQX reads a bare number as milliseconds
 * (shared/reference/facts-emqx-haproxy.md §0.8), so a unit is required.
 */
export function checkDurationMs(
    field: string,
    value: unknown,
    minMs: number,
    maxMs: number,
): number {
    const allowed = `a whole number with unit ms or s, from ${minMs}ms to ${maxMs}ms, e.g. "3s"`;
    if (typeof value !== "string") fail(field, value, allowed);
    const match = /^(\d{1,9})(ms|s)$/.exec(value);
    if (match === null) fail(field, value, allowed);
    const ms = Number(match[1]) * (match[2] === "s" ? 1000 : 1);
    if (ms < minMs || ms > maxMs) fail(field, value, allowed);
    return ms;
}

/** An EMQX release number `major.minor.patch`, 5.x or 6.x (the lines this renderer knows). */
export function checkVersion(
    field: string,
    value: unknown,
): { major: number; minor: number; patch: number } {
    const allowed = 'an EMQX release such as "5.8.9" (major 5 or 6)';
    if (typeof value !== "string") fail(field, value, allowed);
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
    if (match === null) fail(field, value, allowed);
    const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (major !== 5 && major !== 6) fail(field, value, allowed);
    return { major, minor, patch };
}

/**
 * A secret token (Erlang cookie, dashboard password): 16-128 letters, digits or '_', starting with a
 * letter. That form means the same thing everywhere it travels: raw in `-setcookie` (bin/emqx uses
 * $EMQX_NODE__COOKIE as is), and as an unquoted HOCON string when EMQX parses an EMQX_* variable
 * (hocon_tconf `read_hocon_val/2` parses the value as HOCON before falling back to raw text).
 */
export function checkSecretToken(
    field: string,
    value: unknown,
    forbidden: readonly string[],
): string {
    const allowed = "16-128 letters, digits or '_' starting with a letter, not a shipped default";
    if (typeof value !== "string" || !/^[A-Za-z][A-Za-z0-9_]{15,127}$/.test(value)) {
        failSecret(field, value, allowed);
    }
    if (forbidden.includes(value)) failSecret(field, value, allowed);
    return value;
}

/** An EMQX license key: base64 text with '.' separators, as EMQX issues it. */
export function checkLicenseKey(field: string, value: unknown): string {
    if (typeof value !== "string" || !/^[A-Za-z0-9+/=.]{16,8192}$/.test(value)) {
        failSecret(field, value, "an EMQX license key (16-8192 characters of base64 and '.')");
    }
    return value;
}

/** Throws a one-line error for a rule that ties several fields together. */
export function failCombination(message: string): never {
    throw new Error(`emqx spec: ${message}`);
}
