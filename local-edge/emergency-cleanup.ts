/**
 * Last line of defence for what the harness leaves on the machine: child processes run in their
 * own process group (HAProxy, mosquitto) and temp dirs holding private keys. Teardown hooks end
 * and delete them normally; but when the test process itself is ended by a signal (a CI timeout,
 * Ctrl-C), `after` hooks never run and a detached group would outlive it. This kills every
 * registered group and deletes every registered dir on exit and on SIGTERM/SIGINT/SIGHUP.
 */
import { rmSync } from "node:fs";

const groups = new Set<number>();
const directories = new Set<string>();
let installed = false;

function cleanUpNow(): void {
    for (const pid of groups) {
        try {
            process.kill(-pid, "SIGKILL");
        } catch {
            // ESRCH: already gone.
        }
    }
    groups.clear();
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
    directories.clear();
}

function install(): void {
    if (installed) return;
    installed = true;
    process.on("exit", cleanUpNow);
    for (const [signal, number] of [
        ["SIGTERM", 15],
        ["SIGINT", 2],
        ["SIGHUP", 1],
    ] as const) {
        process.once(signal, () => {
            cleanUpNow();
            process.exit(128 + number);
        });
    }
}

/** Remembers a process group leader to kill if the test process ends abruptly. */
export function registerProcessGroup(pid: number | undefined): void {
    if (pid === undefined) return;
    install();
    groups.add(pid);
}

/** Forgets a group that teardown has ended. */
export function forgetProcessGroup(pid: number | undefined): void {
    if (pid !== undefined) groups.delete(pid);
}

/** Remembers a temp dir to delete if the test process ends abruptly. */
export function registerTemporaryDirectory(path: string): void {
    install();
    directories.add(path);
}

/** Forgets a dir that teardown has deleted. */
export function forgetTemporaryDirectory(path: string): void {
    directories.delete(path);
}
