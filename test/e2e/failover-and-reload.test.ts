/**
 * Data plane, node loss and reloads: HAProxy (config from templates/haproxy.ts) takes a stopped
 * broker out within fall x inter and brings it back, and a graceful reload keeps established
 * device sessions while new sessions follow the new config.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { MqttClient } from "mqtt";
import { endAllMqttDevices } from "../../local-edge/mqtt-device.ts";
import { waitFor } from "../../local-edge/wait-for.ts";
import type { HaproxyHealthCheck } from "../../templates/haproxy-spec.ts";
import { brokerOf, connectFleet, spreadOf } from "./harness/device-fleet.ts";
import { EdgeHarness } from "./harness/edge-harness.ts";

const edges: EdgeHarness[] = [];

afterEach(async () => {
    await endAllMqttDevices();
    await Promise.all(edges.splice(0).map((edge) => edge.close()));
});

/** Publishes from `publisher` to `subscriber` and resolves with what arrived. */
async function roundTrip(
    subscriber: MqttClient,
    publisher: MqttClient,
    topic: string,
    text: string,
): Promise<string> {
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const received = new Promise<string>((resolve) =>
        subscriber.once("message", (_topic, payload) => resolve(payload.toString("utf8"))),
    );
    await publisher.publishAsync(topic, text, { qos: 1 });
    return received;
}

const healthChecks: Array<{ label: string; check: (statusPort: number) => HaproxyHealthCheck }> = [
    { label: "PROXY LOCAL connect checks", check: () => ({ kind: "proxy-connect" }) },
    {
        label: "HTTP GET /status checks",
        check: (port) => ({ kind: "http-status", port, path: "/status" }),
    },
];

for (const { label, check } of healthChecks) {
    // Protects: the backend's `default-server inter <t> fall <n> rise <m>` and `check` lines (with
    // `check port <p>` + `option httpchk GET /status` in the HTTP variant): a stopped node is
    // marked DOWN within about fall x inter, new devices go only to survivors, and once the node
    // is back and has passed `rise` checks it receives devices again.
    test(`failover with ${label}: a stopped broker is marked down in time and skipped, then used again`, async (t) => {
        let statusPort = 0;
        const edge = await EdgeHarness.start({
            customize: (spec) => {
                spec.backend.balance = "leastconn";
                spec.backend.healthCheck = check(statusPort);
            },
            prepareBrokers: (brokers) => {
                statusPort = brokers.statusPort ?? 0;
            },
        });
        edges.push(edge);
        await edge.withDiagnostics(t, async () => {
            const { checkIntervalMs, fall, rise } = edge.spec.backend.serverDefaults;
            // A server starts at the edge of UP ("UP 1/3": one failure from DOWN); only after
            // `fall` good checks is it plain "UP", so that is when the fall count is measurable.
            await waitFor("broker-2 to reach full health", 10_000, async () => {
                return (await edge.haproxy.statRow(edge.backendName, "broker-2")).status === "UP";
            });
            const stoppedAt = Date.now();
            await edge.brokers.stop("broker-2");
            // Allowance past fall x inter: one interval of phase (the first failing check may be
            // up to `inter` away) plus the poll loop; far below what a broken config would take.
            const allowedMs = fall * checkIntervalMs + checkIntervalMs + 500;
            await edge.haproxy.waitForServers(edge.backendName, { "broker-2": false }, allowedMs);
            const downAfterMs = Date.now() - stoppedAt;
            t.diagnostic(
                `broker-2 marked down after ${downAfterMs} ms (fall ${fall} x inter ${checkIntervalMs} ms)`,
            );
            assert.ok(
                downAfterMs <= allowedMs,
                `marked down after ${downAfterMs} ms, allowed ${allowedMs} ms`,
            );
            // A refused check fails at once, so DOWN cannot come before `fall - 1` further
            // intervals; sooner would mean a smaller fall than rendered.
            const earliestMs = (fall - 1) * checkIntervalMs - 100;
            assert.ok(
                downAfterMs >= earliestMs,
                `marked down after ${downAfterMs} ms, before ${earliestMs} ms`,
            );

            const duringOutage = await connectFleet(edge, "outage", 6);
            assert.equal(
                spreadOf(edge, duringOutage)["broker-2"],
                0,
                "a device was sent to the stopped broker",
            );

            await edge.brokers.restart("broker-2");
            await edge.haproxy.waitForServers(
                edge.backendName,
                { "broker-2": true },
                (rise + 2) * edge.spec.backend.serverDefaults.downCheckIntervalMs + 2_000,
            );
            // leastconn: broker-2 holds nothing, so the next devices go there.
            const afterRecovery = await connectFleet(edge, "recovered", 2);
            assert.deepEqual(
                afterRecovery.map((device) => brokerOf(edge, device)),
                ["broker-2", "broker-2"],
            );
        });
    });
}

// Protects: `on-marked-down shutdown-sessions` (shutdownSessionsOnMarkedDown). A node whose
// status endpoint fails while its MQTT port still accepts is marked DOWN; HAProxy then closes the
// sessions it holds there, so those devices reconnect to healthy nodes, and leaves other sessions
// alone.
test("sessions on a node marked down are shut down; sessions elsewhere stay", async (t) => {
    let statusPort = 0;
    const edge = await EdgeHarness.start({
        customize: (spec) => {
            spec.backend.balance = "leastconn";
            spec.backend.healthCheck = { kind: "http-status", port: statusPort, path: "/status" };
            spec.backend.shutdownSessionsOnMarkedDown = true;
        },
        prepareBrokers: (brokers) => {
            statusPort = brokers.statusPort ?? 0;
        },
    });
    edges.push(edge);
    await edge.withDiagnostics(t, async () => {
        const fleet = await connectFleet(edge, "sessions", 3);
        assert.deepEqual(spreadOf(edge, fleet), { "broker-1": 1, "broker-2": 1, "broker-3": 1 });
        const onBroker2 = fleet.find((device) => brokerOf(edge, device) === "broker-2");
        assert.ok(onBroker2 !== undefined);
        let closed = false;
        onBroker2.client.once("close", () => {
            closed = true;
        });

        edge.brokers.node("broker-2").healthy = false;
        const { checkIntervalMs, fall } = edge.spec.backend.serverDefaults;
        await edge.haproxy.waitForServers(
            edge.backendName,
            { "broker-2": false },
            (fall + 2) * checkIntervalMs + 2_000,
        );
        await waitFor("HAProxy to close the session on broker-2", 5_000, () => closed);
        assert.equal(
            edge.brokers.node("broker-2").running,
            true,
            "the stand-in itself closed the session",
        );
        const others = fleet.filter((device) => device !== onBroker2);
        assert.deepEqual(
            others.map((device) => device.client.connected),
            [true, true],
        );
        const [stayingA, stayingB] = others;
        assert.ok(stayingA !== undefined && stayingB !== undefined);
        assert.equal(
            await roundTrip(stayingA.client, stayingB.client, "sessions/others", "kept"),
            "kept",
        );
    });
});

// Protects: `master-worker` (a SIGUSR2 reload starts new workers and lets old ones finish their
// sessions; `hard-stop-after` bounds how long) together with the rendered server list: after a
// reload to a config that only lists broker-1, every established session (also those on
// broker-2 and broker-3) keeps working and every new session goes to broker-1.
test("graceful reload keeps established sessions; new sessions follow the new config", async (t) => {
    const edge = await EdgeHarness.start({
        customize: (spec) => {
            spec.backend.balance = "leastconn";
        },
    });
    edges.push(edge);
    await edge.withDiagnostics(t, async () => {
        const established = await connectFleet(edge, "before-reload", 3);
        assert.deepEqual(spreadOf(edge, established), {
            "broker-1": 1,
            "broker-2": 1,
            "broker-3": 1,
        });
        const workerBefore = await edge.haproxy.currentWorker();

        await edge.reload((spec) => {
            spec.backend.servers = spec.backend.servers.filter(
                (server) => server.name === "broker-1",
            );
        });
        const workerAfter = await edge.haproxy.currentWorker();
        assert.notEqual(workerAfter.pid, workerBefore.pid, "no new worker after SIGUSR2");
        assert.match(await edge.haproxy.master("show proc"), /old workers/i);

        // Every established session still carries messages, in both directions and across nodes.
        const [onOne, onTwo, onThree] = established;
        assert.ok(onOne !== undefined && onTwo !== undefined && onThree !== undefined);
        assert.equal(await roundTrip(onOne.client, onTwo.client, "reload/a", "one"), "one");
        assert.equal(await roundTrip(onThree.client, onOne.client, "reload/b", "two"), "two");
        assert.equal(await roundTrip(onTwo.client, onThree.client, "reload/c", "three"), "three");
        const stillOpen = established.filter((device) =>
            edge.brokers.connections.some((c) => c.sourceAddress === device.localAddress && c.open),
        );
        assert.equal(stillOpen.length, 3, "an established session was closed by the reload");

        const fresh = await connectFleet(edge, "after-reload", 4);
        assert.deepEqual(spreadOf(edge, fresh), { "broker-1": 4, "broker-2": 0, "broker-3": 0 });
    });
});
