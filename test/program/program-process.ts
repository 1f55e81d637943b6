/** Runs test/program/run-program.ts in its own process (a Pulumi program evaluates once per process). */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ProgramRun } from "./run-program.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;

/** Runs a committed stack under mocks, with `<key.path>=<json>` overrides. */
export async function runProgram(stack: string, overrides: string[] = []): Promise<ProgramRun> {
    const { stdout } = await run(
        process.execPath,
        [join(projectDir, "test/program/run-program.ts"), stack, ...overrides],
        { maxBuffer: 256 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as ProgramRun;
}
