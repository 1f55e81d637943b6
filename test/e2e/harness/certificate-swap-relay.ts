/**
 * A TCP relay between one device and HAProxy that can replace the certificate the device sends
 * in a TLS 1.2 handshake with another one. The device signs CertificateVerify with its own key,
 * so HAProxy receives a certificate whose key the signer does not hold: "certificate and key
 * do not match", which no TLS library lets a client configure directly (OpenSSL's
 * SSL_CTX_use_PrivateKey rejects a key that does not match the certificate).
 *
 * Only TLS 1.2 works: its client Certificate message is plaintext (RFC 5246 §7.4.6); TLS 1.3
 * encrypts it. Record layout: type(1) version(2) length(2) (RFC 5246 §6.2.1); handshake message:
 * type(1) length(3) (§7.4); Certificate body: certificate_list length(3), then length(3) + DER
 * per certificate (§7.4.2).
 */

import { X509Certificate } from "node:crypto";
import { createConnection, createServer, type Server, type Socket } from "node:net";

const RECORD_HEADER_LENGTH = 5;
const CONTENT_TYPE_CHANGE_CIPHER_SPEC = 20;
const CONTENT_TYPE_HANDSHAKE = 22;
const HANDSHAKE_TYPE_CERTIFICATE = 11;
const MAX_RECORD_PAYLOAD = 16384;

/** Options for {@link CertificateSwapRelay.start}. */
export interface CertificateSwapRelayOptions {
    /** Address the relay listens on (the device connects here). */
    listenAddress: string;
    /** HAProxy address. */
    upstreamHost: string;
    /** HAProxy port. */
    upstreamPort: number;
    /** Source address for the upstream connection, so brokers would see the device's address. */
    upstreamLocalAddress: string;
    /** PEM certificate to put in place of the device's; omit to relay unchanged. */
    replacementCertificatePem?: string;
}

/** A listening relay. */
export class CertificateSwapRelay {
    /** Port the relay listens on. */
    readonly port: number;
    /** Certificate messages replaced so far. */
    swappedCount = 0;
    readonly #server: Server;
    readonly #sockets: Set<Socket>;

    private constructor(server: Server, port: number, sockets: Set<Socket>) {
        this.#server = server;
        this.port = port;
        this.#sockets = sockets;
    }

    /** Starts listening on a free port of `listenAddress`. */
    static async start(options: CertificateSwapRelayOptions): Promise<CertificateSwapRelay> {
        const replacementDer =
            options.replacementCertificatePem === undefined
                ? undefined
                : new X509Certificate(options.replacementCertificatePem).raw;
        let relay: CertificateSwapRelay | undefined;
        const sockets = new Set<Socket>();
        const server = createServer((device) => {
            const upstream = createConnection({
                host: options.upstreamHost,
                port: options.upstreamPort,
                localAddress: options.upstreamLocalAddress,
            });
            for (const socket of [device, upstream]) {
                sockets.add(socket);
                socket.on("close", () => sockets.delete(socket));
                socket.on("error", () => {
                    device.destroy();
                    upstream.destroy();
                });
            }
            upstream.pipe(device);
            const rewriter = new HandshakeRewriter(replacementDer, () => {
                if (relay) relay.swappedCount += 1;
            });
            device.on("data", (chunk: Buffer) => upstream.write(rewriter.push(chunk)));
            device.on("end", () => upstream.end());
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen({ host: options.listenAddress, port: 0 }, resolve);
        });
        const address = server.address();
        if (address === null || typeof address === "string")
            throw new Error("relay did not bind a TCP port");
        relay = new CertificateSwapRelay(server, address.port, sockets);
        return relay;
    }

    /** Closes the listener and every relayed connection. */
    async close(): Promise<void> {
        for (const socket of this.#sockets) socket.destroy();
        await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }
}

/** Rewrites the client-to-server byte stream until the client's ChangeCipherSpec. */
class HandshakeRewriter {
    readonly #replacementDer: Buffer | undefined;
    readonly #onSwap: () => void;
    #pending = Buffer.alloc(0);
    #handshakeBytes = Buffer.alloc(0);
    #recordVersion = Buffer.from([0x03, 0x03]);
    #passThrough = false;

    constructor(replacementDer: Buffer | undefined, onSwap: () => void) {
        this.#replacementDer = replacementDer;
        this.#onSwap = onSwap;
    }

    /** Takes bytes from the device, returns the bytes to send upstream. */
    push(chunk: Buffer): Buffer {
        if (this.#passThrough) return chunk;
        this.#pending = Buffer.concat([this.#pending, chunk]);
        const out: Buffer[] = [];
        while (!this.#passThrough && this.#pending.length >= RECORD_HEADER_LENGTH) {
            const length = this.#pending.readUInt16BE(3);
            if (this.#pending.length < RECORD_HEADER_LENGTH + length) break;
            const record = this.#pending.subarray(0, RECORD_HEADER_LENGTH + length);
            this.#pending = this.#pending.subarray(RECORD_HEADER_LENGTH + length);
            const contentType = record.readUInt8(0);
            if (contentType === CONTENT_TYPE_HANDSHAKE) {
                this.#recordVersion = Buffer.from(record.subarray(1, 3));
                this.#handshakeBytes = Buffer.concat([
                    this.#handshakeBytes,
                    record.subarray(RECORD_HEADER_LENGTH),
                ]);
                out.push(...this.#completeMessagesAsRecords());
                continue;
            }
            // From the client's ChangeCipherSpec on, everything is encrypted: relay unchanged.
            if (contentType === CONTENT_TYPE_CHANGE_CIPHER_SPEC) this.#passThrough = true;
            out.push(record);
        }
        if (this.#passThrough) {
            out.push(this.#pending);
            this.#pending = Buffer.alloc(0);
        }
        return Buffer.concat(out);
    }

    #completeMessagesAsRecords(): Buffer[] {
        const records: Buffer[] = [];
        while (this.#handshakeBytes.length >= 4) {
            const length = this.#handshakeBytes.readUIntBE(1, 3);
            if (this.#handshakeBytes.length < 4 + length) break;
            let message: Buffer = this.#handshakeBytes.subarray(0, 4 + length);
            this.#handshakeBytes = this.#handshakeBytes.subarray(4 + length);
            if (
                message.readUInt8(0) === HANDSHAKE_TYPE_CERTIFICATE &&
                this.#replacementDer !== undefined
            ) {
                message = certificateMessage(this.#replacementDer);
                this.#onSwap();
            }
            for (let offset = 0; offset < message.length; offset += MAX_RECORD_PAYLOAD) {
                const fragment = message.subarray(offset, offset + MAX_RECORD_PAYLOAD);
                const header = Buffer.alloc(RECORD_HEADER_LENGTH);
                header.writeUInt8(CONTENT_TYPE_HANDSHAKE, 0);
                this.#recordVersion.copy(header, 1);
                header.writeUInt16BE(fragment.length, 3);
                records.push(header, fragment);
            }
        }
        return records;
    }
}

function uint24(value: number): Buffer {
    const bytes = Buffer.alloc(3);
    bytes.writeUIntBE(value, 0, 3);
    return bytes;
}

/** A TLS 1.2 Certificate handshake message carrying exactly `der`. */
function certificateMessage(der: Buffer): Buffer {
    const entry = Buffer.concat([uint24(der.length), der]);
    const body = Buffer.concat([uint24(entry.length), entry]);
    return Buffer.concat([Buffer.from([HANDSHAKE_TYPE_CERTIFICATE]), uint24(body.length), body]);
}
