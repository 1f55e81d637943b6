/**
 * Quoting for values that land in the bash user-data and host scripts we render. Everything we
 * interpolate is validated first; quoting is the second fence, not the only one.
 */

/** Single-quotes `value` for bash: `it's` becomes `'it'\''s'`. */
export function shellQuote(value: string): string {
    return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Throws when `value` cannot be written unquoted into a whitespace-separated manifest line or a
 * systemd `Environment=` assignment: no whitespace, quotes, backslashes or control characters.
 */
export function requirePlainToken(key: string, value: string): string {
    if (value.length === 0 || !/^[A-Za-z0-9@%+=:,./_-]+$/.test(value)) {
        throw new Error(
            `${key}: ${JSON.stringify(value)} is not allowed; use letters, digits and @%+=:,./_- only`,
        );
    }
    return value;
}

/** Throws unless `value` is an absolute path made of plain characters (no `..` segments). */
export function requireAbsolutePath(key: string, value: string): string {
    requirePlainToken(key, value);
    if (!value.startsWith("/") || value.split("/").includes("..")) {
        throw new Error(
            `${key}: ${JSON.stringify(value)} is not allowed; it must be an absolute path without ".."`,
        );
    }
    return value;
}

/** Throws unless `value` is a whole number between `min` and `max`. */
export function requireInteger(key: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(
            `${key}: ${value} is not allowed; it must be a whole number from ${min} to ${max}`,
        );
    }
    return value;
}
