/**
 * Runs the operator's load-test command through /bin/sh with the terminal attached, and stops it
 * when the load test is interrupted.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";

/** Runs `command` with `env` added to this process's environment; resolves to its exit code. */
export type CommandRunner = (
    command: string,
    env: Readonly<Record<string, string>>,
    signal: AbortSignal,
) => Promise<number>;

export const runShellCommand: CommandRunner = (command, env, signal) =>
    new Promise((resolve) => {
        const child = spawn("/bin/sh", ["-c", command], {
            stdio: "inherit",
            env: { ...process.env, ...env },
        });
        // SIGINT from a terminal reaches the child directly (same process group); SIGTERM sent to
        // this process alone does not, so pass the interruption on.
        const stop = () => child.kill("SIGTERM");
        if (signal.aborted) stop();
        else signal.addEventListener("abort", stop, { once: true });
        child.on("error", (e) => {
            signal.removeEventListener("abort", stop);
            console.error(`loadtest: could not start /bin/sh: ${e.message}`);
            resolve(127);
        });
        child.on("exit", (code, killedBy) => {
            signal.removeEventListener("abort", stop);
            // Shell convention: a command ended by signal N exits 128 + N.
            resolve(code ?? 128 + (killedBy ? constants.signals[killedBy] : 0));
        });
    });
