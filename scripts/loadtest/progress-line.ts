/**
 * One progress line on stderr while a scenario runs: rewritten in place on a terminal, printed
 * at most every 5 s otherwise (a CI log should not get a line per second for an hour).
 */

/** Where progress goes. */
export interface ProgressStream {
    /** True on a terminal. */
    readonly isTTY?: boolean;
    /** Writes text. */
    write(text: string): unknown;
}

/** Shows progress lines; `done()` ends the line in place so the next output starts clean. */
export function progressLine(stream: ProgressStream, everyMsWhenNotTty = 5_000) {
    let lastPrinted = -Infinity;
    let open = false;
    return {
        show(line: string): void {
            if (stream.isTTY) {
                stream.write(`\r\x1b[K${line}`);
                open = true;
                return;
            }
            const now = performance.now();
            if (now - lastPrinted < everyMsWhenNotTty) return;
            lastPrinted = now;
            stream.write(`${line}\n`);
        },
        done(): void {
            if (open) stream.write("\n");
            open = false;
        },
    };
}
