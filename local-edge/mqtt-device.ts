/**
 * A device as mqtt.js sees it: TCP from its own loopback source address, optionally a PROXY v2
 * header first (as an NLB with proxy_protocol_v2 sends it), then TLS with its certificate, then
 * MQTT 3.1.1. Every client made here is tracked and ended by {@link endAllMqttDevices}.
 */
import { readFileSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { checkServerIdentity, connect as connectTls, type SecureVersion } from "node:tls";
import { MqttClient } from "mqtt";
import { encodeProxyV2Header, type ProxyV2Endpoints } from "./proxy-v2-header.ts";

/** A device's certificate and key as PEM text. */
export interface DeviceTlsCredentials {
    /** Device certificate PEM (the chain up to the device intermediate may follow it). */
    certificatePem: string;
    /** Its private key PEM. Secret: never print it. */
    privateKeyPem: string;
}

/** How one device reaches the edge. */
export interface MqttDeviceOptions {
    /** HAProxy (NLB) address. */
    host: string;
    /** HAProxy (NLB) port. */
    port: number;
    /** The device's own source address on 127/8. */
    localAddress: string;
    /** PEM file of the CA that signs the server certificate. */
    caPath: string;
    /** Client certificate and key; omit to present none. */
    credentials?: DeviceTlsCredentials;
    /** MQTT client id. */
    clientId: string;
    /** Sends this PROXY v2 header before the TLS handshake (NLB proxy_protocol_v2). */
    proxyHeader?: ProxyV2Endpoints;
    /** Lowest TLS version the client offers; default Node's (TLSv1.2). */
    minTlsVersion?: SecureVersion;
    /** Highest TLS version the client offers; default TLSv1.3. */
    maxTlsVersion?: SecureVersion;
    /** Name to check the server certificate against when `host` is a relay; default `host`. */
    serverIdentity?: string;
    /** OpenSSL cipher string, e.g. "DEFAULT@SECLEVEL=0" to let the client offer TLS 1.0/1.1. */
    ciphers?: string;
}

/** Outcome of one connection attempt. */
export type MqttConnectOutcome =
    | { connected: true; client: MqttClient }
    | { connected: false; reason: string };

const openClients = new Set<MqttClient>();

/**
 * Connects once (no automatic reconnect) and reports whether a CONNACK arrived within the
 * deadline. A refused device sees its TLS connection closed (an alert, or the issuer rule's
 * reject) before any CONNACK.
 */
export function attemptMqttConnect(
    options: MqttDeviceOptions,
    deadlineMs = 5_000,
): Promise<MqttConnectOutcome> {
    const ca = readFileSync(options.caPath);
    const client = new MqttClient(
        () => {
            const tcp = connectTcp({
                host: options.host,
                port: options.port,
                localAddress: options.localAddress,
            });
            if (options.proxyHeader !== undefined)
                tcp.write(encodeProxyV2Header(options.proxyHeader));
            return connectTls({
                socket: tcp,
                host: options.host,
                ca,
                cert: options.credentials?.certificatePem,
                key: options.credentials?.privateKeyPem,
                minVersion: options.minTlsVersion,
                maxVersion: options.maxTlsVersion,
                ciphers: options.ciphers,
                checkServerIdentity: (_host, certificate) =>
                    checkServerIdentity(options.serverIdentity ?? options.host, certificate),
            });
        },
        {
            clientId: options.clientId,
            protocolVersion: 4,
            clean: true,
            keepalive: 30,
            reconnectPeriod: 0,
            connectTimeout: deadlineMs,
        },
    );
    openClients.add(client);
    return new Promise((resolve) => {
        let settled = false;
        const settle = (outcome: MqttConnectOutcome): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (!outcome.connected) {
                client.end(true);
                openClients.delete(client);
            }
            resolve(outcome);
        };
        const timer = setTimeout(
            () => settle({ connected: false, reason: `no CONNACK within ${deadlineMs} ms` }),
            deadlineMs,
        );
        client.once("connect", () => settle({ connected: true, client }));
        client.once("error", (error) => settle({ connected: false, reason: error.message }));
        client.once("close", () =>
            settle({ connected: false, reason: "connection closed before CONNACK" }),
        );
    });
}

/** Connects and fails with the reason when the device is not let in. */
export async function connectMqttDevice(
    options: MqttDeviceOptions,
    deadlineMs = 5_000,
): Promise<MqttClient> {
    const outcome = await attemptMqttConnect(options, deadlineMs);
    if (!outcome.connected) {
        throw new Error(
            `device ${options.clientId} from ${options.localAddress} was not let in: ${outcome.reason}`,
        );
    }
    return outcome.client;
}

/** Ends one client and forgets it. */
export async function endMqttDevice(client: MqttClient): Promise<void> {
    openClients.delete(client);
    await client.endAsync(true).catch(() => undefined);
}

/** Ends every client still open (teardown). */
export async function endAllMqttDevices(): Promise<void> {
    await Promise.all([...openClients].map((client) => endMqttDevice(client)));
}
