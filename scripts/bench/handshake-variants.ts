/**
 * The edges and variants of `npm run bench:handshake`: the seed's edge (the reference), the
 * stack's edge A with a local chain, a peer B of A with the same files and ticket keys, and one
 * edge per extra chain of the matrix (CA key algorithms, no CRL).
 */
import { LocalEdge } from "../../local-edge/local-edge.ts";
import type { LocalKeyAlgorithm } from "../../local-edge/local-pki.ts";
import { LoopbackAddressPool } from "../../local-edge/loopback-endpoints.ts";
import type { ConnectLoopSpec } from "./connect-loop.ts";
import type { Variant } from "./measure-rounds.ts";
import { connectDevice, type DeviceTls } from "./mqtt-connect.ts";
import { type SeedEdge, startSeedEdge } from "./seed-edge.ts";

/** The variants the issue names, in report order (the seed's comes first). */
export const variantNames = [
    "full-ecdsa",
    "full-rsa-sni",
    "resume-tls13",
    "resume-tls12",
    "resume-other-instance",
    "resume-after-reload",
] as const;

/** Name of the reference variant. */
export const SEED_VARIANT = "seed";

/** What to start. */
export interface BenchEdgeOptions {
    readonly stack: string;
    /** CA key algorithm of the stack's edge. */
    readonly caKeyAlgorithm: LocalKeyAlgorithm;
    /** Extra full-handshake edges: other CA algorithms, and the stack's edge without CRLs. */
    readonly matrix: {
        readonly caKeyAlgorithms: readonly LocalKeyAlgorithm[];
        readonly noCrl: boolean;
    };
    /** HAProxy's core, when pinned. */
    readonly cpu?: number;
    readonly concurrency: number;
    readonly durationMs: number;
}

/** Everything started, and the variants over it. */
export interface BenchEdges {
    readonly variants: Variant[];
    close(): Promise<void>;
}

async function deviceOf(edge: LocalEdge, name: string, rsa = false): Promise<DeviceTls> {
    const device = await edge.pki.issueDevice(
        name,
        rsa ? { algorithm: "rsa", bits: 2048 } : { algorithm: "ecdsa", curve: "P-256" },
    );
    return {
        ca: edge.pki.rootCertPem,
        cert: device.certificatePem,
        key: device.privateKeyPem,
        // No SNI for ECDSA devices: HAProxy then serves its first certificate, the ECDSA one.
        ...(rsa ? { servername: edge.serverName } : {}),
    };
}

/** One full handshake per loop on `edge`, to collect the tickets another variant offers. */
async function ticketsFrom(
    host: string,
    port: number,
    device: DeviceTls,
    count: number,
): Promise<Buffer[]> {
    const outcomes = await Promise.all(
        Array.from({ length: count }, (_, i) => connectDevice(host, port, device, `ticket-${i}`)),
    );
    return outcomes.map((outcome, i) => {
        if (!outcome.session)
            throw new Error(`no session ticket for connect ${i} on ${host}:${port}`);
        return outcome.session;
    });
}

/** Starts every edge the variants need; ends all of them if one fails to start. */
export async function startBenchEdges(options: BenchEdgeOptions): Promise<BenchEdges> {
    const started: Array<{ close(): Promise<void> }> = [];
    const close = async () => {
        for (const edge of started.reverse()) await edge.close().catch(() => undefined);
    };
    try {
        const cpu = options.cpu === undefined ? {} : { cpu: options.cpu };
        const loop = (host: string, port: number, tls: DeviceTls): ConnectLoopSpec => ({
            host,
            port,
            tls,
            concurrency: options.concurrency,
            durationMs: options.durationMs,
        });
        const seed: SeedEdge = await startSeedEdge({
            addresses: new LoopbackAddressPool(),
            brokerCount: 1,
            maxconn: 4000,
            ...cpu,
        });
        started.push(seed);
        const a = await LocalEdge.start({
            stack: options.stack,
            brokerCount: 1,
            caKeyAlgorithm: options.caKeyAlgorithm,
            ...cpu,
        });
        started.push(a);
        const b = await a.startPeer(options.cpu);
        const ecdsa = await deviceOf(a, "bench-ecdsa");
        const rsa = await deviceOf(a, "bench-rsa", true);
        const tls12 = { ...ecdsa, maxVersion: "TLSv1.2" as const };

        const variants: Variant[] = [
            {
                name: SEED_VARIANT,
                haproxyPid: () => seed.haproxy.pid,
                prepare: async () => loop(seed.host, seed.port, seed.device),
            },
            {
                name: "full-ecdsa",
                haproxyPid: () => a.haproxy.pid,
                prepare: async () => loop(a.host, a.port, ecdsa),
            },
            {
                name: "full-rsa-sni",
                haproxyPid: () => a.haproxy.pid,
                prepare: async () => loop(a.host, a.port, rsa),
            },
            {
                name: "resume-tls13",
                haproxyPid: () => a.haproxy.pid,
                prepare: async () => ({ ...loop(a.host, a.port, ecdsa), resume: "own" }),
            },
            {
                name: "resume-tls12",
                haproxyPid: () => a.haproxy.pid,
                prepare: async () => ({ ...loop(a.host, a.port, tls12), resume: "own" }),
            },
            {
                name: "resume-other-instance",
                haproxyPid: () => b.haproxy.pid,
                prepare: async () => {
                    const sessions = await ticketsFrom(a.host, a.port, ecdsa, options.concurrency);
                    return { ...loop(b.host, b.port, ecdsa), resume: { sessions } };
                },
            },
            {
                name: "resume-after-reload",
                haproxyPid: () => a.haproxy.pid,
                prepare: async () => {
                    const sessions = await ticketsFrom(a.host, a.port, ecdsa, options.concurrency);
                    await a.reload();
                    return { ...loop(a.host, a.port, ecdsa), resume: { sessions } };
                },
            },
        ];

        const extraEdge = async (name: string, edge: LocalEdge) => {
            started.push(edge);
            const device = await deviceOf(edge, "bench-ecdsa");
            variants.push({
                name,
                haproxyPid: () => edge.haproxy.pid,
                prepare: async () => loop(edge.host, edge.port, device),
            });
        };
        for (const algorithm of options.matrix.caKeyAlgorithms) {
            const edge = await LocalEdge.start({
                stack: options.stack,
                brokerCount: 1,
                caKeyAlgorithm: algorithm,
                ...cpu,
            });
            await extraEdge(`full-ecdsa-ca-${algorithm}`, edge);
        }
        if (options.matrix.noCrl) {
            const edge = await LocalEdge.start({
                stack: options.stack,
                brokerCount: 1,
                caKeyAlgorithm: options.caKeyAlgorithm,
                withCrl: false,
                ...cpu,
            });
            await extraEdge("full-ecdsa-no-crl", edge);
        }
        return { variants, close };
    } catch (error) {
        await close();
        throw error;
    }
}
