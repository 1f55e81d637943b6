/**
 * Pieces every Debian 12 host bootstrap shares: the script header with its failure report, the
 * one retry-with-backoff function every network step goes through, instance metadata, writing
 * files, the SSM agent. Pure text builders; the per-role renderers (cloud-init-haproxy.ts,
 * cloud-init-emqx.ts) compose them.
 */

import {
    pinnedDownloadCommands,
    requireFingerprint,
    type SsmAgentPin,
} from "./cloud-init-package-pins.ts";
import {
    requireAbsolutePath,
    requireInteger,
    requirePlainToken,
    shellQuote,
} from "./cloud-init-shell-quote.ts";
import {
    armoredKeyBody,
    SSM_AGENT_SIGNING_KEY,
    SSM_AGENT_SIGNING_KEY_FINGERPRINT,
} from "./ssm-agent-signing-key.ts";

/** CPU architectures we build hosts for (the AMI filter and the Debian package arch follow it). */
export type HostArchitecture = "x86_64" | "arm64";

/** Debian's name for the architecture, as used in package file names. */
export function debianArchitecture(architecture: HostArchitecture): "amd64" | "arm64" {
    return architecture === "x86_64" ? "amd64" : "arm64";
}

/** Where every bootstrap writes what it did, and the one line saying why it failed. */
export const BOOTSTRAP_LOG_PATH = "/var/log/mqtt-edge-bootstrap.log";

/**
 * Written when a bootstrap finished. The apply scripts leave a host without it alone: its own
 * bootstrap is still running and will fetch the newest files itself.
 */
export const BOOTSTRAP_DONE_PATH = "/var/lib/mqtt-edge/bootstrap-done";

/**
 * The serial console: `aws ec2 get-console-output` shows it even when no agent runs on the host
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/troubleshoot-unreachable-instance.html).
 * Debian's cloud images boot with `console=ttyS0` last, so /dev/console is that serial port.
 */
const SERIAL_CONSOLE = "/dev/console";

/**
 * How long one network step may keep retrying, in seconds of waiting between tries. Long enough
 * for IAM propagation (seconds to a minute), a mirror or package repository hiccup, or apt-daily
 * holding the dpkg lock; short enough that a host that cannot boot says so within minutes.
 */
export const NETWORK_STEP_RETRY_SECONDS = 300;

/** How long apt and dpkg wait for a lock held by another apt (apt-daily on first boot). */
export const DPKG_LOCK_TIMEOUT_SECONDS = 300;

/** apt-get with the lock wait; every apt call in a rendered script starts with this. */
export const APT_GET = `apt-get -q -o DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_SECONDS}`;

const HEREDOC_DELIMITER = "MQTT_EDGE_EOF";

/** Bash that writes `content` verbatim to `path` with `mode` (a quoted heredoc: no expansion). */
export function writeFileCommand(path: string, mode: string, content: string): string {
    requireAbsolutePath("path", path);
    if (!/^0[0-7]{3}$/.test(mode)) {
        throw new Error(
            `mode: ${JSON.stringify(mode)} is not allowed; use an octal mode like 0644`,
        );
    }
    if (content.split("\n").includes(HEREDOC_DELIMITER)) {
        throw new Error(
            `content of ${path}: contains the line ${HEREDOC_DELIMITER}, which would end the heredoc early; remove it`,
        );
    }
    const body = content.endsWith("\n") ? content : `${content}\n`;
    return [
        `install -d -m 0755 ${shellQuote(path.slice(0, path.lastIndexOf("/")) || "/")}`,
        `cat > ${shellQuote(path)} <<'${HEREDOC_DELIMITER}'`,
        `${body}${HEREDOC_DELIMITER}`,
        `chmod ${mode} ${shellQuote(path)}`,
    ].join("\n");
}

/**
 * `retry <seconds> <what> <command...>`: runs the command until it succeeds, waiting 2, 4, 8 ...
 * up to 60 s between tries, and gives up (status 1, one line naming `what`) once the next wait
 * would take the total waited past `<seconds>`. The bound counts waits, not wall time, so a
 * command that hangs is bounded by its own timeout (`curl --max-time`, the AWS CLI's). Every
 * network step of a bootstrap or host script goes through it; new steps should too.
 */
export function retryFunction(): string {
    return `# retry <seconds> <what> <command...>: run the command until it succeeds, waiting 2, 4, 8 ...
# up to 60 s between tries; give up once the waits would add up to more than <seconds>.
retry() {
    local budget="$1" what="$2" delay=2 waited=0 attempt=1
    shift 2
    until "$@"; do
        if [ $((waited + delay)) -gt "\${budget}" ]; then
            echo "\${what}: failed \${attempt} time(s) over \${waited} s; giving up" >&2
            return 1
        fi
        echo "\${what}: attempt \${attempt} failed; retrying in \${delay} s" >&2
        sleep "\${delay}"
        waited=$((waited + delay))
        attempt=$((attempt + 1))
        delay=$((delay * 2 > 60 ? 60 : delay * 2))
    done
}
`;
}

/**
 * `imds <path>`: one instance metadata value over IMDSv2 (the launch settings require tokens).
 * Link-local, but the service can be slow right after launch: callers wrap it in `retry`.
 */
export function instanceMetadataFunction(): string {
    return `# imds <path>: one instance metadata value, IMDSv2.
imds() {
    local token
    token=$(curl -fsS --max-time 5 -X PUT http://169.254.169.254/latest/api/token \\
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') &&
        curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: \${token}" \\
            "http://169.254.169.254/latest/meta-data/$1"
}
`;
}

/** What the header needs to know about the host. */
export interface BootstrapHeaderSpec {
    /** Role name for the comments and the failure line, e.g. `haproxy`. */
    role: string;
    /**
     * The host name. Omit for hosts of an Auto Scaling group, which share one user-data: they
     * call themselves `<role>-<instance id>`.
     */
    hostname?: string;
    /**
     * Bash run when the bootstrap fails, after the failure line is written (e.g. tell the Auto
     * Scaling group to abandon the instance). It must not fail the script itself.
     */
    onFailure?: string;
}

/**
 * Script start: strict mode, a log of the bootstrap (which never prints a secret), the failure
 * report, `retry` and `imds`, the instance's region and id, and the hostname. A failing step ends
 * the script with one line naming the step in the log and on the serial console.
 */
export function bootstrapHeader(spec: BootstrapHeaderSpec): string {
    requirePlainToken("role", spec.role);
    if (spec.hostname !== undefined) requirePlainToken("hostname", spec.hostname);
    const hostname =
        spec.hostname === undefined ? `"${spec.role}-\${instance_id}"` : shellQuote(spec.hostname);
    // Hosts of a group are told apart by their instance id, which they also need for the group.
    const instanceId =
        spec.hostname === undefined
            ? `instance_id=$(retry ${NETWORK_STEP_RETRY_SECONDS} "read the instance id from instance metadata" imds instance-id)\n`
            : "";
    const onFailure = spec.onFailure ? `\n${indent(spec.onFailure.trimEnd())}` : "";
    return `#!/bin/bash
# mqtt-edge ${spec.role} host bootstrap, rendered by templates/cloud-init-*.ts.
# It holds no secrets. Certificates, keys, CRLs, cookies and passwords are fetched from SSM
# Parameter Store by the instance role at boot.
set -euo pipefail
exec > >(tee -a ${BOOTSTRAP_LOG_PATH}) 2>&1
export DEBIAN_FRONTEND=noninteractive

# The step running now; a failure names it in one line, in the log and on the serial console.
bootstrap_step="start"
on_exit() {
    local status=$?
    [ "\${status}" -eq 0 ] && return 0
    local line="mqtt-edge ${spec.role} bootstrap FAILED at step '\${bootstrap_step}' (exit \${status}); details in ${BOOTSTRAP_LOG_PATH}"
    echo "\${line}"
    echo "\${line}" > ${SERIAL_CONSOLE} 2> /dev/null || true${onFailure}
    exit "\${status}"
}
trap on_exit EXIT

${retryFunction()}
${instanceMetadataFunction()}
bootstrap_step="instance metadata"
region=$(retry ${NETWORK_STEP_RETRY_SECONDS} "read the region from instance metadata" imds placement/region)
${instanceId}hostnamectl set-hostname ${hostname}
`;
}

/**
 * Installs and starts the SSM agent, which Debian's AMIs do not ship. Run first, before any
 * other network step: a host whose bootstrap fails later stays reachable through Session
 * Manager and Run Command. Package location:
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/agent-install-deb.html
 * apt installs the local package so that it waits for the dpkg lock like every other apt call.
 *
 * The package is installed only once its detached signature (`.deb.sig`, next to it in S3)
 * verifies with gpgv against AWS's signing key carried in the script (ssm-agent-signing-key.ts;
 * gpgv comes with apt, so it is on every Debian AMI). With a pin, the exact version is fetched
 * and its SHA-256 must match as well. `signingKey` is for tests, which sign with a key of their own.
 */
export function installSsmAgentCommands(
    architecture: HostArchitecture,
    pin?: SsmAgentPin,
    signingKey: { armored: string; fingerprint: string } = {
        armored: SSM_AGENT_SIGNING_KEY,
        fingerprint: SSM_AGENT_SIGNING_KEY_FINGERPRINT,
    },
): string {
    const arch = debianArchitecture(architecture);
    const downloaded = "/tmp/amazon-ssm-agent.deb";
    const signature = `${downloaded}.sig`;
    const keyring = "/tmp/ssm-agent-signing-key.gpg";
    const fingerprint = requireFingerprint("signingKey.fingerprint", signingKey.fingerprint);
    if (pin && !/^\d+(\.\d+){3}$/.test(pin.version)) {
        throw new Error(
            `ssmAgent.version: ${JSON.stringify(pin.version)} is not allowed; give an exact agent version such as 3.3.1802.0`,
        );
    }
    const url = `https://s3.\${region}.amazonaws.com/amazon-ssm-\${region}/${pin ? pin.version : "latest"}/debian_${arch}/amazon-ssm-agent.deb`;
    const sha256Check = pin
        ? `${pinnedDownloadCommands(
              url,
              architecture === "x86_64" ? pin.sha256Amd64 : pin.sha256Arm64,
              downloaded,
          )
              .split("\n")
              .slice(1)
              .join("\n")}\n`
        : "";
    const refusal = `${downloaded}: its signature does not verify with the SSM agent signing key ${fingerprint}; not installing it`;
    // The download is retried; a package that fails its checks is never retried into place: the
    // check ends the bootstrap.
    return `bootstrap_step="SSM agent"
retry ${NETWORK_STEP_RETRY_SECONDS} "download the SSM agent" curl -fsSL --max-time 120 -o ${downloaded} \\
    "${url}"
retry ${NETWORK_STEP_RETRY_SECONDS} "download the SSM agent's signature" curl -fsSL --max-time 60 -o ${signature} \\
    "${url}.sig"
# AWS's SSM agent signing key, fingerprint ${fingerprint}
base64 -d > ${keyring} <<'SIGNING_KEY'
${armoredKeyBody(signingKey.armored).join("\n")}
SIGNING_KEY
if ! gpgv --keyring ${keyring} ${signature} ${downloaded}; then
    rm -f ${downloaded} ${signature}
    echo ${shellQuote(refusal)} >&2
    exit 1
fi
${sha256Check}retry ${NETWORK_STEP_RETRY_SECONDS} "install the SSM agent" ${APT_GET} install -y ${downloaded}
rm -f ${downloaded} ${signature} ${keyring}
systemctl enable --now amazon-ssm-agent
`;
}

/** `apt-get update` and `apt-get install` of `packages`, each retried. */
export function installPackagesCommands(packages: readonly string[]): string {
    for (const [index, name] of packages.entries()) {
        if (!/^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+:~-]+)?$/.test(name)) {
            throw new Error(
                `packages[${index}]: ${JSON.stringify(name)} is not allowed; use a Debian package name, optionally =version`,
            );
        }
    }
    return `retry ${NETWORK_STEP_RETRY_SECONDS} "apt-get update" ${APT_GET} update
retry ${NETWORK_STEP_RETRY_SECONDS} "install ${packages.join(" ")}" ${APT_GET} install -y --no-install-recommends \\
    ${packages.join(" ")}
`;
}

/** Marks the bootstrap as finished (see {@link BOOTSTRAP_DONE_PATH}). */
export function bootstrapDoneCommands(role: string): string {
    requirePlainToken("role", role);
    return `install -d -m 0755 ${BOOTSTRAP_DONE_PATH.slice(0, BOOTSTRAP_DONE_PATH.lastIndexOf("/"))}
date -u +%FT%TZ > ${BOOTSTRAP_DONE_PATH}
bootstrap_step="done"
echo "mqtt-edge ${role} bootstrap finished"
`;
}

/** Checks a seconds bound the scripts are rendered with. */
export function requireSeconds(key: string, value: number): number {
    return requireInteger(key, value, 1, 86_400);
}

function indent(text: string): string {
    return text
        .split("\n")
        .map((line) => (line ? `    ${line}` : line))
        .join("\n");
}
