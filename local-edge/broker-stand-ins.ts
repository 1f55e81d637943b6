/**
 * MQTT broker stand-ins for EMQX nodes behind HAProxy. Like an EMQX listener with
 * `proxy_protocol = true`, each one REQUIRES a PROXY v2 header before any MQTT byte and drops
 * the connection otherwise (esockd@5.13.0 src/esockd_proxy_protocol.erl: non-PROXY first bytes
 * -> invalid_proxy_info). LOCAL headers (HAProxy health checks) are counted, not served.
 *
 * All stand-ins share one aedes instance, so a device on one node can talk to a device on
 * another, as in an EMQX cluster. Each stand-in listens on its own loopback address and can be
 * stopped and started again on the same address and port (failover tests). Optionally each also
 * answers `GET /status` over HTTP, like EMQX's dashboard port that `option httpchk` probes.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { Aedes } from "aedes";
import { parseProxyV2Header } from "./proxy-v2-header.ts";

/** How long a stand-in waits for a complete PROXY header (EMQX default proxy_protocol_timeout). */
const PROXY_HEADER_TIMEOUT_MS = 3000;

/** One relayed device connection as a broker saw it. */
export interface BrokerConnection {
    /** Name of the stand-in that accepted it. */
    broker: string;
    /** The stand-in's port it arrived on (one of the node's `mqttPorts`). */
    brokerPort: number;
    /** Device address from the PROXY header (what EMQX reports as the peer). */
    sourceAddress: string;
    /** Device port from the PROXY header. */
    sourcePort: number;
    /** PP2_SUBTYPE_SSL_CN: the device certificate's CN, undefined when HAProxy sent none. */
    commonName: string | undefined;
    /** PP2_TYPE_SSL verify field (0 = HAProxy verified the client certificate). */
    sslVerifyResult: number | undefined;
    /** PP2_SUBTYPE_SSL_VERSION, e.g. "TLSv1.3". */
    sslVersion: string | undefined;
    /** MQTT client id from CONNECT, once it arrived. */
    clientId: string | undefined;
    /** False once the TCP connection to the broker closed. */
    open: boolean;
}

/** One SUBSCRIBE as the shared broker saw it. */
export interface BrokerSubscription {
    /** MQTT client id of the subscriber. */
    clientId: string;
    /** Topic filter. */
    topic: string;
}

/** A connection a stand-in dropped because it did not start with a valid PROXY v2 header. */
export interface BrokerRefusal {
    /** Name of the stand-in. */
    broker: string;
    /** Why the header was rejected. */
    reason: string;
}

/** Options for {@link BrokerStandIns.start}. */
export interface BrokerStandInOptions {
    /** One loopback address per stand-in, in order. */
    addresses: readonly string[];
    /** Port for `GET /status` on every stand-in's own address; omit for no HTTP status endpoint. */
    statusPort?: number;
    /**
     * MQTT listeners per stand-in, each on its own port, like EMQX's several
     * `listeners.tcp.<name>` when one HAProxy host needs more than one port range; default 1.
     */
    listenersPerNode?: number;
}

/** One stand-in node. */
export interface BrokerNode {
    /** "broker-1", "broker-2", ... */
    name: string;
    /** Loopback address it listens on. */
    address: string;
    /** MQTT (PROXY v2 required) port of its first listener. */
    mqttPort: number;
    /** Ports of all its MQTT listeners, the first one first. */
    mqttPorts: number[];
    /** True while it accepts connections. */
    running: boolean;
    /** PROXY LOCAL connections seen (HAProxy health checks sent over the PROXY protocol). */
    localHeaderCount: number;
    /** The same, by the listener port they arrived on. */
    localHeaderCountByPort: Record<number, number>;
    /** HTTP `GET /status` requests answered. */
    statusRequestCount: number;
    /** What `GET /status` reports: false makes it answer 503 while MQTT keeps working. */
    healthy: boolean;
}

interface NodeRuntime {
    node: BrokerNode;
    /** One server per listener; undefined while that listener is stopped. */
    mqttServers: (Server | undefined)[];
    statusServer?: HttpServer;
    sockets: Set<Socket>;
}

/** A set of stand-in brokers sharing one aedes instance. */
export class BrokerStandIns {
    /** Every relayed device connection, in arrival order. */
    readonly connections: BrokerConnection[] = [];
    /** Every connection dropped for a missing or invalid PROXY header. */
    readonly refusals: BrokerRefusal[] = [];
    /** Every subscription made through any stand-in. */
    readonly subscriptions: BrokerSubscription[] = [];
    readonly #aedes: Aedes;
    readonly #runtimes: NodeRuntime[];
    readonly #statusPort: number | undefined;
    readonly #recordBySocket = new WeakMap<object, BrokerConnection>();

    private constructor(aedes: Aedes, runtimes: NodeRuntime[], statusPort: number | undefined) {
        this.#aedes = aedes;
        this.#runtimes = runtimes;
        this.#statusPort = statusPort;
    }

    /** Starts one stand-in per address. */
    static async start(options: BrokerStandInOptions): Promise<BrokerStandIns> {
        const aedes = await Aedes.createBroker({});
        const runtimes = options.addresses.map((address, index) => ({
            node: {
                name: `broker-${index + 1}`,
                address,
                mqttPort: 0,
                mqttPorts: Array.from({ length: options.listenersPerNode ?? 1 }, () => 0),
                running: false,
                localHeaderCount: 0,
                localHeaderCountByPort: {},
                statusRequestCount: 0,
                healthy: true,
            },
            sockets: new Set<Socket>(),
            mqttServers: [],
        }));
        const standIns = new BrokerStandIns(aedes, runtimes, options.statusPort);
        aedes.on("client", (client) => {
            const record = standIns.#recordBySocket.get(client.conn);
            if (record !== undefined) record.clientId = client.id;
        });
        aedes.on("subscribe", (subscriptions, client) => {
            for (const { topic } of subscriptions)
                standIns.subscriptions.push({ clientId: client.id, topic });
        });
        for (const runtime of runtimes) await standIns.#listen(runtime);
        return standIns;
    }

    /** Port of the `GET /status` endpoint on every stand-in's address, if started with one. */
    get statusPort(): number | undefined {
        return this.#statusPort;
    }

    /** The stand-in nodes, in order. */
    get nodes(): readonly BrokerNode[] {
        return this.#runtimes.map((runtime) => runtime.node);
    }

    /** The node called `name`. */
    node(name: string): BrokerNode {
        return this.#runtime(name).node;
    }

    /** Relayed connections recorded after `fromIndex` (use `connections.length` as a mark). */
    connectionsSince(fromIndex: number): BrokerConnection[] {
        return this.connections.slice(fromIndex);
    }

    /** Stops accepting on `name` and drops its open connections, like a crashed EMQX node. */
    async stop(name: string): Promise<void> {
        const runtime = this.#runtime(name);
        runtime.node.running = false;
        for (const socket of runtime.sockets) socket.destroy();
        runtime.sockets.clear();
        await Promise.all([
            ...runtime.mqttServers.map((server) => closeServer(server)),
            closeServer(runtime.statusServer),
        ]);
        runtime.mqttServers = [];
        runtime.statusServer = undefined;
    }

    /**
     * Stops one listener of `name` (0-based) and drops the connections it accepted, like one of
     * EMQX's listeners going away while the node and its other listeners keep running.
     */
    async stopListener(name: string, index: number): Promise<void> {
        const runtime = this.#runtime(name);
        const port = runtime.node.mqttPorts[index];
        if (port === undefined) throw new Error(`${name} has no listener ${index}`);
        for (const socket of runtime.sockets) {
            if (socket.localPort === port) socket.destroy();
        }
        await closeServer(runtime.mqttServers[index]);
        runtime.mqttServers[index] = undefined;
    }

    /** Starts `name` again on the same address and port. */
    async restart(name: string): Promise<void> {
        await this.#listen(this.#runtime(name));
    }

    /** Stops every stand-in and the shared aedes instance. */
    async close(): Promise<void> {
        await Promise.all(this.#runtimes.map((runtime) => this.stop(runtime.node.name)));
        await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
    }

    #runtime(name: string): NodeRuntime {
        const runtime = this.#runtimes.find((candidate) => candidate.node.name === name);
        if (runtime === undefined) {
            const known = this.#runtimes.map((candidate) => candidate.node.name).join(", ");
            throw new Error(`broker stand-in "${name}" does not exist; known: ${known}`);
        }
        return runtime;
    }

    async #listen(runtime: NodeRuntime): Promise<void> {
        const { node } = runtime;
        for (const [index, port] of node.mqttPorts.entries()) {
            const mqttServer = createServer((socket) => this.#accept(runtime, socket));
            await listen(mqttServer, node.address, port);
            const bound = mqttServer.address();
            if (bound !== null && typeof bound === "object") node.mqttPorts[index] = bound.port;
            runtime.mqttServers[index] = mqttServer;
        }
        node.mqttPort = node.mqttPorts[0] ?? 0;
        if (this.#statusPort !== undefined) {
            const statusServer = createHttpServer((request, response) => {
                node.statusRequestCount += 1;
                if (request.url !== "/status") {
                    response.writeHead(404).end();
                    return;
                }
                // Like EMQX's GET /status: 200 when the node is running, 503 when it is not.
                const healthy = node.running && node.healthy;
                response.writeHead(healthy ? 200 : 503, { "content-type": "text/plain" });
                response.end(healthy ? "running" : "not running");
            });
            await listen(statusServer, node.address, this.#statusPort);
            runtime.statusServer = statusServer;
        }
        node.running = true;
    }

    #accept(runtime: NodeRuntime, socket: Socket): void {
        const { node } = runtime;
        runtime.sockets.add(socket);
        socket.on("close", () => runtime.sockets.delete(socket));
        socket.on("error", () => socket.destroy());
        let received = Buffer.alloc(0);
        const refuse = (reason: string): void => {
            this.refusals.push({ broker: node.name, reason });
            socket.destroy();
        };
        const timer = setTimeout(
            () => refuse("no complete PROXY v2 header in time"),
            PROXY_HEADER_TIMEOUT_MS,
        );
        const onData = (chunk: Buffer): void => {
            received = Buffer.concat([received, chunk]);
            const result = parseProxyV2Header(received);
            if (result.status === "incomplete") return;
            clearTimeout(timer);
            socket.removeListener("data", onData);
            if (result.status === "invalid") {
                refuse(result.reason);
                return;
            }
            const { header, rest } = result;
            if (header.command === "LOCAL") {
                // A health check: EMQX would accept it as a plain socket; nothing to serve here.
                node.localHeaderCount += 1;
                const port = socket.localPort ?? 0;
                node.localHeaderCountByPort[port] = (node.localHeaderCountByPort[port] ?? 0) + 1;
                socket.resume();
                socket.on("end", () => socket.destroy());
                return;
            }
            const record: BrokerConnection = {
                broker: node.name,
                brokerPort: socket.localPort ?? 0,
                sourceAddress: header.sourceAddress ?? "",
                sourcePort: header.sourcePort ?? 0,
                commonName: header.ssl?.commonName,
                sslVerifyResult: header.ssl?.verifyResult,
                sslVersion: header.ssl?.version,
                clientId: undefined,
                open: true,
            };
            this.connections.push(record);
            socket.on("close", () => {
                record.open = false;
            });
            this.#recordBySocket.set(socket, record);
            socket.pause();
            if (rest.length > 0) socket.unshift(rest);
            this.#aedes.handle(socket);
        };
        socket.on("data", onData);
        socket.on("close", () => clearTimeout(timer));
    }
}

function listen(server: Server | HttpServer, host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port, exclusive: true }, () => {
            server.removeListener("error", reject);
            resolve();
        });
    });
}

function closeServer(server: Server | HttpServer | undefined): Promise<void> {
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
}
