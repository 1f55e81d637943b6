/**
 * The shared TLS ticket keys: derivation, the three-key window over epochs, the rendered host
 * script and timer, and how haproxy.cfg and the AWS hosts name them. Running HAProxy with them is
 * test/e2e/tls-resumption.test.ts.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { awsHostPlans } from "../../infra/aws-hosts.ts";
import { parseEdgeConfig } from "../../infra/config.ts";
import { haproxySpecFor } from "../../infra/edge-specs.ts";
import { renderHaproxyUserData } from "../../templates/cloud-init-haproxy.ts";
import { renderHaproxyCfg } from "../../templates/haproxy.ts";
import {
    renderTicketKeyScript,
    renderTicketKeysFile,
    renderTicketKeyTimerUnits,
    TICKET_KEY_BYTES,
    ticketEpoch,
    ticketKeyForEpoch,
} from "../../templates/tls-ticket-keys.ts";
import { checkHaproxyConfig } from "../support/haproxy-check.ts";
import { writeTestPkiFiles } from "../support/test-pki-files.ts";
import { devLikeSpec } from "./haproxy-specs.ts";

const run = promisify(execFile);
const seed = "5a".repeat(32);
const otherSeed = "a5".repeat(32);

test("each epoch has its own 80-byte key, the same for every host with the seed", () => {
    const key = ticketKeyForEpoch(seed, 490_000);
    assert.equal(Buffer.from(key, "base64").length, TICKET_KEY_BYTES);
    assert.equal(ticketKeyForEpoch(seed, 490_000), key, "deterministic");
    assert.notEqual(ticketKeyForEpoch(seed, 490_001), key, "another epoch, another key");
    assert.notEqual(ticketKeyForEpoch(otherSeed, 490_000), key, "another stack, another key");
});

test("the keys file holds epochs n-1, n, n+1 and moves by one key per epoch", () => {
    const period = 3600;
    const t = 1_800_000_000;
    const now = renderTicketKeysFile(seed, t, period).trim().split("\n");
    const later = renderTicketKeysFile(seed, t + period, period)
        .trim()
        .split("\n");
    const epoch = ticketEpoch(t, period);
    assert.deepEqual(
        now,
        [epoch - 1, epoch, epoch + 1].map((n) => ticketKeyForEpoch(seed, n)),
    );
    assert.deepEqual(later.slice(0, 2), now.slice(1), "two keys overlap with the next epoch");
    assert.equal(
        renderTicketKeysFile(seed, epoch * period + period - 1, period),
        renderTicketKeysFile(seed, epoch * period, period),
        "the same keys for a whole epoch",
    );
});

test("a bad seed is refused without echoing it", () => {
    assert.throws(
        () => ticketKeyForEpoch("secret-but-not-hex", 1),
        (error: Error) =>
            /tls ticket seed: not 64 lower-case hex digits/.test(error.message) &&
            !error.message.includes("secret-but-not-hex"),
    );
});

test("the rendered script passes shellcheck and refuses bad arguments", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-ticket-script-"));
    try {
        const script = join(dir, "script.sh");
        const spec = {
            seedPath: join(dir, "seed"),
            keysPath: join(dir, "keys"),
            statsSocketPath: join(dir, "admin.sock"),
            periodSeconds: 3600,
        };
        await writeFile(script, renderTicketKeyScript(spec), { mode: 0o700 });
        await run("shellcheck", [script]);
        await assert.rejects(run(script, ["--later"]), /unknown argument: --later/);
        assert.throws(
            () => renderTicketKeyScript({ ...spec, periodSeconds: 30 }),
            /periodSeconds: 30 is not allowed; it must be a whole number from 60/,
        );
        assert.throws(
            () => renderTicketKeyScript({ ...spec, keysPath: "relative/keys" }),
            /keysPath: "relative\/keys" is not allowed/,
        );
        const units = renderTicketKeyTimerUnits("/usr/local/sbin/rotate");
        assert.match(units.service, /^ExecStart=\/usr\/local\/sbin\/rotate$/m);
        assert.match(units.timer, /^OnCalendar=\*:\*:00$/m);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
});

test("haproxy.cfg names the keys file and the session lifetime, and haproxy -c accepts them", async () => {
    const pki = await writeTestPkiFiles();
    try {
        const keysPath = join(pki.dir, "tls-ticket-keys");
        await writeFile(keysPath, renderTicketKeysFile(seed, 1_800_000_000, 3600));
        const spec = devLikeSpec(pki);
        spec.mqtts.tlsTicketKeysPath = keysPath;
        spec.process.tlsSessionLifetimeMs = 3_600_000;
        const cfg = renderHaproxyCfg(spec);
        assert.match(cfg, new RegExp(` tls-ticket-keys ${keysPath} `));
        assert.match(cfg, /^ {4}tune\.ssl\.lifetime 1h$/m);
        const result = await checkHaproxyConfig(cfg);
        assert.equal(result.exitCode, 0, result.output);
        spec.mqtts.tlsTicketKeysPath = "keys";
        assert.throws(() => renderHaproxyCfg(spec), /mqtts\.tlsTicketKeysPath/);
    } finally {
        await pki.remove();
    }
});

test("an AWS stack ships the seed and the script with the HAProxy files and sizes resumption from its config", () => {
    const config = parseEdgeConfig({
        target: "aws",
        deviceDomains: ["mqtt.example.com"],
        haproxy: { maxconn: 90_000, tlsSessionLifetimeSeconds: 1800 },
    });
    const spec = haproxySpecFor(config, { serverKeyAlgorithms: ["ecdsa-p256"], withCrl: true });
    assert.equal(spec.process.tlsSessionCacheSize, 90_000, "one cache block per connection");
    assert.equal(spec.process.tlsSessionLifetimeMs, 1_800_000);
    assert.ok(spec.mqtts.tlsTicketKeysPath?.startsWith("/run/"), "keys on tmpfs");

    const plan = awsHostPlans(config, "dev", {
        serverKeyAlgorithms: ["ecdsa-p256"],
        withCrl: true,
    });
    const seedFile = plan.haproxy.files.find((f) => f.source.kind === "tlsTicketSeed");
    const scriptFile = plan.haproxy.files.find((f) => f.source.kind === "tlsTicketScript");
    assert.equal(seedFile?.mode, "0600");
    assert.equal(scriptFile?.path, plan.haproxy.ticketKeyScriptPath);
    assert.ok(scriptFile?.source.kind === "tlsTicketScript");
    assert.match(scriptFile.source.script, /^period=1800$/m, "rotates once per session lifetime");
    assert.match(
        scriptFile.source.script,
        new RegExp(`^keys_file='${spec.mqtts.tlsTicketKeysPath}'$`, "m"),
    );

    const files = [
        {
            parameterName: "/p/haproxy.cfg",
            path: "/etc/haproxy/haproxy.cfg",
            mode: "0644",
            owner: "root:root",
        },
    ];
    const userData = {
        architecture: "x86_64" as const,
        healthCheck: { port: 8080, path: "/healthz", sendProxy: false },
        lifecycleHook: { groupName: "mqtt-edge-dev-haproxy", hookName: "mqtt-edge-bootstrap" },
        maxconn: 1000,
        configPath: "/etc/haproxy/haproxy.cfg",
        files,
        ticketKeyScriptPath: "/usr/local/sbin/mqtt-edge-tls-ticket-keys",
    };
    assert.throws(
        () => renderHaproxyUserData(userData),
        /ticketKeyScriptPath: "\/usr\/local\/sbin\/mqtt-edge-tls-ticket-keys" is not among the files/,
    );
    const rendered = renderHaproxyUserData({
        ...userData,
        files: [
            ...files,
            {
                parameterName: "/p/tls-ticket-keys.sh",
                path: "/usr/local/sbin/mqtt-edge-tls-ticket-keys",
                mode: "0755",
                owner: "root:root",
            },
        ],
    });
    assert.match(rendered, /^\/usr\/local\/sbin\/mqtt-edge-tls-ticket-keys --file-only$/m);
    assert.ok(
        rendered.indexOf("mqtt-edge-tls-ticket-keys --file-only") <
            rendered.indexOf("if ! haproxy -c -q -f"),
        "the keys file exists before haproxy -c",
    );
    assert.match(rendered, /^systemctl enable --now mqtt-edge-tls-ticket-keys\.timer$/m);
});

test("the session lifetime must outlive the keepalive window", () => {
    assert.throws(
        () =>
            parseEdgeConfig({
                target: "aws",
                deviceDomains: ["mqtt.example.com"],
                mqtt: { keepaliveSeconds: 300 },
                haproxy: {
                    clientTimeoutSeconds: 600,
                    serverTimeoutSeconds: 600,
                    tlsSessionLifetimeSeconds: 400,
                },
                nlb: { idleTimeoutSeconds: 700 },
            }),
        /haproxy\.tlsSessionLifetimeSeconds.*400.*at least 451/,
    );
    assert.throws(
        () =>
            parseEdgeConfig({
                target: "aws",
                deviceDomains: ["mqtt.example.com"],
                haproxy: { tlsSessionLifetimeSeconds: 10 },
            }),
        /haproxy\.tlsSessionLifetimeSeconds.*10.*300 to 86400/,
    );
});
