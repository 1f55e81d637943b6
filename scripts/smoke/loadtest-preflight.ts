/**
 * The smoke checks as `npm run loadtest` runs them on a fresh stack before its command: a load
 * test against an edge that refuses good devices, or admits bad ones, measures nothing useful.
 */
import { runSmokeChecks } from "./smoke-checks.ts";
import { smokeLines, smokePassed, smokeSummary } from "./smoke-report.ts";
import { smokeTargetFromOutputs } from "./stack-target.ts";

/** Runs every check against the stack's outputs; writes one line each; true when all passed. */
export async function smokePreflight(
    outputs: Readonly<Record<string, { value: unknown }>>,
    write: (line: string) => void,
): Promise<boolean> {
    const values = Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.value]));
    const results = await runSmokeChecks(await smokeTargetFromOutputs(values, "stack outputs"));
    for (const line of smokeLines(results)) write(`smoke: ${line}`);
    write(smokeSummary(results));
    return smokePassed(results);
}
