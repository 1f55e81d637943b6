/**
 * Data plane, NLB with proxy_protocol_v2: the rendered config then puts `accept-proxy` on the
 * binds the NLB reaches, so the client address in the NLB's PROXY v2 header is the one HAProxy
 * passes on to the broker (facts-emqx-haproxy.md §14; LOCAL TEST in §3).
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import {
    attemptMqttConnect,
    connectMqttDevice,
    endAllMqttDevices,
    endMqttDevice,
} from "../../local-edge/mqtt-device.ts";
import { encodeProxyV2Header } from "../../local-edge/proxy-v2-header.ts";
import { fleetDeviceOptions } from "./harness/device-fleet.ts";
import { EdgeHarness } from "./harness/edge-harness.ts";

let edge: EdgeHarness;

before(async () => {
    edge = await EdgeHarness.start({
        brokerCount: 2,
        customize: (spec) => {
            spec.acceptProxyFromLoadBalancer = true;
        },
    });
});

after(async () => {
    await endAllMqttDevices();
    await edge?.close();
});

// Protects: `accept-proxy` on the mqtts bind (from acceptProxyFromLoadBalancer) and
// `send-proxy-v2-ssl-cn` on the servers: the device address announced by the NLB, not the TCP
// peer (the NLB), is what the broker sees, together with the certificate CN.
test("the client address in the NLB's PROXY v2 header is what the broker sees", async (t) => {
    await edge.withDiagnostics(t, async () => {
        const options = await fleetDeviceOptions(edge, "device-behind-nlb");
        const announced = { sourceAddress: "198.51.100.23", sourcePort: 40_001 };
        const client = await connectMqttDevice({
            ...options,
            proxyHeader: {
                ...announced,
                destinationAddress: edge.mqttsAddress,
                destinationPort: edge.mqttsPort,
            },
        });
        await endMqttDevice(client);
        const records = edge.brokers.connections.filter((c) => c.clientId === "device-behind-nlb");
        assert.equal(records.length, 1);
        assert.equal(records[0]?.sourceAddress, announced.sourceAddress);
        assert.equal(records[0]?.sourcePort, announced.sourcePort);
        assert.equal(records[0]?.commonName, "device-behind-nlb");
        assert.equal(
            edge.brokers.connections.some((c) => c.sourceAddress === options.localAddress),
            false,
            "the broker saw the TCP peer's address instead of the announced one",
        );
    });
});

// Protects: `accept-proxy` is mandatory on that bind: a connection that skips the header (not
// from the NLB) is dropped before TLS and never reaches a broker.
test("a connection without the PROXY header is dropped", async (t) => {
    await edge.withDiagnostics(t, async () => {
        const mark = edge.brokers.connections.length;
        const options = await fleetDeviceOptions(edge, "device-bypassing-nlb");
        const outcome = await attemptMqttConnect(options);
        assert.equal(outcome.connected, false, "a device without PROXY header was let in");
        assert.deepEqual(edge.brokers.connectionsSince(mark), []);
    });
});

// Protects: `accept-proxy` on the health frontend too: NLB health checks carry a PROXY v2 header
// without client information (LOCAL), and `monitor-uri` must still answer 200 while brokers are up.
test("the NLB health check (PROXY LOCAL + GET monitor-uri) gets 200", async (t) => {
    await edge.withDiagnostics(t, async () => {
        const response = await new Promise<string>((resolve, reject) => {
            const chunks: Buffer[] = [];
            const socket = connect({
                host: edge.spec.health.bind.address,
                port: edge.spec.health.bind.port,
            });
            socket.on("connect", () => {
                socket.write(encodeProxyV2Header());
                socket.end(`GET ${edge.spec.health.uri} HTTP/1.0\r\n\r\n`);
            });
            socket.on("data", (chunk: Buffer) => chunks.push(chunk));
            socket.on("error", reject);
            socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
        });
        assert.match(response, /^HTTP\/1\.[01] 200/);
    });
});
