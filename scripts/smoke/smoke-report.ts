/**
 * How the smoke results are shown: one line per check for people and CI logs, or one JSON
 * document for other tools. Neither form carries a certificate or a key.
 */
import type { SmokeCheckResult } from "./smoke-checks.ts";

/** `PASS`, `FAIL` or `SKIP`, then the check name, then what was seen. */
export function smokeLines(results: readonly SmokeCheckResult[]): string[] {
    const width = Math.max(...results.map((r) => r.name.length));
    return results.map((r) => {
        const status = r.skipped ? "SKIP" : r.ok ? "PASS" : "FAIL";
        // One line per check, whatever a library put in an error message.
        return `${status}  ${r.name.padEnd(width)}  ${r.detail.replace(/\s+/g, " ")}`;
    });
}

/** The closing line: counts, and which checks failed. */
export function smokeSummary(results: readonly SmokeCheckResult[]): string {
    const failed = results.filter((r) => !r.ok).map((r) => r.name);
    const skipped = results.filter((r) => r.skipped).length;
    const counts = `${results.length} checks, ${results.length - failed.length - skipped} passed, ${skipped} skipped`;
    return failed.length === 0
        ? `smoke: OK (${counts})`
        : `smoke: FAILED ${failed.join(", ")} (${counts})`;
}

/** True when no check failed. */
export function smokePassed(results: readonly SmokeCheckResult[]): boolean {
    return results.every((r) => r.ok);
}

/** The JSON form: where it ran and every result with its timings. */
export function smokeJson(where: string, results: readonly SmokeCheckResult[]): string {
    return `${JSON.stringify({ target: where, passed: smokePassed(results), results }, null, 2)}\n`;
}
