/**
 * Names of the EMQX nodes, known before anything exists: the lead renders emqx.conf (static
 * seeds) and haproxy.cfg (servers by name) from them, and the cluster creates matching records.
 */

/** DNS name of node `index` (1-based): `emqx-<index>.<zone>`. */
export function emqxNodeHostname(zoneName: string, index: number): string {
    if (!Number.isInteger(index) || index < 1) {
        throw new Error(`index: ${index} is not allowed; node numbers start at 1`);
    }
    return `emqx-${index}.${zoneName}`;
}

/**
 * Erlang node names of a cluster of `count` nodes: `emqx@emqx-<i>.<zone>`. The short name stays
 * `emqx` (no digits), so the distribution port is 4370 and gen_rpc 5370 on every node (facts §4).
 */
export function emqxNodeNames(zoneName: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => `emqx@${emqxNodeHostname(zoneName, i + 1)}`);
}
