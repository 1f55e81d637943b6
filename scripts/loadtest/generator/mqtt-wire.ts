/**
 * The few MQTT 3.1.1 packets a load-generating device sends and reads, as bytes. Hand-encoded
 * rather than mqtt.js so the generator runs on a bare Node (the generator hosts get Debian's
 * nodejs and nothing from npm) and so a CONNACK is timed the moment its bytes arrive, with no
 * client library's queueing in between. Packet layouts: MQTT 3.1.1 (OASIS) §2.2 fixed header,
 * §3.1 CONNECT, §3.2 CONNACK, §3.3 PUBLISH, §3.8 SUBSCRIBE, §3.12 PINGREQ, §3.14 DISCONNECT.
 * Host code: Node built-ins only, erasable TypeScript only (it is stripped to .mjs for the hosts).
 */

/** Packet types (fixed header high nibble) the generator reads. */
export const PacketType = {
    connack: 2,
    publish: 3,
    suback: 9,
    pingresp: 13,
} as const;

/** One packet read off the wire. */
export interface MqttPacket {
    /** Fixed-header packet type (1-15). */
    type: number;
    /** Fixed-header flags (low nibble). */
    flags: number;
    /** Everything after the fixed header. */
    body: Buffer;
}

/** Remaining Length (§2.2.3): 7 bits a byte, high bit = more bytes follow, at most 4 bytes. */
function remainingLength(length: number): Buffer {
    const bytes: number[] = [];
    let rest = length;
    do {
        let byte = rest % 128;
        rest = Math.floor(rest / 128);
        if (rest > 0) byte |= 0x80;
        bytes.push(byte);
    } while (rest > 0);
    return Buffer.from(bytes);
}

function utf8String(text: string): Buffer {
    const bytes = Buffer.from(text, "utf8");
    const length = Buffer.alloc(2);
    length.writeUInt16BE(bytes.length);
    return Buffer.concat([length, bytes]);
}

function packet(firstByte: number, body: Buffer): Buffer {
    return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

/** CONNECT with clean session, no will, no credentials: the device is its certificate. */
export function encodeConnect(clientId: string, keepaliveSeconds: number): Buffer {
    const header = Buffer.concat([
        utf8String("MQTT"),
        // protocol level 4 (3.1.1), connect flags 0x02 (clean session), keepalive
        Buffer.from([4, 0x02, (keepaliveSeconds >> 8) & 0xff, keepaliveSeconds & 0xff]),
    ]);
    return packet(0x10, Buffer.concat([header, utf8String(clientId)]));
}

/** PUBLISH at QoS 0 (no packet id). */
export function encodePublish(topic: string, payload: Buffer): Buffer {
    return packet(0x30, Buffer.concat([utf8String(topic), payload]));
}

/** SUBSCRIBE to one filter at QoS 0; flags 0b0010 are mandatory (§3.8.1). */
export function encodeSubscribe(packetId: number, filter: string): Buffer {
    const id = Buffer.alloc(2);
    id.writeUInt16BE(packetId);
    return packet(0x82, Buffer.concat([id, utf8String(filter), Buffer.from([0])]));
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** CONNACK return codes (§3.2.2.3), for the error kinds a report shows. */
export const connackReturnCodes: Record<number, string> = {
    1: "unacceptable-protocol-version",
    2: "identifier-rejected",
    3: "server-unavailable",
    4: "bad-username-or-password",
    5: "not-authorized",
};

/** Topic and payload of a PUBLISH body (QoS 0, as the generator subscribes). */
export function decodePublish(packetRead: MqttPacket): { topic: string; payload: Buffer } {
    const topicLength = packetRead.body.readUInt16BE(0);
    const topic = packetRead.body.subarray(2, 2 + topicLength).toString("utf8");
    const qos = (packetRead.flags >> 1) & 0x03;
    // QoS 1/2 carry a 2-byte packet id before the payload.
    const payloadStart = 2 + topicLength + (qos > 0 ? 2 : 0);
    return { topic, payload: packetRead.body.subarray(payloadStart) };
}

/** Splits a byte stream into packets; feed it every chunk in order. */
export class PacketReader {
    #buffered: Buffer = Buffer.alloc(0);

    /** Adds a chunk and returns the packets it completed. */
    push(chunk: Buffer): MqttPacket[] {
        this.#buffered =
            this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
        const packets: MqttPacket[] = [];
        for (;;) {
            const parsed = this.#next();
            if (parsed === undefined) break;
            packets.push(parsed);
        }
        return packets;
    }

    #next(): MqttPacket | undefined {
        const data = this.#buffered;
        if (data.length < 2) return undefined;
        let length = 0;
        let multiplier = 1;
        let index = 1;
        for (;;) {
            if (index >= data.length) return undefined;
            const byte = data[index] ?? 0;
            length += (byte & 0x7f) * multiplier;
            index += 1;
            if ((byte & 0x80) === 0) break;
            multiplier *= 128;
            if (index > 4) throw new Error("malformed MQTT remaining length");
        }
        if (data.length < index + length) return undefined;
        const first = data[0] ?? 0;
        const body = data.subarray(index, index + length);
        this.#buffered = data.subarray(index + length);
        return { type: first >> 4, flags: first & 0x0f, body };
    }
}
