/**
 * `npm run smoke`, run as operators run it (a child process, its stdout and exit code), against
 * real HAProxy with the dev stack's rendered haproxy.cfg on loopback: it passes on a sound edge,
 * and fails with one clear line when HAProxy lets a device in without a certificate or when the
 * brokers behind it are gone. The --stack-outputs form is fed the outputs JSON a deployed stack
 * would print, pointing at the local edge.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LocalEdge } from "../../local-edge/local-edge.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const CHECKS = [
    "tls",
    "connack",
    "round-trip",
    "refuses-no-certificate",
    "refuses-foreign-ca",
    "refuses-root-issued-leaf",
];

interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
}

function smoke(args: string[], stdin?: string): Promise<CliRun> {
    return new Promise((resolve) => {
        const child = execFile(
            process.execPath,
            [join(projectDir, "scripts/smoke.ts"), ...args],
            { timeout: 60_000 },
            (error, stdout, stderr) => {
                const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
                resolve({ code, stdout, stderr });
            },
        );
        if (stdin !== undefined) child.stdin?.end(stdin);
    });
}

/** The check lines: status and name of each, in order. */
function checkLines(stdout: string): Array<[string, string]> {
    return stdout
        .split("\n")
        .filter((line) => /^(PASS|FAIL|SKIP) /.test(line))
        .map((line) => line.split(/\s+/).slice(0, 2) as [string, string]);
}

test("--local on the dev stack: exit 0, one line per check, three refusals passed, no key printed", async () => {
    const run = await smoke(["--local"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(
        checkLines(run.stdout),
        CHECKS.map((name) => ["PASS", name]),
    );
    assert.match(run.stdout, /^smoke: OK \(6 checks, 6 passed, 0 skipped\)$/m);
    assert.match(run.stdout, /PASS {2}tls .* in \d+\.\d ms; server certificate chains/);
    assert.match(run.stdout, /PASS {2}round-trip .* came back in \d+\.\d ms/);
    assert.doesNotMatch(run.stdout + run.stderr, /PRIVATE KEY/);
});

describe("--stack-outputs against a local edge that is then broken", () => {
    let edge: LocalEdge;
    let workDir: string;
    let outputsPath: string;
    let soundConfig: string;

    before(async () => {
        edge = await LocalEdge.start({
            stack: "dev",
            brokerCount: 1,
            caKeyAlgorithm: "ecdsa-p256",
        });
        soundConfig = edge.haproxyCfg;
        workDir = await mkdtemp(join(tmpdir(), "mqtt-edge-smoke-test-"));
        const device = await edge.pki.issueDevice("DEVICE-SMOKE-1");
        outputsPath = join(workDir, "outputs.json");
        // The shape `pulumi stack output --show-secrets --json` prints for the docker target.
        await writeFile(
            outputsPath,
            JSON.stringify({
                deviceEndpoint: `${edge.host}:${edge.port}`,
                deviceServerName: edge.serverName,
                deviceTrustBundlePem: edge.pki.rootCertPem,
                rootCertPem: edge.pki.rootCertPem,
                testDevices: [
                    {
                        commonName: device.commonName,
                        certPem: device.certificatePem,
                        keyPem: device.privateKeyPem,
                    },
                ],
            }),
            { mode: 0o600 },
        );
    });

    after(async () => {
        await edge?.close();
        if (workDir) await rm(workDir, { recursive: true, force: true });
    });

    test("a sound edge passes; without the root key the root-leaf refusal is skipped, not passed", async () => {
        const run = await smoke(["--stack", "dev", "--stack-outputs", outputsPath]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.deepEqual(checkLines(run.stdout), [
            ...CHECKS.slice(0, 5).map((name) => ["PASS", name]),
            ["SKIP", "refuses-root-issued-leaf"],
        ]);
        assert.match(run.stdout, /connack .* DEVICE-SMOKE-1 got CONNACK/);
    });

    test("the outputs may come on stdin", async () => {
        const { readFile } = await import("node:fs/promises");
        const run = await smoke(
            ["--stack-outputs", "-", "--json"],
            await readFile(outputsPath, "utf8"),
        );
        assert.equal(run.code, 0, run.stderr);
        const report = JSON.parse(run.stdout) as { passed: boolean; results: { name: string }[] };
        assert.equal(report.passed, true);
        assert.deepEqual(
            report.results.map((r) => r.name),
            CHECKS,
        );
        assert.doesNotMatch(run.stdout, /PRIVATE KEY/);
    });

    test("HAProxy admitting a client without a certificate: exit 1, that check's line says so", async () => {
        // The mistake to catch: verify optional, and the issuer rule gone with it.
        const broken = soundConfig
            .replace("verify required", "verify optional")
            .replace(/^\s*tcp-request session reject unless \{ ssl_c_i_dn\(CN\).*$/m, "");
        assert.notEqual(broken, soundConfig);
        await edge.haproxy.reload(broken);
        try {
            const run = await smoke(["--stack-outputs", outputsPath]);
            assert.equal(run.code, 1, run.stdout + run.stderr);
            const failing = run.stdout.split("\n").filter((line) => line.startsWith("FAIL"));
            assert.deepEqual(failing, [
                "FAIL  refuses-no-certificate    a client without a certificate was ADMITTED (got a CONNACK)",
            ]);
            assert.match(run.stdout, /^smoke: FAILED refuses-no-certificate \(/m);
        } finally {
            await edge.haproxy.reload(soundConfig);
        }
    });

    test("brokers down: exit 1, the CONNACK line says the edge closed before it", async () => {
        await edge.brokers.close();
        const run = await smoke(["--stack-outputs", outputsPath]);
        assert.equal(run.code, 1, run.stdout + run.stderr);
        const lines = run.stdout.split("\n");
        assert.ok(
            lines.includes(
                "FAIL  connack                   device DEVICE-SMOKE-1 got no CONNACK: closed after the handshake, before CONNACK",
            ),
            run.stdout,
        );
        assert.match(run.stdout, /^smoke: FAILED connack, round-trip \(/m);
    });
});

describe("bad input: one line naming the flag, exit 2, nothing run", { concurrency: true }, () => {
    test("no target", async () => {
        const run = await smoke([]);
        assert.equal(run.code, 2);
        assert.equal(
            run.stderr,
            "smoke: error: no target; allowed: --stack <name>, --stack-outputs <file|->, or --local\n",
        );
    });

    test("--local with --stack-outputs", async () => {
        const run = await smoke(["--local", "--stack-outputs", "x.json"]);
        assert.equal(run.code, 2);
        assert.match(
            run.stderr,
            /^smoke: error: --stack-outputs with --local: .*; allowed: one of/,
        );
    });

    test("an unreadable outputs file", async () => {
        const run = await smoke(["--stack-outputs", "/nonexistent/outputs.json"]);
        assert.equal(run.code, 2);
        assert.match(
            run.stderr,
            /^smoke: error: --stack-outputs "\/nonexistent\/outputs.json": cannot read file \(ENOENT\)/,
        );
    });

    test("outputs without a device endpoint", async () => {
        const run = await smoke(["--stack-outputs", "-"], JSON.stringify({ nlbDnsName: "x" }));
        assert.equal(run.code, 2);
        assert.equal(
            run.stderr,
            'smoke: error: --stack-outputs -: output deviceEndpoint is missing; allowed: "<host>:<port>" as the mqtt-edge program exports it\n',
        );
    });

    test("a stack name that is not one", async () => {
        const run = await smoke(["--stack", "dev;rm -rf /"]);
        assert.equal(run.code, 2);
        assert.match(run.stderr, /^smoke: error: --stack "dev;rm -rf \/": not a stack name/);
    });
});
