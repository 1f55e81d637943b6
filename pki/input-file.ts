/**
 * Reading files named on the command line, with errors that say which flag named them.
 */
import { readFileSync } from "node:fs";
import { PkiInputError, quoteValue } from "./input-error.ts";

/**
 * The text of `path` (`-` reads stdin when `allowStdin`); a missing or unreadable file is a
 * one-line {@link PkiInputError} naming `flag`.
 */
export function readInputFile(flag: string, path: string, allowStdin = false): string {
    try {
        return readFileSync(allowStdin && path === "-" ? 0 : path, "utf8");
    } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
        throw new PkiInputError(
            `${flag} ${quoteValue(path)}: cannot read file (${code}); allowed: a readable file${allowStdin ? ' or "-" for stdin' : ""}`,
        );
    }
}
