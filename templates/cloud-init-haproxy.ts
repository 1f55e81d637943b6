/**
 * User-data for an HAProxy host, and the apply script that installs haproxy.cfg, certificates
 * and CRLs from SSM with a config check and a graceful reload.
 */
import {
    type CloudWatchAgentSpec,
    cloudWatchAgentCommands,
} from "./cloud-init-cloudwatch-agent.ts";
import {
    bootstrapHeader,
    debianArchitecture,
    type HostArchitecture,
    installSsmAgentCommands,
    writeFileCommand,
} from "./cloud-init-debian-host.ts";
import {
    FETCH_PARAMETERS_SCRIPT_PATH,
    type HostFileSource,
    renderFetchParametersScript,
    renderHostFileManifest,
} from "./cloud-init-host-files.ts";
import { fileDescriptorLimit, renderSysctlConf } from "./cloud-init-kernel-limits.ts";
import { requireAbsolutePath, requireInteger, shellQuote } from "./cloud-init-shell-quote.ts";

/** Everything an HAProxy host's bootstrap needs; no secret and no file content in here. */
export interface HaproxyUserDataSpec {
    /** Fully qualified host name, e.g. `haproxy-1.edge.internal`. */
    hostname: string;
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
    /** CloudWatch agent (memory, descriptors, CRL deadline, the loopback exporter); omit for none. */
    cloudWatchAgent?: CloudWatchAgentSpec;
}

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

/** Where the HAProxy apply script lives; the SSM document runs it. */
export const HAPROXY_APPLY_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-apply-haproxy";
const MANIFEST_PATH = "/etc/mqtt-edge/haproxy-files.manifest";

/** Validates `spec` and returns a bash user-data script. */
export function renderHaproxyUserData(spec: HaproxyUserDataSpec): string {
    requireInteger("maxconn", spec.maxconn, 1, 10_000_000);
    requireAbsolutePath("configPath", spec.configPath);
    if (!spec.files.some((file) => file.path === spec.configPath)) {
        throw new Error(
            `files: no entry writes configPath ${JSON.stringify(spec.configPath)}; list haproxy.cfg among the files`,
        );
    }
    const limits = { maxConnections: spec.maxconn, socketsPerConnection: 2 } as const;
    return [
        bootstrapHeader("haproxy", spec.hostname),
        "apt-get update -q",
        "apt-get install -y -q --no-install-recommends haproxy awscli python3 curl ca-certificates socat",
        "",
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
        writeFileCommand(MANIFEST_PATH, "0644", renderHostFileManifest(spec.files)),
        writeFileCommand(FETCH_PARAMETERS_SCRIPT_PATH, "0755", renderFetchParametersScript()),
        writeFileCommand(
            HAPROXY_APPLY_SCRIPT_PATH,
            "0755",
            renderHaproxyApplyScript({
                configPath: spec.configPath,
                ...(spec.runtimeApi ? { runtimeApi: spec.runtimeApi } : {}),
            }),
        ),
        `${HAPROXY_APPLY_SCRIPT_PATH} --boot`,
        "systemctl enable haproxy",
        "",
        ...(spec.cloudWatchAgent
            ? [cloudWatchAgentCommands(spec.cloudWatchAgent, debianArchitecture(spec.architecture))]
            : []),
        installSsmAgentCommands(spec.architecture),
    ].join("\n");
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
    const statsSocket = spec.runtimeApi
        ? requireAbsolutePath("runtimeApi.statsSocketPath", spec.runtimeApi.statsSocketPath)
        : "";
    const crlPaths = (spec.runtimeApi?.crlPaths ?? []).map((path, i) =>
        requireAbsolutePath(`runtimeApi.crlPaths[${i}]`, path),
    );
    return `#!/bin/bash
# Installs haproxy.cfg, certificates and CRLs from SSM and reloads HAProxy without dropping sessions.
# Rendered by templates/cloud-init-haproxy.ts; run by cloud-init at boot and by SSM State Manager.
set -euo pipefail

manifest=${manifestPath}
config=${spec.configPath}
expected_hash=""
boot=false
while [ "$#" -gt 0 ]; do
    case "$1" in
        --boot) boot=true ;;
        --expect-hash) expected_hash="$2"; shift ;;
        *) echo "unknown argument: $1 (allowed: --boot, --expect-hash <sha256>)" >&2; exit 2 ;;
    esac
    shift
done

exec 9> ${lockPath}
flock -w 600 9

staging=$(mktemp -d ${workDir}/mqtt-edge-haproxy-staging.XXXXXX)
backup=$(mktemp -d ${workDir}/mqtt-edge-haproxy-backup.XXXXXX)
trap 'rm -rf "\${staging}" "\${backup}"' EXIT

fetched_hash=$(${fetchScript} "\${manifest}" "\${staging}")
if [ -n "\${expected_hash}" ] && [ "\${fetched_hash}" != "\${expected_hash}" ]; then
    echo "SSM returned content with hash \${fetched_hash}, expected \${expected_hash}; not applying" >&2
    exit 1
fi

changed_paths=()
while read -r _parameter path _mode _owner; do
    cmp -s "\${staging}\${path}" "\${path}" || changed_paths+=("\${path}")
done < "\${manifest}"
if [ "\${#changed_paths[@]}" -eq 0 ] && [ "\${boot}" = false ] && systemctl is-active --quiet haproxy; then
    echo "haproxy files unchanged (\${fetched_hash}); nothing to reload"
    exit 0
fi

while read -r _parameter path mode owner; do
    if [ -e "\${path}" ]; then
        install -D -m "\${mode}" -o "\${owner%%:*}" -g "\${owner##*:}" "\${path}" "\${backup}\${path}"
    fi
    install -D -m "\${mode}" -o "\${owner%%:*}" -g "\${owner##*:}" "\${staging}\${path}" "\${path}"
done < "\${manifest}"

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

# Only CRLs changed, and HAProxy's runtime API takes each new one: no reload, no session lost.
swap_crls_at_runtime() {
    local path answer
    [ -n "\${stats_socket}" ] || return 1
    for path in "\${changed_paths[@]}"; do
        is_crl_path "\${path}" || return 1
    done
    for path in "\${changed_paths[@]}"; do
        answer=$({ printf 'set ssl crl-file %s <<\n' "\${path}"; cat "\${path}"; printf '\n'; } \
            | socat -t 10 - "UNIX-CONNECT:\${stats_socket}") || return 1
        case "\${answer}" in
            *"transaction created"*) ;;
            *) echo "set ssl crl-file \${path}: \${answer}" >&2; return 1 ;;
        esac
        answer=$(printf 'commit ssl crl-file %s\n' "\${path}" \
            | socat -t 10 - "UNIX-CONNECT:\${stats_socket}") || return 1
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
