/**
 * `npm run loadtest` runs the smoke checks on the fresh stack before the operator's command: a
 * failed check stops it before the command and still tears the stack down. The preflight itself
 * runs for real against the dev stack's haproxy.cfg on loopback, fed outputs shaped as the
 * Automation API returns them.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { readStackFile } from "../../infra/stack-file.ts";
import { LocalEdge } from "../../local-edge/local-edge.ts";
import { planLoadtest } from "../../scripts/loadtest/plan.ts";
import { runLoadtest } from "../../scripts/loadtest/run.ts";
import type { StackOutput } from "../../scripts/loadtest/workspace.ts";
import { smokePreflight } from "../../scripts/smoke/loadtest-preflight.ts";
import { FakeWorkspace } from "./fake-workspace.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const plan = planLoadtest({
    base: readStackFile(projectDir, "local"),
    id: "s1",
    ttlHours: 2,
    overrides: [],
    now: new Date("2026-03-01T10:00:00Z"),
});
const outputs = { deviceEndpoint: { value: "127.0.0.1:8883", secret: false } };

async function loadtestWith(preflight: () => Promise<boolean>) {
    const fake = new FakeWorkspace({ outputs });
    const order: string[] = [];
    const lines: string[] = [];
    const code = await runLoadtest(plan, "./bench.sh", {
        workspace: fake,
        runCommand: async () => {
            order.push("command");
            return 0;
        },
        log: (line) => lines.push(line),
        interrupt: new AbortController().signal,
        projectDir,
        preflight: async () => {
            order.push("smoke");
            return preflight();
        },
    });
    return { code, order, lines, calls: fake.calls };
}

describe("the load test runs the smoke checks first", () => {
    test("passing checks: smoke, then the command", async () => {
        const run = await loadtestWith(async () => true);
        assert.equal(run.code, 0);
        assert.deepEqual(run.order, ["smoke", "command"]);
    });

    test("failing checks: no command, the stack is still destroyed and removed, exit 1", async () => {
        const run = await loadtestWith(async () => false);
        assert.equal(run.code, 1);
        assert.deepEqual(run.order, ["smoke"]);
        assert.deepEqual(run.calls.slice(-2), ["destroy loadtest-s1", "remove loadtest-s1"]);
        assert.ok(
            run.lines.includes(
                "loadtest: smoke failed: the smoke checks failed; the command was not run",
            ),
            run.lines.join("\n"),
        );
    });
});

describe("the preflight against the dev stack's haproxy.cfg on loopback", () => {
    let edge: LocalEdge;
    let stackOutputs: Record<string, StackOutput>;

    before(async () => {
        edge = await LocalEdge.start({
            stack: "dev",
            brokerCount: 1,
            caKeyAlgorithm: "ecdsa-p256",
        });
        const device = await edge.pki.issueDevice("LOADTEST-SMOKE-1");
        stackOutputs = {
            deviceEndpoint: { value: `${edge.host}:${edge.port}`, secret: false },
            deviceServerName: { value: edge.serverName, secret: false },
            deviceTrustBundlePem: { value: edge.pki.rootCertPem, secret: false },
            testDevices: {
                value: [
                    {
                        commonName: device.commonName,
                        certPem: device.certificatePem,
                        keyPem: device.privateKeyPem,
                    },
                ],
                secret: true,
            },
        };
    });

    after(async () => {
        await edge?.close();
    });

    test("passes, one line per check and a summary, no key in any line", async () => {
        const lines: string[] = [];
        const passed = await smokePreflight(stackOutputs, (line) => lines.push(line));
        assert.equal(passed, true, lines.join("\n"));
        assert.equal(lines.length, 7, lines.join("\n"));
        assert.match(lines[1] ?? "", /^smoke: PASS {2}connack .* LOADTEST-SMOKE-1 got CONNACK/);
        assert.equal(lines[6], "smoke: OK (6 checks, 5 passed, 1 skipped)");
        assert.ok(lines.every((line) => !line.includes("PRIVATE KEY")));
    });

    test("fails when the brokers are gone", async () => {
        await edge.brokers.close();
        const lines: string[] = [];
        assert.equal(await smokePreflight(stackOutputs, (line) => lines.push(line)), false);
        assert.ok(
            lines.some((line) => line.startsWith("smoke: FAIL  connack")),
            lines.join("\n"),
        );
    });
});
