/**
 * How many PROXY-protocol MQTT listeners each EMQX node runs, on which ports, and how its
 * max_connections is shared among them: chosen from HAProxy's maxconn so that one HAProxy host
 * can open maxconn connections to EMQX (capacity/backend-ports.ts). The HAProxy backend gets one
 * server line per node and port, the security groups open exactly these ports.
 */
import {
    emqxListenerName,
    emqxMqttPorts,
    listenersNeeded,
    MAX_EMQX_MQTT_LISTENERS,
} from "../capacity/backend-ports.ts";

/** What the plan depends on: HAProxy's maxconn, the nodes, their spare count and capacity. */
export interface ListenerPlanInput {
    readonly haproxy: { readonly maxconn: number };
    readonly emqx: { readonly nodes: number; readonly maxConnections: number };
    readonly capacity: { readonly spareHosts: number };
}

/** The MQTT listeners of every EMQX node. */
export interface EmqxListenerPlan {
    /** Listeners (and HAProxy server lines) per node. */
    readonly listenersPerNode: number;
    /** Their ports, lowest first (1883 first). */
    readonly ports: readonly number[];
    /** `listeners.tcp.<name>` names, in port order. */
    readonly names: readonly string[];
    /** max_connections of each listener: the node's emqx.maxConnections shared evenly. */
    readonly maxConnectionsPerListener: number;
}

/** Listeners per node the configuration needs, before the cap (the checks refuse above it). */
export function emqxListenersNeeded(config: ListenerPlanInput): number {
    return listenersNeeded({
        maxconn: config.haproxy.maxconn,
        emqxNodes: config.emqx.nodes,
        spareNodes: config.capacity.spareHosts,
    });
}

export function emqxListenerPlan(config: ListenerPlanInput): EmqxListenerPlan {
    const listenersPerNode = Math.min(emqxListenersNeeded(config), MAX_EMQX_MQTT_LISTENERS);
    const ports = emqxMqttPorts(listenersPerNode);
    return {
        listenersPerNode,
        ports,
        names: ports.map((_, i) => emqxListenerName(i)),
        maxConnectionsPerListener: Math.ceil(config.emqx.maxConnections / listenersPerNode),
    };
}
