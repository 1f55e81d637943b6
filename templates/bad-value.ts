/**
 * A bad value as a one-line error shows it: strings quoted (so a newline reads `\n`), numbers as
 * they are (NaN, Infinity included), anything else as JSON or, failing that, its type.
 */
export function showBadValue(
    value: unknown,
    quote: (text: string) => string = JSON.stringify,
): string {
    if (typeof value === "number") return String(value);
    if (typeof value === "string") return quote(value);
    if (value === undefined) return "undefined";
    try {
        return JSON.stringify(value) ?? typeof value;
    } catch {
        return typeof value;
    }
}
