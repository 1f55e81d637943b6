/**
 * emqx.conf for one EMQX 5 node behind HAProxy: plain TCP on 1883 with PROXY protocol v2 from
 * HAProxy, device identity from the certificate CN that HAProxy forwards, the other default
 * listeners off, and the Erlang cookie and dashboard password kept out of the file on request.
 *
 * Secrets design. EMQX's HOCON library does not substitute environment variables (`${VAR}` resolves
 * only against the config itself, and the maintainers have "no plan to implement environment
 * variable value interpolation": emqx/hocon#301, README note from emqx/hocon#302), so
 * `node.cookie = ${EMQX_NODE_COOKIE}` would fail to load and `${?X}` would drop the key. What EMQX
 * does read is an EMQX_* environment variable per key, which overrides the file: `.` becomes `__`
 * (hocon_tconf env override; docs.emqx.com/en/emqx/v5.8/configuration/configuration.html
 * "Environment Variables"), and bin/emqx takes the cookie from $EMQX_NODE__COOKIE before it looks in
 * emqx.conf (bin/emqx@v5.8.9: `COOKIE="${EMQX_NODE__COOKIE:-}"`, then `call_hocon ... get
 * node.cookie` only when empty). So with `secrets.source = "environment"` the file carries no
 * secret at all, can be shown, diffed and put in user-data, and the node gets EMQX_NODE__COOKIE and
 * EMQX_DASHBOARD__DEFAULT_PASSWORD (and EMQX_LICENSE__KEY on 5.9+) from a root-only systemd
 * EnvironmentFile or the container environment; see templates/emqx-secrets-env.ts.
 */

import { emqxListenerName, MAX_EMQX_MQTT_LISTENERS } from "../capacity/backend-ports.ts";
import {
    checkAbsolutePath,
    checkAtomName,
    checkBind,
    checkBoolean,
    checkDnsQueryName,
    checkDurationMs,
    checkInteger,
    checkIpv4Network,
    checkLicenseKey,
    checkNodeName,
    checkOneOf,
    checkSecretToken,
    checkVersion,
    failCombination,
    isIpv4,
} from "./emqx-values.ts";
import { type HoconObject, renderHoconDocument } from "./hocon.ts";

/** The open-source (Apache-2.0) release line we default to; 5.9+ is BSL and needs a license. */
export const defaultEmqxVersion = "5.8.9";

/**
 * Where the client username / client id come from. Behind PROXY v2 only the CN travels: `dn` also
 * yields the CN there, and `crt`/`pem`/`md5` have no certificate bytes to work on
 * (shared/reference/facts-emqx-haproxy.md §3.4; esockd `esockd_peercert:subject/1`).
 */
export type EmqxPeerCertSource = "cn" | "dn" | "disabled";

/** Nodes find each other from a fixed list of node names (the default). */
export interface EmqxStaticDiscovery {
    /** Discovery strategy tag. */
    readonly strategy: "static";
    /** Node name of every cluster member, this node included, e.g. `emqx@emqx-1.edge.internal`. */
    readonly seeds: readonly string[];
}

/** Nodes find each other by a DNS lookup. */
export interface EmqxDnsDiscovery {
    /** Discovery strategy tag. */
    readonly strategy: "dns";
    /** DNS name that resolves to every node, e.g. `emqx.edge.internal`. */
    readonly name: string;
    /**
     * `a`: peers are named `<short>@<resolved IPv4>`, so this node's name must be `emqx@<its IPv4>`
     * (emqx_conf_schema.erl validate_dns_cluster_strategy/3; ekka_cluster_dns). `srv`: peers are
     * named after the SRV target hosts, so DNS names keep working.
     */
    readonly recordType: "a" | "srv";
}

/** How nodes discover each other. */
export type EmqxDiscovery = EmqxStaticDiscovery | EmqxDnsDiscovery;

/** Secrets stay out of the file; the node reads them from EMQX_* environment variables. */
export interface EmqxSecretsFromEnvironment {
    /** Secret source tag. */
    readonly source: "environment";
}

/** Secrets written into the file (local Docker and tests only: the file is then a secret). */
export interface EmqxInlineSecrets {
    /** Secret source tag. */
    readonly source: "inline";
    /** Erlang distribution cookie, same on every node (16-128 of [A-Za-z0-9_], letter first). */
    readonly erlangCookie: string;
    /** Initial password of the dashboard `admin` user (16-128 of [A-Za-z0-9_], letter first). */
    readonly dashboardPassword: string;
    /** License key; EMQX 5.9+ only, where a cluster of more than one node needs one. */
    readonly licenseKey?: string;
}

/** Where the cookie, dashboard password and license key come from. */
export type EmqxSecrets = EmqxSecretsFromEnvironment | EmqxInlineSecrets;

/**
 * The MQTT listeners HAProxy connects to: `listeners.tcp.default` and, with additionalPorts, one
 * more listener per port on the same address with the same settings (`listeners.tcp.haproxy2`,
 * ...), so that one HAProxy host can open more connections than one destination port allows.
 */
export interface EmqxMqttListenerSpec {
    /** `<IPv4>:<port>` to listen on, e.g. `0.0.0.0:1883`. */
    readonly bind: string;
    /**
     * More ports to listen on at the bind address, each its own listener (e.g. `[1884]`); the
     * first port comes from `bind`. Omit for one listener.
     */
    readonly additionalPorts?: readonly number[];
    /** Most concurrent MQTT connections each listener accepts. */
    readonly maxConnections: number;
    /** Acceptor processes (EMQX default 16; the tuning guide uses 64 for ~1M connections). */
    readonly acceptors: number;
    /** TCP listen backlog; raise with net.core.somaxconn for reconnect storms (default 1024). */
    readonly backlog: number;
    /** Wait for the PROXY header, with a unit (`"3s"`); at most 17s, esockd's cap. */
    readonly proxyProtocolTimeout: string;
    /**
     * HAProxy addresses or networks (IPv4, CIDR) allowed to connect; everything else is denied.
     * EMQX trusts the CN in the PROXY v2 header without checking who sent it, so this list is
     * what stops a forged identity (checked on the real socket peer, before the PROXY header).
     */
    readonly trustedProxySources: readonly string[];
}

/** Everything one node's emqx.conf is made from. Plain data, fully resolved. */
export interface EmqxSpec {
    /** EMQX release the node runs, e.g. `5.8.9`; 5.9+ switches on license handling. */
    readonly version: string;
    /** This node's name, `emqx@<DNS name>` (or `emqx@<IPv4>` with DNS A-record discovery). */
    readonly nodeName: string;
    /** Absolute data directory; holds mnesia/<node name>, so never shared between nodes. */
    readonly dataDir: string;
    /** Cluster name (`cluster.name`), same on every node. */
    readonly clusterName: string;
    /** How nodes find each other. */
    readonly discovery: EmqxDiscovery;
    /** The PROXY-protocol MQTT listener HAProxy sends devices to. */
    readonly mqttListener: EmqxMqttListenerSpec;
    /** Source of the MQTT username for a device (`mqtt.peer_cert_as_username`). */
    readonly peerCertAsUsername: EmqxPeerCertSource;
    /** Source of the MQTT client id for a device (`mqtt.peer_cert_as_clientid`). */
    readonly peerCertAsClientId: EmqxPeerCertSource;
    /** Dashboard and REST API listener, `<IPv4>:<port>` (HAProxy health checks GET /status here). */
    readonly dashboardBind: string;
    /** Require an API key (HTTP basic auth) to scrape /api/v5/prometheus/stats. */
    readonly prometheusBasicAuth: boolean;
    /**
     * Erlang port limit (`node.max_ports`); leave out to size it from maxConnections with
     * `emqxMaxPortsFor`. Each MQTT connection holds a port.
     */
    readonly maxPorts?: number;
    /** Where the cookie, dashboard password and license key come from. */
    readonly secrets: EmqxSecrets;
}

/** EMQX's own default for `node.max_ports` (emqx_conf_schema.erl `?DEFAULT_MAX_PORTS`). */
const defaultMaxPorts = 1_048_576;
/** Upper bound of `node.max_ports` (emqx_conf_schema.erl fields("node"): range(1024, 134217727)). */
const maxMaxPorts = 134_217_727;

/**
 * `node.max_ports` for a node taking `maxConnections` MQTT connections: twice the connections,
 * never below EMQX's default. The tuning guide pairs max_connections = 1024000 with
 * node.max_ports = 2097152 (emqx-docs en_US/performance/tune.md), i.e. about 2x: ports also go to
 * the HAProxy health checks, cluster RPC, the dashboard and files.
 */
export function emqxMaxPortsFor(maxConnections: number): number {
    return Math.min(maxMaxPorts, Math.max(defaultMaxPorts, 2 * maxConnections));
}

/** True for releases under the Business Source License (5.9.0 and later): clusters need a key. */
export function emqxVersionIsBsl(version: string): boolean {
    const { major, minor } = checkVersion("version", version);
    return major > 5 || minor >= 9;
}

/**
 * The shipped cookie and dashboard password, refused as secrets: rebar.config.erl@v5.8.9 (cookie
 * "emqxsecretcookie", facts-emqx-haproxy.md §4) and emqx_dashboard_schema.erl default_password/1.
 */
const shippedDefaults = ["emqxsecretcookie", "public"];
/**
 * esockd waits at most 17 s for a PROXY header whatever is configured (esockd@5.13.0
 * src/esockd_proxy_protocol.erl ?MAX_TIMEOUT, per facts-emqx-haproxy.md §2); refuse more.
 */
const maxProxyProtocolTimeoutMs = 17_000;
/** Half of node.max_ports' upper bound, so the derived max_ports always fits. */
const maxConnectionsLimit = Math.floor(maxMaxPorts / 2);

function accessRules(field: string, sources: readonly string[]): string[] {
    if (!Array.isArray(sources) || sources.length === 0) {
        failCombination(
            `${field} is empty; list the HAProxy addresses or networks allowed to connect`,
        );
    }
    const networks = sources.map((source, index) => checkIpv4Network(`${field}[${index}]`, source));
    const duplicate = networks.find((network, index) => networks.indexOf(network) !== index);
    if (duplicate !== undefined) failCombination(`${field} lists ${duplicate} twice`);
    // esockd evaluates the rules in order and the first match wins, so the deny goes last.
    return [...networks.map((network) => `allow ${network}`), "deny all"];
}

function clusterBlock(spec: EmqxSpec, ownHost: string): HoconObject {
    const clusterName = checkAtomName("clusterName", spec.clusterName);
    const strategy = checkOneOf("discovery.strategy", spec.discovery?.strategy, ["static", "dns"]);
    if (strategy === "static") {
        const { seeds } = spec.discovery as EmqxStaticDiscovery;
        if (!Array.isArray(seeds) || seeds.length === 0) {
            failCombination("discovery.seeds is empty; list every node name, this node included");
        }
        for (const [index, seed] of seeds.entries()) {
            checkNodeName(`discovery.seeds[${index}]`, seed);
        }
        const duplicate = seeds.find((seed, index) => seeds.indexOf(seed) !== index);
        if (duplicate !== undefined) failCombination(`discovery.seeds lists ${duplicate} twice`);
        if (!seeds.includes(spec.nodeName)) {
            failCombination(
                `discovery.seeds ${JSON.stringify(seeds)} does not include nodeName ${JSON.stringify(spec.nodeName)}; list every node, this one included`,
            );
        }
        return {
            name: clusterName,
            discovery_strategy: "static",
            static: { seeds: [...seeds] },
        };
    }
    const dns = spec.discovery as EmqxDnsDiscovery;
    const name = checkDnsQueryName("discovery.name", dns.name);
    const recordType = checkOneOf("discovery.recordType", dns.recordType, ["a", "srv"]);
    if (recordType === "a" && !isIpv4(ownHost)) {
        failCombination(
            `nodeName ${JSON.stringify(spec.nodeName)} must be emqx@<IPv4 address> with DNS A-record discovery (peers are named after resolved addresses); use static or srv discovery to keep DNS node names`,
        );
    }
    return { name: clusterName, discovery_strategy: "dns", dns: { name, record_type: recordType } };
}

/** The listener blocks by name: `default` on bind, then one per additional port. */
function mqttListenerBlocks(listener: EmqxMqttListenerSpec): Record<string, HoconObject> {
    const first = mqttListenerBlock(listener);
    const { address, port } = checkBind("mqttListener.bind", listener.bind);
    const extra = listener.additionalPorts ?? [];
    if (!Array.isArray(extra) || extra.length > MAX_EMQX_MQTT_LISTENERS - 1) {
        failCombination(
            `mqttListener.additionalPorts must be a list of at most ${MAX_EMQX_MQTT_LISTENERS - 1} ports`,
        );
    }
    const blocks: Record<string, HoconObject> = { [emqxListenerName(0)]: first };
    const seen = new Set([port]);
    extra.forEach((extraPort, index) => {
        const checked = checkInteger(
            `mqttListener.additionalPorts[${index}]`,
            extraPort,
            1,
            65_535,
        );
        if (seen.has(checked)) {
            failCombination(
                `mqttListener.additionalPorts lists port ${checked} twice (or the bind port)`,
            );
        }
        seen.add(checked);
        blocks[emqxListenerName(index + 1)] = { ...first, bind: `${address}:${checked}` };
    });
    return blocks;
}

function mqttListenerBlock(listener: EmqxMqttListenerSpec): HoconObject {
    const field = "mqttListener";
    checkBind(`${field}.bind`, listener.bind);
    checkDurationMs(
        `${field}.proxyProtocolTimeout`,
        listener.proxyProtocolTimeout,
        1,
        maxProxyProtocolTimeoutMs,
    );
    return {
        enable: true,
        bind: listener.bind,
        acceptors: checkInteger(`${field}.acceptors`, listener.acceptors, 1, 1024),
        max_connections: checkInteger(
            `${field}.maxConnections`,
            listener.maxConnections,
            1,
            maxConnectionsLimit,
        ),
        proxy_protocol: true,
        proxy_protocol_timeout: listener.proxyProtocolTimeout,
        access_rules: accessRules(`${field}.trustedProxySources`, listener.trustedProxySources),
        tcp_options: { backlog: checkInteger(`${field}.backlog`, listener.backlog, 1, 1_048_576) },
    };
}

function checkedSecrets(
    spec: EmqxSpec,
    bsl: boolean,
): { cookie?: string; password?: string; licenseKey?: string } {
    const source = checkOneOf("secrets.source", spec.secrets?.source, ["environment", "inline"]);
    if (source === "environment") return {};
    const inline = spec.secrets as EmqxInlineSecrets;
    const cookie = checkSecretToken("secrets.erlangCookie", inline.erlangCookie, shippedDefaults);
    const password = checkSecretToken(
        "secrets.dashboardPassword",
        inline.dashboardPassword,
        shippedDefaults,
    );
    if (inline.licenseKey === undefined) {
        const clustered = spec.discovery.strategy === "dns" || spec.discovery.seeds.length > 1;
        if (bsl && clustered) {
            failCombination(
                `version ${spec.version} is BSL-licensed and refuses to cluster without a license; set secrets.licenseKey or use a 5.8.x release`,
            );
        }
        return { cookie, password };
    }
    if (!bsl) {
        failCombination(
            `secrets.licenseKey is set but version ${spec.version} has no license.key (only EMQX 5.9.0 and later); leave it out`,
        );
    }
    return {
        cookie,
        password,
        licenseKey: checkLicenseKey("secrets.licenseKey", inline.licenseKey),
    };
}

function headerComment(spec: EmqxSpec, bsl: boolean): string {
    const lines = [
        `# emqx.conf for EMQX ${spec.version}, rendered by mqtt-edge templates/emqx.ts; do not edit.`,
        "# Devices arrive through HAProxy: TCP + PROXY protocol v2 carrying the device IP and cert CN.",
    ];
    if (spec.secrets.source === "environment") {
        lines.push(
            "# Secrets are not in this file: EMQX reads EMQX_NODE__COOKIE and",
            `# EMQX_DASHBOARD__DEFAULT_PASSWORD${bsl ? " and EMQX_LICENSE__KEY" : ""} from its environment.`,
        );
    } else {
        lines.push("# This file holds secrets: keep it readable by the emqx user only.");
    }
    return `${lines.join("\n")}\n`;
}

/**
 * Renders one node's emqx.conf. Throws a one-line Error naming the field, the value and what is
 * allowed when any part of the spec is out of range; nothing is escaped into shape.
 */
export function renderEmqxConf(spec: EmqxSpec): string {
    const bsl = emqxVersionIsBsl(spec.version);
    const { host } = checkNodeName("nodeName", spec.nodeName);
    const dataDir = checkAbsolutePath("dataDir", spec.dataDir);
    const listeners = mqttListenerBlocks(spec.mqttListener ?? ({} as EmqxMqttListenerSpec));
    // Every listener holds up to maxConnections, each connection an Erlang port.
    const maxConnections = spec.mqttListener.maxConnections * Object.keys(listeners).length;
    const maxPorts =
        spec.maxPorts === undefined
            ? emqxMaxPortsFor(maxConnections)
            : checkInteger("maxPorts", spec.maxPorts, 1024, maxMaxPorts);
    if (maxPorts < maxConnections) {
        failCombination(
            `maxPorts ${maxPorts} is below the listeners' maxConnections (${maxConnections} in all); every connection holds a port`,
        );
    }
    const mqttPorts = [
        checkBind("mqttListener.bind", spec.mqttListener.bind).port,
        ...(spec.mqttListener.additionalPorts ?? []),
    ];
    const dashboardPort = checkBind("dashboardBind", spec.dashboardBind).port;
    if (mqttPorts.includes(dashboardPort)) {
        failCombination(`dashboardBind and an MQTT listener both use port ${dashboardPort}`);
    }
    const peerCertSources: EmqxPeerCertSource[] = ["cn", "dn", "disabled"];
    // The cluster block first: the license rule below reads the (then validated) discovery.
    const cluster = clusterBlock(spec, host);
    const secrets = checkedSecrets(spec, bsl);

    const document: HoconObject = {
        node: {
            name: spec.nodeName,
            cookie: secrets.cookie,
            data_dir: dataDir,
            max_ports: maxPorts,
        },
        cluster,
        listeners: {
            tcp: listeners,
            // EMQX always adds these three default listeners; devices only come through HAProxy.
            ssl: { default: { enable: false } },
            ws: { default: { enable: false } },
            wss: { default: { enable: false } },
        },
        mqtt: {
            peer_cert_as_username: checkOneOf(
                "peerCertAsUsername",
                spec.peerCertAsUsername,
                peerCertSources,
            ),
            peer_cert_as_clientid: checkOneOf(
                "peerCertAsClientId",
                spec.peerCertAsClientId,
                peerCertSources,
            ),
        },
        dashboard: {
            listeners: { http: { bind: spec.dashboardBind } },
            default_password: secrets.password,
        },
        prometheus: {
            enable_basic_auth: checkBoolean("prometheusBasicAuth", spec.prometheusBasicAuth),
        },
        license: secrets.licenseKey === undefined ? undefined : { key: secrets.licenseKey },
    };
    return headerComment(spec, bsl) + renderHoconDocument(document);
}
