/**
 * Runs test/program/run-program.ts in a child process (a fresh Pulumi runtime per run) and
 * returns what it recorded, for the program tests.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ProgramRun } from "./run-program.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;

/** The program for committed stack `stack`, with `key.path=<json>` overrides, under mocks. */
export async function runProgram(stack: string, overrides: string[] = []): Promise<ProgramRun> {
    const { stdout } = await run(
        process.execPath,
        [join(projectDir, "test/program/run-program.ts"), stack, ...overrides],
        { maxBuffer: 256 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as ProgramRun;
}
