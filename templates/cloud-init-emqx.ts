/**
 * User-data for an EMQX node, the host settings it shares with its peers (limits, sysctl, the
 * pinned version, the cluster's node names), and the apply script that installs those and
 * emqx.conf and the secret env file from SSM, upgrades EMQX when the pin moved, and restarts the
 * node only when something changed, waiting until it runs and sees every peer.
 *
 * User-data holds only what a node keeps for life (name, data volume, repository): anything that
 * changes is a file in SSM and reaches running nodes through State Manager, one node at a time,
 * never by replacing the instance.
 */
import {
    type CloudWatchAgentSpec,
    cloudWatchAgentCommands,
} from "./cloud-init-cloudwatch-agent.ts";
import {
    APT_GET,
    BOOTSTRAP_DONE_PATH,
    bootstrapDoneCommands,
    bootstrapHeader,
    debianArchitecture,
    type HostArchitecture,
    installPackagesCommands,
    installSsmAgentCommands,
    NETWORK_STEP_RETRY_SECONDS,
    retryFunction,
    writeFileCommand,
} from "./cloud-init-debian-host.ts";
import {
    applyScriptEntry,
    FETCH_PARAMETERS_SCRIPT_PATH,
    fetchAndCompareCommands,
    type HostFileSource,
    PARAMETER_READ_RETRY_SECONDS,
    renderFetchParametersScript,
    renderHostFileManifest,
} from "./cloud-init-host-files.ts";
import { fileDescriptorLimit, renderSysctlConf } from "./cloud-init-kernel-limits.ts";
import { type PackagePins, pinnedAptKeyCommands } from "./cloud-init-package-pins.ts";
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
    /** Mount point of the data volume and EMQX's node.data_dir, e.g. `/var/lib/emqx`. */
    dataDir: string;
    /** EBS volume id of the data volume (`vol-...`); the NVMe device is found by its serial. */
    dataVolumeId: string;
    /** Where emqx.conf lives (the package reads /etc/emqx/emqx.conf). */
    configPath: string;
    /** Root-only env file with the cookie and dashboard password; systemd reads it as root. */
    secretsEnvPath: string;
    /** Every file fetched from SSM: emqx.conf, the secrets env file, the host settings. */
    files: HostFileSource[];
    /** Pins for EMQX's repository key and the SSM agent package; omit to trust them unpinned. */
    packagePins?: PackagePins;
    /** CloudWatch agent (memory, descriptors, the loopback Prometheus exporter); omit for none. */
    cloudWatchAgent?: CloudWatchAgentSpec;
}

/** Where the EMQX apply script lives; the SSM document runs it. */
export const EMQX_APPLY_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-apply-emqx";
const MANIFEST_PATH = "/etc/mqtt-edge/emqx-files.manifest";
/** The EMQX version the node must run: one line, e.g. `5.8.9`. */
export const EMQX_VERSION_FILE_PATH = "/etc/mqtt-edge/emqx-version";
/** Every node name of the cluster, one a line: a restarted node waits until it sees them all. */
export const EMQX_CLUSTER_NODES_FILE_PATH = "/etc/mqtt-edge/emqx-cluster-nodes";
/** The shared systemd drop-in: descriptor limits and the secrets env file. */
export const EMQX_LIMITS_DROP_IN_PATH =
    "/etc/systemd/system/emqx.service.d/61-mqtt-edge-limits.conf";
/** The shared kernel settings. */
export const EMQX_SYSCTL_PATH = "/etc/sysctl.d/60-mqtt-edge.conf";
/** The node's own systemd drop-in, written once by user-data: its name and its data volume. */
const NODE_DROP_IN_PATH = "/etc/systemd/system/emqx.service.d/60-mqtt-edge-node.conf";

/** How long a node may take to answer GET /status after a restart before the roll stops. */
export const EMQX_NODE_READY_SECONDS = 300;
/** How long a restarted node may take to see every other node running before the roll stops. */
export const EMQX_CLUSTER_READY_SECONDS = 600;
/** How long an apply run waits for another one (boot or State Manager) to finish. */
export const EMQX_APPLY_LOCK_WAIT_SECONDS = 600;
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

function requireEmqxVersion(key: string, version: string): string {
    if (!/^\d+\.\d+\.\d+$/.test(version)) {
        throw new Error(
            `${key}: ${JSON.stringify(version)} is not allowed; pin an exact version such as 5.8.9`,
        );
    }
    return version;
}

/** What the shared host settings are sized and pinned from. */
export interface EmqxHostSettingsSpec {
    /** Exact EMQX version every node runs. */
    emqxVersion: string;
    /** listeners.tcp.default.max_connections; descriptor, port and kernel limits follow it. */
    maxConnections: number;
    /** Root-only env file with the cookie and dashboard password. */
    secretsEnvPath: string;
    /** Every node name of the cluster, `emqx@<hostname>`. */
    nodeNames: string[];
}

/** The host settings every node shares, as file contents keyed by their path on the node. */
export function renderEmqxHostSettings(spec: EmqxHostSettingsSpec): Record<string, string> {
    requireEmqxVersion("emqxVersion", spec.emqxVersion);
    requireInteger("maxConnections", spec.maxConnections, 1, 10_000_000);
    requireAbsolutePath("secretsEnvPath", spec.secretsEnvPath);
    spec.nodeNames.forEach((name, index) => {
        requirePlainToken(`nodeNames[${index}]`, name);
    });
    const limits = { maxConnections: spec.maxConnections, socketsPerConnection: 1 } as const;
    const nofile = fileDescriptorLimit(limits);
    return {
        [EMQX_VERSION_FILE_PATH]: `${spec.emqxVersion}\n`,
        [EMQX_CLUSTER_NODES_FILE_PATH]: spec.nodeNames.map((name) => `${name}\n`).join(""),
        [EMQX_SYSCTL_PATH]: renderSysctlConf(limits),
        [EMQX_LIMITS_DROP_IN_PATH]: [
            "[Service]",
            `LimitNOFILE=${nofile}`,
            // Read by systemd as root before it drops to User=emqx; the file stays 0600 root.
            `EnvironmentFile=${spec.secretsEnvPath}`,
            // node.max_ports caps the node's sockets (default 1048576, facts-emqx-haproxy.md §4).
            `Environment=EMQX_NODE__MAX_PORTS=${nofile}`,
            "",
        ].join("\n"),
    };
}

/** Validates `spec` and returns a bash user-data script. */
export function renderEmqxUserData(spec: EmqxUserDataSpec): string {
    requirePlainToken("hostname", spec.hostname);
    if (spec.nodeName !== `emqx@${spec.hostname}`) {
        throw new Error(
            `nodeName: ${JSON.stringify(spec.nodeName)} is not allowed; it must be emqx@${spec.hostname} so the node is reachable by its DNS name`,
        );
    }
    requireAbsolutePath("dataDir", spec.dataDir);
    requireAbsolutePath("configPath", spec.configPath);
    requireAbsolutePath("secretsEnvPath", spec.secretsEnvPath);
    if (!/^vol-[0-9a-f]{8,17}$/.test(spec.dataVolumeId)) {
        throw new Error(
            `dataVolumeId: ${JSON.stringify(spec.dataVolumeId)} is not allowed; it must be an EBS volume id like vol-0123456789abcdef0`,
        );
    }
    for (const required of [
        spec.configPath,
        spec.secretsEnvPath,
        EMQX_VERSION_FILE_PATH,
        EMQX_CLUSTER_NODES_FILE_PATH,
    ]) {
        if (!spec.files.some((file) => file.path === required)) {
            throw new Error(
                `files: no entry writes ${JSON.stringify(required)}; list emqx.conf, the secrets env file and the host settings among the files`,
            );
        }
    }
    // The version pin comes from SSM like every other setting: a new pin then changes no
    // instance input, and reaches running nodes through the association.
    const versionParameter = spec.files.find((file) => file.path === EMQX_VERSION_FILE_PATH)
        ?.parameterName as string;
    // The NVMe serial of an EBS volume is its id without the dash; udev links it under by-id.
    const nvmeLink = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${spec.dataVolumeId.replace("-", "")}`;
    return [
        bootstrapHeader({ role: "emqx", hostname: spec.hostname }),
        installSsmAgentCommands(spec.architecture, spec.packagePins?.ssmAgent),
        'bootstrap_step="packages"',
        installPackagesCommands(["awscli", "python3", "curl", "gnupg", "ca-certificates"]),
        'bootstrap_step="data volume"',
        mountDataVolumeCommands(spec, nvmeLink),
        `install -d -m 0755 ${shellQuote(spec.dataDir)}`,
        // nofail: a volume that is not there keeps the host bootable and reachable through SSM;
        // the unit below then refuses to start EMQX on the root disk.
        `grep -q "UUID=\${data_uuid} " /etc/fstab || echo "UUID=\${data_uuid} ${spec.dataDir} ext4 defaults,noatime,nofail 0 2" >> /etc/fstab`,
        "systemctl daemon-reload",
        `mountpoint -q ${shellQuote(spec.dataDir)} || mount ${shellQuote(spec.dataDir)}`,
        "",
        'bootstrap_step="EMQX package"',
        "# EMQX from its own apt repository at exactly the pinned version, held there.",
        "install -d -m 0755 /etc/apt/keyrings",
        spec.packagePins?.emqxRepositoryKeyFingerprint
            ? pinnedAptKeyCommands(
                  EMQX_APT_KEY_URL,
                  spec.packagePins.emqxRepositoryKeyFingerprint,
                  "/etc/apt/keyrings/emqx.gpg",
              )
            : [
                  `retry ${NETWORK_STEP_RETRY_SECONDS} "download EMQX's repository key" curl -fsSL --max-time 60 -o /tmp/emqx.gpgkey ${EMQX_APT_KEY_URL}`,
                  "gpg --dearmor --yes -o /etc/apt/keyrings/emqx.gpg /tmp/emqx.gpgkey",
                  "rm -f /tmp/emqx.gpgkey",
              ].join("\n"),
        `echo 'deb [signed-by=/etc/apt/keyrings/emqx.gpg] ${EMQX_APT_REPOSITORY} bookworm main' > /etc/apt/sources.list.d/emqx.list`,
        // policy-rc.d 101 keeps the package from starting EMQX with the shipped default cookie.
        writeFileCommand("/usr/sbin/policy-rc.d", "0755", "#!/bin/sh\nexit 101\n"),
        `emqx_version=$(retry ${PARAMETER_READ_RETRY_SECONDS} "read the EMQX version pin from SSM" \\
    aws ssm get-parameter --region "\${region}" --name ${shellQuote(versionParameter)} --with-decryption \\
    --query Parameter.Value --output text)`,
        `retry ${NETWORK_STEP_RETRY_SECONDS} "apt-get update" ${APT_GET} update`,
        `retry ${NETWORK_STEP_RETRY_SECONDS} "install emqx=\${emqx_version}" ${APT_GET} install -y --no-install-recommends \\
    "emqx=\${emqx_version}"`,
        "rm -f /usr/sbin/policy-rc.d",
        "apt-mark hold emqx",
        "systemctl stop emqx || true",
        `chown emqx:emqx ${shellQuote(spec.dataDir)}`,
        "",
        writeFileCommand(
            NODE_DROP_IN_PATH,
            "0644",
            [
                "[Unit]",
                // Requires= and After= on the data volume's mount unit: after a stop/start EMQX
                // never runs on an empty directory of the root disk (systemd.unit(5)).
                `RequiresMountsFor=${spec.dataDir}`,
                "",
                "[Service]",
                // bin/emqx uses EMQX_NODE__NAME verbatim as the -name (emqx/emqx bin/emqx: NAME="${EMQX_NODE__NAME:-}").
                `Environment=EMQX_NODE__NAME=${spec.nodeName}`,
                `Environment=EMQX_NODE__DATA_DIR=${spec.dataDir}`,
                "",
            ].join("\n"),
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
        writeFileCommand(
            EMQX_APPLY_SCRIPT_PATH,
            "0755",
            renderEmqxApplyScript({ secretsEnvPath: spec.secretsEnvPath, nodeName: spec.nodeName }),
        ),
        `${EMQX_APPLY_SCRIPT_PATH} --boot`,
        "systemctl enable emqx",
        "",
        ...(spec.cloudWatchAgent
            ? [cloudWatchAgentCommands(spec.cloudWatchAgent, debianArchitecture(spec.architecture))]
            : []),
        bootstrapDoneCommands("emqx"),
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

/** What the EMQX apply script needs to know. */
export interface EmqxApplyScriptSpec {
    /** Root-only env file with the cookie: `emqx ctl` needs it to reach the local node. */
    secretsEnvPath: string;
    /** This node's name, for `emqx ctl`. */
    nodeName: string;
    /** Manifest of the files; default the one user-data writes. Tests point it into a temp dir. */
    manifestPath?: string;
    /** Fetch script; default the one user-data writes. */
    fetchScriptPath?: string;
    /** Lock file serialising runs; default under /run/lock. */
    lockPath?: string;
    /** Directory for the staging copies; default /run. */
    workDir?: string;
    /** Marker of a finished bootstrap; default the one user-data writes. */
    bootstrapDonePath?: string;
    /** Version and cluster-nodes files; default the ones the manifest lists. */
    versionFilePath?: string;
    clusterNodesFilePath?: string;
    /** Kernel settings file; default {@link EMQX_SYSCTL_PATH}. */
    sysctlPath?: string;
}

/**
 * `mqtt-edge-apply-emqx [--boot] [--expect-hash <sha256>]`: fetch emqx.conf, the secrets env
 * file and the host settings, refuse an unexpected content hash, and when anything changed
 * install it, move EMQX to the pinned version if it differs, restart EMQX, wait until the node
 * answers GET /status (unauthenticated, 200 when running; facts §4) and, outside the boot, until
 * it sees every node of the cluster running. The SSM association runs it on one node at a time
 * and stops at the first failure, so a change that keeps a node out never reaches the next one.
 */
export function renderEmqxApplyScript(spec: EmqxApplyScriptSpec): string {
    requireAbsolutePath("secretsEnvPath", spec.secretsEnvPath);
    requirePlainToken("nodeName", spec.nodeName);
    const manifest = requireAbsolutePath("manifestPath", spec.manifestPath ?? MANIFEST_PATH);
    const fetchScript = requireAbsolutePath(
        "fetchScriptPath",
        spec.fetchScriptPath ?? FETCH_PARAMETERS_SCRIPT_PATH,
    );
    const lockPath = requireAbsolutePath(
        "lockPath",
        spec.lockPath ?? "/run/lock/mqtt-edge-emqx.lock",
    );
    const workDir = requireAbsolutePath("workDir", spec.workDir ?? "/run");
    const bootstrapDone = requireAbsolutePath(
        "bootstrapDonePath",
        spec.bootstrapDonePath ?? BOOTSTRAP_DONE_PATH,
    );
    const versionFile = requireAbsolutePath(
        "versionFilePath",
        spec.versionFilePath ?? EMQX_VERSION_FILE_PATH,
    );
    const clusterNodesFile = requireAbsolutePath(
        "clusterNodesFilePath",
        spec.clusterNodesFilePath ?? EMQX_CLUSTER_NODES_FILE_PATH,
    );
    const sysctlPath = requireAbsolutePath("sysctlPath", spec.sysctlPath ?? EMQX_SYSCTL_PATH);
    return `#!/bin/bash
# Installs emqx.conf, the secrets env file and the host settings from SSM, moves EMQX to the pinned
# version, and restarts this node if anything changed, waiting until it rejoined the cluster.
# Rendered by templates/cloud-init-emqx.ts; run by cloud-init at boot and by SSM State Manager.
set -euo pipefail

manifest=${manifest}
${applyScriptEntry({ what: "node", bootstrapDone, lockPath, lockWaitSeconds: EMQX_APPLY_LOCK_WAIT_SECONDS })}
${retryFunction()}
staging=$(mktemp -d ${workDir}/mqtt-edge-emqx-staging.XXXXXX)
trap 'rm -rf "\${staging}"' EXIT

${fetchAndCompareCommands(fetchScript, "emqx", "emqx files unchanged; no restart")}
while read -r _parameter path mode owner; do
    install -D -m "\${mode}" -o "\${owner%%:*}" -g "\${owner##*:}" "\${staging}\${path}" "\${path}"
done < "\${manifest}"
sysctl -e -p ${sysctlPath} > /dev/null
systemctl daemon-reload

wanted_version=$(cat ${versionFile})
installed_version=$(dpkg-query -W -f='\${Version}' emqx)
if [ "\${installed_version}" != "\${wanted_version}" ]; then
    echo "emqx \${installed_version} -> \${wanted_version}"
    # policy-rc.d 101: the package must not restart EMQX by itself; the restart below does.
    printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    retry ${NETWORK_STEP_RETRY_SECONDS} "apt-get update" ${APT_GET} update
    retry ${NETWORK_STEP_RETRY_SECONDS} "install emqx=\${wanted_version}" ${APT_GET} install -y --no-install-recommends \\
        --allow-downgrades --allow-change-held-packages "emqx=\${wanted_version}"
    rm -f /usr/sbin/policy-rc.d
    apt-mark hold emqx > /dev/null
fi

systemctl restart emqx
retry ${EMQX_NODE_READY_SECONDS} "emqx reports running after the restart" \\
    curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:18083/status

# missing_peers: the cluster's nodes this node does not see running, one a line. \`emqx ctl\`
# reaches the local node with its name and cookie, which systemd gives the service from the
# drop-ins and the secrets env file. \`cluster status --json\` prints {"running_nodes": [...],
# "stopped_nodes": [...]} (emqx/emqx apps/emqx_management/src/emqx_mgmt_cli.erl, cluster/1 and
# cluster_info/0, read in the source of the EMQX 5.8 release this stack pins by default).
missing_peers() {
    local status
    # shellcheck source=/dev/null
    status=$(set -a; . ${shellQuote(spec.secretsEnvPath)}; EMQX_NODE__NAME=${shellQuote(spec.nodeName)} emqx ctl cluster status --json) || return 2
    printf '%s' "\${status}" | python3 -c 'import json, sys
running = set(json.load(sys.stdin).get("running_nodes", []))
wanted = [line.strip() for line in open(sys.argv[1]) if line.strip()]
print("\\n".join(node for node in wanted if node not in running))' ${clusterNodesFile}
}

# cluster_whole: true once this node sees every node of the cluster running.
cluster_whole() {
    local missing
    missing=$(missing_peers) || return 1
    [ -z "\${missing}" ] && return 0
    echo "not running yet: \${missing//$'\\n'/ }" >&2
    return 1
}

# At boot the peers may be booting too; a rolling change waits until the cluster is whole again.
if [ "\${boot}" = false ]; then
    retry ${EMQX_CLUSTER_READY_SECONDS} "emqx sees every node of the cluster running" cluster_whole
fi
echo "emqx applied \${fetched_hash}"
`;
}
