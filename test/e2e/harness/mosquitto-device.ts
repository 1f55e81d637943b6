/**
 * mosquitto_sub / mosquitto_pub (Debian mosquitto-clients, libmosquitto + OpenSSL) as a second,
 * independent MQTT/TLS client. `-A` binds the client's source address (mosquitto_pub --help:
 * "bind the outgoing socket to this host/ip address"). Every process runs in its own process
 * group and is killed in teardown through {@link endAllMosquittoProcesses}.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { forgetProcessGroup, registerProcessGroup } from "../../../local-edge/emergency-cleanup.ts";
import type { DeviceCredentials } from "./edge-pki.ts";

/** Connection settings shared by mosquitto_sub and mosquitto_pub. */
export interface MosquittoDeviceOptions {
    /** HAProxy address (also checked against the server certificate's names). */
    host: string;
    /** HAProxy port. */
    port: number;
    /** Source address to bind. */
    localAddress: string;
    /** CA file for the server certificate. */
    caPath: string;
    /** Client certificate and key files. */
    credentials: Pick<DeviceCredentials, "certPath" | "keyPath">;
    /** MQTT client id. */
    clientId: string;
}

/** A finished (or killed) mosquitto process. */
export interface MosquittoResult {
    /** Exit code, or null when killed by a signal. */
    exitCode: number | null;
    /** Standard output. */
    stdout: string;
    /** Standard error. */
    stderr: string;
}

/** A running mosquitto client. */
export interface MosquittoProcess {
    /** Resolves when the process ends. */
    finished: Promise<MosquittoResult>;
    /** Standard output so far. */
    stdout(): string;
    /** Kills the process group. */
    kill(): void;
}

const running = new Set<ChildProcess>();

function commonArguments(options: MosquittoDeviceOptions): string[] {
    return [
        "-h",
        options.host,
        "-p",
        String(options.port),
        "-A",
        options.localAddress,
        "--cafile",
        options.caPath,
        "--cert",
        options.credentials.certPath,
        "--key",
        options.credentials.keyPath,
        "-i",
        options.clientId,
        "-V",
        "mqttv311",
    ];
}

function start(command: string, args: string[]): MosquittoProcess {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    registerProcessGroup(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
    });
    const finished = new Promise<MosquittoResult>((resolve) => {
        child.on("error", (error) => {
            running.delete(child);
            resolve({ exitCode: -1, stdout, stderr: `${stderr}${error.message}` });
        });
        child.on("exit", (exitCode) => {
            running.delete(child);
            forgetProcessGroup(child.pid);
            resolve({ exitCode, stdout, stderr });
        });
    });
    return { finished, stdout: () => stdout, kill: () => killGroup(child) };
}

/**
 * mosquitto_sub that prints `count` messages of `topic` and exits (`-C`), giving up after
 * `timeoutSeconds` (`-W`) so it can never hang a run.
 */
export function startMosquittoSubscriber(
    options: MosquittoDeviceOptions,
    topic: string,
    count: number,
    timeoutSeconds: number,
): MosquittoProcess {
    return start("mosquitto_sub", [
        ...commonArguments(options),
        "-t",
        topic,
        "-q",
        "1",
        "-C",
        String(count),
        "-W",
        String(timeoutSeconds),
    ]);
}

/** mosquitto_pub of one QoS 1 message; resolves when it exits. */
export function publishWithMosquitto(
    options: MosquittoDeviceOptions,
    topic: string,
    message: string,
): Promise<MosquittoResult> {
    return start("mosquitto_pub", [
        ...commonArguments(options),
        "-t",
        topic,
        "-q",
        "1",
        "-m",
        message,
    ]).finished;
}

function killGroup(child: ChildProcess): void {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
        process.kill(-child.pid, "SIGKILL");
    } catch {
        // ESRCH: already gone.
    }
}

/** Kills every mosquitto process still running (teardown). */
export function endAllMosquittoProcesses(): void {
    for (const child of running) killGroup(child);
    running.clear();
}
