/**
 * Data plane, balancing and limits: how HAProxy (config from templates/haproxy.ts) spreads devices
 * over the PROXY-v2 broker stand-ins, and what happens past the frontend's maxconn.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { acceptQueueLength } from "../../local-edge/loopback-endpoints.ts";
import {
    attemptMqttConnect,
    endAllMqttDevices,
    endMqttDevice,
} from "../../local-edge/mqtt-device.ts";
import { waitFor } from "../../local-edge/wait-for.ts";
import { brokerOf, connectFleet, fleetDeviceOptions, spreadOf } from "./harness/device-fleet.ts";
import { EdgeHarness } from "./harness/edge-harness.ts";

const edges: EdgeHarness[] = [];

async function startEdge(options: Parameters<typeof EdgeHarness.start>[0]): Promise<EdgeHarness> {
    const edge = await EdgeHarness.start(options);
    edges.push(edge);
    return edge;
}

afterEach(async () => {
    await endAllMqttDevices();
    await Promise.all(edges.splice(0).map((edge) => edge.close()));
});

// Protects: `balance roundrobin` in the backend. Nine devices over three equal servers go 3/3/3;
// after the three on one broker leave, the next three still go one to each broker (roundrobin
// ignores load), which leastconn would not do.
test("roundrobin spreads devices evenly and keeps rotating regardless of load", async (t) => {
    const edge = await startEdge({
        customize: (spec) => {
            spec.backend.balance = "roundrobin";
        },
    });
    await edge.withDiagnostics(t, async () => {
        const fleet = await connectFleet(edge, "rr", 9);
        assert.deepEqual(spreadOf(edge, fleet), { "broker-1": 3, "broker-2": 3, "broker-3": 3 });
        const leaving = fleet.filter((device) => brokerOf(edge, device) === "broker-1");
        await Promise.all(leaving.map((device) => endMqttDevice(device.client)));
        const more = await connectFleet(edge, "rr-late", 3);
        assert.deepEqual(spreadOf(edge, more), { "broker-1": 1, "broker-2": 1, "broker-3": 1 });
    });
});

// Protects: `balance leastconn` in the backend. Sequential devices fill the brokers evenly; after
// the three on one broker leave, the next three all go to that (now least loaded) broker.
test("leastconn sends new devices to the broker with the fewest sessions", async (t) => {
    const edge = await startEdge({
        customize: (spec) => {
            spec.backend.balance = "leastconn";
        },
    });
    await edge.withDiagnostics(t, async () => {
        const fleet = await connectFleet(edge, "lc", 9);
        assert.deepEqual(spreadOf(edge, fleet), { "broker-1": 3, "broker-2": 3, "broker-3": 3 });
        const leaving = fleet.filter((device) => brokerOf(edge, device) === "broker-2");
        await Promise.all(leaving.map((device) => endMqttDevice(device.client)));
        // leastconn counts sessions HAProxy still holds: wait until it has let go of all three.
        await waitFor(
            "the departed devices' sessions to close",
            5_000,
            () =>
                edge.brokers.connections.filter((c) => c.broker === "broker-2" && c.open).length ===
                0,
        );
        const more = await connectFleet(edge, "lc-late", 3);
        assert.deepEqual(spreadOf(edge, more), { "broker-1": 0, "broker-2": 3, "broker-3": 0 });
    });
});

// Protects: the frontend's `maxconn` line. Past the limit HAProxy stops accepting, so the extra
// device waits (its TCP connection sits in the listen backlog, no TLS answer) instead of being
// refused; the connected devices keep working; when one leaves, the waiting one gets in.
test("frontend maxconn holds the extra device back while connected devices keep working", async (t) => {
    const limit = 3;
    const edge = await startEdge({
        customize: (spec) => {
            spec.mqtts.maxconn = limit;
        },
    });
    await edge.withDiagnostics(t, async () => {
        const fleet = await connectFleet(edge, "mc", limit);
        await waitFor(
            `the mqtts frontend to hold ${limit} of ${limit} sessions`,
            5_000,
            async () => {
                const frontend = await edge.haproxy.statRow("mqtts", "FRONTEND");
                return frontend.scur === String(limit) && frontend.slim === String(limit);
            },
        );
        const extraOptions = await fleetDeviceOptions(edge, "mc-extra");
        const extra = attemptMqttConnect(extraOptions, 20_000);
        let extraSettled = false;
        void extra.then(() => {
            extraSettled = true;
        });
        // Waiting, not refused: the kernel completed its TCP handshake, but HAProxy has stopped
        // accepting, so the connection sits in the listener's accept queue.
        await waitFor("the extra device to wait in HAProxy's accept queue", 5_000, async () => {
            return (await acceptQueueLength(edge.mqttsAddress, edge.mqttsPort)) === 1;
        });

        // The connected devices still exchange messages while the extra one waits.
        const [first, second] = fleet;
        assert.ok(first !== undefined && second !== undefined);
        await first.client.subscribeAsync("fleet/mc/ping", { qos: 1 });
        const received = new Promise<string>((resolve) =>
            first.client.once("message", (_topic, payload) => resolve(payload.toString("utf8"))),
        );
        await second.client.publishAsync("fleet/mc/ping", "still-here", { qos: 1 });
        assert.equal(await received, "still-here");
        assert.equal(
            extraSettled,
            false,
            "the device past maxconn was answered while the frontend was full",
        );
        assert.equal((await edge.haproxy.statRow("mqtts", "FRONTEND")).stot, String(limit));
        assert.equal(
            edge.brokers.connections.some((c) => c.sourceAddress === extraOptions.localAddress),
            false,
            "the device past maxconn reached a broker while the frontend was full",
        );

        await endMqttDevice(second.client);
        const outcome = await extra;
        assert.equal(outcome.connected, true, outcome.connected ? "" : outcome.reason);
    });
});
