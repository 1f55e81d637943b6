/**
 * An error in what an operator gave us (a flag, a file, a CN), as opposed to a bug or an I/O
 * failure. Its message is ONE line naming what is wrong, the offending value and what is
 * allowed; the CLIs print it as is and exit 2.
 */
export class PkiInputError extends Error {
    override name = "PkiInputError";
}

/**
 * Shows a value inside a one-line message: JSON string escaping, so a newline prints as `\n`,
 * a tab as `\t` and other control characters as `\u00XX`; long values are cut to keep the line
 * readable (the cut is marked with `...`).
 */
export function quoteValue(value: string, maxLength = 80): string {
    const shown = value.length > maxLength ? `${value.slice(0, maxLength)}...` : value;
    // JSON.stringify leaves U+2028/U+2029 and DEL as they are; escape them too so the message
    // stays on one visible line.
    return JSON.stringify(shown).replace(
        /[\u007f\u0080-\u009f\u2028\u2029]/g,
        (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
}
