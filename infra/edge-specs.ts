/**
 * From the validated stack configuration to the template specs: the one place that decides what
 * haproxy.cfg and each emqx.conf say for a stack. Pure (no Pulumi, no I/O), so the program, the
 * render CLI and the tests produce the same files from the same configuration.
 */

import type { EmqxSpec } from "../templates/emqx.ts";
import type { HaproxySpec, HaproxyWorkerPrivileges } from "../templates/haproxy-spec.ts";
import type { EdgeConfig } from "./config.ts";
import { emqxListenerPlan } from "./emqx-listener-plan.ts";

/** Where HAProxy's files live on a host or in a container, and where it logs. */
export interface HaproxyLayout {
    readonly config: string;
    /** One PEM per server key algorithm: certificate, issuing chain and key (secret). */
    readonly serverCertificate: (algorithm: string) => string;
    readonly deviceIntermediateCa: string;
    readonly rootCa: string;
    /** CRLs of the root and the device intermediate, concatenated. */
    readonly crl: string;
    /**
     * TLS session ticket keys shared by the stack's HAProxy instances, and the seed file they are
     * derived from (templates/tls-ticket-keys.ts); omit where keys are not shared (one container).
     */
    readonly tlsTicketKeys?: { readonly keys: string; readonly seed: string };
    readonly statsSocket: string;
    readonly pidFile?: string;
    readonly log: HaproxySpec["process"]["log"];
    /**
     * The account and chroot the workers drop to; the master stays root, so it alone reads the
     * 0600 keys, at start and at every reload.
     */
    readonly workerPrivileges: HaproxyWorkerPrivileges;
    /**
     * Where the Prometheus exporter and stats page listen: loopback on a host (reach it through
     * SSM port forwarding; it has no authentication), every address inside a container (Docker
     * then publishes it on the host's loopback only).
     */
    readonly adminAddress: string;
}

/** Paths on the AWS hosts (Debian's haproxy package; cloud-init writes the rest). */
export const awsHaproxyLayout: HaproxyLayout = {
    config: "/etc/haproxy/haproxy.cfg",
    serverCertificate: (algorithm) => `/etc/haproxy/certs/server-${algorithm}.pem`,
    deviceIntermediateCa: "/etc/haproxy/ca/device-intermediate.pem",
    rootCa: "/etc/haproxy/ca/root.pem",
    crl: "/etc/haproxy/ca/crl.pem",
    // The keys on tmpfs (/run), as hap-2.6 doc/configuration.txt "tls-ticket-keys" advises; the
    // seed arrives with the other files and the keys are derived from it at boot and every minute.
    tlsTicketKeys: {
        keys: "/run/haproxy-tls/tls-ticket-keys",
        seed: "/etc/haproxy/tls-ticket-seed",
    },
    statsSocket: "/run/haproxy/admin.sock",
    pidFile: "/run/haproxy.pid",
    // Once chrooted, a worker sends to /dev/log *inside* the chroot (haproxy 2.6.12: `log /x/log`
    // went to <chroot>/x/log), i.e. /var/lib/haproxy/dev/log. Debian 12's haproxy.service puts the
    // journal's socket there (`BindReadOnlyPaths=/dev/log:/var/lib/haproxy/dev/log`; the package
    // ships the empty dev/), so no rsyslog is needed; a unit without that line loses the logs.
    log: { kind: "syslog", address: "/dev/log", facility: "local0", level: "info" },
    adminAddress: "127.0.0.1",
    // The Debian package creates the account and the directory (root-owned, empty but for dev/).
    workerPrivileges: { user: "haproxy", group: "haproxy", chroot: "/var/lib/haproxy" },
};

/** EMQX's data dir on the AWS hosts (the package's). */
export const EMQX_DATA_DIR = "/var/lib/emqx";

/**
 * The first MQTT port EMQX listens on behind HAProxy (plain TCP with PROXY v2); a stack whose
 * maxconn needs more listens on the following ports too (infra/emqx-listener-plan.ts).
 */
export { EMQX_MQTT_BASE_PORT as EMQX_MQTT_PORT } from "../capacity/backend-ports.ts";
/** EMQX dashboard and REST API port. */
export const EMQX_DASHBOARD_PORT = 18083;
/** HAProxy's NLB health endpoint path. */
export const HEALTH_URI = "/healthz";
/** Path of HAProxy's Prometheus exporter on its loopback admin frontend. */
export const HAPROXY_METRICS_PATH = "/metrics";
/** EMQX's Prometheus endpoint on the dashboard listener (no auth: prometheus.enable_basic_auth false). */
export const EMQX_PROMETHEUS_PATH = "/api/v5/prometheus/stats";
/** EMQX cluster name; the same on every node. */
export const EMQX_CLUSTER_NAME = "mqttedge";

/** One EMQX node: its index (1-based), host name and Erlang node name. */
export interface EmqxNodeIdentity {
    readonly index: number;
    /** `emqx-<index>.<private zone>`. */
    readonly hostname: string;
    /** `emqx@<hostname>`. */
    readonly nodeName: string;
}

/** Node identities are DNS names, so replacing an instance changes no rendered file. */
export function emqxNodes(config: Pick<EdgeConfig, "emqx">): EmqxNodeIdentity[] {
    return Array.from({ length: config.emqx.nodes }, (_, i) => {
        const hostname = `emqx-${i + 1}.${config.emqx.privateZone}`;
        return { index: i + 1, hostname, nodeName: `emqx@${hostname}` };
    });
}

/** DNS name whose SRV record lists every node, for `emqx.discovery: dns`. */
export function emqxDiscoveryName(config: Pick<EdgeConfig, "emqx">): string {
    return `_emqx._tcp.${config.emqx.privateZone}`;
}

const seconds = (s: number) => s * 1000;

/**
 * One server line per EMQX node and listener port. The first port keeps the plain node name
 * (`emqx-1`), so a stack that needs one port renders what it always did; further ports are
 * `emqx-1-1884` and so on. Lines go port by port, so roundrobin visits every node before it
 * opens a second port on any.
 */
export function emqxServerLines(
    config: Pick<EdgeConfig, "haproxy" | "emqx" | "capacity">,
): { name: string; host: string; port: number }[] {
    const nodes = emqxNodes(config);
    return emqxListenerPlan(config).ports.flatMap((port, portIndex) =>
        nodes.map((node) => ({
            name: portIndex === 0 ? `emqx-${node.index}` : `emqx-${node.index}-${port}`,
            host: node.hostname,
            port,
        })),
    );
}

/** What haproxy.cfg depends on besides the configuration. */
export interface HaproxyDeployValues {
    /** Key algorithms of the server certificates, in the order HAProxy should list them. */
    readonly serverKeyAlgorithms: readonly string[];
    /** Whether the stack ships CRLs (root and intermediate) to the hosts. */
    readonly withCrl: boolean;
    /** Where the files are; default the AWS hosts' layout. */
    readonly layout?: HaproxyLayout;
}

/**
 * Session resumption sizing. Lifetime: the configured one, which is also the ticket key rotation
 * period (a ticket is never accepted past it). Cache: one ~200-byte block per connection the host
 * may hold (global maxconn), under 1 % of what a connection costs in memory (capacity/
 * measured-figures.json). Tickets, which every TLS 1.3 client and nearly every TLS 1.2 client
 * uses, need no cache; the cache serves TLS 1.2 clients that resume by session id, and a session
 * with a device certificate spans several blocks (hap-2.6 doc "tune.ssl.cachesize"), so it holds
 * a share of them: enough for a minority, which is all that needs it. HAProxy stores every new
 * session there, ticket or not; with the cache nearly off, HAProxy held ~2.4 KiB less per idle
 * device between 500 and 1500 devices (README, "Performance"), a cost bounded by the cache size.
 */
export function tlsSessionTuning(config: Pick<EdgeConfig, "haproxy">): {
    tlsSessionCacheSize: number;
    tlsSessionLifetimeMs: number;
} {
    return {
        tlsSessionCacheSize: config.haproxy.maxconn,
        tlsSessionLifetimeMs: seconds(config.haproxy.tlsSessionLifetimeSeconds),
    };
}

export function haproxySpecFor(config: EdgeConfig, deploy: HaproxyDeployValues): HaproxySpec {
    const h = config.haproxy;
    const paths = deploy.layout ?? awsHaproxyLayout;
    return {
        process: {
            maxconn: h.maxconn,
            log: paths.log,
            statsSocketPath: paths.statsSocket,
            runAs: paths.workerPrivileges,
            ...(paths.pidFile ? { pidFile: paths.pidFile } : {}),
            hardStopAfterMs: seconds(h.hardStopAfterSeconds),
            ...tlsSessionTuning(config),
        },
        timeouts: {
            connectMs: seconds(h.connectTimeoutSeconds),
            clientMs: seconds(h.clientTimeoutSeconds),
            serverMs: seconds(h.serverTimeoutSeconds),
            clientFinMs: seconds(h.finTimeoutSeconds),
            serverFinMs: seconds(h.finTimeoutSeconds),
            queueMs: seconds(h.queueTimeoutSeconds),
            checkMs: seconds(Math.min(h.checkIntervalSeconds, 5)),
            httpRequestMs: 5_000,
        },
        acceptProxyFromLoadBalancer:
            config.target === "aws" && config.nlb.clientIpMode === "proxy-v2",
        mqtts: {
            bind: { address: "0.0.0.0", port: config.nlb.devicePort },
            maxconn: h.frontendMaxconn,
            // ECDSA first: without SNI HAProxy presents the first certificate (haproxy 2.6.12,
            // checked in test/templates), and every current TLS stack verifies ECDSA.
            serverCertificatePaths: [...deploy.serverKeyAlgorithms]
                .sort((a, b) => Number(b.startsWith("ecdsa")) - Number(a.startsWith("ecdsa")))
                .map((algorithm) => paths.serverCertificate(algorithm)),
            deviceIntermediateCaPath: paths.deviceIntermediateCa,
            rootCaPath: paths.rootCa,
            ...(deploy.withCrl ? { crlPath: paths.crl } : {}),
            ...(paths.tlsTicketKeys ? { tlsTicketKeysPath: paths.tlsTicketKeys.keys } : {}),
            deviceIssuerCommonName: config.pki.intermediateCommonName,
            minTlsVersion: h.tlsMinVersion,
        },
        backend: {
            balance: h.balance,
            servers: emqxServerLines(config),
            linesPerNode: emqxListenerPlan(config).listenersPerNode,
            serverDefaults: {
                checkIntervalMs: seconds(h.checkIntervalSeconds),
                downCheckIntervalMs: seconds(h.checkDownIntervalSeconds),
                rise: h.checkRise,
                fall: h.checkFall,
                slowstartMs: seconds(h.slowstartSeconds),
                maxconn: h.serverMaxconn,
                maxqueue: Math.max(h.maxqueue, 1),
                weight: 100,
            },
            // PROXY LOCAL on the traffic port: checks the very listener each line uses, and needs no
            // port besides the MQTT listeners open from HAProxy to EMQX.
            healthCheck: { kind: "proxy-connect" },
            shutdownSessionsOnMarkedDown: true,
        },
        resolvers: { nameservers: "resolv-conf", holdValidMs: 10_000, resolveIntervalMs: 1_000 },
        health: { bind: { address: "0.0.0.0", port: h.healthPort }, uri: HEALTH_URI },
        admin: {
            bind: { address: paths.adminAddress, port: h.metricsPort },
            metricsPath: HAPROXY_METRICS_PATH,
            statsUri: "/stats",
        },
    };
}

/** What emqx.conf depends on besides the configuration. */
export interface EmqxDeployValues {
    /** Addresses or networks HAProxy connects from; EMQX denies everyone else on 1883. */
    readonly haproxySources: readonly string[];
    /** node.data_dir; default the AWS hosts' (the package's /var/lib/emqx). */
    readonly dataDir?: string;
}

/** One emqx.conf spec per node; secrets come from the environment, never the file. */
export function emqxSpecsFor(config: EdgeConfig, deploy: EmqxDeployValues): EmqxSpec[] {
    const nodes = emqxNodes(config);
    const e = config.emqx;
    const listeners = emqxListenerPlan(config);
    const [first, ...more] = listeners.ports;
    return nodes.map((node) => ({
        version: e.version,
        nodeName: node.nodeName,
        dataDir: deploy.dataDir ?? EMQX_DATA_DIR,
        clusterName: EMQX_CLUSTER_NAME,
        discovery:
            e.discovery === "static"
                ? { strategy: "static", seeds: nodes.map((n) => n.nodeName) }
                : { strategy: "dns", name: emqxDiscoveryName(config), recordType: "srv" },
        mqttListener: {
            bind: `0.0.0.0:${first}`,
            ...(more.length > 0 ? { additionalPorts: more } : {}),
            maxConnections: listeners.maxConnectionsPerListener,
            acceptors: e.acceptors,
            backlog: e.backlog,
            proxyProtocolTimeout: `${e.proxyProtocolTimeoutSeconds}s`,
            trustedProxySources: deploy.haproxySources,
        },
        peerCertAsUsername: e.peerCertAs,
        peerCertAsClientId: e.peerCertAs,
        dashboardBind: `0.0.0.0:${EMQX_DASHBOARD_PORT}`,
        prometheusBasicAuth: false,
        secrets: { source: "environment" },
    }));
}
