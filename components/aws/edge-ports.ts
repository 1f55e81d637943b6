/**
 * Which tier may reach which EMQX port, as data: the security groups open exactly these, and the
 * policy pack (policy/rules/emqx-ports-from-their-peers.ts) refuses anything else. Pure and
 * free of imports, so the policy pack can load it without the AWS SDK. A new EMQX listener port
 * is one more entry here.
 */

/** Tag every edge security group carries, naming its tier. */
export const TIER_TAG = "mqtt-edge:tier";

/** The tiers of the edge, as the tag values say. */
export type EdgeTier = "nlb" | "haproxy" | "emqx";

/** EMQX's plain MQTT listener (with proxy_protocol), reached only by HAProxy. */
export const EMQX_MQTT_PORT = 1883;
/** EMQX dashboard and REST API: no group reaches it; operators use SSM port forwarding. */
export const EMQX_DASHBOARD_PORT = 18083;
/** Erlang distribution of node name `emqx@...` (4370 + 0, ekka_dist, facts §4). */
export const EMQX_DISTRIBUTION_PORT = 4370;
/** gen_rpc with port_discovery = stateless (5370 + 0, facts §4). */
export const EMQX_RPC_PORT = 5370;

/** One EMQX port and the tiers whose groups may open connections to it. */
export interface EmqxPortPeers {
    /** TCP port on the EMQX nodes. */
    readonly port: number;
    /** What listens there, for messages. */
    readonly listener: string;
    /** Tiers allowed as the source; any other group, a prefix list or a CIDR is refused. */
    readonly fromTiers: readonly EdgeTier[];
}

/** Every EMQX port and who may reach it. */
export const EMQX_PORT_PEERS: readonly EmqxPortPeers[] = [
    { port: EMQX_MQTT_PORT, listener: "MQTT with PROXY v2", fromTiers: ["haproxy"] },
    { port: EMQX_DISTRIBUTION_PORT, listener: "Erlang distribution", fromTiers: ["emqx"] },
    { port: EMQX_RPC_PORT, listener: "gen_rpc", fromTiers: ["emqx"] },
    { port: EMQX_DASHBOARD_PORT, listener: "dashboard", fromTiers: [] },
];
