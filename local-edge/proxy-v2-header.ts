/**
 * PROXY protocol version 2: parse the binary header a HAProxy `send-proxy-v2*` server line (or an
 * NLB with proxy_protocol_v2) puts in front of a TCP stream, and build one for the NLB case.
 *
 * Layout and constants from the protocol spec (https://www.haproxy.org/download/2.6/doc/
 * proxy-protocol.txt, "2.2. Binary header format (version 2)"): 12-byte signature, version and
 * command byte, family and transport byte, 16-bit length, address block, then TLVs;
 * PP2_TYPE_SSL (0x20) holds a 1-byte client field, a 32-bit verify result and sub-TLVs such as
 * PP2_SUBTYPE_SSL_CN (0x22). EMQX reads the same fields (esockd@5.13.0
 * src/esockd_proxy_protocol.erl, see shared/reference/facts-emqx-haproxy.md §3).
 */

/** The 12 bytes every v2 header starts with. */
export const PROXY_V2_SIGNATURE = Buffer.from([
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

const FIXED_HEADER_LENGTH = 16;
const COMMAND_LOCAL = 0x0;
const COMMAND_PROXY = 0x1;
const FAMILY_UNSPEC = 0x0;
const FAMILY_INET = 0x1;
const FAMILY_INET6 = 0x2;
const FAMILY_UNIX = 0x3;
const TRANSPORT_STREAM = 0x1;
const INET_ADDRESS_BLOCK_LENGTH = 12;
const INET6_ADDRESS_BLOCK_LENGTH = 36;
const UNIX_ADDRESS_BLOCK_LENGTH = 216;

const PP2_TYPE_ALPN = 0x01;
const PP2_TYPE_AUTHORITY = 0x02;
const PP2_TYPE_SSL = 0x20;
const PP2_SUBTYPE_SSL_VERSION = 0x21;
const PP2_SUBTYPE_SSL_CN = 0x22;
const PP2_SUBTYPE_SSL_CIPHER = 0x23;
/** Byte count of the client field plus the verify field that open a PP2_TYPE_SSL value. */
const SSL_TLV_FIXED_LENGTH = 5;

/** HAProxy sends a few hundred bytes at most; anything far larger is garbage, not a header. */
export const MAX_PROXY_V2_HEADER_LENGTH = 4096;

/** One type-length-value entry after the address block. */
export interface ProxyV2Tlv {
    /** TLV type byte (0x01 ALPN, 0x02 AUTHORITY, 0x20 SSL, ...). */
    type: number;
    /** Raw value bytes. */
    value: Buffer;
}

/** What the PP2_TYPE_SSL TLV says about the client's TLS session. */
export interface ProxyV2SslInfo {
    /** Bit field: 0x01 client used SSL, 0x02 sent a cert on this connection, 0x04 on this session. */
    clientFlags: number;
    /** 0 when the client certificate was verified successfully, non-zero otherwise. */
    verifyResult: number;
    /** PP2_SUBTYPE_SSL_VERSION, e.g. "TLSv1.3". */
    version?: string;
    /** PP2_SUBTYPE_SSL_CN: the client certificate's subject common name. */
    commonName?: string;
    /** PP2_SUBTYPE_SSL_CIPHER. */
    cipher?: string;
}

/** A parsed header. */
export interface ProxyV2Header {
    /** LOCAL (health checks: no addresses are meaningful) or PROXY (a relayed connection). */
    command: "LOCAL" | "PROXY";
    /** Address family of the original connection. */
    family: "UNSPEC" | "INET" | "INET6" | "UNIX";
    /** Original client address (PROXY over INET/INET6 only). */
    sourceAddress?: string;
    /** Original client port. */
    sourcePort?: number;
    /** Address the client connected to. */
    destinationAddress?: string;
    /** Port the client connected to. */
    destinationPort?: number;
    /** Every TLV in wire order. */
    tlvs: ProxyV2Tlv[];
    /** Decoded PP2_TYPE_SSL, when present. */
    ssl?: ProxyV2SslInfo;
    /** PP2_TYPE_ALPN as text, when present. */
    alpn?: string;
    /** PP2_TYPE_AUTHORITY (SNI), when present. */
    authority?: string;
    /** Total header length in bytes (16 + address block + TLVs). */
    headerLength: number;
}

/** Outcome of feeding the bytes received so far. */
export type ProxyV2ParseResult =
    | { status: "incomplete" }
    | { status: "invalid"; reason: string }
    | { status: "complete"; header: ProxyV2Header; rest: Buffer };

/**
 * Parses a v2 header from the start of `received`. Returns "incomplete" while a valid prefix is
 * still arriving, so callers can refuse a non-PROXY client on its first bytes.
 */
export function parseProxyV2Header(received: Buffer): ProxyV2ParseResult {
    const signaturePrefixLength = Math.min(received.length, PROXY_V2_SIGNATURE.length);
    if (
        !received
            .subarray(0, signaturePrefixLength)
            .equals(PROXY_V2_SIGNATURE.subarray(0, signaturePrefixLength))
    ) {
        return { status: "invalid", reason: "first bytes are not the PROXY v2 signature" };
    }
    if (received.length < FIXED_HEADER_LENGTH) return { status: "incomplete" };
    const versionAndCommand = received.readUInt8(12);
    const version = versionAndCommand >> 4;
    const commandCode = versionAndCommand & 0x0f;
    if (version !== 2) return { status: "invalid", reason: `version ${version}, expected 2` };
    if (commandCode !== COMMAND_LOCAL && commandCode !== COMMAND_PROXY) {
        return {
            status: "invalid",
            reason: `command ${commandCode}, expected 0 (LOCAL) or 1 (PROXY)`,
        };
    }
    const familyAndTransport = received.readUInt8(13);
    const familyCode = familyAndTransport >> 4;
    const transportCode = familyAndTransport & 0x0f;
    const payloadLength = received.readUInt16BE(14);
    const headerLength = FIXED_HEADER_LENGTH + payloadLength;
    if (headerLength > MAX_PROXY_V2_HEADER_LENGTH) {
        return {
            status: "invalid",
            reason: `header length ${headerLength} exceeds ${MAX_PROXY_V2_HEADER_LENGTH}`,
        };
    }
    if (received.length < headerLength) return { status: "incomplete" };
    const payload = received.subarray(FIXED_HEADER_LENGTH, headerLength);
    const rest = received.subarray(headerLength);

    const header: ProxyV2Header = {
        command: commandCode === COMMAND_PROXY ? "PROXY" : "LOCAL",
        family: "UNSPEC",
        tlvs: [],
        headerLength,
    };
    let addressBlockLength = 0;
    if (familyCode === FAMILY_INET || familyCode === FAMILY_INET6) {
        const inet = familyCode === FAMILY_INET;
        addressBlockLength = inet ? INET_ADDRESS_BLOCK_LENGTH : INET6_ADDRESS_BLOCK_LENGTH;
        if (payload.length < addressBlockLength) {
            return {
                status: "invalid",
                reason: `address block needs ${addressBlockLength} bytes, got ${payload.length}`,
            };
        }
        if (transportCode !== TRANSPORT_STREAM) {
            return { status: "invalid", reason: `transport ${transportCode}, expected 1 (STREAM)` };
        }
        const addressLength = inet ? 4 : 16;
        header.family = inet ? "INET" : "INET6";
        header.sourceAddress = formatAddress(payload.subarray(0, addressLength));
        header.destinationAddress = formatAddress(
            payload.subarray(addressLength, 2 * addressLength),
        );
        header.sourcePort = payload.readUInt16BE(2 * addressLength);
        header.destinationPort = payload.readUInt16BE(2 * addressLength + 2);
    } else if (familyCode === FAMILY_UNIX) {
        addressBlockLength = UNIX_ADDRESS_BLOCK_LENGTH;
        header.family = "UNIX";
    } else if (familyCode !== FAMILY_UNSPEC) {
        return { status: "invalid", reason: `address family ${familyCode} is not 0-3` };
    }
    if (header.command === "PROXY" && header.family === "UNSPEC") {
        return {
            status: "invalid",
            reason: "PROXY command with UNSPEC family carries no client address",
        };
    }
    const tlvResult = parseTlvs(payload.subarray(Math.min(addressBlockLength, payload.length)));
    if (typeof tlvResult === "string") return { status: "invalid", reason: tlvResult };
    header.tlvs = tlvResult;
    for (const tlv of tlvResult) {
        if (tlv.type === PP2_TYPE_ALPN) header.alpn = tlv.value.toString("latin1");
        if (tlv.type === PP2_TYPE_AUTHORITY) header.authority = tlv.value.toString("utf8");
        if (tlv.type === PP2_TYPE_SSL) {
            const ssl = parseSslTlv(tlv.value);
            if (typeof ssl === "string") return { status: "invalid", reason: ssl };
            header.ssl = ssl;
        }
    }
    return { status: "complete", header, rest };
}

function parseTlvs(block: Buffer): ProxyV2Tlv[] | string {
    const tlvs: ProxyV2Tlv[] = [];
    let offset = 0;
    while (offset < block.length) {
        if (block.length - offset < 3) return `truncated TLV header at offset ${offset}`;
        const type = block.readUInt8(offset);
        const length = block.readUInt16BE(offset + 1);
        const end = offset + 3 + length;
        if (end > block.length)
            return `TLV 0x${type.toString(16)} length ${length} overruns the header`;
        tlvs.push({ type, value: block.subarray(offset + 3, end) });
        offset = end;
    }
    return tlvs;
}

function parseSslTlv(value: Buffer): ProxyV2SslInfo | string {
    if (value.length < SSL_TLV_FIXED_LENGTH) {
        return `PP2_TYPE_SSL value has ${value.length} bytes, needs at least ${SSL_TLV_FIXED_LENGTH}`;
    }
    const info: ProxyV2SslInfo = {
        clientFlags: value.readUInt8(0),
        verifyResult: value.readUInt32BE(1),
    };
    const subTlvs = parseTlvs(value.subarray(SSL_TLV_FIXED_LENGTH));
    if (typeof subTlvs === "string") return `in PP2_TYPE_SSL: ${subTlvs}`;
    for (const sub of subTlvs) {
        if (sub.type === PP2_SUBTYPE_SSL_VERSION) info.version = sub.value.toString("latin1");
        if (sub.type === PP2_SUBTYPE_SSL_CN) info.commonName = sub.value.toString("utf8");
        if (sub.type === PP2_SUBTYPE_SSL_CIPHER) info.cipher = sub.value.toString("latin1");
    }
    return info;
}

function formatAddress(bytes: Buffer): string {
    if (bytes.length === 4) return Array.from(bytes).join(".");
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return groups.join(":");
}

/** Where a PROXY v2 header built by {@link encodeProxyV2Header} says a connection came from. */
export interface ProxyV2Endpoints {
    /** Client IPv4 address to announce. */
    sourceAddress: string;
    /** Client port to announce. */
    sourcePort: number;
    /** Address the client reached (the NLB listener). */
    destinationAddress: string;
    /** Port the client reached. */
    destinationPort: number;
}

/**
 * Builds a PROXY v2 header for a TCP4 connection, as an NLB with proxy_protocol_v2 sends it,
 * or a LOCAL header (like an NLB health check) when no endpoints are given.
 */
export function encodeProxyV2Header(endpoints?: ProxyV2Endpoints): Buffer {
    if (endpoints === undefined) {
        return Buffer.concat([
            PROXY_V2_SIGNATURE,
            Buffer.from([0x20 | COMMAND_LOCAL, FAMILY_UNSPEC << 4, 0, 0]),
        ]);
    }
    const block = Buffer.alloc(INET_ADDRESS_BLOCK_LENGTH);
    ipv4Bytes(endpoints.sourceAddress).copy(block, 0);
    ipv4Bytes(endpoints.destinationAddress).copy(block, 4);
    block.writeUInt16BE(endpoints.sourcePort, 8);
    block.writeUInt16BE(endpoints.destinationPort, 10);
    const fixed = Buffer.from([0x20 | COMMAND_PROXY, (FAMILY_INET << 4) | TRANSPORT_STREAM, 0, 0]);
    fixed.writeUInt16BE(block.length, 2);
    return Buffer.concat([PROXY_V2_SIGNATURE, fixed, block]);
}

function ipv4Bytes(address: string): Buffer {
    const parts = address.split(".").map(Number);
    if (
        parts.length !== 4 ||
        parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)
    ) {
        throw new Error(
            `PROXY v2 address "${address}" is not a dotted IPv4 address (a.b.c.d, 0-255 each)`,
        );
    }
    return Buffer.from(parts);
}
