/**
 * What one generator is asked to do, and what it hands back. The same shapes travel as JSON to
 * the generator hosts (job.json) and back (result-<n>.json), so they hold plain data only.
 * Host code: Node built-ins only, erasable TypeScript only.
 */
import type { AttemptRecord } from "./device-session.ts";

/** The named scenarios. */
export const scenarioNames = ["connect-storm", "reconnect-storm", "steady-publish"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** One generator's share of a scenario. */
export interface ScenarioJob {
    /** Which scenario. */
    scenario: ScenarioName;
    /** The run's id: topics and common names carry it. */
    runId: string;
    /** This generator's number, 0-based. */
    generator: number;
    /** Devices this generator opens. */
    devices: number;
    /** Global index of this generator's first device (device numbers are run-wide). */
    firstDevice: number;
    /** This generator's share of the connect rate, per second. */
    ratePerSecond: number;
    /** Seconds over which the rate climbs from 0 to ratePerSecond. */
    rampSeconds: number;
    /** Seconds every device stays connected once all are in (publishing, for steady-publish). */
    holdSeconds: number;
    /** MQTT keepalive in CONNECT (the stack's mqtt.keepaliveSeconds). */
    keepaliveSeconds: number;
    /** steady-publish: messages per second each device publishes. */
    publishPerSecond: number;
    /** steady-publish: payload size in bytes (at least 8: the send time). */
    payloadBytes: number;
    /** An attempt without CONNACK after this many ms counts as a timeout. */
    connectDeadlineMs: number;
    /**
     * Most attempts undecided at once. The schedule is open loop up to this many; past it a due
     * attempt waits for one to finish, as a fleet backs off when its connects go unanswered.
     * Without a cap, an edge (or a generator) slower than the target rate has every handshake
     * share the CPU with all the others, and all of them time out together.
     */
    maxPending: number;
    /** Wall-clock start (ms since 1970) all generators wait for; absent: start at once. */
    startAtEpochMs?: number;
}

/** Connected devices over time, sampled by the generator. */
export interface TimelineSample {
    /** ms since the run's epoch. */
    tMs: number;
    /** Devices connected (CONNACK received, not closed) at that moment. */
    connected: number;
    /** Attempts started so far. */
    attempted: number;
}

/** End-to-end latency of the steady-publish messages that came back through a subscriber. */
export interface PublishResult {
    /** Messages the devices wrote. */
    sent: number;
    /** Messages the subscriber received. */
    received: number;
    /** Publish-to-delivery latency per received message, ms. */
    latenciesMs: number[];
}

/** What one generator hands back. */
export interface GeneratorResult {
    /** The job it ran. */
    job: ScenarioJob;
    /** Wall-clock time of the run's epoch (ms since 1970): every `*Ms` time counts from it. */
    epochWallMs: number;
    /** How long the scenario ran, ms. */
    durationMs: number;
    /** One record per connection attempt. */
    attempts: AttemptRecord[];
    /** Connected devices over time. */
    timeline: TimelineSample[];
    /** steady-publish only. */
    publish?: PublishResult;
    /** The open-files limit this generator ran under, when it could read it. */
    openFilesLimit?: number;
    /** Attempts that were due but waited because maxPending were undecided. */
    heldBackByPendingCap: number;
    /**
     * What the generator process used on its host (getrusage), written by the host's entry: the
     * figures its instance type was sized from (npm run bench:generator), as they came out.
     */
    hostUsage?: GeneratorHostUsage;
}

/** A generator process's own CPU and memory over its whole run. */
export interface GeneratorHostUsage {
    /** User + system CPU seconds. */
    cpuSeconds: number;
    /** Peak resident set, MiB. */
    peakRssMiB: number;
}
