/**
 * The local edge that operator commands run with `--local`: the dev stack's own haproxy.cfg in a
 * real HAProxy on loopback, a local chain of the stack's algorithms, PROXY-v2 stand-ins.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { haproxySpecFor } from "../../infra/edge-specs.ts";
import { LocalEdge, maxconnThatFits } from "../../local-edge/local-edge.ts";
import {
    attemptMqttConnect,
    connectMqttDevice,
    endAllMqttDevices,
} from "../../local-edge/mqtt-device.ts";
import { waitFor } from "../../local-edge/wait-for.ts";
import {
    canDropPrivileges,
    haproxyAccount,
    processIdentity,
} from "../../local-edge/worker-privileges.ts";
import { issueDeviceCertificate } from "../../pki/issue.ts";

let edge: LocalEdge;

before(async () => {
    edge = await LocalEdge.start({ stack: "dev", caKeyAlgorithm: "ecdsa-p256" });
});

after(async () => {
    await endAllMqttDevices();
    await edge?.close();
});

function deviceOptions(clientId: string) {
    return {
        host: edge.host,
        port: edge.port,
        localAddress: edge.addresses.next(),
        caPath: edge.pki.rootCaPath,
        serverIdentity: edge.serverName,
        clientId,
    };
}

test("runs the stack's own rendering: only addresses, paths, log and limits differ", () => {
    const production = haproxySpecFor(edge.config, {
        serverKeyAlgorithms: edge.config.pki.serverKeyAlgorithms,
        withCrl: true,
    });
    assert.deepEqual(edge.spec.timeouts, production.timeouts);
    assert.deepEqual(edge.spec.backend.healthCheck, production.backend.healthCheck);
    assert.equal(edge.spec.backend.balance, production.backend.balance);
    assert.equal(edge.spec.mqtts.minTlsVersion, production.mqtts.minTlsVersion);
    assert.equal(edge.spec.mqtts.deviceIssuerCommonName, edge.config.pki.intermediateCommonName);
    assert.equal(
        edge.spec.process.maxconn,
        Math.min(production.process.maxconn, maxconnThatFits()),
    );
    assert.match(edge.haproxyCfg, /crl-file /);
    // one line per stand-in and listener port, as many ports per node as the stack has
    const linesPerNode = production.backend.linesPerNode ?? 1;
    assert.equal(
        edge.spec.backend.servers.length,
        Math.min(edge.config.emqx.nodes, 3) * linesPerNode,
    );
    assert.deepEqual(
        edge.spec.backend.servers.map((s) => s.name),
        production.backend.servers
            .filter((_, i) => i % edge.config.emqx.nodes < 3)
            .map((s) => s.name),
    );
});

test("workers take the stack's drop to haproxy, in a chroot of the run's own, where the user may switch", async () => {
    const production = haproxySpecFor(edge.config, {
        serverKeyAlgorithms: edge.config.pki.serverKeyAlgorithms,
        withCrl: true,
    }).process.runAs;
    assert.notEqual(production, "starting-user");
    const worker = await processIdentity((await edge.haproxy.currentWorker()).pid);
    if (!canDropPrivileges()) {
        // Only root can switch user; anyone else runs the workers as themselves.
        assert.equal(edge.spec.process.runAs, "starting-user");
        assert.equal(worker.uid, process.getuid?.());
        return;
    }
    const runAs = edge.spec.process.runAs;
    assert.ok(runAs !== "starting-user" && production !== "starting-user");
    assert.deepEqual([runAs.user, runAs.group], [production.user, production.group]);
    const account = await haproxyAccount();
    assert.deepEqual(worker, { uid: account.uid, gid: account.gid, root: runAs.chroot });
});

test("a device from the intermediate reaches a stand-in with its CN in PROXY v2", async () => {
    const device = await edge.pki.issueDevice("LOCAL-EDGE-0001");
    await connectMqttDevice({ ...deviceOptions("LOCAL-EDGE-0001"), credentials: device });
    await waitFor("the CN at a stand-in", 5_000, async () =>
        edge.brokers.connections.some((c) => c.commonName === "LOCAL-EDGE-0001"),
    );
});

test("a root-issued leaf and a device without a certificate are refused", async () => {
    const rootLeaf = await edge.pki.issueRootLeaf("ROOT-LEAF");
    const pinned = await attemptMqttConnect({
        ...deviceOptions("ROOT-LEAF"),
        credentials: rootLeaf,
    });
    assert.equal(pinned.connected, false);
    const anonymous = await attemptMqttConnect(deviceOptions("NO-CERT"));
    assert.equal(anonymous.connected, false);
    assert.equal(
        edge.brokers.connections.some((c) => c.commonName === "ROOT-LEAF"),
        false,
    );
});

test("a revoked device is refused once the CRL is swapped in", async () => {
    const device = await edge.pki.issueDevice("LOCAL-EDGE-REVOKED");
    const crl = await edge.pki.revoke(device.serialNumber, device.commonName);
    await edge.reload();
    assert.match(crl, /BEGIN X509 CRL/);
    const outcome = await attemptMqttConnect({
        ...deviceOptions("LOCAL-EDGE-REVOKED"),
        credentials: device,
    });
    assert.equal(outcome.connected, false);
    const control = await edge.pki.issueDevice("LOCAL-EDGE-KEPT");
    await connectMqttDevice({ ...deviceOptions("LOCAL-EDGE-KEPT"), credentials: control });
});

test("the device intermediate signs with pki/issue.ts, and HAProxy admits what it signs", async () => {
    const ca = edge.pki.deviceIssuingCa;
    assert.equal(ca.certificatePem, edge.pki.intermediateCertPem);
    const issued = await issueDeviceCertificate(ca, {
        commonName: "LOCAL-EDGE-BATCH",
        validityDays: 1,
        keySpec: { algorithm: "ecdsa", curve: "P-256" },
    });
    await connectMqttDevice({
        ...deviceOptions("LOCAL-EDGE-BATCH"),
        credentials: { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem },
    });
    await waitFor("the batch-issued CN at a stand-in", 5_000, async () =>
        edge.brokers.connections.some((c) => c.commonName === "LOCAL-EDGE-BATCH"),
    );
});
