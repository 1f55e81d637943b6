/**
 * Data plane, revocation without restart: a device revoked while HAProxy runs is refused on its
 * next connect once the CRL is replaced through the runtime API (`set ssl crl-file` +
 * `commit ssl crl-file`, HAProxy 2.5+, facts-emqx-haproxy.md §12), while other devices carry on.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
    attemptMqttConnect,
    connectMqttDevice,
    endAllMqttDevices,
    endMqttDevice,
} from "../../local-edge/mqtt-device.ts";
import { fleetDeviceOptions } from "./harness/device-fleet.ts";
import { EdgeHarness } from "./harness/edge-harness.ts";

let edge: EdgeHarness;

before(async () => {
    edge = await EdgeHarness.start({ brokerCount: 2 });
});

after(async () => {
    await endAllMqttDevices();
    await edge?.close();
});

// Protects: `crl-file <path>` on the bind together with the admin-level `stats socket` line (the
// runtime API needs `level admin` to replace a CRL). HAProxy keeps running throughout: the master
// and worker pids are the same before and after.
test("a device revoked at run time is refused on its next connect; others are unaffected", async (t) => {
    await edge.withDiagnostics(t, async () => {
        const doomedOptions = await fleetDeviceOptions(edge, "device-to-revoke");
        const bystanderOptions = await fleetDeviceOptions(edge, "device-bystander");
        const doomed = await connectMqttDevice(doomedOptions);
        await endMqttDevice(doomed);
        const bystander = await connectMqttDevice(bystanderOptions);
        const masterPid = edge.haproxy.pid;
        const workerBefore = await edge.haproxy.currentWorker();

        const crlPem = await edge.pki.revoke(doomedOptions.credentials.serialNumber);
        const crlPath = edge.spec.mqtts.crlPath ?? "";
        // Payload syntax: the command ends in "<<", the payload follows, an empty line ends it
        // (hap-2.6 doc/management.txt, "set ssl crl-file").
        const setAnswer = await edge.haproxy.runtime(`set ssl crl-file ${crlPath} <<\n${crlPem}`);
        assert.match(setAnswer, /transaction (created|updated)/i);
        const commitAnswer = await edge.haproxy.runtime(`commit ssl crl-file ${crlPath}`);
        assert.match(commitAnswer, /Success!/);

        const retry = await attemptMqttConnect({
            ...doomedOptions,
            localAddress: edge.addresses.next(),
        });
        assert.equal(retry.connected, false, "the revoked device was let in again");
        assert.match(retry.connected ? "" : retry.reason, /alert certificate revoked/);

        // The bystander's open session still works, and it can connect anew.
        await bystander.subscribeAsync("revocation/bystander", { qos: 1 });
        const received = new Promise<string>((resolve) =>
            bystander.once("message", (_topic, payload) => resolve(payload.toString("utf8"))),
        );
        await bystander.publishAsync("revocation/bystander", "unaffected", { qos: 1 });
        assert.equal(await received, "unaffected");
        await endMqttDevice(bystander);
        const again = await connectMqttDevice({
            ...bystanderOptions,
            localAddress: edge.addresses.next(),
        });
        await endMqttDevice(again);

        assert.equal(edge.haproxy.pid, masterPid);
        assert.equal(
            (await edge.haproxy.currentWorker()).pid,
            workerBefore.pid,
            "HAProxy was reloaded",
        );
    });
});
