/**
 * One generator against a local edge, at the level of its sessions: devices hold their
 * connections with PINGREQ within the keepalive they announce (the broker stand-ins, like EMQX,
 * drop a client that stays silent for 1.5 x its keepalive), and a refused certificate is a
 * failure of the right kind.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LocalEdge } from "../../local-edge/local-edge.ts";
import { loadIssuingCa } from "../../pki/ca.ts";
import { createThrowawayCa } from "../../pki/self-signed-ca.ts";
import { issueDeviceBatch } from "../../scripts/loadtest/device-batch.ts";
import { DeviceSession } from "../../scripts/loadtest/generator/device-session.ts";
import { runScenario } from "../../scripts/loadtest/generator/run-scenario.ts";
import { generatorJobs, planScenario } from "../../scripts/loadtest/scenario-plan.ts";

let edge: LocalEdge;

before(async () => {
    edge = await LocalEdge.start({ stack: "dev", caKeyAlgorithm: "ecdsa-p256" });
});

after(async () => {
    await edge?.close();
});

const target = () => ({
    host: edge.host,
    port: edge.port,
    serverName: edge.serverName,
    trustBundlePem: edge.pki.rootCertPem,
});

test("devices stay connected through a hold of three times their keepalive", async () => {
    const plan = planScenario(
        { scenario: "connect-storm", devices: "5", rate: "50", hold: "6" },
        "local",
    );
    // A 2 s keepalive: a device that did not ping would be dropped after 3 s (1.5 x), well inside
    // the hold; pinging every second leaves room for a busy machine's event-loop lag.
    const [job] = generatorJobs(plan, "ka", 2);
    assert.ok(job);
    const batch = await issueDeviceBatch(edge.pki.deviceIssuingCa, "ka", 5, 0);
    const result = await runScenario(job, { target: target(), devices: batch.devices });
    assert.ok(result.attempts.every((a) => a.failure === undefined && a.connackMs !== undefined));
    const lastConnect = Math.max(...result.attempts.map((a) => a.startMs + (a.connackMs ?? 0)));
    // The hold starts once every attempt is decided, so no device closes before it has ended.
    for (const a of result.attempts) {
        assert.ok((a.closedMs ?? 0) >= lastConnect + 6_000, JSON.stringify(a));
    }
    const late = result.timeline.filter(
        (s) => s.tMs >= lastConnect + 3_500 && s.tMs <= lastConnect + 5_500,
    );
    assert.ok(
        late.length > 0 && late.every((s) => s.connected === 5),
        JSON.stringify(result.timeline),
    );
});

test("a certificate from the wrong issuer is refused: the attempt fails, and no CN reaches a broker", async () => {
    const mark = edge.brokers.connections.length;
    const rootLeaf = await edge.pki.issueRootLeaf("lt-wrong-issuer");
    const session = await DeviceSession.open(
        target(),
        {
            commonName: "lt-wrong-issuer",
            certificatePem: rootLeaf.certificatePem,
            privateKeyPem: rootLeaf.privateKeyPem,
        },
        0,
        "connect",
        { keepaliveSeconds: 60, deadlineMs: 10_000, epoch: performance.now() },
    );
    assert.equal(session.connected, false);
    // The root-issued leaf verifies, so the handshake completes; HAProxy's issuer pin then closes
    // the session before any byte reaches a broker: no CONNACK, "closed".
    assert.equal(session.record.failure, "closed");
    assert.equal(session.record.connackMs, undefined);
    assert.equal(
        edge.brokers.connections.slice(mark).some((c) => c.commonName === "lt-wrong-issuer"),
        false,
    );
});

test("a certificate from an unknown CA fails the handshake: a tls failure", async () => {
    const pem = await createThrowawayCa({ commonName: "not the device CA", validityDays: 1 });
    const stranger = await loadIssuingCa(
        pem.certificatePem,
        pem.privateKeyPem,
        { certificate: "stranger CA", privateKey: "stranger key" },
        "certificates",
    );
    const [device] = (await issueDeviceBatch(stranger, "stranger", 1, 0)).devices;
    assert.ok(device);
    const session = await DeviceSession.open(target(), device, 0, "connect", {
        keepaliveSeconds: 60,
        deadlineMs: 10_000,
        epoch: performance.now(),
    });
    // TLS 1.3: HAProxy refuses the chain after the device's side of the handshake is done; the
    // alert it sends still makes this a TLS failure, not a broker or a timeout one.
    assert.equal(session.record.failure, "tls");
    assert.equal(session.connected, false);
});
