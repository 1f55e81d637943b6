/**
 * How many connections one HAProxy host can open to EMQX, and the EMQX listener ports that raise
 * that ceiling. The one place that says which ports EMQX's MQTT listeners use: the templates, the
 * security groups and the policy pack read them from here.
 *
 * Linux lets a connect() without bind() reuse a local port towards a different destination, so
 * the limit is per (source address, destination address:port): the local port range, 64,512
 * ports with `ip_local_port_range = 1024 65535` (shared/reference/corrections.md, measured). HAProxy
 * sets no `source` on the servers, so each server line is one destination. Several EMQX listener
 * ports per node (`listeners.tcp.<name>`, a map of named listeners in EMQX 5.8's schema,
 * https://docs.emqx.com/en/emqx/v5.8.6/hocon "listeners.tcp: Map($name->Struct(mqtt_tcp_listener))",
 * each with its own bind, max_connections, proxy_protocol and access_rules) with one server line
 * each multiply it, without extra addresses on the hosts (several source addresses would need
 * secondary private IPs per instance and a `source` per line).
 */

/** First local port the hosts hand out (net.ipv4.ip_local_port_range, cloud-init sysctl). */
export const LOCAL_PORT_FIRST = 1024;
/** Last local port the hosts hand out. */
export const LOCAL_PORT_LAST = 65_535;
/** Connections one source address can hold to one destination address:port. */
export const PORTS_PER_DESTINATION = LOCAL_PORT_LAST - LOCAL_PORT_FIRST + 1;

/** EMQX's first PROXY-protocol MQTT listener port (`listeners.tcp.default`). */
export const EMQX_MQTT_BASE_PORT = 1883;
/**
 * Most MQTT listener ports per EMQX node: 1883-1898. The range stays clear of EMQX's own ports
 * (4370, 5370, 8083, 8084, 8883, 18083) and is what the security groups and the policy pack
 * allow from HAProxy at most.
 */
export const MAX_EMQX_MQTT_LISTENERS = 16;
/** Last port EMQX may listen on for MQTT from HAProxy. */
export const EMQX_MQTT_LAST_PORT = EMQX_MQTT_BASE_PORT + MAX_EMQX_MQTT_LISTENERS - 1;

/** The MQTT listener ports of every EMQX node, lowest first: 1883, 1884, ... */
export function emqxMqttPorts(listenersPerNode: number): number[] {
    if (
        !Number.isInteger(listenersPerNode) ||
        listenersPerNode < 1 ||
        listenersPerNode > MAX_EMQX_MQTT_LISTENERS
    ) {
        throw new Error(
            `listenersPerNode = ${listenersPerNode}: must be an integer from 1 to ${MAX_EMQX_MQTT_LISTENERS}`,
        );
    }
    return Array.from({ length: listenersPerNode }, (_, i) => EMQX_MQTT_BASE_PORT + i);
}

/** EMQX listener name for the i-th port (0-based): `default`, then `haproxy2`, `haproxy3`, ... */
export function emqxListenerName(index: number): string {
    return index === 0 ? "default" : `haproxy${index + 1}`;
}

/** What the backend connection ceiling of one HAProxy host depends on. */
export interface BackendPortsInput {
    /** Global maxconn of the host: the connections it must be able to open to EMQX. */
    readonly maxconn: number;
    /** maxconn per server line; a line never carries more. */
    readonly serverMaxconn: number;
    /** EMQX nodes. */
    readonly emqxNodes: number;
    /** Nodes that may be down while the rest still take maxconn (0 or more). */
    readonly spareNodes: number;
    /** Source addresses per HAProxy host (1: the instance's primary address). */
    readonly sourceAddresses?: number;
}

/** Connections one server line can carry: the port range or its maxconn, whichever is lower. */
export function lineCeiling(input: Pick<BackendPortsInput, "serverMaxconn" | "sourceAddresses">) {
    return Math.min(PORTS_PER_DESTINATION * (input.sourceAddresses ?? 1), input.serverMaxconn);
}

/**
 * Listener ports per node so that the nodes left after losing `spareNodes` still offer maxconn
 * source ports. Chosen from the port range alone: a low serverMaxconn is a deliberate cap with a
 * queue behind it, not a reason for more listeners. May exceed MAX_EMQX_MQTT_LISTENERS: the
 * configuration checks refuse that.
 */
export function listenersNeeded(input: Omit<BackendPortsInput, "serverMaxconn">): number {
    const surviving = Math.max(1, input.emqxNodes - input.spareNodes);
    const perLine = PORTS_PER_DESTINATION * (input.sourceAddresses ?? 1);
    return Math.max(1, Math.ceil(input.maxconn / (surviving * perLine)));
}

/** Backend connections one HAProxy host can hold with `nodes` EMQX nodes up. */
export function backendConnectionCeiling(
    input: Omit<BackendPortsInput, "maxconn" | "spareNodes">,
    listenersPerNode: number,
    nodes = input.emqxNodes,
): number {
    return nodes * listenersPerNode * lineCeiling(input);
}
