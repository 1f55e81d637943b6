/**
 * The harness's own PROXY v2 parser and the broker stand-ins that rely on it. The data-plane
 * tests are only as strict as these: a stand-in that accepted a connection without a header, or
 * misread the CN, would hide a broken `send-proxy-v2-ssl-cn` line.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { BrokerStandIns } from "../../local-edge/broker-stand-ins.ts";
import { LoopbackAddressPool } from "../../local-edge/loopback-endpoints.ts";
import {
    encodeProxyV2Header,
    PROXY_V2_SIGNATURE,
    parseProxyV2Header,
} from "../../local-edge/proxy-v2-header.ts";
import { waitFor } from "../../local-edge/wait-for.ts";

function tlv(type: number, value: Buffer): Buffer {
    const header = Buffer.alloc(3);
    header.writeUInt8(type, 0);
    header.writeUInt16BE(value.length, 1);
    return Buffer.concat([header, value]);
}

/** What HAProxy's `send-proxy-v2-ssl-cn` sends, assembled by hand from the spec's layout. */
function haproxyStyleHeader(commonName: string): Buffer {
    const addresses = Buffer.from([203, 0, 113, 7, 10, 0, 0, 5, 0x9c, 0x41, 0x07, 0x5b]); // :40001 -> :1883
    const ssl = tlv(
        0x20,
        Buffer.concat([
            Buffer.from([0x07, 0, 0, 0, 0]),
            tlv(0x21, Buffer.from("TLSv1.3")),
            tlv(0x22, Buffer.from(commonName)),
        ]),
    );
    const payload = Buffer.concat([addresses, ssl]);
    const fixed = Buffer.from([0x21, 0x11, 0, 0]);
    fixed.writeUInt16BE(payload.length, 2);
    return Buffer.concat([PROXY_V2_SIGNATURE, fixed, payload]);
}

test("parses address block and the SSL TLV's CN and version, and hands back the bytes after it", () => {
    const mqttConnect = Buffer.from([0x10, 0x00]);
    const result = parseProxyV2Header(
        Buffer.concat([haproxyStyleHeader("device-0001"), mqttConnect]),
    );
    assert.equal(result.status, "complete");
    if (result.status !== "complete") return;
    assert.equal(result.header.command, "PROXY");
    assert.equal(result.header.sourceAddress, "203.0.113.7");
    assert.equal(result.header.sourcePort, 40001);
    assert.equal(result.header.destinationAddress, "10.0.0.5");
    assert.equal(result.header.destinationPort, 1883);
    assert.deepEqual(result.header.ssl, {
        clientFlags: 0x07,
        verifyResult: 0,
        version: "TLSv1.3",
        commonName: "device-0001",
    });
    assert.deepEqual(result.rest, mqttConnect);
});

test("reports incomplete on a valid prefix, invalid on anything else", () => {
    const header = haproxyStyleHeader("device-0001");
    assert.equal(parseProxyV2Header(header.subarray(0, 5)).status, "incomplete");
    assert.equal(parseProxyV2Header(header.subarray(0, header.length - 1)).status, "incomplete");
    assert.equal(parseProxyV2Header(Buffer.from([0x10, 0x0c, 0x00, 0x04])).status, "invalid"); // MQTT CONNECT
    assert.equal(
        parseProxyV2Header(Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")).status,
        "invalid",
    ); // v1
    const badVersion = Buffer.from(header);
    badVersion.writeUInt8(0x11, 12);
    assert.equal(parseProxyV2Header(badVersion).status, "invalid");
    const overrun = Buffer.from(header);
    overrun.writeUInt16BE(0xffff, header.length - "device-0001".length - 2);
    assert.equal(parseProxyV2Header(overrun).status, "invalid");
});

test("the encoder's PROXY and LOCAL headers parse back", () => {
    const proxy = parseProxyV2Header(
        encodeProxyV2Header({
            sourceAddress: "198.51.100.23",
            sourcePort: 40001,
            destinationAddress: "127.0.0.1",
            destinationPort: 8883,
        }),
    );
    assert.equal(proxy.status, "complete");
    if (proxy.status === "complete") assert.equal(proxy.header.sourceAddress, "198.51.100.23");
    const local = parseProxyV2Header(encodeProxyV2Header());
    assert.equal(local.status, "complete");
    if (local.status === "complete") assert.equal(local.header.command, "LOCAL");
    assert.throws(
        () =>
            encodeProxyV2Header({
                sourceAddress: "::1",
                sourcePort: 1,
                destinationAddress: "127.0.0.1",
                destinationPort: 1,
            }),
        /PROXY v2 address "::1" is not a dotted IPv4 address/,
    );
});

let brokers: BrokerStandIns;

before(async () => {
    const pool = new LoopbackAddressPool();
    brokers = await BrokerStandIns.start({ addresses: [pool.next()] });
});

after(async () => {
    await brokers?.close();
});

/** Sends `bytes` to the stand-in and resolves when the stand-in closes the connection. */
function sendAndWaitForClose(bytes: Buffer): Promise<void> {
    const node = brokers.nodes[0];
    assert.ok(node !== undefined);
    return new Promise((resolve, reject) => {
        const socket = connect({ host: node.address, port: node.mqttPort });
        socket.on("connect", () => socket.write(bytes));
        socket.on("data", () => undefined);
        socket.on("error", reject);
        socket.on("close", () => resolve());
    });
}

test("a stand-in drops a connection that starts with MQTT instead of a PROXY v2 header", async () => {
    const mark = brokers.connections.length;
    const refusalsBefore = brokers.refusals.length;
    // MQTT 3.1.1 CONNECT, client id "x".
    const connectPacket = Buffer.from([
        0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x1e, 0x00, 0x01, 0x78,
    ]);
    await sendAndWaitForClose(connectPacket);
    assert.deepEqual(brokers.connectionsSince(mark), []);
    assert.equal(brokers.refusals.length, refusalsBefore + 1);
    assert.match(brokers.refusals.at(-1)?.reason ?? "", /not the PROXY v2 signature/);
});

test("a stand-in records source address and CN from a PROXY v2 header, then speaks MQTT", async () => {
    const node = brokers.nodes[0];
    assert.ok(node !== undefined);
    const connectPacket = Buffer.from([
        0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x1e, 0x00, 0x01, 0x78,
    ]);
    const connack = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect({ host: node.address, port: node.mqttPort });
        socket.on("connect", () =>
            socket.write(Buffer.concat([haproxyStyleHeader("device-0042"), connectPacket])),
        );
        socket.once("data", (chunk: Buffer) => {
            socket.destroy();
            resolve(chunk);
        });
        socket.on("error", reject);
    });
    assert.equal(connack.readUInt8(0), 0x20, "expected a CONNACK");
    await waitFor("the stand-in to record the client id", 2_000, () =>
        brokers.connections.some((c) => c.clientId === "x"),
    );
    const record = brokers.connections.find((c) => c.clientId === "x");
    assert.equal(record?.sourceAddress, "203.0.113.7");
    assert.equal(record?.commonName, "device-0042");
    assert.equal(record?.sslVersion, "TLSv1.3");
});
