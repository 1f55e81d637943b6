/**
 * Runs the PKI scripts and openssl as child processes for the CLI tests, capturing output.
 * Each child gets a deadline and is SIGKILLed when it passes it, so a hung child can never
 * outlive its test; a normal run has exited by the time the promise resolves.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What a finished child process left behind. */
export interface ProcessResult {
    /** Exit code (null when killed by a signal). */
    code: number | null;
    /** Everything written to stdout. */
    stdout: string;
    /** Everything written to stderr. */
    stderr: string;
}

/** The repository root (two levels above this file). */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

const deadlineMs = 60_000;

/** Runs `command` with `args`; never rejects on a non-zero exit (tests assert on `code`). */
export function runProcess(
    command: string,
    args: readonly string[],
    options: { input?: string; cwd?: string } = {},
): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
        const child = execFile(
            command,
            [...args],
            {
                cwd: options.cwd ?? repoRoot,
                timeout: deadlineMs,
                killSignal: "SIGKILL",
                maxBuffer: 64 * 1024 * 1024,
                encoding: "utf8",
            },
            (error, stdout, stderr) => {
                if (error && typeof error.code !== "number" && !error.killed) {
                    reject(error);
                    return;
                }
                resolve({ code: child.exitCode, stdout, stderr });
            },
        );
        // A child that exits without reading stdin (openssl with -in) makes this write fail
        // with EPIPE; that is not the test's business.
        child.stdin?.on("error", () => {});
        child.stdin?.end(options.input ?? "");
    });
}

/** Runs `node scripts/<script>.ts ...args` from the repository root. */
export function runScript(
    script: "cert-device" | "revoke" | "crl" | "bench-cert-device",
    args: readonly string[],
    options: { input?: string } = {},
): Promise<ProcessResult> {
    return runProcess(process.execPath, [`scripts/${script}.ts`, ...args], options);
}

/** Runs openssl with `args`. */
export function openssl(
    args: readonly string[],
    options: { input?: string } = {},
): Promise<ProcessResult> {
    return runProcess("openssl", args, options);
}

/** The stderr lines (without the trailing empty one). */
export function stderrLines(result: ProcessResult): string[] {
    return result.stderr.split("\n").filter((line) => line !== "");
}
