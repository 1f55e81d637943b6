/**
 * User-data for an EMQX node, the apply script that installs emqx.conf and the secret env file
 * from SSM and restarts the node only when they changed, and the env file itself.
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
import {
    requireAbsolutePath,
    requireInteger,
    requirePlainToken,
    shellQuote,
} from "./cloud-init-shell-quote.ts";

/** Everything an EMQX node's bootstrap needs; no secret and no file content in here. */
export interface EmqxUserDataSpec {
    /** Fully qualified host name, e.g. `emqx-1.edge.internal`; peers reach the node by it. */
    hostname: string;
    /** Erlang node name, `emqx@<hostname>`; baked into the data dir, so it must stay stable. */
    nodeName: string;
    /** CPU architecture of the instance type. */
    architecture: HostArchitecture;
    /** Exact EMQX version installed from EMQX's apt repository, e.g. `5.8.9`. */
    emqxVersion: string;
    /** listeners.tcp.default.max_connections; descriptor, port and kernel limits follow it. */
    maxConnections: number;
    /** Mount point of the data volume and EMQX's node.data_dir, e.g. `/var/lib/emqx`. */
    dataDir: string;
    /** EBS volume id of the data volume (`vol-...`); the NVMe device is found by its serial. */
    dataVolumeId: string;
    /** Where emqx.conf lives (the package reads /etc/emqx/emqx.conf). */
    configPath: string;
    /** Root-only env file with the cookie and dashboard password; systemd reads it as root. */
    secretsEnvPath: string;
    /** Every file fetched from SSM: emqx.conf, the secrets env file, anything else listed. */
    files: HostFileSource[];
    /** CloudWatch agent (memory, descriptors, the loopback Prometheus exporter); omit for none. */
    cloudWatchAgent?: CloudWatchAgentSpec;
}

/** Where the EMQX apply script lives; the SSM document runs it. */
export const EMQX_APPLY_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-apply-emqx";
const MANIFEST_PATH = "/etc/mqtt-edge/emqx-files.manifest";
/** How long a node may take to answer GET /status after a restart before the roll stops. */
const NODE_READY_TIMEOUT_SECONDS = 300;
/**
 * How long a new node waits for its data volume: on replacement the old instance is stopped
 * before the volume is detached from it and attached here (VolumeAttachment
 * stopInstanceBeforeDetaching), which takes minutes.
 */
const VOLUME_ATTACH_TIMEOUT_SECONDS = 900;

/**
 * EMQX's apt repository on packagecloud (the one install-emqx-deb.sh configures, facts-emqx-haproxy.md §6),
 * Debian 12 "bookworm" suite.
 */
const EMQX_APT_REPOSITORY = "https://packagecloud.io/emqx/emqx/debian/";
const EMQX_APT_KEY_URL = "https://packagecloud.io/emqx/emqx/gpgkey";

/** Validates `spec` and returns a bash user-data script. */
export function renderEmqxUserData(spec: EmqxUserDataSpec): string {
    requirePlainToken("hostname", spec.hostname);
    if (spec.nodeName !== `emqx@${spec.hostname}`) {
        throw new Error(
            `nodeName: ${JSON.stringify(spec.nodeName)} is not allowed; it must be emqx@${spec.hostname} so the node is reachable by its DNS name`,
        );
    }
    if (!/^\d+\.\d+\.\d+$/.test(spec.emqxVersion)) {
        throw new Error(
            `emqxVersion: ${JSON.stringify(spec.emqxVersion)} is not allowed; pin an exact version such as 5.8.9`,
        );
    }
    requireInteger("maxConnections", spec.maxConnections, 1, 10_000_000);
    requireAbsolutePath("dataDir", spec.dataDir);
    requireAbsolutePath("configPath", spec.configPath);
    requireAbsolutePath("secretsEnvPath", spec.secretsEnvPath);
    if (!/^vol-[0-9a-f]{8,17}$/.test(spec.dataVolumeId)) {
        throw new Error(
            `dataVolumeId: ${JSON.stringify(spec.dataVolumeId)} is not allowed; it must be an EBS volume id like vol-0123456789abcdef0`,
        );
    }
    for (const required of [spec.configPath, spec.secretsEnvPath]) {
        if (!spec.files.some((file) => file.path === required)) {
            throw new Error(
                `files: no entry writes ${JSON.stringify(required)}; list emqx.conf and the secrets env file among the files`,
            );
        }
    }
    const limits = { maxConnections: spec.maxConnections, socketsPerConnection: 1 } as const;
    const nofile = fileDescriptorLimit(limits);
    // The NVMe serial of an EBS volume is its id without the dash; udev links it under by-id.
    const nvmeLink = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${spec.dataVolumeId.replace("-", "")}`;
    return [
        bootstrapHeader("emqx", spec.hostname),
        "apt-get update -q",
        "apt-get install -y -q --no-install-recommends awscli python3 curl gnupg ca-certificates",
        "",
        mountDataVolumeCommands(spec, nvmeLink),
        `install -d -m 0755 ${shellQuote(spec.dataDir)}`,
        `grep -q "UUID=\${data_uuid} " /etc/fstab || echo "UUID=\${data_uuid} ${spec.dataDir} ext4 defaults,noatime,nofail 0 2" >> /etc/fstab`,
        `mountpoint -q ${shellQuote(spec.dataDir)} || mount ${shellQuote(spec.dataDir)}`,
        "",
        writeFileCommand("/etc/sysctl.d/60-mqtt-edge.conf", "0644", renderSysctlConf(limits)),
        "sysctl -e -p /etc/sysctl.d/60-mqtt-edge.conf",
        "",
        "# EMQX from its own apt repository at exactly the pinned version, held there.",
        "install -d -m 0755 /etc/apt/keyrings",
        `curl -fsSL ${EMQX_APT_KEY_URL} | gpg --dearmor --yes -o /etc/apt/keyrings/emqx.gpg`,
        `echo 'deb [signed-by=/etc/apt/keyrings/emqx.gpg] ${EMQX_APT_REPOSITORY} bookworm main' > /etc/apt/sources.list.d/emqx.list`,
        "apt-get update -q",
        // policy-rc.d 101 keeps the package from starting EMQX with the shipped default cookie.
        writeFileCommand("/usr/sbin/policy-rc.d", "0755", "#!/bin/sh\nexit 101\n"),
        `apt-get install -y -q --no-install-recommends ${shellQuote(`emqx=${spec.emqxVersion}`)}`,
        "rm -f /usr/sbin/policy-rc.d",
        "apt-mark hold emqx",
        "systemctl stop emqx || true",
        `chown emqx:emqx ${shellQuote(spec.dataDir)}`,
        "",
        writeFileCommand(
            "/etc/systemd/system/emqx.service.d/60-mqtt-edge.conf",
            "0644",
            [
                "[Service]",
                `LimitNOFILE=${nofile}`,
                // Read by systemd as root before it drops to User=emqx; the file stays 0600 root.
                `EnvironmentFile=${spec.secretsEnvPath}`,
                // bin/emqx uses EMQX_NODE__NAME verbatim as the -name (emqx/emqx bin/emqx: NAME="${EMQX_NODE__NAME:-}").
                `Environment=EMQX_NODE__NAME=${spec.nodeName}`,
                `Environment=EMQX_NODE__DATA_DIR=${spec.dataDir}`,
                // node.max_ports caps the node's sockets (default 1048576, facts-emqx-haproxy.md §4).
                `Environment=EMQX_NODE__MAX_PORTS=${nofile}`,
                "",
            ].join("\n"),
        ),
        "systemctl daemon-reload",
        "",
        writeFileCommand(MANIFEST_PATH, "0644", renderHostFileManifest(spec.files)),
        writeFileCommand(FETCH_PARAMETERS_SCRIPT_PATH, "0755", renderFetchParametersScript()),
        writeFileCommand(EMQX_APPLY_SCRIPT_PATH, "0755", renderEmqxApplyScript()),
        `${EMQX_APPLY_SCRIPT_PATH} --boot`,
        "systemctl enable emqx",
        "",
        ...(spec.cloudWatchAgent
            ? [cloudWatchAgentCommands(spec.cloudWatchAgent, debianArchitecture(spec.architecture))]
            : []),
        installSsmAgentCommands(spec.architecture),
    ].join("\n");
}

/** Bash that waits for the data volume's device, formats it once and finds its UUID. */
function mountDataVolumeCommands(spec: EmqxUserDataSpec, nvmeLink: string): string {
    const notAttached = `data volume ${spec.dataVolumeId} not attached after ${VOLUME_ATTACH_TIMEOUT_SECONDS} s`;
    return `# Data volume: wait for the attachment, format it once, mount it by UUID.
data_device=''
deadline=$((SECONDS + ${VOLUME_ATTACH_TIMEOUT_SECONDS}))
while [ -z "\${data_device}" ]; do
    for candidate in ${shellQuote(nvmeLink)} /dev/xvdf /dev/sdf; do
        if [ -b "\${candidate}" ]; then data_device="\${candidate}"; break; fi
    done
    if [ -z "\${data_device}" ]; then
        if [ "\${SECONDS}" -ge "\${deadline}" ]; then
            echo ${shellQuote(notAttached)} >&2
            exit 1
        fi
        sleep 2
    fi
done
if ! blkid "\${data_device}" > /dev/null; then mkfs.ext4 -q -L emqx-data "\${data_device}"; fi
data_uuid=$(blkid -s UUID -o value "\${data_device}")`;
}

/**
 * `mqtt-edge-apply-emqx [--boot] [--expect-hash <sha256>]`: fetch emqx.conf and the secrets env
 * file, refuse an unexpected content hash, and when anything changed install it, restart EMQX
 * and wait until the node answers GET /status (unauthenticated, 200 when running; facts §4).
 * The SSM association runs it on one node at a time and stops at the first failure, so a
 * config that keeps a node down never reaches the next one.
 */
export function renderEmqxApplyScript(): string {
    return `#!/bin/bash
# Installs emqx.conf and the secrets env file from SSM and restarts this EMQX node if they changed.
# Rendered by templates/cloud-init-emqx.ts; run by cloud-init at boot and by SSM State Manager.
set -euo pipefail

manifest=${MANIFEST_PATH}
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

exec 9> /run/lock/mqtt-edge-emqx.lock
flock -w 900 9

staging=$(mktemp -d /run/mqtt-edge-emqx-staging.XXXXXX)
trap 'rm -rf "\${staging}"' EXIT

fetched_hash=$(${FETCH_PARAMETERS_SCRIPT_PATH} "\${manifest}" "\${staging}")
if [ -n "\${expected_hash}" ] && [ "\${fetched_hash}" != "\${expected_hash}" ]; then
    echo "SSM returned content with hash \${fetched_hash}, expected \${expected_hash}; not applying" >&2
    exit 1
fi

changed=false
while read -r _parameter path _mode _owner; do
    cmp -s "\${staging}\${path}" "\${path}" || changed=true
done < "\${manifest}"
if [ "\${changed}" = false ] && [ "\${boot}" = false ] && systemctl is-active --quiet emqx; then
    echo "emqx files unchanged (\${fetched_hash}); no restart"
    exit 0
fi

while read -r _parameter path mode owner; do
    install -D -m "\${mode}" -o "\${owner%%:*}" -g "\${owner##*:}" "\${staging}\${path}" "\${path}"
done < "\${manifest}"

systemctl restart emqx
deadline=$((SECONDS + ${NODE_READY_TIMEOUT_SECONDS}))
until curl -fsS -o /dev/null http://127.0.0.1:18083/status; do
    if [ "\${SECONDS}" -ge "\${deadline}" ]; then
        echo "emqx did not report running within ${NODE_READY_TIMEOUT_SECONDS} s after the restart" >&2
        exit 1
    fi
    sleep 5
done
echo "emqx applied \${fetched_hash}"
`;
}
