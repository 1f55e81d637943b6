/**
 * How a benchmark run becomes the capacity model's figures: the right variant for every CA key
 * algorithm, no figure from a run that lost connects, and a merge that keeps every other entry
 * and refuses to leave a file the model cannot read.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
    CA_KEY_ALGORITHMS,
    FULL_CONNECT_FIGURES,
    MEASURED_FIGURES_PATH,
    parseCapacityFigures,
} from "../../capacity/figures.ts";
import { mergeFigures } from "../../capacity/figures-file.ts";
import { capacityFigureEntries, type HandshakeRun } from "../../scripts/bench/handshake-figures.ts";

const committedText = readFileSync(MEASURED_FIGURES_PATH, "utf8");

/** A run as `--matrix` reports it, with `us` per variant. */
function run(us: Record<string, number>, failures: Record<string, number> = {}): HandshakeRun {
    return {
        seedUsPerConnect: 2000,
        variants: Object.entries(us).map(([name, value]) => ({
            name,
            usPerConnect: value,
            ratioToSeed: value / 2000,
            resumedFraction: name.startsWith("resume") ? 1 : 0,
            failures: failures[name] ?? 0,
        })),
        rounds: 5,
        secondsPerRound: 4,
        concurrency: 8,
        pinned: true,
        date: "2026-12-01T05:00:00.000Z",
        haproxy: "HAProxy version 2.6.12",
    };
}

const matrix = {
    "full-ecdsa": 1900,
    "full-ecdsa-ca-ecdsa-p256": 2100,
    "full-ecdsa-ca-ecdsa-p384": 4800,
    "full-ecdsa-ca-rsa-2048": 1850,
    "full-ecdsa-ca-rsa-4096": 2300,
    "resume-tls13": 900,
    "resume-tls12": 700,
};

describe("figures from a bench:handshake --matrix run", () => {
    test("each CA key algorithm takes its own variant; the run's own chain is full-ecdsa", () => {
        const entries = capacityFigureEntries(run(matrix), "rsa-3072", ["--matrix"]);
        assert.equal(entries[FULL_CONNECT_FIGURES["rsa-3072"]]?.value, 1900);
        assert.equal(entries[FULL_CONNECT_FIGURES["ecdsa-p384"]]?.value, 4800);
        assert.equal(entries.haproxyCpuPerResumedConnect?.value, 900);
        assert.equal(entries.haproxyCpuPerResumedConnectTls12?.value, 700);
        assert.equal(entries.haproxyCpuPerFullConnectSeed?.value, 2000);
        for (const algorithm of CA_KEY_ALGORITHMS) {
            const entry = entries[FULL_CONNECT_FIGURES[algorithm]];
            assert.equal(entry?.date, "2026-12-01");
            assert.equal(entry?.command, "npm run bench:handshake -- --matrix");
            assert.match(entry?.method ?? "", new RegExp(`${algorithm} root and intermediate CAs`));
        }
    });

    test("no figures from a run without every algorithm, or with connects lost", () => {
        const { "full-ecdsa-ca-rsa-4096": _, ...partial } = matrix;
        assert.throws(
            () => capacityFigureEntries(run(partial), "rsa-3072", []),
            /no full-ecdsa-ca-rsa-4096 figure in this run; run it with --matrix/,
        );
        assert.throws(
            () => capacityFigureEntries(run(matrix, { "full-ecdsa": 3 }), "rsa-3072", []),
            /full-ecdsa had 3 connects without a CONNACK; not writing figures from this run/,
        );
    });

    test("merged into the file: these entries replaced, every other kept, the model reads it", () => {
        const entries = capacityFigureEntries(run(matrix), "rsa-3072", ["--matrix"]);
        const merged = JSON.parse(mergeFigures(committedText, entries)) as Record<string, unknown>;
        const before = JSON.parse(committedText) as Record<string, unknown>;
        assert.deepEqual(
            Object.keys(merged).slice(0, Object.keys(before).length),
            Object.keys(before),
        );
        assert.deepEqual(merged.osReserve, before.osReserve);
        assert.equal(parseCapacityFigures(merged).fullConnectUs["ecdsa-p384"], 4800);
    });

    test("a merge that would leave the file unreadable is refused", () => {
        const broken = { kernelPerDevice: { value: 9.9, unit: "us" } } as never;
        assert.throws(() => mergeFigures(committedText, broken), /kernelPerDevice/);
    });
});
