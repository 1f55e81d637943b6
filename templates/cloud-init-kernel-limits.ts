/**
 * Kernel and file-descriptor limits for a host that holds many long-lived TCP connections,
 * sized from the connection count the host is configured for.
 */
import { requireInteger } from "./cloud-init-shell-quote.ts";

/** What the limits are sized from. */
export interface KernelLimitsSpec {
    /** Most concurrent client connections the host's daemon accepts (HAProxy maxconn, EMQX max_connections). */
    maxConnections: number;
    /**
     * Sockets each client connection costs: 2 for HAProxy (client side and server side,
     * src/haproxy.c@v2.6.0:1424 "each connection needs two sockets"), 1 for EMQX.
     */
    socketsPerConnection: 1 | 2;
}

/** Linux's default fs.nr_open; we never go below it (facts-emqx-haproxy.md §9). */
const LINUX_DEFAULT_NR_OPEN = 1_048_576;
/** Room for listeners, health checks, logs, the cluster mesh and the runtime. */
const SPARE_DESCRIPTORS = 65_536;

/**
 * The per-process open-file limit (LimitNOFILE): sockets for every connection plus spare,
 * rounded up to a multiple of 1024, never below Linux's default nr_open.
 */
export function fileDescriptorLimit(spec: KernelLimitsSpec): number {
    requireInteger("maxConnections", spec.maxConnections, 1, 10_000_000);
    const needed = spec.maxConnections * spec.socketsPerConnection + SPARE_DESCRIPTORS;
    return Math.max(LINUX_DEFAULT_NR_OPEN, Math.ceil(needed / 1024) * 1024);
}

/**
 * A sysctl.d file. Values follow EMQX's tuning guide (emqx-docs en_US/performance/tune.md, in
 * facts-emqx-haproxy.md §9); fs.nr_open and fs.file-max grow with the descriptor limit because a
 * process cannot raise RLIMIT_NOFILE above fs.nr_open.
 */
export function renderSysctlConf(spec: KernelLimitsSpec): string {
    const nofile = fileDescriptorLimit(spec);
    const settings: [string, string | number][] = [
        ["fs.nr_open", nofile],
        ["fs.file-max", Math.max(2_097_152, nofile * 2)],
        ["net.core.somaxconn", 32_768],
        ["net.ipv4.tcp_max_syn_backlog", 16_384],
        ["net.core.netdev_max_backlog", 16_384],
        // HAProxy opens one source port per connection to an EMQX node (facts §9).
        ["net.ipv4.ip_local_port_range", "1024 65535"],
        ["net.core.rmem_default", 262_144],
        ["net.core.wmem_default", 262_144],
        ["net.core.rmem_max", 16_777_216],
        ["net.core.wmem_max", 16_777_216],
        ["net.ipv4.tcp_rmem", "1024 4096 16777216"],
        ["net.ipv4.tcp_wmem", "1024 4096 16777216"],
        ["net.ipv4.tcp_max_tw_buckets", 1_048_576],
        ["net.ipv4.tcp_fin_timeout", 15],
    ];
    const lines = settings.map(([key, value]) => `${key} = ${value}`);
    return `# mqtt-edge: sized for ${spec.maxConnections} connections x ${spec.socketsPerConnection} socket(s)\n${lines.join("\n")}\n`;
}
