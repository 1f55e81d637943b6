/**
 * Runs Debian's haproxy in master-worker mode (`-W`, foreground `-db`) on a rendered config, talks
 * to its runtime API over the stats socket, reloads it with SIGUSR2 and ends it, and its whole
 * process group, in teardown. Log lines (the rendered `log stdout` target) and stderr are kept so
 * a failing test can print them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { forgetProcessGroup, registerProcessGroup } from "./emergency-cleanup.ts";
import { waitFor } from "./wait-for.ts";

/** How to start HAProxy. */
export interface HaproxyLaunch {
    /** Path of haproxy.cfg (rewritten by {@link HaproxyProcess.reload}). */
    configPath: string;
    /** The admin stats socket named in the config (`process.statsSocketPath`). */
    statsSocketPath: string;
    /** Path for the master CLI socket (`-S`), used to see when a reload finished. */
    masterSocketPath: string;
    /** Pins the master and its workers to this CPU (`taskset -c`, which execs HAProxy). */
    cpu?: number;
}

/** One row of `show servers state <backend>`. */
export interface ServerState {
    /** Server name. */
    name: string;
    /** srv_op_state: 0 stopped (down), 1 starting, 2 running (up), 3 stopping. */
    operationalState: number;
    /** srv_admin_state bit field (0 = not in maintenance). */
    adminState: number;
}

/** A running HAProxy master and its workers. */
export class HaproxyProcess {
    /** stdout and stderr lines of the master and its workers, in arrival order. */
    readonly output: string[] = [];
    readonly #child: ChildProcess;
    readonly #launch: HaproxyLaunch;
    #exited = false;

    private constructor(child: ChildProcess, launch: HaproxyLaunch) {
        this.#child = child;
        this.#launch = launch;
        const collect = (chunk: Buffer): void => {
            for (const line of chunk.toString("utf8").split("\n"))
                if (line !== "") this.output.push(line);
        };
        child.stdout?.on("data", collect);
        child.stderr?.on("data", collect);
        child.on("exit", (code, signal) => {
            this.#exited = true;
            this.output.push(`[harness] haproxy master exited (code ${code}, signal ${signal})`);
        });
    }

    /**
     * Starts HAProxy and waits until the runtime API answers and the workers are serving.
     * `-W` is master-worker (the rendered `master-worker` keyword says the same), `-db` keeps it
     * in the foreground so the harness owns it, `-S` opens the master CLI.
     */
    static async start(launch: HaproxyLaunch, deadlineMs = 15_000): Promise<HaproxyProcess> {
        const haproxyArgs = [
            "-W",
            "-db",
            "-f",
            launch.configPath,
            "-S",
            `${launch.masterSocketPath},mode,600`,
        ];
        // taskset execs HAProxy, so the pid (and the process group) stay HAProxy's own.
        const [command, args] =
            launch.cpu === undefined
                ? ["haproxy", haproxyArgs]
                : ["taskset", ["-c", String(launch.cpu), "haproxy", ...haproxyArgs]];
        const child = spawn(
            command,
            args,
            // Own process group: teardown kills master and workers together with kill(-pgid).
            { detached: true, stdio: ["ignore", "pipe", "pipe"] },
        );
        registerProcessGroup(child.pid);
        const haproxy = new HaproxyProcess(child, launch);
        await new Promise<void>((resolve, reject) => {
            child.once("spawn", resolve);
            child.once("error", reject);
        });
        try {
            // Both sockets: the worker's runtime API, and the master CLI that reloads and worker
            // look-ups use (it can open a moment after the worker answers).
            await waitFor("haproxy runtime API and master CLI to answer", deadlineMs, async () => {
                if (haproxy.#exited)
                    throw new Error(`haproxy exited during start:\n${haproxy.logText()}`);
                const info = await haproxy.runtime("show info").catch(() => "");
                if (!info.includes("Pid:")) return false;
                const processes = await haproxy.master("show proc").catch(() => "");
                return processes.includes("worker");
            });
        } catch (error) {
            await haproxy.stop();
            throw error;
        }
        return haproxy;
    }

    /** Master process id (SIGUSR2 target). */
    get pid(): number {
        if (this.#child.pid === undefined) throw new Error("haproxy has no pid: it did not start");
        return this.#child.pid;
    }

    /** Everything HAProxy printed so far, one line each; attach this to a failing test. */
    logText(): string {
        return this.output.join("\n");
    }

    /** Sends one command to the admin stats socket and returns the whole answer. */
    runtime(command: string): Promise<string> {
        return socketExchange(this.#launch.statsSocketPath, `${command}\n`);
    }

    /** Sends one command to the master CLI. */
    master(command: string): Promise<string> {
        return socketExchange(this.#launch.masterSocketPath, `${command}\n`);
    }

    /** Parsed `show servers state <backend>` (format 1: see hap-2.6 doc/management.txt). */
    async serverStates(backend: string): Promise<ServerState[]> {
        const answer = await this.runtime(`show servers state ${backend}`);
        const rows: ServerState[] = [];
        for (const line of answer.split("\n")) {
            if (line.startsWith("#") || line.trim() === "" || /^\d+$/.test(line.trim())) continue;
            // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...
            const fields = line.trim().split(/\s+/);
            if (fields[1] !== backend || fields[3] === undefined) continue;
            rows.push({
                name: fields[3],
                operationalState: Number(fields[5]),
                adminState: Number(fields[6]),
            });
        }
        return rows;
    }

    /**
     * One row of `show stat` as field name -> value, e.g. statRow("mqtts", "FRONTEND").scur.
     * Column names come from the CSV header line (hap-2.6 doc/management.txt, "show stat").
     */
    async statRow(proxy: string, service: string): Promise<Record<string, string>> {
        const answer = await this.runtime("show stat");
        const [headerLine, ...rows] = answer.split("\n");
        const names = (headerLine ?? "").replace(/^# /, "").split(",");
        for (const row of rows) {
            const values = row.split(",");
            if (values[0] === proxy && values[1] === service) {
                return Object.fromEntries(names.map((name, index) => [name, values[index] ?? ""]));
            }
        }
        throw new Error(`show stat has no row ${proxy}/${service}`);
    }

    /** Waits until every named server is up (true) or down (false). */
    async waitForServers(
        backend: string,
        wanted: Record<string, boolean>,
        deadlineMs: number,
    ): Promise<void> {
        const description = Object.entries(wanted)
            .map(([name, up]) => `${name} ${up ? "UP" : "DOWN"}`)
            .join(", ");
        await waitFor(`haproxy to see ${description}`, deadlineMs, async () => {
            const states = await this.serverStates(backend);
            return Object.entries(wanted).every(([name, up]) => {
                const state = states.find((row) => row.name === name);
                return state !== undefined && (state.operationalState === 2) === up;
            });
        });
    }

    /**
     * Graceful reload: writes the new config, sends SIGUSR2 to the master, and waits until the
     * master CLI reports one more reload and a new current worker.
     */
    async reload(newConfig: string, deadlineMs = 15_000): Promise<void> {
        const before = await this.currentWorker();
        await writeFile(this.#launch.configPath, newConfig, { mode: 0o600 });
        process.kill(this.pid, "SIGUSR2");
        await waitFor("haproxy reload to start a new worker", deadlineMs, async () => {
            if (this.#exited) throw new Error(`haproxy exited during reload:\n${this.logText()}`);
            const now = await this.currentWorker().catch(() => undefined);
            if (now === undefined || now.pid === before.pid) return false;
            const info = await this.runtime("show info").catch(() => "");
            return info.includes(`Pid: ${now.pid}`);
        });
    }

    /** The worker that serves new connections, from `show proc` on the master CLI. */
    async currentWorker(): Promise<{ pid: number; reloads: number }> {
        const answer = await this.master("show proc");
        // "<PID> worker <reloads> <uptime> <version>" rows; the first worker row is the current
        // one, rows under "# old workers" are draining (hap-2.6 doc/management.txt "show proc").
        for (const line of answer.split("\n")) {
            if (line.startsWith("# old")) break;
            const fields = line.trim().split(/\s+/);
            if (fields[1] === "worker")
                return { pid: Number(fields[0]), reloads: Number(fields[2]) };
        }
        throw new Error(`no current worker in "show proc" output: ${JSON.stringify(answer)}`);
    }

    /** Ends master and workers: SIGTERM to the group, SIGKILL if still alive after a deadline. */
    async stop(deadlineMs = 5_000): Promise<void> {
        if (this.#exited) {
            signalGroup(this.pid, "SIGKILL");
            forgetProcessGroup(this.pid);
            return;
        }
        const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
        signalGroup(this.pid, "SIGTERM");
        const timer = setTimeout(() => signalGroup(this.pid, "SIGKILL"), deadlineMs);
        await exited;
        clearTimeout(timer);
        // Workers that outlived the master (they should not) go too.
        signalGroup(this.pid, "SIGKILL");
        forgetProcessGroup(this.pid);
    }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch {
        // ESRCH: the group is already gone.
    }
}

/** Writes `request` to a unix stream socket and returns everything read until the peer closes. */
function socketExchange(path: string, request: string, timeoutMs = 5_000): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = createConnection(path);
        socket.setTimeout(timeoutMs, () =>
            socket.destroy(new Error(`no answer on ${path} within ${timeoutMs} ms`)),
        );
        socket.on("connect", () => socket.end(request));
        socket.on("data", (chunk: Buffer) => chunks.push(chunk));
        socket.on("error", reject);
        socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
}
