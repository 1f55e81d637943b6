/**
 * One device connection as the smoke test makes it: TCP, TLS with (or without) a client
 * certificate, then MQTT 3.1.1 CONNECT, timing each step, and telling apart the three ways it
 * can end: a CONNACK, a refusal by the edge, or a failure that says nothing about admission
 * (unreachable, wrong server certificate, timeout).
 */
import { checkServerIdentity, connect as connectTls, type TLSSocket } from "node:tls";
import { MqttClient } from "mqtt";

/** Where and as whom to connect. */
export interface DeviceSessionOptions {
    /** Host of the device endpoint (NLB name, 127.0.0.1, ...). */
    host: string;
    /** Port of the device endpoint. */
    port: number;
    /** Name the server certificate must carry; also sent as SNI unless it is an IP address. */
    serverName: string;
    /** PEM the server certificate must chain to (the stack's deviceTrustBundlePem). */
    trustBundlePem: string;
    /** Client certificate and key; omit to present none. */
    credentials?: { certificatePem: string; privateKeyPem: string };
    /** MQTT client id. */
    clientId: string;
    /** How long the whole attempt may take, in ms. */
    deadlineMs: number;
}

/** Timings of a session that got its CONNACK, in ms from the start of the attempt. */
export interface SessionTimings {
    /** TCP connect + TLS handshake. */
    tlsMs: number;
    /** CONNACK received. */
    connackMs: number;
}

/** How an attempt ended. */
export type SessionOutcome =
    | { kind: "connected"; client: MqttClient; timings: SessionTimings }
    /** The edge said no: a TLS alert from the server, or a close after the handshake. */
    | { kind: "refused"; reason: string }
    /** Anything that proves nothing about admission. */
    | { kind: "failed"; reason: string };

/**
 * OpenSSL names an alert the peer sent `..._ALERT_...` (e.g. ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED,
 * ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE, ERR_SSL_TLSV1_ALERT_UNKNOWN_CA); a server certificate we
 * reject ourselves has a different code (ERR_TLS_CERT_ALTNAME_INVALID, UNABLE_TO_VERIFY_LEAF_SIGNATURE).
 */
function isAlertFromServer(error: Error): boolean {
    const code: unknown = (error as { code?: unknown }).code;
    return typeof code === "string" && /_ALERT_/.test(code);
}

/** OpenSSL's error text is several fields and a newline; keep the words that say what happened. */
function shortReason(error: Error): string {
    const alert = /(?:tlsv1[0-9]?|sslv3) alert [a-z ]+/i.exec(error.message);
    return (alert ? alert[0] : error.message).replace(/\s+/g, " ").trim();
}

const isIpAddress = (host: string) => /^[\d.]+$/.test(host) || host.includes(":");

/** Connects once, no reconnect. A connected client must be ended by the caller. */
export function openDeviceSession(options: DeviceSessionOptions): Promise<SessionOutcome> {
    const started = performance.now();
    let tlsMs: number | undefined;
    let socket: TLSSocket | undefined;
    const client = new MqttClient(
        () => {
            socket = connectTls({
                host: options.host,
                port: options.port,
                ...(isIpAddress(options.serverName) ? {} : { servername: options.serverName }),
                ca: options.trustBundlePem,
                cert: options.credentials?.certificatePem,
                key: options.credentials?.privateKeyPem,
                rejectUnauthorized: true,
                checkServerIdentity: (_host, certificate) =>
                    checkServerIdentity(options.serverName, certificate),
            });
            socket.once("secureConnect", () => {
                tlsMs = performance.now() - started;
            });
            return socket;
        },
        {
            clientId: options.clientId,
            protocolVersion: 4,
            clean: true,
            keepalive: 30,
            reconnectPeriod: 0,
            connectTimeout: options.deadlineMs,
        },
    );
    return new Promise((resolve) => {
        let settled = false;
        const settle = (outcome: SessionOutcome): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (outcome.kind !== "connected") client.end(true);
            resolve(outcome);
        };
        const timer = setTimeout(
            () => settle({ kind: "failed", reason: `no answer within ${options.deadlineMs} ms` }),
            options.deadlineMs,
        );
        client.once("connect", () =>
            settle({
                kind: "connected",
                client,
                timings: {
                    tlsMs: tlsMs ?? Number.NaN,
                    connackMs: performance.now() - started,
                },
            }),
        );
        client.once("error", (error: Error) => {
            if (isAlertFromServer(error)) {
                settle({
                    kind: "refused",
                    reason: `TLS alert from the server (${shortReason(error)})`,
                });
            } else if (tlsMs !== undefined) {
                settle({
                    kind: "refused",
                    reason: `closed after the handshake (${error.message})`,
                });
            } else {
                settle({ kind: "failed", reason: shortReason(error) });
            }
        });
        client.once("close", () => {
            if (tlsMs !== undefined) {
                settle({ kind: "refused", reason: "closed after the handshake, before CONNACK" });
            } else {
                settle({
                    kind: "failed",
                    reason: "connection closed before the TLS handshake ended",
                });
            }
        });
    });
}

/**
 * Subscribes to `topic`, publishes `payload` at QoS 1 and waits for it to come back: the whole
 * path HAProxy -> EMQX -> HAProxy. Resolves the round trip in ms; rejects after `deadlineMs`.
 */
export async function publishRoundTrip(
    client: MqttClient,
    topic: string,
    payload: string,
    deadlineMs: number,
): Promise<number> {
    await client.subscribeAsync(topic, { qos: 1 });
    const started = performance.now();
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            client.removeListener("message", onMessage);
            reject(new Error(`message on ${topic} did not come back within ${deadlineMs} ms`));
        }, deadlineMs);
        const onMessage = (received: string, body: Buffer) => {
            if (received !== topic || body.toString() !== payload) return;
            clearTimeout(timer);
            client.removeListener("message", onMessage);
            resolve(performance.now() - started);
        };
        client.on("message", onMessage);
        client.publishAsync(topic, payload, { qos: 1 }).catch((error: Error) => {
            clearTimeout(timer);
            client.removeListener("message", onMessage);
            reject(error);
        });
    });
}
