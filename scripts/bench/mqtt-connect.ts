/**
 * One device connect as the benchmarks count it: TCP, mutual TLS, MQTT 3.1.1 CONNECT, CONNACK
 * with return code 0, close. A connect counts only once the CONNACK arrived, i.e. after HAProxy
 * verified the device chain and reached a broker (shared/reference/corrections.md: `openssl
 * s_time` closes before the server has verified the client and undercounts the server's work).
 * Raw packets instead of an MQTT library: the client should cost as little CPU as possible and
 * must expose the TLS session for resumption.
 */
import { type TLSSocket, connect as tlsConnect } from "node:tls";

/** A device's TLS identity and what it trusts. */
export interface DeviceTls {
    /** PEM the device trusts for the server certificate (the stack's root). */
    readonly ca: string;
    /** Device certificate PEM (optionally followed by its chain). */
    readonly cert: string;
    /** Device private key PEM. */
    readonly key: string;
    /** SNI and the name checked in the server certificate; omit to send no SNI (and not check). */
    readonly servername?: string;
    /** Highest TLS version the device offers; default TLSv1.3. */
    readonly maxVersion?: "TLSv1.2" | "TLSv1.3";
}

/** Outcome of one connect. */
export interface ConnectOutcome {
    /** The TLS session was resumed (abbreviated handshake). */
    readonly resumed: boolean;
    /** The newest session (ticket) the server handed out, to resume with next time. */
    readonly session: Buffer | undefined;
}

/** An MQTT 3.1.1 CONNECT with a clean session; keepalive 0 means the broker never times it out. */
export function mqttConnectPacket(clientId: string, keepaliveSeconds = 60): Buffer {
    const id = Buffer.from(clientId, "utf8");
    const variable = Buffer.from([
        0,
        4,
        0x4d,
        0x51,
        0x54,
        0x54,
        4,
        0x02,
        keepaliveSeconds >> 8,
        keepaliveSeconds & 0xff,
    ]);
    const remaining = variable.length + 2 + id.length;
    if (remaining > 127) throw new Error(`clientId: ${clientId} is too long for this client`);
    return Buffer.concat([
        Buffer.from([0x10, remaining]),
        variable,
        Buffer.from([id.length >> 8, id.length & 0xff]),
        id,
    ]);
}

/**
 * Connects once to `host:port` and resolves when the CONNACK arrived and the socket closed;
 * rejects on a refusal, a TLS error, a CONNACK other than success, or after `timeoutMs`.
 * Passing `session` offers that session for resumption.
 */
export function connectDevice(
    host: string,
    port: number,
    tls: DeviceTls,
    clientId: string,
    session?: Buffer,
    timeoutMs = 10_000,
): Promise<ConnectOutcome> {
    return connect(host, port, tls, clientId, session, timeoutMs, false).then(
        ({ outcome }) => outcome,
    );
}

/**
 * Connects like {@link connectDevice} but keeps the connection open and idle (keepalive 0, so
 * neither side times it out on MQTT grounds); end it with `socket.destroy()`.
 */
export async function openIdleDevice(
    host: string,
    port: number,
    tls: DeviceTls,
    clientId: string,
    timeoutMs = 30_000,
): Promise<TLSSocket> {
    const { socket } = await connect(host, port, tls, clientId, undefined, timeoutMs, true);
    return socket;
}

function connect(
    host: string,
    port: number,
    tls: DeviceTls,
    clientId: string,
    session: Buffer | undefined,
    timeoutMs: number,
    hold: boolean,
): Promise<{ outcome: ConnectOutcome; socket: TLSSocket }> {
    return new Promise((resolve, reject) => {
        let latestSession: Buffer | undefined;
        let connacked = false;
        let resumed = false;
        let received = Buffer.alloc(0);
        const socket = tlsConnect({
            host,
            port,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            ...(tls.servername
                ? { servername: tls.servername }
                : { checkServerIdentity: () => undefined }),
            ...(session ? { session } : {}),
            maxVersion: tls.maxVersion ?? "TLSv1.3",
        });
        const timer = setTimeout(() => {
            socket.destroy(new Error(`no CONNACK from ${host}:${port} within ${timeoutMs} ms`));
        }, timeoutMs);
        socket.on("session", (ticket: Buffer) => {
            latestSession = ticket;
        });
        socket.once("secureConnect", () => {
            resumed = socket.isSessionReused();
            socket.write(mqttConnectPacket(clientId, hold ? 0 : 60));
        });
        socket.on("data", (chunk: Buffer) => {
            received = Buffer.concat([received, chunk]);
            if (received.length < 4) return;
            if (received[0] !== 0x20 || received[1] !== 2 || received[3] !== 0) {
                socket.destroy(new Error(`not a successful CONNACK: ${received.toString("hex")}`));
                return;
            }
            connacked = true;
            if (hold) {
                clearTimeout(timer);
                socket.removeAllListeners("data");
                // Held idle: a later reset must not become an unhandled 'error' event.
                socket.on("error", () => undefined);
                resolve({ outcome: { resumed, session: latestSession }, socket });
                return;
            }
            socket.end();
        });
        socket.once("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        socket.once("close", () => {
            clearTimeout(timer);
            if (connacked)
                resolve({ outcome: { resumed, session: latestSession ?? session }, socket });
            else reject(new Error(`${host}:${port} closed the connection before a CONNACK`));
        });
    });
}
