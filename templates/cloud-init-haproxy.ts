/**
 * User-data for an HAProxy host, and the apply script that installs haproxy.cfg, certificates
 * and CRLs from SSM with a config check and a graceful reload.
 */
import {
    type CloudWatchAgentSpec,
    cloudWatchAgentCommands,
} from "./cloud-init-cloudwatch-agent.ts";
import {
    BOOTSTRAP_DONE_PATH,
    bootstrapDoneCommands,
    bootstrapHeader,
    debianArchitecture,
    type HostArchitecture,
    installPackagesCommands,
    installSsmAgentCommands,
    NETWORK_STEP_RETRY_SECONDS,
    writeFileCommand,
} from "./cloud-init-debian-host.ts";
import {
    applyScriptEntry,
    FETCH_PARAMETERS_SCRIPT_PATH,
    fetchAndCompareCommands,
    type HostFileSource,
    renderFetchParametersScript,
    renderHostFileManifest,
} from "./cloud-init-host-files.ts";
import { fileDescriptorLimit, renderSysctlConf } from "./cloud-init-kernel-limits.ts";
import type { PackagePins } from "./cloud-init-package-pins.ts";
import {
    requireAbsolutePath,
    requireInteger,
    requirePlainToken,
    shellQuote,
} from "./cloud-init-shell-quote.ts";
import { renderTicketKeyTimerUnits } from "./tls-ticket-keys.ts";

/** Everything an HAProxy host's bootstrap needs; no secret and no file content in here. */
export interface HaproxyUserDataSpec {
    /** CPU architecture of the instance type (selects the SSM agent package). */
    architecture: HostArchitecture;
    /** HAProxy global maxconn; file-descriptor and kernel limits are sized from it. */
    maxconn: number;
    /** Where haproxy.cfg lives; the same path the Debian unit starts HAProxy with. */
    configPath: string;
    /** Every file fetched from SSM: haproxy.cfg first, then certificates, CAs and CRLs. */
    files: HostFileSource[];
    /** Swap CRLs through HAProxy's runtime API instead of reloading; omit to always reload. */
    runtimeApi?: HaproxyRuntimeApiSpec;
    /**
     * Path of the session ticket key script (templates/tls-ticket-keys.ts), one of `files`: it
     * arrives from SSM like haproxy.cfg, so a new rotation period reaches running hosts in place.
     * The apply script runs it before `haproxy -c`, a systemd timer every minute. Omit when
     * haproxy.cfg names no `tls-ticket-keys`.
     */
    ticketKeyScriptPath?: string;
    /** Pin for the SSM agent package; omit to take the latest unpinned. */
    packagePins?: Pick<PackagePins, "ssmAgent">;
    /** CloudWatch agent (memory, descriptors, CRL deadline, the loopback exporter); omit for none. */
    cloudWatchAgent?: CloudWatchAgentSpec;
    /** The health endpoint the NLB checks; the host is ready only once it answers 200 locally. */
    healthCheck: HaproxyHealthCheckSpec;
    /** The Auto Scaling group's launch lifecycle hook the host completes when its bootstrap ends. */
    lifecycleHook: LaunchLifecycleHookSpec;
}

/** HAProxy's HTTP health frontend, as the NLB reaches it. */
export interface HaproxyHealthCheckSpec {
    /** Port of the health frontend. */
    port: number;
    /** Path that answers 200 while HAProxy has a usable EMQX server, e.g. `/healthz`. */
    path: string;
    /** The bind wants a PROXY header (NLB in proxy-v2 mode); curl then sends one. */
    sendProxy: boolean;
}

/**
 * The launch lifecycle hook of the group the host belongs to. The instance stays in
 * Pending:Wait, outside the target group, until it completes the hook: CONTINUE once its
 * bootstrap checks passed, ABANDON when they failed, so the group replaces it and an instance
 * refresh stops (https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html).
 */
export interface LaunchLifecycleHookSpec {
    /** Name of the Auto Scaling group. */
    groupName: string;
    /** Name of the launch hook. */
    hookName: string;
}

/**
 * How long a new host waits for its health endpoint: it answers 200 only once an EMQX node
 * accepts connections, which on a new stack means after the nodes' own bootstrap.
 */
export const HAPROXY_HEALTH_WAIT_SECONDS = 900;

/**
 * A change that touches only CRL files needs no reload: `set ssl crl-file` + `commit ssl
 * crl-file` on the admin socket swap them in place (hap-2.6 doc/management.txt), so devices keep
 * their sessions. A reload would move new connections to a new worker and end the old worker's
 * MQTT sessions at `hard-stop-after`. Anything else, or a runtime API answer other than success,
 * falls back to the graceful reload.
 */
export interface HaproxyRuntimeApiSpec {
    /** The admin-level stats socket haproxy.cfg opens. */
    statsSocketPath: string;
    /** Paths of the files haproxy.cfg names as `crl-file`. */
    crlPaths: string[];
}

/** How long an apply run waits for another one (boot or State Manager) to finish. */
export const HAPROXY_APPLY_LOCK_WAIT_SECONDS = 600;

/** Where the HAProxy apply script lives; the SSM document runs it. */
export const HAPROXY_APPLY_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-apply-haproxy";
const MANIFEST_PATH = "/etc/mqtt-edge/haproxy-files.manifest";

/**
 * Validates `spec` and returns the bash user-data every HAProxy host of the group shares. Order
 * matters: the SSM agent first (a host that fails later stays reachable), then packages, limits,
 * files, HAProxy, the readiness checks, and only then CONTINUE on the lifecycle hook, which puts
 * the host into the target group.
 */
export function renderHaproxyUserData(spec: HaproxyUserDataSpec): string {
    requireInteger("maxconn", spec.maxconn, 1, 10_000_000);
    requireAbsolutePath("configPath", spec.configPath);
    if (!spec.files.some((file) => file.path === spec.configPath)) {
        throw new Error(
            `files: no entry writes configPath ${JSON.stringify(spec.configPath)}; list haproxy.cfg among the files`,
        );
    }
    requireInteger("healthCheck.port", spec.healthCheck.port, 1, 65_535);
    if (!/^\/[A-Za-z0-9/_.-]*$/.test(spec.healthCheck.path)) {
        throw new Error(
            `healthCheck.path: ${JSON.stringify(spec.healthCheck.path)} is not allowed; use an absolute URL path such as /healthz`,
        );
    }
    const { groupName, hookName } = spec.lifecycleHook;
    requirePlainToken("lifecycleHook.groupName", groupName);
    requirePlainToken("lifecycleHook.hookName", hookName);
    const ticketKeyScript = spec.ticketKeyScriptPath;
    if (ticketKeyScript && !spec.files.some((file) => file.path === ticketKeyScript)) {
        throw new Error(
            `ticketKeyScriptPath: ${JSON.stringify(ticketKeyScript)} is not among the files; deliver the script with the other HAProxy files`,
        );
    }
    const limits = { maxConnections: spec.maxconn, socketsPerConnection: 2 } as const;
    const healthUrl = `http://127.0.0.1:${spec.healthCheck.port}${spec.healthCheck.path}`;
    const proxyFlag = spec.healthCheck.sendProxy ? " --haproxy-protocol" : "";
    return [
        bootstrapHeader({
            role: "haproxy",
            // Without the instance id (metadata failed) or the AWS CLI (its package failed) the
            // hook times out to ABANDON instead.
            onFailure: [
                `if [ -n "\${instance_id:-}" ] && command -v aws > /dev/null; then`,
                "    complete_launch ABANDON || true",
                "fi",
            ].join("\n"),
        }),
        `# complete_launch CONTINUE|ABANDON: tell the Auto Scaling group whether this host may serve.
complete_launch() {
    retry ${NETWORK_STEP_RETRY_SECONDS} "complete the launch lifecycle action with $1" \\
        aws autoscaling complete-lifecycle-action --region "\${region}" \\
        --auto-scaling-group-name ${shellQuote(groupName)} --lifecycle-hook-name ${shellQuote(hookName)} \\
        --instance-id "\${instance_id}" --lifecycle-action-result "$1"
}
`,
        installSsmAgentCommands(spec.architecture, spec.packagePins?.ssmAgent),
        'bootstrap_step="packages"',
        installPackagesCommands([
            "haproxy",
            "awscli",
            "python3",
            "curl",
            "ca-certificates",
            "socat",
        ]),
        'bootstrap_step="kernel and descriptor limits"',
        writeFileCommand("/etc/sysctl.d/60-mqtt-edge.conf", "0644", renderSysctlConf(limits)),
        // -e: a key this kernel lacks is skipped instead of failing the boot.
        "sysctl -e -p /etc/sysctl.d/60-mqtt-edge.conf",
        // HAProxy raises its own RLIMIT_NOFILE to maxsock, but only up to the hard limit systemd grants.
        writeFileCommand(
            "/etc/systemd/system/haproxy.service.d/60-mqtt-edge-limits.conf",
            "0644",
            `[Service]\nLimitNOFILE=${fileDescriptorLimit(limits)}\n`,
        ),
        "systemctl daemon-reload",
        "",
        'bootstrap_step="files from SSM"',
        writeFileCommand(MANIFEST_PATH, "0644", renderHostFileManifest(spec.files)),
        writeFileCommand(
            FETCH_PARAMETERS_SCRIPT_PATH,
            "0755",
            renderFetchParametersScript(spec.files.some((file) => file.object !== undefined)),
        ),
        ...(ticketKeyScript ? ticketKeyTimerCommands(ticketKeyScript) : []),
        writeFileCommand(
            HAPROXY_APPLY_SCRIPT_PATH,
            "0755",
            renderHaproxyApplyScript({
                configPath: spec.configPath,
                ...(spec.runtimeApi ? { runtimeApi: spec.runtimeApi } : {}),
                ...(ticketKeyScript ? { ticketKeyScriptPath: ticketKeyScript } : {}),
            }),
        ),
        `${HAPROXY_APPLY_SCRIPT_PATH} --boot`,
        "systemctl enable haproxy",
        ...(ticketKeyScript ? ["systemctl enable --now mqtt-edge-tls-ticket-keys.timer"] : []),
        "",
        ...(spec.cloudWatchAgent
            ? [cloudWatchAgentCommands(spec.cloudWatchAgent, debianArchitecture(spec.architecture))]
            : []),
        'bootstrap_step="readiness"',
        `haproxy -c -q -f ${shellQuote(spec.configPath)}`,
        "systemctl is-active --quiet haproxy",
        `retry ${HAPROXY_HEALTH_WAIT_SECONDS} "health endpoint ${healthUrl} answers 200" \\
    curl -fsS --max-time 5${proxyFlag} -o /dev/null ${shellQuote(healthUrl)}`,
        bootstrapDoneCommands("haproxy"),
        'bootstrap_step="lifecycle hook"',
        "complete_launch CONTINUE",
        "",
    ].join("\n");
}

/** The timer that runs the ticket key script every minute (enabled once HAProxy runs). */
function ticketKeyTimerCommands(scriptPath: string): string[] {
    const units = renderTicketKeyTimerUnits(scriptPath);
    return [
        writeFileCommand(
            "/etc/systemd/system/mqtt-edge-tls-ticket-keys.service",
            "0644",
            units.service,
        ),
        writeFileCommand(
            "/etc/systemd/system/mqtt-edge-tls-ticket-keys.timer",
            "0644",
            units.timer,
        ),
        "systemctl daemon-reload",
    ];
}

/** What the apply script needs to know. */
export interface HaproxyApplyScriptSpec {
    /** Path of haproxy.cfg, checked with `haproxy -c` before any reload. */
    configPath: string;
    /** Manifest of the files; default the one user-data writes. Tests point it into a temp dir. */
    manifestPath?: string;
    /** Fetch script; default the one user-data writes. */
    fetchScriptPath?: string;
    /** Lock file serialising runs (boot and State Manager); default under /run/lock. */
    lockPath?: string;
    /** Directory for the staging and backup copies; default /run. */
    workDir?: string;
    /** Swap CRL-only changes in through the runtime API; omit to always reload. */
    runtimeApi?: HaproxyRuntimeApiSpec;
    /** Marker of a finished bootstrap; default the one user-data writes. */
    bootstrapDonePath?: string;
    /** Ticket key script, run with `--file-only` before `haproxy -c` so the keys file exists. */
    ticketKeyScriptPath?: string;
}

/**
 * `mqtt-edge-apply-haproxy [--boot] [--expect-hash <sha256>]`: fetch every file, refuse a
 * content hash other than the expected one, install, `haproxy -c`, then reload gracefully
 * (SIGUSR2 to the master via the unit's ExecReload; old workers finish their sessions). A failed
 * check puts the previous files back and exits non-zero, so the association reports it.
 */
export function renderHaproxyApplyScript(spec: HaproxyApplyScriptSpec): string {
    requireAbsolutePath("configPath", spec.configPath);
    const manifestPath = requireAbsolutePath("manifestPath", spec.manifestPath ?? MANIFEST_PATH);
    const fetchScript = requireAbsolutePath(
        "fetchScriptPath",
        spec.fetchScriptPath ?? FETCH_PARAMETERS_SCRIPT_PATH,
    );
    const lockPath = requireAbsolutePath(
        "lockPath",
        spec.lockPath ?? "/run/lock/mqtt-edge-haproxy.lock",
    );
    const workDir = requireAbsolutePath("workDir", spec.workDir ?? "/run");
    const bootstrapDone = requireAbsolutePath(
        "bootstrapDonePath",
        spec.bootstrapDonePath ?? BOOTSTRAP_DONE_PATH,
    );
    const statsSocket = spec.runtimeApi
        ? requireAbsolutePath("runtimeApi.statsSocketPath", spec.runtimeApi.statsSocketPath)
        : "";
    const crlPaths = (spec.runtimeApi?.crlPaths ?? []).map((path, i) =>
        requireAbsolutePath(`runtimeApi.crlPaths[${i}]`, path),
    );
    const ticketKeyScript = spec.ticketKeyScriptPath
        ? requireAbsolutePath("ticketKeyScriptPath", spec.ticketKeyScriptPath)
        : undefined;
    return `#!/bin/bash
# Installs haproxy.cfg and certificates from SSM and the CRLs from S3, and reloads HAProxy without
# dropping sessions.
# Rendered by templates/cloud-init-haproxy.ts; run by cloud-init at boot and by SSM State Manager.
set -euo pipefail

manifest=${manifestPath}
config=${spec.configPath}
${applyScriptEntry({ what: "host", bootstrapDone, lockPath, lockWaitSeconds: HAPROXY_APPLY_LOCK_WAIT_SECONDS })}
staging=$(mktemp -d ${workDir}/mqtt-edge-haproxy-staging.XXXXXX)
backup=$(mktemp -d ${workDir}/mqtt-edge-haproxy-backup.XXXXXX)
trap 'rm -rf "\${staging}" "\${backup}"' EXIT

${fetchAndCompareCommands(fetchScript, "haproxy", "haproxy files unchanged; nothing to reload")}
while read -r _parameter path mode owner; do
    if [ -e "\${path}" ]; then
        install -D -m "\${mode}" -o "\${owner%%:*}" -g "\${owner##*:}" "\${path}" "\${backup}\${path}"
    fi
    install -D -m "\${mode}" -o "\${owner%%:*}" -g "\${owner##*:}" "\${staging}\${path}" "\${path}"
done < "\${manifest}"
${
    ticketKeyScript
        ? `
# haproxy.cfg names the ticket keys file, which is derived from the seed just installed.
${ticketKeyScript} --file-only
`
        : ""
}
if ! haproxy -c -q -f "\${config}"; then
    echo "haproxy -c rejected the new files; restoring the previous ones" >&2
    while read -r _parameter path mode owner; do
        if [ -e "\${backup}\${path}" ]; then
            install -m "\${mode}" -o "\${owner%%:*}" -g "\${owner##*:}" "\${backup}\${path}" "\${path}"
        else
            rm -f "\${path}"
        fi
    done < "\${manifest}"
    exit 1
fi

stats_socket=${statsSocket ? shellQuote(statsSocket) : '""'}
crl_paths=(${crlPaths.map(shellQuote).join(" ")})

is_crl_path() {
    local crl
    for crl in "\${crl_paths[@]}"; do
        [ "\${crl}" = "$1" ] && return 0
    done
    return 1
}

# crl_payload <path>: the runtime API command that stages a new CRL file, its PEM inline.
crl_payload() {
    printf 'set ssl crl-file %s <<\\n' "$1"
    cat "$1"
    printf '\\n'
}

# Only CRLs changed, and HAProxy's runtime API takes each new one: no reload, no session lost.
swap_crls_at_runtime() {
    local path answer
    [ -n "\${stats_socket}" ] || return 1
    for path in "\${changed_paths[@]}"; do
        is_crl_path "\${path}" || return 1
    done
    for path in "\${changed_paths[@]}"; do
        answer=$(crl_payload "\${path}" | socat -t 10 - "UNIX-CONNECT:\${stats_socket}") || return 1
        case "\${answer}" in
            *"transaction created"*) ;;
            *) echo "set ssl crl-file \${path}: \${answer}" >&2; return 1 ;;
        esac
        answer=$(printf 'commit ssl crl-file %s\\n' "\${path}" | socat -t 10 - "UNIX-CONNECT:\${stats_socket}") \\
            || return 1
        case "\${answer}" in
            *Success*) ;;
            *) echo "commit ssl crl-file \${path}: \${answer}" >&2; return 1 ;;
        esac
    done
}

if systemctl is-active --quiet haproxy; then
    if [ "\${boot}" = false ] && swap_crls_at_runtime; then
        echo "haproxy CRLs swapped through the runtime API, no reload (\${fetched_hash})"
        exit 0
    fi
    systemctl reload haproxy
else
    systemctl restart haproxy
fi
echo "haproxy applied \${fetched_hash}"
`;
}
