/**
 * report.json: what a scenario did, merged over every generator. Pure: generator results in,
 * a plain object out; the terminal summary and the plot are drawn from this object alone.
 */
import type { AttemptRecord } from "./generator/device-session.ts";
import type {
    GeneratorHostUsage,
    GeneratorResult,
    ScenarioName,
} from "./generator/scenario-job.ts";

/** Nearest-rank percentiles of a sample, ms. */
export interface Percentiles {
    p50: number;
    p90: number;
    p99: number;
    max: number;
}

/** Totals of one phase (connect, reconnect). */
export interface PhaseReport {
    /** Attempts started. */
    attempted: number;
    /** Attempts that got a CONNACK. */
    connected: number;
    /** Failed attempts by kind (tls, closed, timeout, fd-limit, ...). */
    failed: Record<string, number>;
    /** CONNACKs per second over the phase: connected / (last CONNACK - first attempt). */
    connectRatePerSecond: number;
    /** TLS handshake, from the socket request to secureConnect. */
    handshakeMs: Percentiles | null;
    /** From the socket request to the CONNACK. */
    connackMs: Percentiles | null;
    /** Share of the connected attempts whose TLS session was resumed. */
    resumedFraction: number;
}

/** Measured on the local machine only. */
export interface LocalMeasurements {
    /** CPU seconds the HAProxy worker used during the scenario. */
    haproxyCpuSeconds: number;
    /** haproxyCpuSeconds per connection attempt, ms. */
    haproxyCpuMsPerConnect: number;
    /** Peak resident memory of the HAProxy worker (VmHWM), MiB. */
    haproxyPeakRssMiB: number;
    /** Distinct certificate CNs the broker stand-ins received in PROXY v2 headers. */
    distinctCommonNamesAtBrokers: number;
    /** Connections the broker stand-ins accepted. */
    brokerConnections: number;
}

/** The whole report. */
export interface LoadtestReport {
    scenario: ScenarioName;
    mode: "local" | "cloud";
    runId: string;
    /** ISO time of the first generator's start. */
    startedAt: string;
    durationSeconds: number;
    generators: number;
    devices: number;
    /** Target connect rate over all generators, per second. */
    targetRatePerSecond: number;
    /** The first connect phase (every device's first connection). */
    attempted: number;
    connected: number;
    failed: Record<string, number>;
    connectRatePerSecond: number;
    handshakeMs: Percentiles | null;
    connackMs: Percentiles | null;
    /** reconnect-storm: of the reconnect phase; otherwise of the connect phase. */
    resumedFraction: number;
    /** Every phase by name. */
    phases: Record<string, PhaseReport>;
    /**
     * Attempts that were due but waited for the pending cap: above 0, the edge (or the
     * generators) did not keep up with the target rate, and connectRatePerSecond is what it did.
     */
    heldBackByPendingCap: number;
    /** steady-publish: messages and their publish-to-delivery latency through a subscriber. */
    publish?: { sent: number; received: number; latencyMs: Percentiles | null };
    /** Connected devices over time, summed over generators (for the plot). */
    connectionsOverTime: { tSeconds: number; connected: number; attempted: number }[];
    /** CONNACK latency per second of attempt start, over every phase (for the plot). */
    latencyOverTime: { tSeconds: number; count: number; p50: number; p90: number; p99: number }[];
    /** Lowest open-files limit among the generators, when known. */
    openFilesLimit?: number;
    /**
     * Cloud: the busiest generator host's own CPU seconds and peak memory, to hold against the
     * sizing the run was planned with (docs/loadtest.md, "How the generators are sized").
     */
    generatorUsage?: GeneratorHostUsage;
    /** Local mode: the same as local.distinctCommonNamesAtBrokers. */
    distinctCommonNamesAtBrokers?: number;
    local?: LocalMeasurements;
}

/** Nearest-rank percentiles; null for an empty sample. */
export function percentiles(values: readonly number[]): Percentiles | null {
    if (values.length === 0) return null;
    const sorted = [...values].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
    return { p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1] ?? 0 };
}

function phaseReport(attempts: readonly AttemptRecord[]): PhaseReport {
    const failed: Record<string, number> = {};
    for (const a of attempts) {
        if (a.failure !== undefined) failed[a.failure] = (failed[a.failure] ?? 0) + 1;
    }
    const ok = attempts.filter((a) => a.failure === undefined && a.connackMs !== undefined);
    const first = Math.min(...attempts.map((a) => a.startMs));
    const last = Math.max(...ok.map((a) => a.startMs + (a.connackMs ?? 0)));
    const spanSeconds = (last - first) / 1000;
    return {
        attempted: attempts.length,
        connected: ok.length,
        failed,
        connectRatePerSecond:
            ok.length > 0 && spanSeconds > 0 ? Math.round((ok.length / spanSeconds) * 10) / 10 : 0,
        handshakeMs: percentiles(
            attempts.flatMap((a) => (a.handshakeMs === undefined ? [] : [a.handshakeMs])),
        ),
        connackMs: percentiles(ok.map((a) => a.connackMs ?? 0)),
        resumedFraction:
            ok.length === 0
                ? 0
                : Math.round((ok.filter((a) => a.resumed).length / ok.length) * 1000) / 1000,
    };
}

/** Shifts a generator's times onto the run's common epoch (the earliest generator start). */
function shifted(result: GeneratorResult, runEpochWallMs: number): GeneratorResult {
    const offset = result.epochWallMs - runEpochWallMs;
    if (offset === 0) return result;
    return {
        ...result,
        attempts: result.attempts.map((a) => ({
            ...a,
            startMs: a.startMs + offset,
            ...(a.closedMs !== undefined ? { closedMs: a.closedMs + offset } : {}),
        })),
        timeline: result.timeline.map((s) => ({ ...s, tMs: s.tMs + offset })),
    };
}

const BUCKET_MS = 250;

function mergedTimeline(
    results: readonly GeneratorResult[],
): LoadtestReport["connectionsOverTime"] {
    const end = Math.max(0, ...results.flatMap((r) => r.timeline.map((s) => s.tMs)));
    const rows: LoadtestReport["connectionsOverTime"] = [];
    const cursors = results.map(() => 0);
    const latest = results.map(() => ({ connected: 0, attempted: 0 }));
    for (let t = 0; t <= end + BUCKET_MS; t += BUCKET_MS) {
        results.forEach((r, g) => {
            while ((cursors[g] ?? 0) < r.timeline.length) {
                const sample = r.timeline[cursors[g] ?? 0];
                if (sample === undefined || sample.tMs > t) break;
                latest[g] = { connected: sample.connected, attempted: sample.attempted };
                cursors[g] = (cursors[g] ?? 0) + 1;
            }
        });
        rows.push({
            tSeconds: t / 1000,
            connected: latest.reduce((sum, l) => sum + l.connected, 0),
            attempted: latest.reduce((sum, l) => sum + l.attempted, 0),
        });
    }
    return rows;
}

function latencyTimeline(attempts: readonly AttemptRecord[]): LoadtestReport["latencyOverTime"] {
    const bySecond = new Map<number, number[]>();
    for (const a of attempts) {
        if (a.connackMs === undefined || a.failure !== undefined) continue;
        const second = Math.floor(a.startMs / 1000);
        const list = bySecond.get(second) ?? [];
        list.push(a.connackMs);
        bySecond.set(second, list);
    }
    return [...bySecond.entries()]
        .sort(([a], [b]) => a - b)
        .map(([second, values]) => {
            const p = percentiles(values) as Percentiles;
            return { tSeconds: second, count: values.length, p50: p.p50, p90: p.p90, p99: p.p99 };
        });
}

/** Merges the generators' results into the report. */
export function buildReport(
    results: readonly GeneratorResult[],
    mode: "local" | "cloud",
    local?: LocalMeasurements,
): LoadtestReport {
    const [firstResult] = results;
    if (firstResult === undefined) throw new Error("no generator results to report");
    const runEpoch = Math.min(...results.map((r) => r.epochWallMs));
    const aligned = results.map((r) => shifted(r, runEpoch));
    const attempts = aligned.flatMap((r) => r.attempts);
    const phaseNames = [...new Set(attempts.map((a) => a.phase))];
    const phases = Object.fromEntries(
        phaseNames.map((name) => [name, phaseReport(attempts.filter((a) => a.phase === name))]),
    );
    const connect = phases.connect ?? phaseReport([]);
    const reconnect = phases.reconnect;
    const latencies = aligned.flatMap((r) => r.publish?.latenciesMs ?? []);
    const limits = aligned.flatMap((r) =>
        r.openFilesLimit === undefined ? [] : [r.openFilesLimit],
    );
    const end = Math.max(...aligned.map((r) => r.epochWallMs - runEpoch + r.durationMs));
    const usages = results.flatMap((r) => (r.hostUsage ? [r.hostUsage] : []));
    const { job } = firstResult;
    return {
        scenario: job.scenario,
        mode,
        runId: job.runId,
        startedAt: new Date(runEpoch).toISOString(),
        durationSeconds: Math.round(end / 100) / 10,
        generators: results.length,
        devices: results.reduce((sum, r) => sum + r.job.devices, 0),
        targetRatePerSecond: results.reduce((sum, r) => sum + r.job.ratePerSecond, 0),
        attempted: connect.attempted,
        connected: connect.connected,
        failed: connect.failed,
        connectRatePerSecond: connect.connectRatePerSecond,
        handshakeMs: connect.handshakeMs,
        connackMs: connect.connackMs,
        resumedFraction: (reconnect ?? connect).resumedFraction,
        phases,
        heldBackByPendingCap: aligned.reduce((sum, r) => sum + r.heldBackByPendingCap, 0),
        ...(job.scenario === "steady-publish"
            ? {
                  publish: {
                      sent: aligned.reduce((sum, r) => sum + (r.publish?.sent ?? 0), 0),
                      received: aligned.reduce((sum, r) => sum + (r.publish?.received ?? 0), 0),
                      latencyMs: percentiles(latencies),
                  },
              }
            : {}),
        connectionsOverTime: mergedTimeline(aligned),
        latencyOverTime: latencyTimeline(attempts),
        ...(limits.length > 0 ? { openFilesLimit: Math.min(...limits) } : {}),
        ...(usages.length > 0
            ? {
                  generatorUsage: {
                      cpuSeconds: Math.max(...usages.map((u) => u.cpuSeconds)),
                      peakRssMiB: Math.max(...usages.map((u) => u.peakRssMiB)),
                  },
              }
            : {}),
        // The headline of a local run, also at the top: every device arrived under its own CN.
        ...(local
            ? { distinctCommonNamesAtBrokers: local.distinctCommonNamesAtBrokers, local }
            : {}),
    };
}

/** Failed attempts of the first connect phase, over all kinds. */
export function failedTotal(report: LoadtestReport): number {
    return Object.values(report.failed).reduce((sum, n) => sum + n, 0);
}
