/**
 * A small HOCON writer for the files EMQX reads. It writes only what EMQX's own scanner is known to
 * read back unchanged, and throws on anything else instead of guessing:
 * - every string is double-quoted; inside quotes the scanner accepts any character but `"` and line
 *   breaks, and unescapes `\\` and `\"` (emqx/hocon src/hocon_scanner.xrl, `Char`, `unesc/1`), so
 *   those two are escaped and every control or non-ASCII character is refused (its README lists
 *   "No unicode support"). A quoted `${...}` or `#` stays literal text.
 * - numbers are integers; keys are fixed lower-case words chosen by our renderers, never user input.
 * Values stay on their own `key = value` line; EMQX's HOCON joins a bare value that follows a line
 * break to the previous one (README "Newlines do not prevent concatenation"), which a writer that
 * always pairs a key with one quoted value cannot trigger.
 */

/** A value this writer can render. `undefined` leaves the key out. */
export type HoconValue = string | number | boolean | readonly string[] | HoconObject | undefined;

/** A HOCON object: keys in the order they are written. */
export interface HoconObject {
    /** Each key is one path segment in lower snake case (`proxy_protocol`, `default`). */
    readonly [key: string]: HoconValue;
}

/** JSON-quotes a string with every non-ASCII character escaped, so an error stays on one line. */
export function quoteOneLine(value: string): string {
    return JSON.stringify(value).replace(
        /[^\x20-\x7e]/g,
        (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
}

const keyPattern = /^[a-z][a-z0-9_]*$/;
/** Printable ASCII only: no line breaks, tabs, DEL, or anything the scanner may not round-trip. */
const printableAscii = /^[\x20-\x7e]*$/;

/** Quotes a string for HOCON. Throws if it holds a character EMQX's scanner cannot carry. */
export function hoconString(value: string): string {
    if (!printableAscii.test(value)) {
        throw new Error(
            `HOCON string ${quoteOneLine(value)} is not allowed; expected printable ASCII characters only`,
        );
    }
    return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function renderScalar(path: string, value: Exclude<HoconValue, HoconObject | undefined>): string {
    if (typeof value === "string") return hoconString(value);
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "number") {
        if (!Number.isSafeInteger(value)) {
            throw new Error(
                `HOCON value ${path} = ${value} is not allowed; expected a safe integer`,
            );
        }
        return String(value);
    }
    return `[${value.map((item) => hoconString(item)).join(", ")}]`;
}

function isObject(value: HoconValue): value is HoconObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function renderLines(object: HoconObject, depth: number, parentPath: string): string[] {
    const indent = "    ".repeat(depth);
    const lines: string[] = [];
    for (const [key, value] of Object.entries(object)) {
        const path = parentPath === "" ? key : `${parentPath}.${key}`;
        if (!keyPattern.test(key)) {
            throw new Error(
                `HOCON key ${quoteOneLine(path)} is not allowed; expected [a-z][a-z0-9_]*`,
            );
        }
        if (value === undefined) continue;
        if (isObject(value)) {
            lines.push(`${indent}${key} {`, ...renderLines(value, depth + 1, path), `${indent}}`);
        } else {
            lines.push(`${indent}${key} = ${renderScalar(path, value)}`);
        }
    }
    return lines;
}

/** Renders a HOCON document: one `key = value` per line, objects as indented `key { ... }` blocks. */
export function renderHoconDocument(root: HoconObject): string {
    return `${renderLines(root, 0, "").join("\n")}\n`;
}
