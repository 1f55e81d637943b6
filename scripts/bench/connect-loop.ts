/**
 * Drives device connects for a while: `concurrency` loops, each connecting, waiting for the
 * CONNACK, closing and starting over, until the deadline. Counts completed connects, how many
 * of them resumed a TLS session, and failed ones (reported, not hidden: on an overloaded machine
 * a health check can time out and HAProxy briefly has no server; the CPU of a failed attempt
 * still counts against the completed ones, so failures only make a variant look worse).
 */
import { connectDevice, type DeviceTls } from "./mqtt-connect.ts";

/** Where and how devices connect. */
export interface ConnectLoopSpec {
    readonly host: string;
    readonly port: number;
    readonly tls: DeviceTls;
    /** Parallel connect loops. */
    readonly concurrency: number;
    /** How long to keep connecting, ms. */
    readonly durationMs: number;
    /**
     * Session to offer per loop: omit for full handshakes; "own" resumes each loop's previous
     * session (the first connect of each loop is then full and not counted); or a fixed session
     * from elsewhere (another instance, before a reload), refreshed with the newest ticket.
     */
    readonly resume?: "own" | { readonly sessions: readonly Buffer[] };
}

/** What a run did. */
export interface ConnectLoopResult {
    /** Completed connects (CONNACK received) inside the measured window. */
    readonly connects: number;
    /** Of those, how many resumed a TLS session. */
    readonly resumed: number;
    /** Attempts that ended without a CONNACK. */
    readonly failures: number;
}

/** Connects until the deadline. `onStart` runs once warm-up connects are done, just before the window opens. */
export async function runConnectLoops(
    spec: ConnectLoopSpec,
    onStart: () => void = () => undefined,
    onEnd: () => void = () => undefined,
): Promise<ConnectLoopResult> {
    const sessions: Array<Buffer | undefined> = Array.from({ length: spec.concurrency }, (_, i) => {
        const given = spec.resume && spec.resume !== "own" ? spec.resume.sessions : undefined;
        return given ? given[i % given.length] : undefined;
    });
    if (spec.resume === "own") {
        // Warm-up outside the window: each loop gets its first ticket with a full handshake.
        await Promise.all(
            sessions.map(async (_, i) => {
                sessions[i] = (
                    await connectDevice(spec.host, spec.port, spec.tls, `bench-${i}`)
                ).session;
            }),
        );
    }
    let connects = 0;
    let resumed = 0;
    let failures = 0;
    onStart();
    const deadline = Date.now() + spec.durationMs;
    await Promise.all(
        sessions.map(async (_, i) => {
            while (Date.now() < deadline) {
                const outcome = await connectDevice(
                    spec.host,
                    spec.port,
                    spec.tls,
                    `bench-${i}`,
                    spec.resume ? sessions[i] : undefined,
                ).catch(() => undefined);
                if (outcome === undefined) {
                    failures += 1;
                    continue;
                }
                connects += 1;
                if (outcome.resumed) resumed += 1;
                // A different instance's ticket stays what is offered, so every connect tests it.
                if (spec.resume === "own") sessions[i] = outcome.session;
            }
        }),
    );
    onEnd();
    return { connects, resumed, failures };
}
