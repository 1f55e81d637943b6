/**
 * Pieces every Debian 12 host bootstrap shares: the script header, writing files, the SSM agent.
 * Pure text builders; the per-role renderers (cloud-init-haproxy.ts, cloud-init-emqx.ts) compose them.
 */
import { pinnedDownloadCommands, type SsmAgentPin } from "./cloud-init-package-pins.ts";
import { requireAbsolutePath, requirePlainToken, shellQuote } from "./cloud-init-shell-quote.ts";

/** CPU architectures we build hosts for (the AMI filter and the Debian package arch follow it). */
export type HostArchitecture = "x86_64" | "arm64";

/** Debian's name for the architecture, as used in package file names. */
export function debianArchitecture(architecture: HostArchitecture): "amd64" | "arm64" {
    return architecture === "x86_64" ? "amd64" : "arm64";
}

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

/** Script start: strict mode, a log of the bootstrap (which never prints a secret), the hostname. */
export function bootstrapHeader(role: string, hostname: string): string {
    requirePlainToken("role", role);
    requirePlainToken("hostname", hostname);
    return `#!/bin/bash
# mqtt-edge ${role} host bootstrap, rendered by templates/cloud-init-*.ts.
# It holds no secrets. Certificates, keys, CRLs, cookies and passwords are fetched from SSM
# Parameter Store by the instance role at boot.
set -euo pipefail
exec > >(tee -a /var/log/mqtt-edge-bootstrap.log) 2>&1
export DEBIAN_FRONTEND=noninteractive

hostnamectl set-hostname ${shellQuote(hostname)}
`;
}

/**
 * Installs and starts the SSM agent, which Debian's AMIs do not ship. Run last, so that State
 * Manager associations only reach a host whose bootstrap has finished. Package location:
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/agent-install-deb.html
 * With a pin, the exact version's package is fetched and refused unless its SHA-256 matches;
 * without one, the latest package is taken as S3 serves it (over TLS, unverified).
 */
export function installSsmAgentCommands(architecture: HostArchitecture, pin?: SsmAgentPin): string {
    const arch = debianArchitecture(architecture);
    const header = `imds_token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \\
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
region=$(curl -fsS -H "X-aws-ec2-metadata-token: \${imds_token}" \\
    http://169.254.169.254/latest/meta-data/placement/region)
`;
    const footer = `dpkg -i /tmp/amazon-ssm-agent.deb
rm -f /tmp/amazon-ssm-agent.deb
systemctl enable --now amazon-ssm-agent
`;
    if (pin) {
        if (!/^\d+(\.\d+){3}$/.test(pin.version)) {
            throw new Error(
                `ssmAgent.version: ${JSON.stringify(pin.version)} is not allowed; give an exact agent version such as 3.3.1802.0`,
            );
        }
        const sha256 = architecture === "x86_64" ? pin.sha256Amd64 : pin.sha256Arm64;
        const url = `https://s3.\${region}.amazonaws.com/amazon-ssm-\${region}/${pin.version}/debian_${arch}/amazon-ssm-agent.deb`;
        return `${header}${pinnedDownloadCommands(url, sha256, "/tmp/amazon-ssm-agent.deb")}\n${footer}`;
    }
    return `${header}curl -fsSL -o /tmp/amazon-ssm-agent.deb \\
    "https://s3.\${region}.amazonaws.com/amazon-ssm-\${region}/latest/debian_${arch}/amazon-ssm-agent.deb"
${footer}`;
}
