/**
 * Local mode for real: the dev stack's haproxy.cfg in a real HAProxy on loopback, PROXY-v2 broker
 * stand-ins, and the generator's devices with their own certificates. The report is checked
 * against the stand-ins' own records, not against itself.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { BrokerConnection } from "../../local-edge/broker-stand-ins.ts";
import { deviceCommonName } from "../../scripts/loadtest/device-batch.ts";
import { runLocalScenario } from "../../scripts/loadtest/local-run.ts";
import type { LoadtestReport } from "../../scripts/loadtest/report.ts";
import { planScenario } from "../../scripts/loadtest/scenario-plan.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;
let outRoot: string;

before(async () => {
    outRoot = await mkdtemp(join(tmpdir(), "mqtt-edge-loadtest-local-"));
});

after(async () => {
    await rm(outRoot, { recursive: true, force: true });
});

const readReport = async (dir: string) =>
    JSON.parse(await readFile(join(dir, "report.json"), "utf8")) as LoadtestReport;

describe("connect-storm with 300 devices against the dev stack's haproxy.cfg", () => {
    let report: LoadtestReport;
    let exitCode: number;
    let connections: BrokerConnection[] = [];
    let stderr = "";
    const logLines: string[] = [];
    const runId = "t300";

    before(async () => {
        const outDir = join(outRoot, "storm");
        ({ exitCode } = await runLocalScenario(
            {
                stack: "dev",
                plan: planScenario(
                    {
                        scenario: "connect-storm",
                        devices: "300",
                        rate: "150",
                        hold: "1",
                        // Correctness, not latency, is checked here: a busy CI machine may give
                        // HAProxy a fraction of a core, so keep the queue short and the patience long.
                        "max-pending": "25",
                        "connect-timeout": "120",
                    },
                    "local",
                ),
                runId,
                outDir,
            },
            {
                log: (line) => logLines.push(line),
                stderr: {
                    write: (text: string) => {
                        stderr += text;
                    },
                },
                interrupt: new AbortController().signal,
                inspect: (edge) => {
                    // The run's own devices; the smoke checks before the scenario add their device.
                    connections = edge.brokers.connections
                        .filter((c) => c.commonName?.startsWith(`lt-${runId}-`))
                        .map((c) => ({ ...c }));
                },
            },
        ));
        report = await readReport(outDir);
    });

    test("every device reached a stand-in exactly once, with its own CN in PROXY v2", () => {
        assert.equal(exitCode, 0, stderr);
        const byName = new Map<string, number>();
        for (const c of connections) {
            byName.set(c.commonName ?? "", (byName.get(c.commonName ?? "") ?? 0) + 1);
            assert.equal(c.sslVerifyResult, 0, "HAProxy verified the certificate");
        }
        for (let n = 0; n < 300; n++) {
            assert.equal(byName.get(deviceCommonName(runId, n)), 1, deviceCommonName(runId, n));
        }
        assert.equal(connections.length, 300);
        // The client id each device sent is its CN, as EMQX's peer_cert_as_clientid would make it.
        assert.ok(connections.every((c) => c.clientId === c.commonName));
    });

    test("the smoke checks ran and passed before the scenario", () => {
        const summary = logLines.findIndex((l) => /^smoke: /.test(l));
        assert.ok(summary >= 0, logLines.join("\n"));
        const issuing = logLines.findIndex((l) => /issuing 300 device certificates/.test(l));
        assert.ok(summary < issuing, "smoke first");
    });

    test("the report agrees with the stand-ins' records", () => {
        const distinct = new Set(connections.map((c) => c.commonName)).size;
        assert.equal(report.local?.distinctCommonNamesAtBrokers, distinct);
        assert.equal(
            report.distinctCommonNamesAtBrokers,
            distinct,
            "also at the top of the report",
        );
        assert.equal(report.local?.brokerConnections, connections.length);
        assert.equal(report.attempted, 300);
        assert.equal(report.connected, connections.length);
        assert.deepEqual(report.failed, {});
        assert.equal(report.devices, 300);
        for (const p of [report.handshakeMs, report.connackMs]) {
            assert.ok(
                p !== null && p.p50 > 0 && p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max,
            );
        }
        assert.ok((report.connackMs?.p50 ?? 0) >= (report.handshakeMs?.p50 ?? Infinity));
        assert.ok(report.local !== undefined && report.local.haproxyCpuSeconds > 0);
        assert.ok(report.local.haproxyPeakRssMiB > 1);
        const peak = Math.max(...report.connectionsOverTime.map((r) => r.connected));
        assert.equal(peak, 300, "all 300 were connected at once during the hold");
        assert.equal(
            report.latencyOverTime.reduce((sum, r) => sum + r.count, 0),
            300,
            "every CONNACK is in the latency timeline",
        );
        assert.match(stderr, /connected 300 +failed 0/);
    });

    test("attempts.csv has one row per attempt, the same the report counts", async () => {
        const rows = (await readFile(join(outRoot, "storm", "attempts.csv"), "utf8"))
            .trimEnd()
            .split("\n");
        assert.equal(
            rows[0],
            "generator,device,phase,start_ms,handshake_ms,connack_ms,resumed,failure,closed_ms",
        );
        assert.equal(rows.length - 1, report.attempted);
        const devices = new Set(rows.slice(1).map((row) => row.split(",")[1]));
        assert.equal(devices.size, 300);
        assert.ok(
            rows.slice(1).every((row) => row.split(",")[7] === "" && row.split(",")[5] !== ""),
        );
    });
});

describe("the CLI, --local", () => {
    test("reconnect-storm: exits 0, writes report.json and report.svg, resumes TLS sessions", async () => {
        const outDir = join(outRoot, "reconnect");
        const { stderr } = await run(
            process.execPath,
            [
                join(projectDir, "scripts/loadtest.ts"),
                "--local",
                "--scenario",
                "reconnect-storm",
                "--devices",
                "30",
                "--rate",
                "60",
                "--hold",
                "0.5",
                "--out",
                outDir,
            ],
            { cwd: projectDir },
        );
        const report = await readReport(outDir);
        assert.equal(report.phases.reconnect?.connected, 30, stderr);
        assert.equal(report.connected, 30);
        // The devices offer the session tickets of their first connection.
        assert.ok((report.phases.reconnect?.resumedFraction ?? 0) > 0.9, stderr);
        assert.equal(report.phases.connect?.resumedFraction, 0);
        assert.equal(report.resumedFraction, report.phases.reconnect?.resumedFraction);
        assert.match(
            await readFile(join(outDir, "report.svg"), "utf8"),
            /^<\?xml[\s\S]*<\/svg>\n$/,
        );
        assert.match(stderr, /reconnect +connected 30\/30/);
    });

    test("steady-publish: every message reaches the subscriber through the edge", async () => {
        const outDir = join(outRoot, "publish");
        const { stderr } = await run(
            process.execPath,
            [
                join(projectDir, "scripts/loadtest.ts"),
                "--local",
                "--scenario",
                "steady-publish",
                "--devices",
                "20",
                "--rate",
                "40",
                "--hold",
                "2",
                "--publish-rate",
                "2",
                "--out",
                outDir,
            ],
            { cwd: projectDir },
        );
        const report = await readReport(outDir);
        assert.equal(report.connected, 20, stderr);
        assert.ok(report.publish !== undefined && report.publish.sent >= 20 * 2);
        assert.equal(report.publish.received, report.publish.sent);
        assert.ok((report.publish.latencyMs?.p50 ?? 0) > 0);
        // The subscriber is one more device, with a CN of its own.
        assert.equal(report.local?.distinctCommonNamesAtBrokers, 20);
    });

    test("more devices than the descriptor limit allows: one line, exit 2, nothing started", async () => {
        const result = await run(
            process.execPath,
            [
                join(projectDir, "scripts/loadtest.ts"),
                "--local",
                "--scenario",
                "connect-storm",
                "--devices",
                "20000",
                "--out",
                join(outRoot, "refused"),
            ],
            { cwd: projectDir },
        ).then(
            () => assert.fail("expected exit 2"),
            (e: { code: number; stderr: string }) => e,
        );
        assert.equal(result.code, 2);
        assert.match(
            result.stderr,
            /^loadtest: --devices 20000 is more than this machine's open-files limit \(\d+\) lets one local run hold: at most \d+/,
        );
        assert.equal(result.stderr.trimEnd().split("\n").length, 1);
    });
});
