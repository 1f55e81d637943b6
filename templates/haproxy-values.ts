/**
 * Checks for every value that lands in haproxy.cfg. HAProxy splits a line on spaces, treats `#` as
 * a comment, expands `$VAR` and `"${VAR}"`, unescapes `\` and quotes, and `{ }` open an anonymous
 * ACL; so a free-text value is held to a strict character set instead of being escaped. Each check
 * throws a one-line Error naming the spec field, the bad value and what is allowed.
 */

import { showBadValue } from "./bad-value.ts";

/** Largest HAProxy time value: timers are signed 32-bit milliseconds ("timer overflow" above). */
const maxHaproxyMilliseconds = 2_147_483_647;

const show = (value: unknown): string => showBadValue(value);

function fail(field: string, value: unknown, allowed: string): never {
    throw new Error(`haproxy spec: ${field} = ${show(value)} is not allowed; expected ${allowed}`);
}

/** An integer within [min, max]. */
export function checkInteger(field: string, value: unknown, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        fail(field, value, `an integer from ${min} to ${max}`);
    }
    return value;
}

/** A TCP port, 1-65535. */
export function checkPort(field: string, value: unknown): number {
    return checkInteger(field, value, 1, 65_535);
}

/** A duration in whole milliseconds, at least `min`. */
export function checkMilliseconds(field: string, value: unknown, min = 1): number {
    return checkInteger(field, value, min, maxHaproxyMilliseconds);
}

/** Writes milliseconds with the largest unit that keeps the value exact (HAProxy time format). */
export function formatMilliseconds(ms: number): string {
    const units: Array<[string, number]> = [
        ["d", 86_400_000],
        ["h", 3_600_000],
        ["m", 60_000],
        ["s", 1_000],
    ];
    for (const [suffix, size] of units) {
        if (ms !== 0 && ms % size === 0) return `${ms / size}${suffix}`;
    }
    return `${ms}ms`;
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

/** A boolean. */
export function checkBoolean(field: string, value: unknown): boolean {
    if (typeof value !== "boolean") fail(field, value, "true or false");
    return value;
}

/** Dotted IPv4, each part 0-255 without leading zeros. */
export const ipv4Pattern =
    /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A dotted IPv4 address. */
export function checkIpv4(field: string, value: unknown): string {
    if (typeof value !== "string" || !ipv4Pattern.test(value)) {
        fail(field, value, "a dotted IPv4 address such as 127.0.0.1 or 0.0.0.0");
    }
    return value;
}

const hostnameLabel = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const hostnamePattern = new RegExp(`^${hostnameLabel}(?:\\.${hostnameLabel})*\\.?$`);

/** A DNS host name (RFC 1123 labels) or a dotted IPv4 address. */
export function checkHost(field: string, value: unknown): string {
    if (
        typeof value !== "string" ||
        value.length > 253 ||
        !(ipv4Pattern.test(value) || hostnamePattern.test(value))
    ) {
        fail(field, value, "a DNS name (letters, digits, '-' and '.') or a dotted IPv4 address");
    }
    return value;
}

const absolutePathPattern = /^\/[A-Za-z0-9._\-/]*[A-Za-z0-9._-]$/;

/**
 * An absolute file path made of letters, digits, `.`, `_`, `-` and `/`, without `..` segments.
 * `maxLength` lets unix socket paths respect sun_path (107 bytes plus the terminating NUL).
 */
export function checkAbsolutePath(field: string, value: unknown, maxLength = 4096): string {
    if (
        typeof value !== "string" ||
        value.length > maxLength ||
        !absolutePathPattern.test(value) ||
        value.split("/").includes("..")
    ) {
        fail(
            field,
            value,
            `an absolute path of at most ${maxLength} characters from A-Z a-z 0-9 . _ - / without '..'`,
        );
    }
    return value;
}

const uriPathPattern = /^\/[A-Za-z0-9._~\-/]*$/;

/** An absolute URL path of unreserved characters, e.g. `/healthz`. */
export function checkUriPath(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length > 256 || !uriPathPattern.test(value)) {
        fail(field, value, "an absolute URL path from A-Z a-z 0-9 . _ ~ - / (e.g. /healthz)");
    }
    return value;
}

const identifierPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** A name HAProxy uses as an identifier (server names): letters, digits, `_`, `.`, `-`. */
export function checkIdentifier(field: string, value: unknown): string {
    if (typeof value !== "string" || !identifierPattern.test(value)) {
        fail(
            field,
            value,
            "1-63 characters from A-Z a-z 0-9 _ . - starting with a letter or digit",
        );
    }
    return value;
}

const systemAccountPattern = /^[a-z_][a-z0-9_-]{0,31}$/;

/** A POSIX-portable user or group name (useradd's default rule). */
export function checkSystemAccount(field: string, value: unknown): string {
    if (typeof value !== "string" || !systemAccountPattern.test(value)) {
        fail(field, value, "a user or group name: a-z or _ first, then up to 31 of a-z 0-9 _ -");
    }
    return value;
}

// Letters, digits, single inner spaces and the punctuation CA names use. Excluded on purpose:
// quotes and backslash (end or escape the quoted pattern), `#` (comment), `$` (variable
// expansion), `{ }` (ACL braces), control characters (line breaks) and everything non-ASCII.
const commonNamePattern = /^[A-Za-z0-9._:@()+,/=-]+( [A-Za-z0-9._:@()+,/=-]+)*$/;

/**
 * An X.509 common name that is written single-quoted into an ACL pattern. Inner single spaces are
 * allowed because CA names commonly have them ("Device Intermediate CA") and the quotes keep them
 * one word; leading, trailing or repeated spaces are not, since they would never match a CN.
 */
export function checkCommonName(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length > 64 || !commonNamePattern.test(value)) {
        fail(
            field,
            value,
            "1-64 characters from A-Z a-z 0-9 . _ : @ ( ) + , / = - with single inner spaces",
        );
    }
    return value;
}

/** A non-empty array with at most `max` entries. */
export function checkList(field: string, value: unknown, max: number): unknown[] {
    if (!Array.isArray(value) || value.length === 0 || value.length > max) {
        fail(field, value, `a list of 1 to ${max} entries`);
    }
    return value;
}

/** Rejects two list entries sharing a key (server names, bind ports). */
export function checkUnique(field: string, values: string[], what: string): void {
    const seen = new Set<string>();
    for (const value of values) {
        if (seen.has(value)) fail(field, value, `each ${what} to appear once`);
        seen.add(value);
    }
}

/** An object (not null, not an array), so that its fields can be read. */
export function checkObject(field: string, value: unknown): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail(field, value, "an object");
    }
    return value as Record<string, unknown>;
}

/** Throws the standard one-line error for a cross-field rule. */
export function failRule(field: string, value: unknown, allowed: string): never {
    fail(field, value, allowed);
}
