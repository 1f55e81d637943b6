/**
 * Runs one generator's share of a scenario against the edge: opens the devices on the connect
 * schedule, holds them, and for the scenario at hand drops and reconnects them or publishes
 * through them, sampling how many are connected as it goes.
 *
 * - connect-storm: connect all, hold, disconnect.
 * - reconnect-storm: connect all, hold, drop all at once (no DISCONNECT, like a network outage),
 *   reconnect all on the same schedule offering each device's TLS session (resumption).
 * - steady-publish: one extra subscriber device, then connect all, each publishes at its rate for
 *   the hold time; the subscriber times every message end to end.
 *
 * Host code: Node built-ins only, erasable TypeScript only.
 */
import { attemptDueSeconds } from "./connect-schedule.ts";
import {
    type AttemptRecord,
    type DeviceCredential,
    DeviceSession,
    type EdgeTarget,
} from "./device-session.ts";
import { decodePublish, type MqttPacket, PacketType } from "./mqtt-wire.ts";
import type {
    GeneratorResult,
    PublishResult,
    ScenarioJob,
    TimelineSample,
} from "./scenario-job.ts";

/** Progress as the generator sees it, about once a second. */
export interface GeneratorProgress {
    /** Phase running now. */
    phase: string;
    /** Attempts started. */
    attempted: number;
    /** Devices connected now. */
    connected: number;
    /** Attempts failed so far. */
    failed: number;
    /** Devices in the run. */
    devices: number;
}

/** What the runner needs besides the job. */
export interface ScenarioInputs {
    /** The edge. */
    target: EdgeTarget;
    /** One credential per device of this generator, in order. */
    devices: readonly DeviceCredential[];
    /** steady-publish: the subscriber's own credential (a CN no publisher has). */
    subscriber?: DeviceCredential;
    /** Called about once a second while the scenario runs. */
    onProgress?: (progress: GeneratorProgress) => void;
    /** Called once when a socket could not be opened for lack of file descriptors. */
    onFdLimit?: (openConnections: number) => void;
    /** Aborting it ends the scenario early (devices are still closed). */
    signal?: AbortSignal;
    /** The open-files limit, when known (recorded in the result). */
    openFilesLimit?: number;
}

const SAMPLE_INTERVAL_MS = 250;
const SCHEDULER_TICK_MS = 5;

function delay(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = setTimeout(done, ms);
        function done(): void {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
        }
        signal?.addEventListener("abort", done, { once: true });
    });
}

/** Runs the job; resolves with every attempt and the timeline. Never leaves a socket open. */
export async function runScenario(
    job: ScenarioJob,
    inputs: ScenarioInputs,
): Promise<GeneratorResult> {
    if (inputs.devices.length < job.devices) {
        throw new Error(
            `generator ${job.generator}: ${inputs.devices.length} credentials for ${job.devices} devices`,
        );
    }
    if (job.startAtEpochMs !== undefined) {
        await delay(Math.max(0, job.startAtEpochMs - Date.now()), inputs.signal);
    }
    const epoch = performance.now();
    const epochWallMs = performance.timeOrigin + epoch;
    const attempts: AttemptRecord[] = [];
    const timeline: TimelineSample[] = [];
    const sessions: (DeviceSession | undefined)[] = new Array(job.devices);
    const extra: DeviceSession[] = [];
    let phase = "connect";
    let fdLimitSaid = false;
    // Attempts started (records are added only once an attempt is decided).
    let started = 0;
    // Attempts that were due but waited for the pending cap.
    let heldBack = 0;

    const connectedCount = () => sessions.filter((s) => s?.connected).length;
    const sample = () =>
        timeline.push({
            tMs: Math.round(performance.now() - epoch),
            connected: connectedCount(),
            attempted: started,
        });
    const sampler = setInterval(sample, SAMPLE_INTERVAL_MS);
    let lastProgress = 0;
    const progress = (force = false) => {
        const now = performance.now();
        if (!force && now - lastProgress < 1000) return;
        lastProgress = now;
        inputs.onProgress?.({
            phase,
            attempted: started,
            connected: connectedCount(),
            failed: attempts.filter((a) => a.failure !== undefined).length,
            devices: job.devices,
        });
    };
    const progressTimer = setInterval(progress, 1000);

    const attemptOptions = (sessionTicket?: Buffer, onPacket?: (p: MqttPacket) => void) => ({
        keepaliveSeconds: job.keepaliveSeconds,
        deadlineMs: job.connectDeadlineMs,
        epoch,
        ...(sessionTicket ? { session: sessionTicket } : {}),
        ...(onPacket ? { onPacket } : {}),
    });

    // Attempts started and not yet decided, and who waits for one of them to finish.
    let inFlight = 0;
    let slotFreed: (() => void) | undefined;

    /**
     * Opens every device on the schedule, with at most job.maxPending attempts undecided at once;
     * resolves when every attempt is decided.
     */
    const connectAll = async (phaseName: string, tickets?: (Buffer | undefined)[]) => {
        phase = phaseName;
        const phaseStart = performance.now();
        const pending: Promise<void>[] = [];
        for (let k = 0; k < job.devices; k++) {
            if (inputs.signal?.aborted) break;
            const dueMs = attemptDueSeconds(k, job.ratePerSecond, job.rampSeconds) * 1000;
            const wait = phaseStart + dueMs - performance.now();
            if (wait > SCHEDULER_TICK_MS) await delay(wait, inputs.signal);
            if (inFlight >= job.maxPending) {
                heldBack += 1;
                while (inFlight >= job.maxPending && !inputs.signal?.aborted) {
                    await new Promise<void>((resolve) => {
                        slotFreed = resolve;
                    });
                }
            }
            const credential = inputs.devices[k] as DeviceCredential;
            started += 1;
            inFlight += 1;
            pending.push(
                DeviceSession.open(
                    inputs.target,
                    credential,
                    job.firstDevice + k,
                    phaseName,
                    attemptOptions(tickets?.[k]),
                ).then((session) => {
                    inFlight -= 1;
                    slotFreed?.();
                    slotFreed = undefined;
                    sessions[k] = session;
                    attempts.push(session.record);
                    if (session.record.failure === "fd-limit" && !fdLimitSaid) {
                        fdLimitSaid = true;
                        inputs.onFdLimit?.(connectedCount());
                    }
                    progress();
                }),
            );
        }
        await Promise.all(pending);
        progress(true);
    };

    const closeAll = async (how: "end" | "drop") => {
        await Promise.all(
            [...sessions, ...extra].map((s) => (how === "end" ? s?.end() : s?.drop())),
        );
    };

    let publish: PublishResult | undefined;
    try {
        if (job.scenario === "steady-publish") {
            publish = await runSteadyPublish(job, inputs, {
                connectAll,
                sessions,
                extra,
                attemptOptions,
                attempts,
                setPhase: (name) => {
                    phase = name;
                },
                epoch,
            });
        } else {
            await connectAll("connect");
            phase = "hold";
            await delay(job.holdSeconds * 1000, inputs.signal);
            if (job.scenario === "reconnect-storm" && !inputs.signal?.aborted) {
                const tickets = sessions.map((s) => s?.session);
                phase = "drop";
                await closeAll("drop");
                await connectAll("reconnect", tickets);
                phase = "hold";
                await delay(Math.min(job.holdSeconds, 5) * 1000, inputs.signal);
            }
        }
    } finally {
        phase = "disconnect";
        await closeAll("end");
        sample();
        clearInterval(sampler);
        clearInterval(progressTimer);
    }
    return {
        job,
        epochWallMs: Math.round(epochWallMs),
        durationMs: Math.round(performance.now() - epoch),
        attempts,
        timeline,
        heldBackByPendingCap: heldBack,
        ...(publish ? { publish } : {}),
        ...(inputs.openFilesLimit !== undefined ? { openFilesLimit: inputs.openFilesLimit } : {}),
    };
}

interface PublishContext {
    connectAll: (phaseName: string) => Promise<void>;
    sessions: (DeviceSession | undefined)[];
    extra: DeviceSession[];
    attemptOptions: (
        ticket?: Buffer,
        onPacket?: (p: MqttPacket) => void,
    ) => Parameters<typeof DeviceSession.open>[4];
    attempts: AttemptRecord[];
    setPhase: (name: string) => void;
    epoch: number;
}

/** The subscriber's topic filter for this generator's devices. */
export function publishTopic(job: ScenarioJob, device: number): string {
    return `loadtest/${job.runId}/g${job.generator}/${device}`;
}

async function runSteadyPublish(
    job: ScenarioJob,
    inputs: ScenarioInputs,
    context: PublishContext,
): Promise<PublishResult> {
    if (inputs.subscriber === undefined) {
        throw new Error("steady-publish needs a subscriber credential");
    }
    const result: PublishResult = { sent: 0, received: 0, latenciesMs: [] };
    let subscribed: () => void = () => undefined;
    const subacked = new Promise<void>((resolve) => {
        subscribed = resolve;
    });
    const onPacket = (packet: MqttPacket) => {
        if (packet.type === PacketType.suback) {
            subscribed();
            return;
        }
        if (packet.type !== PacketType.publish) return;
        const { payload } = decodePublish(packet);
        if (payload.length < 8) return;
        result.received += 1;
        const sentAt = payload.readDoubleBE(0);
        result.latenciesMs.push(
            Math.round((performance.timeOrigin + performance.now() - sentAt) * 100) / 100,
        );
    };
    context.setPhase("subscribe");
    const subscriber = await DeviceSession.open(
        inputs.target,
        inputs.subscriber,
        -1,
        "subscribe",
        context.attemptOptions(undefined, onPacket),
    );
    context.extra.push(subscriber);
    if (!subscriber.connected) {
        throw new Error(
            `steady-publish: the subscriber ${inputs.subscriber.commonName} could not connect (${subscriber.record.failure})`,
        );
    }
    subscriber.subscribe(`loadtest/${job.runId}/g${job.generator}/#`);
    // Bounded by the connect deadline; the timer is cleared so it cannot hold the process open.
    let subackTimer: NodeJS.Timeout | undefined;
    const subackDeadline = new Promise<void>((resolve) => {
        subackTimer = setTimeout(resolve, job.connectDeadlineMs);
    });
    await Promise.race([subacked, subackDeadline]);
    clearTimeout(subackTimer);
    await context.connectAll("connect");
    context.setPhase("publish");
    const payload = Buffer.alloc(Math.max(8, job.payloadBytes));
    const started = performance.now();
    const periodMs = 1000 / job.publishPerSecond;
    let round = 0;
    while (!inputs.signal?.aborted && performance.now() - started < job.holdSeconds * 1000) {
        const wait = started + round * periodMs - performance.now();
        if (wait > 0) await delay(wait, inputs.signal);
        for (const [k, session] of context.sessions.entries()) {
            if (session === undefined) continue;
            payload.writeDoubleBE(performance.timeOrigin + performance.now(), 0);
            if (session.publish(publishTopic(job, job.firstDevice + k), Buffer.from(payload))) {
                result.sent += 1;
            }
        }
        round += 1;
    }
    // Wait for what is still in flight, then stop counting.
    context.setPhase("drain");
    const drainUntil = performance.now() + 5_000;
    while (result.received < result.sent && performance.now() < drainUntil) {
        await delay(50, inputs.signal);
        if (inputs.signal?.aborted) break;
    }
    return result;
}
