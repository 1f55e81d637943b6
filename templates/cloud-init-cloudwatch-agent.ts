/**
 * The CloudWatch agent on a host: what it collects and how user-data installs it. Pure text.
 *
 * - memory in use (the agent's `mem` plugin);
 * - the host's loopback Prometheus exporter (HAProxy's /metrics, EMQX's /api/v5/prometheus/stats),
 *   scraped by the agent's Prometheus support and turned into metrics through embedded metric
 *   format; nothing but 127.0.0.1 is ever a target;
 * - two figures a small script measures every minute and hands to the agent's StatsD listener on
 *   loopback: file descriptors in use against the service's own limit, and, on HAProxy hosts, the
 *   hours until the earliest nextUpdate of the CRLs HAProxy has loaded (a CRL past it makes
 *   HAProxy refuse every device).
 *
 * Every metric lands in one namespace per stack with a single dimension `Group` (haproxy or
 * emqx): hosts come and go, the alarm's series stays, and its Maximum/Minimum is the worst host.
 * Agent configuration: CloudWatch user guide, CloudWatch-Agent-Configuration-File-Details
 * (`omit_hostname`, per-plugin `append_dimensions`, `aggregation_dimensions`),
 * CloudWatch-Agent-PrometheusEC2 (`logs.metrics_collected.prometheus`, `emf_processor`) and
 * CloudWatch-Agent-custom-metrics-statsd (`name:value|g|#key:value`).
 */
import { writeFileCommand } from "./cloud-init-debian-host.ts";
import { requireAbsolutePath, requireInteger, shellQuote } from "./cloud-init-shell-quote.ts";

/** Which host group the agent runs on; the `Group` dimension of every metric. */
export type MetricsGroup = "haproxy" | "emqx";

/** What one host's agent collects and where it sends it. */
export interface CloudWatchAgentSpec {
    /** CloudWatch namespace of every metric, one per stack, e.g. `mqtt-edge/dev`. */
    namespace: string;
    /** Host group: HAProxy or EMQX. */
    group: MetricsGroup;
    /** Log group the Prometheus metrics travel through (embedded metric format). */
    logGroupName: string;
    /** Port of the loopback Prometheus exporter. */
    exporterPort: number;
    /** Path of the exporter, e.g. `/metrics`. */
    exporterPath: string;
    /** Loopback UDP port of the agent's StatsD listener; default 8125. */
    statsdPort?: number;
    /** Process name whose file descriptors count against its limit (`haproxy`, `beam.smp`). */
    processName: string;
    /** HAProxy only: its admin socket and the CRL files it loaded, for the CRL deadline. */
    crl?: { statsSocketPath: string; crlPaths: string[] };
}

/** The metric names alarms and the dashboard refer to; the agent config below produces them. */
export const hostMetricNames = {
    memoryUsedPercent: "mem_used_percent",
    fdUsedPercent: "fd_used_percent",
    crlHoursToNextUpdate: "crl_hours_to_next_update",
    haproxyActiveServers: "haproxy_backend_active_servers",
    haproxyCurrentSessions: "haproxy_frontend_current_sessions",
    emqxNodesRunning: "emqx_cluster_nodes_running",
    emqxConnections: "emqx_connections_count",
} as const;

/** The one dimension every host metric carries. */
export const METRICS_GROUP_DIMENSION = "Group";

const AGENT_DIR = "/opt/aws/amazon-cloudwatch-agent";
const AGENT_CONFIG_PATH = "/etc/mqtt-edge/cloudwatch-agent.json";
const PROMETHEUS_CONFIG_PATH = "/etc/mqtt-edge/cloudwatch-prometheus.yaml";
/** Where the per-minute measuring script lives. */
export const HOST_METRICS_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-host-metrics";

function checkSpec(spec: CloudWatchAgentSpec): Required<Omit<CloudWatchAgentSpec, "crl">> & {
    crl?: CloudWatchAgentSpec["crl"];
} {
    if (!/^[A-Za-z0-9._/-]{1,255}$/.test(spec.namespace)) {
        throw new Error(
            `namespace: ${JSON.stringify(spec.namespace)} is not allowed; use 1-255 of letters, digits, '.', '_', '-', '/'`,
        );
    }
    if (spec.group !== "haproxy" && spec.group !== "emqx") {
        throw new Error(
            `group: ${JSON.stringify(spec.group)} is not allowed; use "haproxy" or "emqx"`,
        );
    }
    if (!/^[A-Za-z0-9._/-]{1,512}$/.test(spec.logGroupName)) {
        throw new Error(
            `logGroupName: ${JSON.stringify(spec.logGroupName)} is not allowed; use 1-512 of letters, digits, '.', '_', '-', '/'`,
        );
    }
    requireInteger("exporterPort", spec.exporterPort, 1, 65_535);
    if (!/^\/[A-Za-z0-9/_.-]*$/.test(spec.exporterPath)) {
        throw new Error(
            `exporterPath: ${JSON.stringify(spec.exporterPath)} is not allowed; use an absolute URL path such as /metrics`,
        );
    }
    const statsdPort = requireInteger("statsdPort", spec.statsdPort ?? 8125, 1, 65_535);
    if (!/^[A-Za-z0-9._-]{1,15}$/.test(spec.processName)) {
        throw new Error(
            `processName: ${JSON.stringify(spec.processName)} is not allowed; use a process name of 1-15 letters, digits, '.', '_', '-'`,
        );
    }
    if (spec.crl) {
        requireAbsolutePath("crl.statsSocketPath", spec.crl.statsSocketPath);
        if (spec.crl.crlPaths.length === 0) {
            throw new Error(
                "crl.crlPaths: [] is not allowed; list the crl-file paths haproxy.cfg names",
            );
        }
        spec.crl.crlPaths.forEach((path, i) => {
            requireAbsolutePath(`crl.crlPaths[${i}]`, path);
        });
    }
    return { ...spec, statsdPort };
}

/** The Prometheus metrics each group sends on, and the label filter that picks its series. */
function metricDeclarations(group: MetricsGroup) {
    const dimensions = [[METRICS_GROUP_DIMENSION]];
    if (group === "haproxy") {
        return [
            {
                // Only the EMQX backend and the device frontend (templates/haproxy.ts names them).
                source_labels: ["job", "proxy"],
                label_matcher: "^haproxy;(emqx|mqtts)$",
                dimensions,
                metric_selectors: [
                    `^${hostMetricNames.haproxyActiveServers}$`,
                    `^${hostMetricNames.haproxyCurrentSessions}$`,
                ],
            },
        ];
    }
    return [
        {
            source_labels: ["job"],
            label_matcher: "^emqx$",
            dimensions,
            metric_selectors: [
                `^${hostMetricNames.emqxNodesRunning}$`,
                `^${hostMetricNames.emqxConnections}$`,
            ],
        },
    ];
}

/** The agent's JSON configuration. */
export function renderCloudWatchAgentConfig(spec: CloudWatchAgentSpec): string {
    const s = checkSpec(spec);
    const groupDimension = { [METRICS_GROUP_DIMENSION]: s.group };
    const config = {
        agent: {
            metrics_collection_interval: 60,
            // The host name would split each series per host; the Group rollup is what alarms use.
            omit_hostname: true,
        },
        metrics: {
            namespace: s.namespace,
            // One series per group whatever other dimensions a plugin adds.
            aggregation_dimensions: [[METRICS_GROUP_DIMENSION]],
            metrics_collected: {
                mem: { measurement: ["used_percent"], append_dimensions: groupDimension },
                statsd: {
                    service_address: `127.0.0.1:${s.statsdPort}`,
                    metrics_collection_interval: 60,
                    metrics_aggregation_interval: 60,
                },
            },
        },
        logs: {
            metrics_collected: {
                prometheus: {
                    log_group_name: s.logGroupName,
                    prometheus_config_path: PROMETHEUS_CONFIG_PATH,
                    emf_processor: {
                        metric_declaration_dedup: true,
                        metric_namespace: s.namespace,
                        metric_declaration: metricDeclarations(s.group),
                    },
                },
            },
        },
    };
    return `${JSON.stringify(config, null, 4)}\n`;
}

/** The Prometheus scrape configuration: the host's own exporter on loopback, nothing else. */
export function renderPrometheusScrapeConfig(spec: CloudWatchAgentSpec): string {
    const s = checkSpec(spec);
    return `# The only target is this host's own exporter on loopback (rendered by templates/cloud-init-cloudwatch-agent.ts).
global:
  scrape_interval: 1m
  scrape_timeout: 10s
scrape_configs:
  - job_name: ${s.group}
    metrics_path: ${s.exporterPath}
    sample_limit: 10000
    static_configs:
      - targets: ["127.0.0.1:${s.exporterPort}"]
        labels:
          ${METRICS_GROUP_DIMENSION}: ${s.group}
`;
}

/**
 * `mqtt-edge-host-metrics`, run every minute by a systemd timer: the worst file-descriptor share
 * among the service's processes (each against its own `Max open files`), and on HAProxy hosts
 * the hours until the earliest `Next Update` among the CRLs HAProxy reports as loaded through
 * `show ssl crl-file` (hap-2.6 doc/management.txt). A figure it cannot measure is not sent, so
 * the alarm sees missing data, which it treats as breaching.
 */
export function renderHostMetricsScript(spec: CloudWatchAgentSpec): string {
    const s = checkSpec(spec);
    const crlPart = s.crl
        ? `
stats_socket=${shellQuote(s.crl.statsSocketPath)}
crl_paths=(${s.crl.crlPaths.map(shellQuote).join(" ")})

# Hours until the earliest nextUpdate among the CRLs HAProxy holds in memory (not the files on
# disk: those may be newer than what was loaded).
crl_hours() {
    local path line when soonest="" now
    now=$(date +%s)
    for path in "\${crl_paths[@]}"; do
        while IFS= read -r line; do
            when=$(date -d "\${line#*Next Update: }" +%s) || return 1
            if [ -z "\${soonest}" ] || [ "\${when}" -lt "\${soonest}" ]; then
                soonest=\${when}
            fi
        done < <(printf 'show ssl crl-file %s\\n' "\${path}" \\
            | socat -t 5 - "UNIX-CONNECT:\${stats_socket}" | grep 'Next Update: ')
    done
    [ -n "\${soonest}" ] || return 1
    echo $(( (soonest - now) / 3600 ))
}

if hours=$(crl_hours); then
    send ${hostMetricNames.crlHoursToNextUpdate} "\${hours}"
else
    echo "no CRL deadline read from \${stats_socket}; not sending ${hostMetricNames.crlHoursToNextUpdate}" >&2
fi
`
        : "";
    return `#!/bin/bash
# Measures what the CloudWatch agent cannot and hands it to the agent's StatsD listener.
# Rendered by templates/cloud-init-cloudwatch-agent.ts; run every minute by mqtt-edge-host-metrics.timer.
set -uo pipefail

send() {
    printf '%s:%s|g|#${METRICS_GROUP_DIMENSION}:${s.group}' "$1" "$2" > /dev/udp/127.0.0.1/${s.statsdPort}
}

# Worst share, in percent, of file descriptors in use against each process's own soft limit.
fd_used_percent() {
    local pid used limit share worst=-1
    for pid in $(pgrep -x ${shellQuote(s.processName)}); do
        limit=$(awk '/^Max open files/ { print $4 }' "/proc/\${pid}/limits" 2>/dev/null) || continue
        if ! [[ "\${limit}" =~ ^[0-9]+$ ]] || [ "\${limit}" -eq 0 ]; then
            continue
        fi
        used=$(find "/proc/\${pid}/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        share=$(( used * 100 / limit ))
        if [ "\${share}" -gt "\${worst}" ]; then
            worst=\${share}
        fi
    done
    [ "\${worst}" -ge 0 ] || return 1
    echo "\${worst}"
}

if share=$(fd_used_percent); then
    send ${hostMetricNames.fdUsedPercent} "\${share}"
else
    echo "no ${s.processName} process to measure; not sending ${hostMetricNames.fdUsedPercent}" >&2
fi
${crlPart}`;
}

/**
 * Bash for user-data: install the agent package, write its two files, the measuring script and
 * its timer, and start both. Package location: CloudWatch user guide,
 * download-CloudWatch-Agent-on-EC2-Instance-commandline-first ("debian/<arch>/latest").
 */
export function cloudWatchAgentCommands(
    spec: CloudWatchAgentSpec,
    debianArch: "amd64" | "arm64",
): string {
    checkSpec(spec);
    const timerUnit = `[Unit]
Description=mqtt-edge host metrics for CloudWatch every minute

[Timer]
OnBootSec=60
OnUnitActiveSec=60
AccuracySec=5

[Install]
WantedBy=timers.target
`;
    const serviceUnit = `[Unit]
Description=mqtt-edge host metrics for CloudWatch

[Service]
Type=oneshot
ExecStart=${HOST_METRICS_SCRIPT_PATH}
`;
    return [
        "# CloudWatch agent: memory, the loopback Prometheus exporter, and the host metrics script.",
        `curl -fsSL -o /tmp/amazon-cloudwatch-agent.deb \\
    https://amazoncloudwatch-agent.s3.amazonaws.com/debian/${debianArch}/latest/amazon-cloudwatch-agent.deb`,
        "dpkg -i -E /tmp/amazon-cloudwatch-agent.deb",
        "rm -f /tmp/amazon-cloudwatch-agent.deb",
        writeFileCommand(AGENT_CONFIG_PATH, "0644", renderCloudWatchAgentConfig(spec)),
        writeFileCommand(PROMETHEUS_CONFIG_PATH, "0644", renderPrometheusScrapeConfig(spec)),
        `${AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${AGENT_CONFIG_PATH}`,
        writeFileCommand(HOST_METRICS_SCRIPT_PATH, "0755", renderHostMetricsScript(spec)),
        writeFileCommand("/etc/systemd/system/mqtt-edge-host-metrics.service", "0644", serviceUnit),
        writeFileCommand("/etc/systemd/system/mqtt-edge-host-metrics.timer", "0644", timerUnit),
        "systemctl daemon-reload",
        "systemctl enable --now mqtt-edge-host-metrics.timer",
        "",
    ].join("\n");
}
