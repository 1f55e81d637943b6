/**
 * The capacity model's connect figures from one `npm run bench:handshake -- --matrix` run: the
 * full connect under CAs of every key algorithm, the TLS 1.3 resumed connect, and the seed's full
 * connect as the run's reference. Pure: the bench writes them (capacity/figures-file.ts).
 */
import {
    CA_KEY_ALGORITHMS,
    type CaKeyAlgorithm,
    FULL_CONNECT_FIGURES,
} from "../../capacity/figures.ts";
import type { MeasuredEntry } from "../../capacity/figures-file.ts";

/** What the bench reports, as far as the figures need it. */
export interface HandshakeRun {
    readonly seedUsPerConnect: number;
    readonly variants: readonly {
        readonly name: string;
        readonly usPerConnect: number;
        readonly ratioToSeed: number;
        readonly resumedFraction: number;
        readonly failures: number;
    }[];
    readonly rounds: number;
    readonly secondsPerRound: number;
    readonly concurrency: number;
    readonly pinned: boolean;
    readonly date: string;
    readonly haproxy: string;
}

/** The variant that measured a full connect under CAs of `algorithm` in a run whose chain was `runCa`. */
export function fullConnectVariant(algorithm: CaKeyAlgorithm, runCa: string): string {
    return algorithm === runCa ? "full-ecdsa" : `full-ecdsa-ca-${algorithm}`;
}

/**
 * The entries to write. Throws one line when the run lacks a variant the model needs or any
 * variant lost connects (a figure over failed attempts is not a cost per device).
 */
export function capacityFigureEntries(
    run: HandshakeRun,
    runCa: string,
    argv: readonly string[],
): Record<string, MeasuredEntry> {
    const byName = new Map(run.variants.map((v) => [v.name, v]));
    const need = (name: string) => {
        const variant = byName.get(name);
        if (variant === undefined) {
            throw new Error(`bench:handshake: no ${name} figure in this run; run it with --matrix`);
        }
        if (variant.failures > 0) {
            throw new Error(
                `bench:handshake: ${name} had ${variant.failures} connects without a CONNACK; not writing figures from this run`,
            );
        }
        return variant;
    };
    const date = run.date.slice(0, 10);
    const command = ["npm run bench:handshake --", ...argv].join(" ");
    const rig = `${run.haproxy} pinned to one core${run.pinned ? "" : " (NOT pinned: one core)"}, the dev stack's rendered haproxy.cfg, ECDSA P-256 server and device keys, CRLs and issuer pinning on; HAProxy CPU time (schedstat, all threads) per completed MQTT CONNACK (mutual TLS + CONNECT through PROXY v2 to broker stand-ins), median of ${run.rounds} interleaved rounds of ${run.secondsPerRound} s with ${run.concurrency} devices`;
    const entries: Record<string, MeasuredEntry> = {};
    for (const algorithm of CA_KEY_ALGORITHMS) {
        const variant = need(fullConnectVariant(algorithm, runCa));
        entries[FULL_CONNECT_FIGURES[algorithm]] = {
            value: variant.usPerConnect,
            unit: "us",
            date,
            kind: "measured",
            method: `${rig}; ${algorithm} root and intermediate CAs; ${variant.ratioToSeed.toFixed(2)}x the seed's full connect in the same run (median of per-round ratios)`,
            command,
        };
    }
    const resumedEntry = (variant: string, what: string): MeasuredEntry => {
        const resumed = need(variant);
        return {
            value: resumed.usPerConnect,
            unit: "us",
            date,
            kind: "measured",
            method: `${rig}; ${runCa} CAs; ${what}, ${(resumed.resumedFraction * 100).toFixed(1)} % resumed; ${resumed.ratioToSeed.toFixed(2)}x the seed's full connect`,
            command,
        };
    };
    entries.haproxyCpuPerResumedConnect = resumedEntry(
        "resume-tls13",
        "TLS 1.3 resumption with the shared session ticket keys",
    );
    entries.haproxyCpuPerResumedConnectTls12 = resumedEntry(
        "resume-tls12",
        "TLS 1.2 session ticket resumption",
    );
    entries.haproxyCpuPerFullConnectSeed = {
        value: run.seedUsPerConnect,
        unit: "us",
        date,
        kind: "measured",
        method: `the run's reference: the seed's frontend/backend and its cfssl chain (RSA-2048 everywhere, no CRL, no issuer pinning) on the same rig. The machine is shared: the absolute figures of one run move with its load (compare the ratios); the model reads them as they are, so a busier run sizes more conservatively`,
        command,
    };
    return entries;
}
