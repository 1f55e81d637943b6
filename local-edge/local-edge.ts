/**
 * A committed stack's edge on this machine: the stack's haproxy.cfg, rendered by the production
 * path (stack file -> schema -> infra/edge-specs.ts -> templates/haproxy.ts), run by a real
 * HAProxy on loopback in front of PROXY-v2 broker stand-ins, with a local trust chain of the
 * stack's key algorithms. Only what cannot be the same on one machine is rewritten: addresses,
 * ports, file paths, log target and limits (maxconn fitted to the descriptor limit). Operator
 * commands use it for `--local` runs (smoke test, load test, benchmarks).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type EdgeConfig, parseEdgeConfig } from "../infra/config.ts";
import { haproxySpecFor } from "../infra/edge-specs.ts";
import { readStackFile } from "../infra/stack-file.ts";
import { haproxyBackendName, renderHaproxyCfg } from "../templates/haproxy.ts";
import type { HaproxySpec } from "../templates/haproxy-spec.ts";
import { renderTicketKeysFile, TICKET_SEED_BYTES } from "../templates/tls-ticket-keys.ts";
import { BrokerStandIns } from "./broker-stand-ins.ts";
import { forgetTemporaryDirectory, registerTemporaryDirectory } from "./emergency-cleanup.ts";
import { HaproxyProcess } from "./haproxy-process.ts";
import { type LocalKeyAlgorithm, LocalPki } from "./local-pki.ts";
import { findFreePort, LoopbackAddressPool } from "./loopback-endpoints.ts";
import { localWorkerPrivileges } from "./worker-privileges.ts";

/** What a local edge may change about the stack's own shape. */
export interface LocalEdgeOptions {
    /** Committed stack (`Pulumi.<stack>.yaml`) whose haproxy.cfg runs; default `dev`. */
    stack?: string;
    /** Broker stand-ins; default the stack's EMQX node count, at most 3. */
    brokerCount?: number;
    /** CA key algorithm; default the stack's `pki.caKeyAlgorithm`. */
    caKeyAlgorithm?: LocalKeyAlgorithm;
    /** Server certificate algorithms; default the stack's `pki.serverKeyAlgorithms`. */
    serverKeyAlgorithms?: readonly LocalKeyAlgorithm[];
    /** Ship root and intermediate CRLs as the stack does; default true. */
    withCrl?: boolean;
    /** Process maxconn; default the stack's, lowered to what the descriptor limit allows. */
    maxconn?: number;
    /** Last word on the spec before it is rendered (threads, timings, ...). */
    customize?: (spec: HaproxySpec) => void;
    /** Pin HAProxy to this CPU (benchmarks). */
    cpu?: number;
    /** Keep HAProxy's per-connection log lines (info level); default off, as they pile up. */
    connectionLog?: boolean;
    /**
     * Seed of the shared TLS session ticket keys (64 hex digits, templates/tls-ticket-keys.ts),
     * when the stack's haproxy.cfg names `tls-ticket-keys`; default a random one per edge.
     */
    tlsTicketSeed?: string;
}

/**
 * DNS name in the server certificates that clients check; `.test` is reserved (RFC 2606), and
 * Node matches an IP host only against IP SANs.
 */
export const LOCAL_EDGE_SERVER_NAME = "mqtt-edge-local.test";

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Another HAProxy of the same edge (see {@link LocalEdge.startPeer}). */
export interface LocalEdgePeer {
    /** Where devices reach it. */
    readonly host: string;
    /** Its device port. */
    readonly port: number;
    /** The process. */
    readonly haproxy: HaproxyProcess;
    /** Ends it. */
    stop(): Promise<void>;
}

/** A running local edge. */
export class LocalEdge {
    /** The validated stack configuration the config was rendered from. */
    readonly config: EdgeConfig;
    /** Loopback addresses: HAProxy's, the stand-ins', and fresh ones for devices. */
    readonly addresses: LoopbackAddressPool;
    /** The local trust chain and HAProxy's files. */
    readonly pki: LocalPki;
    /** EMQX stand-ins: they require PROXY v2 and record the CN of each device. */
    readonly brokers: BrokerStandIns;
    /** The running HAProxy. */
    readonly haproxy: HaproxyProcess;
    /** The spec the running haproxy.cfg was rendered from. */
    spec: HaproxySpec;
    /** The haproxy.cfg text HAProxy runs. */
    haproxyCfg: string;
    readonly #workDir: string;
    #peers = 0;
    readonly #peerProcesses: HaproxyProcess[] = [];

    private constructor(parts: {
        config: EdgeConfig;
        addresses: LoopbackAddressPool;
        pki: LocalPki;
        brokers: BrokerStandIns;
        haproxy: HaproxyProcess;
        spec: HaproxySpec;
        haproxyCfg: string;
        workDir: string;
    }) {
        this.config = parts.config;
        this.addresses = parts.addresses;
        this.pki = parts.pki;
        this.brokers = parts.brokers;
        this.haproxy = parts.haproxy;
        this.spec = parts.spec;
        this.haproxyCfg = parts.haproxyCfg;
        this.#workDir = parts.workDir;
    }

    /** Where devices connect (the NLB listener in production). */
    get host(): string {
        return this.spec.mqtts.bind.address;
    }

    /** Device port. */
    get port(): number {
        return this.spec.mqtts.bind.port;
    }

    /** The name devices check the server certificate against. */
    get serverName(): string {
        return LOCAL_EDGE_SERVER_NAME;
    }

    /** The backend's name in HAProxy's runtime API. */
    get backendName(): string {
        return haproxyBackendName;
    }

    /** Starts stand-ins, PKI and HAProxy; on any failure ends what had started, then throws. */
    static async start(options: LocalEdgeOptions = {}): Promise<LocalEdge> {
        const stack = options.stack ?? "dev";
        const stackFile = readStackFile(projectDir, stack);
        const config = parseEdgeConfig(stackFile.raw, { encryptedSecrets: stackFile.secrets });
        const serverKeyAlgorithms = options.serverKeyAlgorithms ?? [
            ...(config.pki.serverKeyAlgorithms as LocalKeyAlgorithm[]),
        ];
        const withCrl = options.withCrl ?? true;

        const addresses = new LoopbackAddressPool();
        const haproxyAddress = addresses.next();
        const brokerAddresses = Array.from(
            { length: options.brokerCount ?? Math.min(config.emqx.nodes, 3) },
            () => addresses.next(),
        );
        const workDir = await mkdtemp(join(tmpdir(), "mqtt-edge-local-edge-"));
        registerTemporaryDirectory(workDir);
        const cleanups: Array<() => Promise<void>> = [
            async () => {
                await rm(workDir, { recursive: true, force: true });
                forgetTemporaryDirectory(workDir);
            },
        ];
        try {
            const pki = await LocalPki.create({
                caKeyAlgorithm:
                    options.caKeyAlgorithm ?? (config.pki.caKeyAlgorithm as LocalKeyAlgorithm),
                serverKeyAlgorithms,
                serverNames: [LOCAL_EDGE_SERVER_NAME],
                rootCommonName: config.pki.rootCommonName,
                deviceCaCommonName: config.pki.intermediateCommonName,
            });
            cleanups.push(() => pki.remove());
            const spec = haproxySpecFor(config, { serverKeyAlgorithms, withCrl });
            // As many MQTT listeners per stand-in as the stack gives each EMQX node.
            const listenersPerNode = spec.backend.linesPerNode ?? 1;
            const brokers = await BrokerStandIns.start({
                addresses: brokerAddresses,
                listenersPerNode,
            });
            cleanups.push(() => brokers.close());

            const maxconn = Math.min(options.maxconn ?? spec.process.maxconn, maxconnThatFits());
            spec.process = {
                ...spec.process,
                maxconn,
                log: { kind: "stdout", level: options.connectionLog ? "info" : "notice" },
                statsSocketPath: join(workDir, "admin.sock"),
                // The stack's drop to haproxy, into a chroot of our own, where this user may switch.
                runAs: await localWorkerPrivileges(workDir),
            };
            delete spec.process.pidFile;
            spec.mqtts = {
                ...spec.mqtts,
                bind: { address: haproxyAddress, port: await findFreePort(haproxyAddress) },
                maxconn: Math.min(spec.mqtts.maxconn, maxconn),
                serverCertificatePaths: [...pki.serverPemPaths],
                deviceIntermediateCaPath: pki.intermediateCaPath,
                rootCaPath: pki.rootCaPath,
                ...(withCrl ? { crlPath: pki.crlPath } : {}),
                deviceIssuerCommonName: pki.deviceCaCommonName,
            };
            if (!withCrl) delete spec.mqtts.crlPath;
            spec.backend = {
                ...spec.backend,
                // The stack's lines are port by port over its nodes; keep their names and order.
                servers: Array.from({ length: listenersPerNode }, (_, line) =>
                    brokers.nodes.map((node, index) => ({
                        name:
                            spec.backend.servers[line * config.emqx.nodes + index]?.name ??
                            `${node.name}-${line + 1}`,
                        host: node.address,
                        port: node.mqttPorts[line] ?? node.mqttPort,
                    })),
                ).flat(),
                serverDefaults: {
                    ...spec.backend.serverDefaults,
                    maxconn: Math.min(spec.backend.serverDefaults.maxconn, maxconn),
                },
            };
            // Servers are IPv4 literals, so no lookup is made; a nameserver of our own keeps the
            // edge independent of /etc/resolv.conf (and of any network but loopback).
            spec.resolvers = {
                ...spec.resolvers,
                nameservers: [{ address: haproxyAddress, port: 53 }],
            };
            spec.health = {
                ...spec.health,
                bind: { address: haproxyAddress, port: await findFreePort(haproxyAddress) },
            };
            if (spec.mqtts.tlsTicketKeysPath !== undefined) {
                // The keys a host of this stack holds now, derived from the seed like the hosts do.
                const keysPath = join(workDir, "tls-ticket-keys");
                const seed =
                    options.tlsTicketSeed ?? randomBytes(TICKET_SEED_BYTES).toString("hex");
                await writeFile(
                    keysPath,
                    renderTicketKeysFile(
                        seed,
                        Date.now() / 1000,
                        config.haproxy.tlsSessionLifetimeSeconds,
                    ),
                    { mode: 0o600 },
                );
                spec.mqtts.tlsTicketKeysPath = keysPath;
            }
            if (spec.admin) {
                spec.admin = {
                    ...spec.admin,
                    bind: { address: haproxyAddress, port: await findFreePort(haproxyAddress) },
                };
            }
            options.customize?.(spec);

            const haproxyCfg = renderHaproxyCfg(spec);
            const configPath = join(workDir, "haproxy.cfg");
            await writeFile(configPath, haproxyCfg, { mode: 0o600 });
            const haproxy = await HaproxyProcess.start({
                configPath,
                statsSocketPath: spec.process.statsSocketPath,
                masterSocketPath: join(workDir, "master.sock"),
                ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
            });
            cleanups.push(() => haproxy.stop());
            await haproxy.waitForServers(
                haproxyBackendName,
                Object.fromEntries(spec.backend.servers.map((server) => [server.name, true])),
                15_000,
            );
            return new LocalEdge({
                config,
                addresses,
                pki,
                brokers,
                haproxy,
                spec,
                haproxyCfg,
                workDir,
            });
        } catch (error) {
            for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
            throw error;
        }
    }

    /** Renders the changed spec and reloads HAProxy gracefully (SIGUSR2). */
    async reload(change: (spec: HaproxySpec) => void = () => undefined): Promise<void> {
        const spec = structuredClone(this.spec);
        change(spec);
        const haproxyCfg = renderHaproxyCfg(spec);
        await this.haproxy.reload(haproxyCfg);
        this.spec = spec;
        this.haproxyCfg = haproxyCfg;
    }

    /**
     * A second HAProxy of the same stack, as another instance behind the NLB: the same haproxy.cfg
     * and files (certificates, CRLs, ticket keys), its own ports and runtime socket, the same
     * stand-ins. Ended by {@link close} or by the returned `stop`.
     */
    async startPeer(cpu?: number): Promise<LocalEdgePeer> {
        const dir = join(this.#workDir, `peer-${++this.#peers}`);
        await mkdir(dir, { mode: 0o700 });
        const spec = structuredClone(this.spec);
        const address = spec.mqtts.bind.address;
        spec.mqtts.bind = { address, port: await findFreePort(address) };
        spec.health.bind = { address, port: await findFreePort(address) };
        if (spec.admin) spec.admin.bind = { address, port: await findFreePort(address) };
        spec.process.statsSocketPath = join(dir, "admin.sock");
        const configPath = join(dir, "haproxy.cfg");
        await writeFile(configPath, renderHaproxyCfg(spec), { mode: 0o600 });
        const haproxy = await HaproxyProcess.start({
            configPath,
            statsSocketPath: spec.process.statsSocketPath,
            masterSocketPath: join(dir, "master.sock"),
            ...(cpu === undefined ? {} : { cpu }),
        });
        this.#peerProcesses.push(haproxy);
        return { host: address, port: spec.mqtts.bind.port, haproxy, stop: () => haproxy.stop() };
    }

    /** Ends HAProxy and the stand-ins and deletes every file. */
    async close(): Promise<void> {
        for (const peer of this.#peerProcesses.splice(0)) await peer.stop();
        await this.haproxy.stop();
        await this.brokers.close();
        await this.pki.remove();
        await rm(this.#workDir, { recursive: true, force: true });
        forgetTemporaryDirectory(this.#workDir);
    }
}

/**
 * The largest process maxconn HAProxy can raise its descriptor limit for: it needs about two
 * descriptors per connection plus a few dozen (templates/haproxy-spec.ts), up to the hard limit.
 */
export function maxconnThatFits(): number {
    const hard = execFileSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim();
    const limit = hard === "unlimited" ? 1_048_576 : Number(hard);
    return Math.max(1, Math.floor((limit - 200) / 2));
}
