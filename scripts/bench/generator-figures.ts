/**
 * `npm run bench:generator -- --write`: the run's three figures as entries of
 * capacity/measured-figures.json (value, unit, date, method, command). Pure: the bench writes
 * them with capacity/figures-file.ts, which replaces these entries and leaves the others alone.
 */
import type { GeneratorFigureName } from "../../capacity/figures.ts";
import type { MeasuredEntry } from "../../capacity/figures-file.ts";

/** What one bench:generator run measured (its --json output). */
export interface GeneratorBenchResult {
    stack: string;
    levels: number[];
    rounds: number;
    ratePerSecond: number;
    generatorCpuUsPerConnect: number;
    generatorCpuFitR2: number;
    generatorMainThreadShare: number;
    generatorRssKiBPerDevice: number;
    generatorRssFitR2: number;
    generatorBaseRssMiB: number;
    generatorHeapKiBPerDevice: number;
    /** Slope of the peak resident set (handshake buffers included) over the same points. */
    generatorPeakRssKiBPerDevice: number;
    haproxyCpuUsPerConnect: number;
    generatorToHaproxyCpu: number;
    caKeyAlgorithm: string;
    node: string;
    loadAverage: number;
    /** ISO time of the run. */
    date: string;
}

/** The three entries for `result`; `command` is what reproduces the run. */
export function generatorFigureEntries(
    result: GeneratorBenchResult,
    command: string,
): Record<Exclude<GeneratorFigureName, "osReserve">, MeasuredEntry> {
    const rig = `the load generator (scripts/loadtest/generator, Node ${result.node}) in a process of its own, reading the job and credential files a generator host reads; connect-storms of ${result.levels.join(", ")} devices at ${result.ratePerSecond}/s, each device with its own ECDSA P-256 certificate from the ${result.stack} stack's ${result.caKeyAlgorithm} chain, through HAProxy with the ${result.stack} stack's rendered haproxy.cfg on loopback to PROXY-v2 broker stand-ins; ${result.rounds} interleaved rounds (load average ${result.loadAverage}), every device got its CONNACK`;
    const base = { date: result.date.slice(0, 10), kind: "measured" as const, command };
    return {
        generatorRssPerDevice: {
            value: result.generatorRssKiBPerDevice,
            unit: "KiB",
            ...base,
            method: `generator VmRSS one second after the last CONNACK with every device held, least-squares slope over completed CONNACKs (R^2 ${result.generatorRssFitR2}); V8 heap only ${result.generatorHeapKiBPerDevice} KiB of it, the rest is native (OpenSSL connection state, and the secure context, with certificate, key and trust store, that Node builds for every tls.connect given its own cert and key); ${rig}`,
        },
        generatorBaseRss: {
            value: result.generatorBaseRssMiB,
            unit: "MiB",
            ...base,
            method: `intercept of the same line as generatorRssPerDevice: the generator with no device (Node, the code, parsed job); ${rig}`,
        },
        generatorCpuPerConnect: {
            value: result.generatorCpuUsPerConnect,
            unit: "us",
            ...base,
            method: `generator user + system CPU (getrusage) from the first attempt until every attempt was decided, least-squares slope over completed CONNACKs (R^2 ${result.generatorCpuFitR2}); ${Math.round(result.generatorMainThreadShare * 100)} % of it on the JavaScript thread (/proc task stat), where Node runs every TLS handshake, so one core bounds a generator's connect rate; HAProxy's CPU per CONNACK in the same runs ${result.haproxyCpuUsPerConnect} us (${result.generatorToHaproxyCpu}x); ${rig}`,
        },
    };
}
