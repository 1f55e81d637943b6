/**
 * One loopback MQTT edge for a test file: broker stand-ins, the edge PKI (from the Pki component,
 * see edge-pki.ts), haproxy.cfg rendered by the production renderer (templates/haproxy.ts) and a
 * real HAProxy running it. Only addresses, ports, file paths, limits and the few timings a test
 * must shorten (check interval, hard-stop-after) differ from production; each test names the
 * spec fields it changes.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { BrokerStandIns } from "../../../local-edge/broker-stand-ins.ts";
import {
    forgetTemporaryDirectory,
    registerTemporaryDirectory,
} from "../../../local-edge/emergency-cleanup.ts";
import { HaproxyProcess } from "../../../local-edge/haproxy-process.ts";
import { findFreePort, LoopbackAddressPool } from "../../../local-edge/loopback-endpoints.ts";
import { localWorkerPrivileges } from "../../../local-edge/worker-privileges.ts";
import { haproxyBackendName, renderHaproxyCfg } from "../../../templates/haproxy.ts";
import type { HaproxySpec } from "../../../templates/haproxy-spec.ts";
import { EdgePki } from "./edge-pki.ts";

/** What a test may choose about its edge. */
export interface EdgeOptions {
    /** Number of broker stand-ins (EMQX nodes); default 3. */
    brokerCount?: number;
    /**
     * MQTT listeners per stand-in and so server lines per node, as a stack whose maxconn needs
     * several EMQX listener ports renders them (infra/edge-specs.ts); default 1.
     */
    listenersPerNode?: number;
    /** Changes to the default spec (balance, limits, health check, accept-proxy, ...). */
    customize?: (spec: HaproxySpec) => void;
    /** Runs once the stand-ins listen, before the spec is built (e.g. read their status port). */
    prepareBrokers?: (brokers: BrokerStandIns) => void;
    /** Runs once the PKI exists and before HAProxy reads its files (e.g. revoke a device). */
    prepare?: (pki: EdgePki) => Promise<void>;
}

/**
 * Process maxconn of the test HAProxy: the machine's hard open-files limit is 20,000 and HAProxy
 * needs about two descriptors per connection (facts-emqx-haproxy.md §9/§11), so stay far below
 * 9,900; the tests open a few dozen connections at most.
 */
const TEST_PROCESS_MAXCONN = 2000;
/**
 * DNS name in the server certificate that mqtt.js checks (Node matches an IP host only against IP
 * SANs, and the Pki component issues DNS SANs only). `.test` is reserved (RFC 2606).
 */
export const EDGE_SERVER_NAME = "mqtt-edge-e2e.test";

/** A running edge. */
export class EdgeHarness {
    /** Loopback addresses for devices (each device gets its own). */
    readonly addresses: LoopbackAddressPool;
    /** Certificates. */
    readonly pki: EdgePki;
    /** EMQX stand-ins. */
    readonly brokers: BrokerStandIns;
    /** The running HAProxy. */
    readonly haproxy: HaproxyProcess;
    /** The spec the running config was rendered from (mutate via {@link reload}). */
    spec: HaproxySpec;
    /** The rendered haproxy.cfg text currently loaded. */
    config: string;
    readonly #workDir: string;

    private constructor(
        addresses: LoopbackAddressPool,
        pki: EdgePki,
        brokers: BrokerStandIns,
        haproxy: HaproxyProcess,
        spec: HaproxySpec,
        config: string,
        workDir: string,
    ) {
        this.addresses = addresses;
        this.pki = pki;
        this.brokers = brokers;
        this.haproxy = haproxy;
        this.spec = spec;
        this.config = config;
        this.#workDir = workDir;
    }

    /** Address devices connect to (the NLB listener in production). */
    get mqttsAddress(): string {
        return this.spec.mqtts.bind.address;
    }

    /** Port devices connect to. */
    get mqttsPort(): number {
        return this.spec.mqtts.bind.port;
    }

    /** The name of the backend in the runtime API. */
    get backendName(): string {
        return haproxyBackendName;
    }

    /** Starts everything; ends everything again if any step fails. */
    static async start(options: EdgeOptions = {}): Promise<EdgeHarness> {
        const addresses = new LoopbackAddressPool();
        const haproxyAddress = addresses.next();
        const brokerAddresses = Array.from({ length: options.brokerCount ?? 3 }, () =>
            addresses.next(),
        );
        const workDir = await mkdtemp(join(tmpdir(), "mqtt-edge-e2e-haproxy-"));
        registerTemporaryDirectory(workDir);
        const cleanups: Array<() => Promise<void>> = [
            () => rm(workDir, { recursive: true, force: true }),
        ];
        try {
            const pki = await EdgePki.create([haproxyAddress], EDGE_SERVER_NAME);
            cleanups.push(() => pki.remove());
            await options.prepare?.(pki);
            const statusPort = await findFreePort(brokerAddresses[0] ?? haproxyAddress);
            const brokers = await BrokerStandIns.start({
                addresses: brokerAddresses,
                statusPort,
                ...(options.listenersPerNode ? { listenersPerNode: options.listenersPerNode } : {}),
            });
            cleanups.push(() => brokers.close());
            options.prepareBrokers?.(brokers);
            const spec = defaultSpec({
                haproxyAddress,
                mqttsPort: await findFreePort(haproxyAddress),
                healthPort: await findFreePort(haproxyAddress),
                workDir,
                pki,
                brokers,
                runAs: await localWorkerPrivileges(workDir),
            });
            options.customize?.(spec);
            const config = renderHaproxyCfg(spec);
            const configPath = join(workDir, "haproxy.cfg");
            await writeFile(configPath, config, { mode: 0o600 });
            const haproxy = await HaproxyProcess.start({
                configPath,
                statsSocketPath: spec.process.statsSocketPath,
                masterSocketPath: join(workDir, "master.sock"),
            });
            const edge = new EdgeHarness(addresses, pki, brokers, haproxy, spec, config, workDir);
            await haproxy.waitForServers(
                haproxyBackendName,
                Object.fromEntries(spec.backend.servers.map((server) => [server.name, true])),
                10_000,
            );
            return edge;
        } catch (error) {
            for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
            throw error;
        }
    }

    /** Renders the changed spec and reloads HAProxy gracefully (SIGUSR2). */
    async reload(change: (spec: HaproxySpec) => void): Promise<void> {
        const spec = structuredClone(this.spec);
        change(spec);
        const config = renderHaproxyCfg(spec);
        await this.haproxy.reload(config);
        this.spec = spec;
        this.config = config;
    }

    /** Teardown: ends HAProxy (its whole process group) and the stand-ins, deletes every file. */
    async close(): Promise<void> {
        await this.haproxy.stop();
        await this.brokers.close();
        await this.pki.remove();
        await rm(this.#workDir, { recursive: true, force: true });
        forgetTemporaryDirectory(this.#workDir);
    }

    /** HAProxy's output (including its connection log) and the brokers' records, as text. */
    diagnostics(): string {
        return [
            "---- haproxy output ----",
            this.haproxy.logText(),
            "---- broker connections ----",
            ...this.brokers.connections.map((c) => JSON.stringify(c)),
            "---- broker refusals ----",
            ...this.brokers.refusals.map((r) => JSON.stringify(r)),
        ].join("\n");
    }

    /**
     * Runs `body` and, if it throws, appends HAProxy's log and the broker records to the error,
     * so the failure report shows what HAProxy did. `t` names the test in the appended text.
     */
    async withDiagnostics(t: TestContext, body: () => Promise<void>): Promise<void> {
        try {
            await body();
        } catch (error) {
            const report = `\n==== ${t.name}: edge state at failure ====\n${this.diagnostics()}`;
            // The spec reporter prints the stack V8 fixed when the error was made, so a longer
            // message alone would not show there: a diagnostic shows with every reporter.
            if (error instanceof Error) error.message += report;
            t.diagnostic(report);
            throw error;
        }
    }
}

interface DefaultSpecInputs {
    haproxyAddress: string;
    mqttsPort: number;
    healthPort: number;
    workDir: string;
    pki: EdgePki;
    brokers: BrokerStandIns;
    runAs: HaproxySpec["process"]["runAs"];
}

/**
 * Production shape with loopback endpoints. Timings a test waits on are short (1 s checks would
 * make a failover test take 15 s with production's inter 5s x fall 3); everything that decides
 * who gets in is as in production.
 */
function defaultSpec(inputs: DefaultSpecInputs): HaproxySpec {
    const { haproxyAddress, workDir, pki, brokers } = inputs;
    return {
        process: {
            maxconn: TEST_PROCESS_MAXCONN,
            threads: 2,
            log: { kind: "stdout", level: "info" },
            statsSocketPath: join(workDir, "admin.sock"),
            // As in production where the machine allows it (worker-privileges.ts).
            runAs: inputs.runAs,
            hardStopAfterMs: 30_000,
        },
        timeouts: {
            connectMs: 2_000,
            clientMs: 60_000,
            serverMs: 60_000,
            clientFinMs: 5_000,
            serverFinMs: 5_000,
            queueMs: 5_000,
            checkMs: 1_000,
            httpRequestMs: 5_000,
        },
        acceptProxyFromLoadBalancer: false,
        mqtts: {
            bind: { address: haproxyAddress, port: inputs.mqttsPort },
            maxconn: 1000,
            serverCertificatePaths: [pki.serverPemPath],
            deviceIntermediateCaPath: pki.intermediateCaPath,
            rootCaPath: pki.rootCaPath,
            crlPath: pki.crlPath,
            deviceIssuerCommonName: pki.deviceCaCommonName,
            minTlsVersion: "TLSv1.2",
        },
        backend: {
            balance: "leastconn",
            // Port by port, as production orders them: the first listener of every node, then
            // the second; the first line of a node keeps the node's plain name.
            servers: (brokers.nodes[0]?.mqttPorts ?? []).flatMap((_, index) =>
                brokers.nodes.map((node) => ({
                    name: index === 0 ? node.name : `${node.name}-${index + 1}`,
                    host: node.address,
                    port: node.mqttPorts[index] ?? 0,
                })),
            ),
            linesPerNode: brokers.nodes[0]?.mqttPorts.length ?? 1,
            serverDefaults: {
                checkIntervalMs: 300,
                downCheckIntervalMs: 300,
                rise: 2,
                fall: 3,
                slowstartMs: 0,
                maxconn: 1000,
                maxqueue: 100,
                weight: 100,
            },
            healthCheck: { kind: "proxy-connect" },
            shutdownSessionsOnMarkedDown: true,
        },
        resolvers: {
            // Servers are IPv4 literals here, so no lookup is ever made; an explicit (silent)
            // nameserver keeps the test independent of the host's /etc/resolv.conf.
            nameservers: [{ address: haproxyAddress, port: 53 }],
            holdValidMs: 10_000,
            resolveIntervalMs: 1_000,
        },
        health: { bind: { address: haproxyAddress, port: inputs.healthPort }, uri: "/healthz" },
    };
}
