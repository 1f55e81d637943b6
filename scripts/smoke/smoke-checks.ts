/**
 * The smoke checks themselves, as a function other commands call (the load test runs them before
 * its scenario): one admitted device that completes a TLS handshake against the stack's trust
 * bundle, gets a CONNACK and sees its own message come back, then the devices the edge must turn
 * away. No Pulumi and no stack file in here: the caller says where the edge is and hands over the
 * certificates (scripts/smoke/stack-target.ts for a deployed stack, local-target.ts for loopback).
 */
import { randomBytes } from "node:crypto";
import { openDeviceSession, publishRoundTrip, type SessionOutcome } from "./device-session.ts";

/** A certificate and its key, PEM. The key is a secret: never printed. */
export interface SmokeCredentials {
    /** Certificate PEM. */
    certificatePem: string;
    /** Private key PEM. SECRET. */
    privateKeyPem: string;
}

/** Where the edge is and what to present to it. */
export interface SmokeTarget {
    /** Host of the device endpoint. */
    host: string;
    /** Port of the device endpoint. */
    port: number;
    /** Name the server certificate must carry (an endpoint name in its SANs). */
    serverName: string;
    /** PEM the server certificate must chain to: the stack's deviceTrustBundlePem. */
    trustBundlePem: string;
    /** A device certificate from the device intermediate CA, and its CN. */
    device: SmokeCredentials & { commonName: string };
    /** A client certificate from a CA the edge has never seen. */
    foreignDevice: SmokeCredentials;
    /** A client certificate issued by the root itself, when the root key is at hand. */
    rootIssuedLeaf?: SmokeCredentials;
    /** Deadline of each connection attempt and of the round trip, in ms; default 10 s. */
    deadlineMs?: number;
}

/** One line of the report. */
export interface SmokeCheckResult {
    /** Short stable name, e.g. `round-trip` or `refuses-no-certificate`. */
    name: string;
    /** Passed or not. */
    ok: boolean;
    /** What was seen, in a few words; never a key. */
    detail: string;
    /** Timings in ms, for the checks that measure some. */
    timings?: Record<string, number>;
    /** True when the check could not run here (e.g. no root key): neither passed nor failed. */
    skipped?: boolean;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Runs every check in order and returns one result each; never throws for a failed check. */
export async function runSmokeChecks(target: SmokeTarget): Promise<SmokeCheckResult[]> {
    const deadlineMs = target.deadlineMs ?? 10_000;
    const session = {
        host: target.host,
        port: target.port,
        serverName: target.serverName,
        trustBundlePem: target.trustBundlePem,
        deadlineMs,
    };
    const results: SmokeCheckResult[] = [];
    const where = `${target.host}:${target.port}`;

    const admitted = await openDeviceSession({
        ...session,
        credentials: target.device,
        // EMQX takes the client id from the certificate CN (peer_cert_as_clientid), so send the
        // same one: the broker sees what a real device of that name would send.
        clientId: target.device.commonName,
    });
    if (admitted.kind !== "connected") {
        results.push({
            name: "tls",
            ok: admitted.kind === "refused",
            detail:
                admitted.kind === "refused"
                    ? `server certificate of ${where} chains to the trust bundle and names ${target.serverName}`
                    : `no verified TLS session with ${where}: ${admitted.reason}`,
        });
        results.push({
            name: "connack",
            ok: false,
            detail: `device ${target.device.commonName} got no CONNACK: ${admitted.reason}`,
        });
        results.push({ name: "round-trip", ok: false, detail: "not tried: no CONNACK" });
    } else {
        const { client, timings } = admitted;
        results.push({
            name: "tls",
            ok: true,
            detail: `handshake with ${where} in ${ms(timings.tlsMs)}; server certificate chains to the trust bundle and names ${target.serverName}`,
            timings: { tlsMs: timings.tlsMs },
        });
        results.push({
            name: "connack",
            ok: true,
            detail: `device ${target.device.commonName} got CONNACK in ${ms(timings.connackMs)}`,
            timings: { connackMs: timings.connackMs },
        });
        const topic = `mqtt-edge/smoke/${target.device.commonName}/${randomBytes(6).toString("hex")}`;
        try {
            const roundTripMs = await publishRoundTrip(client, topic, "smoke", deadlineMs);
            results.push({
                name: "round-trip",
                ok: true,
                detail: `QoS 1 message on ${topic} came back in ${ms(roundTripMs)}`,
                timings: { roundTripMs },
            });
        } catch (error) {
            results.push({
                name: "round-trip",
                ok: false,
                detail: error instanceof Error ? error.message : String(error),
            });
        } finally {
            await client.endAsync(true).catch(() => undefined);
        }
    }

    results.push(
        refusal(
            "refuses-no-certificate",
            "a client without a certificate",
            await openDeviceSession({ ...session, clientId: "mqtt-edge-smoke-no-certificate" }),
        ),
    );
    results.push(
        refusal(
            "refuses-foreign-ca",
            "a certificate from a throwaway CA",
            await openDeviceSession({
                ...session,
                credentials: target.foreignDevice,
                clientId: "mqtt-edge-smoke-foreign-ca",
            }),
        ),
    );
    if (target.rootIssuedLeaf) {
        results.push(
            refusal(
                "refuses-root-issued-leaf",
                "a certificate issued by the root, not the device intermediate",
                await openDeviceSession({
                    ...session,
                    credentials: target.rootIssuedLeaf,
                    clientId: "mqtt-edge-smoke-root-leaf",
                }),
            ),
        );
    } else {
        results.push({
            name: "refuses-root-issued-leaf",
            ok: true,
            skipped: true,
            detail: "not tried: the root key is not available (rootKeyPem output absent)",
        });
    }
    return results;
}

function refusal(name: string, what: string, outcome: SessionOutcome): SmokeCheckResult {
    switch (outcome.kind) {
        case "connected":
            void outcome.client.endAsync(true).catch(() => undefined);
            return { name, ok: false, detail: `${what} was ADMITTED (got a CONNACK)` };
        case "refused":
            return { name, ok: true, detail: `${what} was refused: ${outcome.reason}` };
        case "failed":
            return {
                name,
                ok: false,
                detail: `could not tell whether ${what} is refused: ${outcome.reason}`,
            };
    }
}
