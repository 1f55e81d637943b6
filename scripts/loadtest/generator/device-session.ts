/**
 * One simulated device: TCP, TLS with its own certificate, MQTT CONNECT, CONNACK; then it stays
 * connected (PINGREQ within the keepalive), may publish, and ends on request. Records the TLS
 * handshake time, the CONNACK time and, when it failed, the kind of failure.
 * Host code: Node built-ins only, erasable TypeScript only.
 */
import { connect as connectTls, type TLSSocket } from "node:tls";
import {
    connackReturnCodes,
    DISCONNECT,
    encodeConnect,
    encodePublish,
    encodeSubscribe,
    type MqttPacket,
    PacketReader,
    PacketType,
    PINGREQ,
} from "./mqtt-wire.ts";

/** Where devices connect and what they trust. */
export interface EdgeTarget {
    /** Host name or address of the NLB (or the local HAProxy). */
    host: string;
    /** Device port. */
    port: number;
    /** Name sent as SNI and checked against the server certificate. */
    serverName: string;
    /** PEM bundle that verifies the server certificate. */
    trustBundlePem: string;
}

/** One device's credentials. */
export interface DeviceCredential {
    /** Certificate CN, also the MQTT client id (EMQX peer_cert_as_clientid = cn). */
    commonName: string;
    /** Device certificate PEM (followed by the intermediate, so HAProxy can build the chain). */
    certificatePem: string;
    /** Device private key PEM. */
    privateKeyPem: string;
}

/**
 * Why a connection attempt did not reach CONNACK. `fd-limit`: this process could not open another
 * socket (EMFILE/ENFILE); `tls`: the handshake failed (alert, verify error, or HAProxy closing on a
 * refused certificate during it); `closed`: the connection ended after the handshake and before
 * CONNACK (for example HAProxy's issuer rule, or no broker); `connack-*`: the broker answered with
 * a refusal code; `timeout`: no CONNACK within the attempt's deadline.
 */
export type FailureKind =
    | "fd-limit"
    | "tcp-refused"
    | "tcp-reset"
    | "tls"
    | "closed"
    | "timeout"
    | `connack-${string}`
    | "other";

/** The outcome of one attempt, timed from the moment the socket was asked for. */
export interface AttemptRecord {
    /** Index of the device in the run. */
    device: number;
    /** Scenario phase, e.g. "connect" or "reconnect". */
    phase: string;
    /** When the attempt started, ms since the run's epoch. */
    startMs: number;
    /** TLS handshake done (secureConnect), ms after start. */
    handshakeMs?: number;
    /** CONNACK accepted, ms after start. */
    connackMs?: number;
    /** The TLS session was resumed (ticket or session id). */
    resumed?: boolean;
    /** Set when the attempt failed. */
    failure?: FailureKind;
    /** When the connection closed, ms since the run's epoch (absent while open). */
    closedMs?: number;
}

/** Options for one attempt. */
export interface AttemptOptions {
    /** MQTT keepalive announced in CONNECT; the device pings within it. */
    keepaliveSeconds: number;
    /** Give up when no CONNACK came within this many ms. */
    deadlineMs: number;
    /** A TLS session from an earlier connection of the same device, to resume. */
    session?: Buffer;
    /** The run's time origin (performance.now() value at which startMs is 0). */
    epoch: number;
    /** Called for every packet after the CONNACK (SUBACK, PUBLISH, PINGRESP). */
    onPacket?: (packet: MqttPacket) => void;
}

function failureOf(error: NodeJS.ErrnoException, handshakeDone: boolean): FailureKind {
    // In TLS 1.3 the server checks the client's certificate after the client's side of the
    // handshake is done, so a refusal arrives as an alert after secureConnect: still TLS.
    if (error.code?.startsWith("ERR_SSL_")) return "tls";
    switch (error.code) {
        case "EMFILE":
        case "ENFILE":
            return "fd-limit";
        case "ECONNREFUSED":
            return "tcp-refused";
        case "ECONNRESET":
            return handshakeDone ? "closed" : "tcp-reset";
        case "ETIMEDOUT":
            return "timeout";
    }
    if (!handshakeDone) return "tls";
    return "other";
}

/** A device connection, from the first byte to its close. */
export class DeviceSession {
    readonly record: AttemptRecord;
    /** The latest TLS session (ticket) the server gave, for a later resumption. */
    session: Buffer | undefined;
    readonly #socket: TLSSocket | undefined;
    readonly #epoch: number;
    #pingTimer: NodeJS.Timeout | undefined;

    private constructor(record: AttemptRecord, socket: TLSSocket | undefined, epoch: number) {
        this.record = record;
        this.#socket = socket;
        this.#epoch = epoch;
    }

    /** True from CONNACK until the connection closes. */
    get connected(): boolean {
        return this.record.connackMs !== undefined && this.record.closedMs === undefined;
    }

    /**
     * Connects and resolves once the attempt is decided: CONNACK, failure or deadline. Never
     * rejects; the outcome is in `record`.
     */
    static open(
        target: EdgeTarget,
        device: DeviceCredential,
        index: number,
        phase: string,
        options: AttemptOptions,
    ): Promise<DeviceSession> {
        const started = performance.now();
        const record: AttemptRecord = {
            device: index,
            phase,
            startMs: round(started - options.epoch),
        };
        let handshakeDone = false;
        let socket: TLSSocket;
        try {
            socket = connectTls({
                host: target.host,
                port: target.port,
                servername: target.serverName,
                ca: target.trustBundlePem,
                cert: device.certificatePem,
                key: device.privateKeyPem,
                ...(options.session ? { session: options.session } : {}),
            });
        } catch (error) {
            record.failure = failureOf(error as NodeJS.ErrnoException, false);
            record.closedMs = record.startMs;
            return Promise.resolve(new DeviceSession(record, undefined, options.epoch));
        }
        const session = new DeviceSession(record, socket, options.epoch);
        return new Promise((resolve) => {
            let decided = false;
            const decide = (failure?: FailureKind): void => {
                if (failure !== undefined && record.failure === undefined && !decided) {
                    record.failure = failure;
                    socket.destroy();
                }
                if (decided) return;
                decided = true;
                clearTimeout(deadline);
                resolve(session);
            };
            const deadline = setTimeout(() => decide("timeout"), options.deadlineMs);
            const reader = new PacketReader();
            socket.on("session", (ticket: Buffer) => {
                session.session = ticket;
            });
            socket.once("secureConnect", () => {
                handshakeDone = true;
                record.handshakeMs = round(performance.now() - started);
                record.resumed = socket.isSessionReused();
                socket.write(encodeConnect(device.commonName, options.keepaliveSeconds));
            });
            socket.on("data", (chunk: Buffer) => {
                let packets: MqttPacket[];
                try {
                    packets = reader.push(chunk);
                } catch {
                    decide("other");
                    return;
                }
                for (const packet of packets) {
                    if (packet.type === PacketType.connack && record.connackMs === undefined) {
                        const code = packet.body[1] ?? 255;
                        if (code !== 0) {
                            decide(`connack-${connackReturnCodes[code] ?? `code-${code}`}`);
                            return;
                        }
                        record.connackMs = round(performance.now() - started);
                        session.#startPinging(options.keepaliveSeconds);
                        decide();
                    } else {
                        options.onPacket?.(packet);
                    }
                }
            });
            socket.on("error", (error: NodeJS.ErrnoException) =>
                decide(failureOf(error, handshakeDone)),
            );
            socket.on("close", () => {
                record.closedMs = round(performance.now() - options.epoch);
                // Decided first: a close before CONNACK is this attempt's failure.
                decide(handshakeDone ? "closed" : "tls");
                session.#stopPinging();
            });
        });
    }

    /** Sends a QoS 0 PUBLISH if connected; returns whether it was written. */
    publish(topic: string, payload: Buffer): boolean {
        if (!this.connected || this.#socket === undefined) return false;
        this.#socket.write(encodePublish(topic, payload));
        return true;
    }

    /** Subscribes to one filter at QoS 0 (the SUBACK is not waited for). */
    subscribe(filter: string): void {
        this.#socket?.write(encodeSubscribe(1, filter));
    }

    /** Ends cleanly: DISCONNECT, then close; resolves when the socket has closed. */
    end(): Promise<void> {
        return this.#close(true);
    }

    /** Drops the connection without DISCONNECT, like a device losing its network. */
    drop(): Promise<void> {
        return this.#close(false);
    }

    #close(graceful: boolean): Promise<void> {
        this.#stopPinging();
        const socket = this.#socket;
        if (socket === undefined || socket.destroyed) return Promise.resolve();
        return new Promise((resolve) => {
            socket.once("close", () => resolve());
            if (graceful && this.connected) socket.end(DISCONNECT);
            else socket.destroy();
            // A peer that never answers the FIN must not hold the run.
            setTimeout(() => socket.destroy(), 2_000).unref();
        });
    }

    /** PINGREQ at half the keepalive: well inside the broker's 1.5x keepalive allowance. */
    #startPinging(keepaliveSeconds: number): void {
        if (keepaliveSeconds <= 0) return;
        this.#pingTimer = setInterval(() => {
            if (this.connected) this.#socket?.write(PINGREQ);
        }, keepaliveSeconds * 500);
        this.#pingTimer.unref();
    }

    #stopPinging(): void {
        if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
        this.#pingTimer = undefined;
    }

    /** ms since the run's epoch. */
    now(): number {
        return round(performance.now() - this.#epoch);
    }
}

function round(ms: number): number {
    return Math.round(ms * 100) / 100;
}
