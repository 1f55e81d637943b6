/**
 * Data plane, several EMQX listener ports per node: a stack whose maxconn is more than one source
 * address can open to one port per node renders one server line per node and port
 * (infra/emqx-listener-plan.ts). Real HAProxy on loopback shows that every extra line is
 * health-checked on its own port, takes its share of devices, and goes down alone.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { endAllMqttDevices } from "../../local-edge/mqtt-device.ts";
import { waitFor } from "../../local-edge/wait-for.ts";
import { connectFleet, type FleetDevice } from "./harness/device-fleet.ts";
import { EdgeHarness } from "./harness/edge-harness.ts";

const edges: EdgeHarness[] = [];

afterEach(async () => {
    await endAllMqttDevices();
    await Promise.all(edges.splice(0).map((edge) => edge.close()));
});

async function startEdge(): Promise<EdgeHarness> {
    const edge = await EdgeHarness.start({
        listenersPerNode: 2,
        customize: (spec) => {
            spec.backend.balance = "roundrobin";
        },
    });
    edges.push(edge);
    return edge;
}

/** Devices per server line, keyed `broker-1:0` (node and listener index), from the brokers' view. */
function spreadByLine(edge: EdgeHarness, devices: readonly FleetDevice[]): Record<string, number> {
    const spread: Record<string, number> = {};
    for (const node of edge.brokers.nodes) {
        node.mqttPorts.forEach((_, index) => {
            spread[`${node.name}:${index}`] = 0;
        });
    }
    for (const device of devices) {
        const record = edge.brokers.connections
            .filter((c) => c.sourceAddress === device.localAddress)
            .at(-1);
        assert.ok(record, `no broker recorded ${device.name}`);
        const index = edge.brokers.node(record.broker).mqttPorts.indexOf(record.brokerPort);
        const key = `${record.broker}:${index}`;
        spread[key] = (spread[key] ?? 0) + 1;
    }
    return spread;
}

// Protects: one server line per node and port with `check` on each (PROXY LOCAL to that port),
// and roundrobin over every line, so each listener carries its share of the host's connections.
test("two ports per node: each line is checked on its own port and roundrobin fills all six", async (t) => {
    const edge = await startEdge();
    await edge.withDiagnostics(t, async () => {
        const lines = edge.spec.backend.servers;
        assert.equal(lines.length, 6);
        assert.match(edge.config, /# 2 lines per EMQX node, one per listener port/);
        // HAProxy counts a server up until its checks say otherwise, so wait for the checks
        // themselves: PROXY LOCAL arriving on every port of every node.
        await waitFor("health checks on every listener port", 5_000, () =>
            edge.brokers.nodes.every((node) =>
                node.mqttPorts.every((port) => (node.localHeaderCountByPort[port] ?? 0) > 0),
            ),
        );
        const fleet = await connectFleet(edge, "ports", 12);
        const spread = spreadByLine(edge, fleet);
        assert.deepEqual(Object.values(spread), [2, 2, 2, 2, 2, 2], JSON.stringify(spread));
        for (const line of lines) {
            const row = await edge.haproxy.statRow(edge.backendName, line.name);
            assert.equal(row.stot, "2", line.name);
        }
    });
});

// Protects: health checks per line. When one of a node's listeners goes away, only that line
// goes down; the node's other line stays up and keeps taking devices.
test("a listener that goes away takes down its line only; the node's other port keeps serving", async (t) => {
    const edge = await startEdge();
    await edge.withDiagnostics(t, async () => {
        await edge.brokers.stopListener("broker-2", 1);
        await edge.haproxy.waitForServers(
            edge.backendName,
            {
                "broker-1": true,
                "broker-2": true,
                "broker-3": true,
                "broker-1-2": true,
                "broker-2-2": false,
                "broker-3-2": true,
            },
            10_000,
        );
        const mark = edge.brokers.connections.length;
        const fleet = await connectFleet(edge, "one-down", 10);
        await waitFor("every device to reach a broker", 5_000, () => {
            return edge.brokers.connectionsSince(mark).length >= fleet.length;
        });
        const spread = spreadByLine(edge, fleet);
        assert.equal(spread["broker-2:1"], 0, JSON.stringify(spread));
        assert.equal(spread["broker-2:0"], 2, JSON.stringify(spread));
        assert.deepEqual(
            Object.entries(spread)
                .filter(([line]) => line !== "broker-2:1")
                .map(([, count]) => count),
            [2, 2, 2, 2, 2],
        );
    });
});
