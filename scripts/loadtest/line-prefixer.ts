/**
 * The Automation API hands CLI output over in chunks that can split a line; progress is only
 * readable when each whole line carries the stack and step it belongs to.
 */
export interface LinePrefixer {
    /** Takes a chunk; writes each completed line with the prefix. */
    readonly write: (chunk: string) => void;
    /** Writes a trailing partial line, if any. */
    readonly flush: () => void;
}

export function prefixLines(prefix: string, writeLine: (line: string) => void): LinePrefixer {
    let pending = "";
    return {
        write(chunk) {
            const lines = (pending + chunk).split(/\r?\n/);
            pending = lines.pop() ?? "";
            for (const line of lines) if (line.trim() !== "") writeLine(`${prefix}${line}`);
        },
        flush() {
            if (pending.trim() !== "") writeLine(`${prefix}${pending}`);
            pending = "";
        },
    };
}
