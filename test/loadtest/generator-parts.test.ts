/**
 * The generator's pure parts: MQTT bytes, the connect schedule, the scenario flags and their
 * bounds, the report's arithmetic, the plot (rendered by librsvg to prove it is a valid picture)
 * and the code the hosts get.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { ConfigError } from "../../infra/config.ts";
import {
    attemptDueSeconds,
    phaseSeconds,
} from "../../scripts/loadtest/generator/connect-schedule.ts";
import type { AttemptRecord } from "../../scripts/loadtest/generator/device-session.ts";
import {
    decodePublish,
    encodeConnect,
    encodePublish,
    encodeSubscribe,
    PacketReader,
} from "../../scripts/loadtest/generator/mqtt-wire.ts";
import type { GeneratorResult } from "../../scripts/loadtest/generator/scenario-job.ts";
import { GENERATOR_ENTRY, generatorCode } from "../../scripts/loadtest/generator-code.ts";
import { buildReport, percentiles } from "../../scripts/loadtest/report.ts";
import { scenarioPassed } from "../../scripts/loadtest/report-files.ts";
import { niceScale, renderReportSvg } from "../../scripts/loadtest/report-plot.ts";
import { generatorJobs, planScenario } from "../../scripts/loadtest/scenario-plan.ts";

const run = promisify(execFile);

describe("MQTT 3.1.1 bytes", () => {
    test("CONNECT: protocol MQTT level 4, clean session, keepalive, client id", () => {
        const bytes = encodeConnect("lt-x-d000001", 60);
        assert.deepEqual(
            [...bytes.subarray(0, 14)],
            [0x10, 24, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 12],
        );
        assert.equal(bytes.subarray(14).toString(), "lt-x-d000001");
    });

    test("remaining length takes a second byte from 128 on (MQTT §2.2.3)", () => {
        const packet = encodePublish("t", Buffer.alloc(200));
        assert.deepEqual([...packet.subarray(0, 3)], [0x30, (203 % 128) | 0x80, 1]);
        const [read] = new PacketReader().push(packet);
        assert.equal(read?.body.length, 203);
        assert.equal(decodePublish(read!).payload.length, 200);
    });

    test("the reader reassembles packets split anywhere and splits packets sent together", () => {
        const a = encodePublish("a/b", Buffer.from("one"));
        const b = encodeSubscribe(1, "a/#");
        const stream = Buffer.concat([a, b]);
        for (let cut = 1; cut < stream.length; cut++) {
            const reader = new PacketReader();
            const packets = [
                ...reader.push(stream.subarray(0, cut)),
                ...reader.push(stream.subarray(cut)),
            ];
            assert.deepEqual(
                packets.map((p) => p.type),
                [3, 8],
                `cut at ${cut}`,
            );
            assert.equal(decodePublish(packets[0]!).payload.toString(), "one");
        }
    });
});

describe("connect schedule", () => {
    test("the rate climbs linearly over the ramp, then holds", () => {
        // 100/s with a 2 s ramp: 100 attempts during the ramp (area of the triangle).
        assert.equal(attemptDueSeconds(0, 100, 2), 0);
        assert.ok(Math.abs(attemptDueSeconds(25, 100, 2) - 1) < 1e-9, "a quarter by half the ramp");
        assert.ok(Math.abs(attemptDueSeconds(100, 100, 2) - 2) < 1e-9);
        assert.ok(Math.abs(attemptDueSeconds(300, 100, 2) - 4) < 1e-9, "then 100 per second");
        assert.equal(attemptDueSeconds(10, 100, 0), 0.1);
        assert.equal(phaseSeconds(0, 100, 2), 0);
    });
});

describe("scenario flags", () => {
    const refuses = (flags: Record<string, string>, mode: "local" | "cloud", message: RegExp) =>
        assert.throws(
            () => planScenario(flags, mode),
            (e: unknown) => e instanceof ConfigError && message.test(e.message),
        );

    test("each bad value is named with what is allowed", () => {
        refuses(
            { scenario: "storm" },
            "local",
            /^--scenario "storm" is not valid: one of connect-storm, reconnect-storm, steady-publish$/,
        );
        refuses(
            { scenario: "connect-storm", devices: "0" },
            "local",
            /^--devices "0" is not valid: a whole number from 1 to 1000000$/,
        );
        refuses(
            { scenario: "connect-storm", rate: "fast" },
            "local",
            /^--rate "fast" is not valid: a number from 1 to 50000$/,
        );
        refuses(
            { scenario: "connect-storm", "publish-rate": "1" },
            "local",
            /^--publish-rate is only for --scenario steady-publish$/,
        );
        refuses(
            { scenario: "connect-storm", generators: "2" },
            "local",
            /^--generators is only for cloud runs/,
        );
        refuses(
            { scenario: "connect-storm", devices: "200000", generators: "2" },
            "cloud",
            /per generator; allowed: at most 60000 .* use --generators 4 or more$/,
        );
        refuses(
            { scenario: "connect-storm", devices: "1000000", rate: "1", generators: "50" },
            "cloud",
            /would run about \d+ s; allowed: at most 7200 s/,
        );
    });

    test("cloud defaults: a generator per 50,000 devices; jobs split devices and rate evenly", () => {
        const plan = planScenario(
            { scenario: "connect-storm", devices: "100001", rate: "2000" },
            "cloud",
        );
        assert.equal(plan.generators, 3);
        const jobs = generatorJobs(plan, "r1", 60, 1234);
        assert.deepEqual(
            jobs.map((j) => [j.firstDevice, j.devices]),
            [
                [0, 33334],
                [33334, 33334],
                [66668, 33333],
            ],
        );
        const rate = jobs.reduce((sum, j) => sum + j.ratePerSecond, 0);
        assert.ok(Math.abs(rate - 2000) < 1e-6);
        assert.ok(jobs.every((j) => j.startAtEpochMs === 1234 && j.keepaliveSeconds === 60));
    });
});

function attempt(
    device: number,
    phase: string,
    startMs: number,
    extra: Partial<AttemptRecord>,
): AttemptRecord {
    return { device, phase, startMs, ...extra };
}

function result(
    generator: number,
    epochWallMs: number,
    attempts: AttemptRecord[],
): GeneratorResult {
    return {
        job: {
            scenario: "reconnect-storm",
            runId: "u",
            generator,
            devices: 2,
            firstDevice: generator * 2,
            ratePerSecond: 10,
            rampSeconds: 0,
            holdSeconds: 1,
            keepaliveSeconds: 60,
            publishPerSecond: 1,
            payloadBytes: 64,
            connectDeadlineMs: 30_000,
            maxPending: 100,
        },
        epochWallMs,
        heldBackByPendingCap: generator * 3,
        durationMs: 3000,
        attempts,
        timeline: [
            { tMs: 0, connected: 0, attempted: 0 },
            { tMs: 500, connected: 2, attempted: 2 },
            { tMs: 2500, connected: 0, attempted: 4 },
        ],
    };
}

describe("report", () => {
    test("nearest-rank percentiles", () => {
        const values = Array.from({ length: 100 }, (_, i) => i + 1);
        assert.deepEqual(percentiles(values), { p50: 50, p90: 90, p99: 99, max: 100 });
        assert.deepEqual(percentiles([7]), { p50: 7, p90: 7, p99: 7, max: 7 });
        assert.equal(percentiles([]), null);
    });

    test("merges generators on one clock, by phase, with failures by kind", () => {
        const report = buildReport(
            [
                result(0, 1_000_000, [
                    attempt(0, "connect", 0, { handshakeMs: 10, connackMs: 20 }),
                    attempt(1, "connect", 100, { handshakeMs: 12, connackMs: 30 }),
                    attempt(0, "reconnect", 1500, { handshakeMs: 5, connackMs: 8, resumed: true }),
                    attempt(1, "reconnect", 1600, {
                        handshakeMs: 9,
                        connackMs: 15,
                        resumed: false,
                    }),
                ]),
                // Started 1 s later: its times shift by 1000 ms.
                result(1, 1_001_000, [
                    attempt(2, "connect", 0, { handshakeMs: 11, connackMs: 40 }),
                    attempt(3, "connect", 50, { failure: "tls" }),
                    attempt(2, "reconnect", 1500, { handshakeMs: 6, connackMs: 9, resumed: true }),
                    attempt(3, "reconnect", 1500, { failure: "timeout" }),
                ]),
            ],
            "cloud",
        );
        assert.equal(report.devices, 4);
        assert.equal(report.attempted, 4);
        assert.equal(report.connected, 3);
        assert.deepEqual(report.failed, { tls: 1 });
        assert.deepEqual(report.phases.reconnect?.failed, { timeout: 1 });
        assert.equal(report.resumedFraction, 0.667);
        assert.deepEqual(report.connackMs, { p50: 30, p90: 40, p99: 40, max: 40 });
        // Connected CONNACKs from t=0 to t=1000+0+40 ms: 3 in 1.04 s.
        assert.equal(report.connectRatePerSecond, 2.9);
        assert.equal(report.startedAt, new Date(1_000_000).toISOString());
        assert.equal(report.heldBackByPendingCap, 3);
        assert.equal(report.durationSeconds, 4);
        const at = (t: number) => report.connectionsOverTime.find((r) => r.tSeconds === t);
        assert.deepEqual(at(0.5), { tSeconds: 0.5, connected: 2, attempted: 2 });
        assert.deepEqual(at(1.5), { tSeconds: 1.5, connected: 4, attempted: 4 });
        assert.deepEqual(
            report.latencyOverTime.map((r) => [r.tSeconds, r.count]),
            // gen 0's connects | gen 1's first connect (shifted) + gen 0's reconnects | gen 1's reconnect
            [
                [0, 2],
                [1, 3],
                [2, 1],
            ],
        );
        assert.equal(scenarioPassed(report), false);
        assert.equal(report.generatorUsage, undefined, "no host said what it used");
    });

    test("the busiest generator host's own CPU and peak memory, when the hosts report them", () => {
        const used = (r: GeneratorResult, cpuSeconds: number, peakRssMiB: number) => ({
            ...r,
            hostUsage: { cpuSeconds, peakRssMiB },
        });
        const report = buildReport(
            [used(result(0, 0, []), 12.5, 300.1), used(result(1, 0, []), 9.25, 410.7)],
            "cloud",
        );
        assert.deepEqual(report.generatorUsage, { cpuSeconds: 12.5, peakRssMiB: 410.7 });
    });

    test("the plot is an SVG that librsvg renders, with both panels and the heading", async () => {
        const report = buildReport(
            [result(0, 5_000, [attempt(0, "connect", 0, { handshakeMs: 3, connackMs: 7 })])],
            "local",
        );
        const svg = renderReportSvg(report);
        assert.match(svg, /<title>reconnect-storm: 1 of 2 devices connected[^<]*<\/title>/);
        assert.match(svg, /Devices connected/);
        assert.match(svg, /CONNACK latency by second of attempt start/);
        assert.match(svg, /reconnect-storm: 1 of 2 devices connected/);
        const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-plot-"));
        try {
            await writeFile(join(dir, "report.svg"), svg);
            await run("rsvg-convert", ["-o", join(dir, "report.png"), join(dir, "report.svg")]);
            const png = await readFile(join(dir, "report.png"));
            assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG came out");
            assert.equal(png.readUInt32BE(16), 900, "at the SVG's width");
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });

    test("axis scales end on 1, 2 or 5 times a power of ten", () => {
        assert.deepEqual(niceScale(2000), { max: 2000, step: 500 });
        assert.deepEqual(niceScale(37), { max: 40, step: 10 });
        assert.deepEqual(niceScale(0), { max: 1, step: 0.2 });
    });
});

describe("the code the generator hosts run", () => {
    test("every generator file, types stripped, imports pointing at .mjs, loads in plain Node", async () => {
        const files = generatorCode();
        assert.ok(GENERATOR_ENTRY in files);
        const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-generator-code-"));
        try {
            for (const [name, code] of Object.entries(files)) {
                assert.doesNotMatch(code, /from ["']\.\/[^"']+\.ts["']/, name);
                await writeFile(join(dir, name), code);
            }
            // Plain JavaScript: loading it needs no type stripping, and the entry's usage line shows.
            const usage = await run(process.execPath, [
                "--no-experimental-strip-types",
                join(dir, GENERATOR_ENTRY),
            ]).then(
                () => assert.fail("expected exit 2 without arguments"),
                (e: { code: number; stderr: string }) => e,
            );
            assert.equal(usage.code, 2);
            assert.match(
                usage.stderr,
                /usage: node host-main\.mjs <job\.json> <devices\.json> <result\.json>/,
            );
        } finally {
            await rm(dir, { recursive: true, force: true });
        }
    });
});
