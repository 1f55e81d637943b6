/**
 * User-data of a load-generator host. The host holds nothing at boot but the bucket's name: it
 * installs Debian's nodejs and awscli, then waits for its job in the load-test bucket (written by
 * `npm run loadtest` once the stack is up and the device certificates are issued), fetches the
 * generator code and its certificates, runs the scenario and uploads its result. Certificates and
 * keys therefore never pass through user-data or the Pulumi state. Pure text.
 */
import {
    bootstrapHeader,
    installPackagesCommands,
    writeFileCommand,
} from "./cloud-init-debian-host.ts";
import { fileDescriptorLimit, renderSysctlConf } from "./cloud-init-kernel-limits.ts";
import { requireInteger, requirePlainToken, shellQuote } from "./cloud-init-shell-quote.ts";

/** Where things are in the load-test bucket; the orchestration (scripts/loadtest/) uses the same. */
export const loadGeneratorObjects = {
    /** The generator code, one object per .mjs file. */
    code: (file: string) => `input/code/${file}`,
    /** Generator n's credentials (SECRET: device keys). */
    devices: (generator: number) => `input/devices-${generator}.json`,
    /** Generator n is booted and polling for its job (written by the host). */
    ready: (generator: number) => `results/ready-${generator}.json`,
    /** Generator n's job; written last, so its presence means everything else is there. */
    job: (generator: number) => `input/job-${generator}.json`,
    /** Generator n's result. */
    result: (generator: number) => `results/result-${generator}.json`,
    /** Generator n's bootstrap and run log, uploaded whatever happened. */
    log: (generator: number) => `results/log-${generator}.txt`,
} as const;

/** What one generator's user-data is made from. */
export interface LoadGeneratorUserDataSpec {
    /** 0-based generator number: names its objects in the bucket. */
    generator: number;
    /** Host name, e.g. loadgen-1. */
    hostname: string;
    /** The load-test bucket. */
    bucket: string;
    /** Devices this host may open at most (sizes the file-descriptor limit). */
    maxDevices: number;
    /** Give up waiting for the job after this many seconds (the stack's TTL bounds it anyway). */
    jobWaitSeconds: number;
}

const WORK_DIR = "/run/mqtt-edge-loadgen";
const RUN_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-loadgen-run";

/** The script that waits for the job, runs it and uploads the result. */
export function renderLoadGeneratorRunScript(spec: LoadGeneratorUserDataSpec): string {
    requireInteger("generator", spec.generator, 0, 999);
    requireInteger("jobWaitSeconds", spec.jobWaitSeconds, 60, 7 * 24 * 3600);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(spec.bucket)) {
        throw new Error(
            `bucket: ${JSON.stringify(spec.bucket)} is not allowed; use an S3 bucket name (lower-case letters, digits, '.', '-')`,
        );
    }
    const s3 = (key: string) => shellQuote(`s3://${spec.bucket}/${key}`);
    const n = spec.generator;
    return `#!/bin/bash
# mqtt-edge load generator ${n}: wait for the job, run it, upload the result.
set -euo pipefail
work=${WORK_DIR}
# The bucket is in the host's own region; awscli has no default region on Debian.
imds_token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token \\
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
AWS_DEFAULT_REGION=$(curl -fsS -H "X-aws-ec2-metadata-token: \${imds_token}" \\
    http://169.254.169.254/latest/meta-data/placement/region)
export AWS_DEFAULT_REGION
install -d -m 0700 "\${work}" "\${work}/code"
log="\${work}/run.log"
upload_log() { aws s3 cp --only-show-errors "\${log}" ${s3(loadGeneratorObjects.log(n))} || true; }
trap upload_log EXIT
exec > >(tee -a "\${log}") 2>&1

# Say we are up: npm run loadtest hands out the jobs once every generator is.
printf '{"generator":${n},"bootedAt":"%s"}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" |
    aws s3 cp --only-show-errors - ${s3(loadGeneratorObjects.ready(n))}

# The job is written last by npm run loadtest; poll for it with a deadline.
deadline=$(( $(date +%s) + ${spec.jobWaitSeconds} ))
until aws s3 cp --only-show-errors ${s3(loadGeneratorObjects.job(n))} "\${work}/job.json" 2>/dev/null; do
    if (( $(date +%s) > deadline )); then
        echo "no job after ${spec.jobWaitSeconds} s; giving up"
        exit 1
    fi
    sleep 5
done
aws s3 cp --only-show-errors --recursive ${s3("input/code/")} "\${work}/code/"
(umask 077 && aws s3 cp --only-show-errors ${s3(loadGeneratorObjects.devices(n))} "\${work}/devices.json")
node "\${work}/code/host-main.mjs" "\${work}/job.json" "\${work}/devices.json" "\${work}/result.json"
aws s3 cp --only-show-errors "\${work}/result.json" ${s3(loadGeneratorObjects.result(n))}
# The keys are of no further use on this host.
rm -f "\${work}/devices.json"
`;
}

/** The whole user-data. */
export function renderLoadGeneratorUserData(spec: LoadGeneratorUserDataSpec): string {
    requirePlainToken("hostname", spec.hostname);
    requireInteger("maxDevices", spec.maxDevices, 1, 1_000_000);
    // One socket per device on a generator.
    const limits = { maxConnections: spec.maxDevices, socketsPerConnection: 1 } as const;
    return [
        bootstrapHeader({ role: "load-generator", hostname: spec.hostname }),
        // Debian 12's nodejs (18.x) runs the type-stripped generator; it uses Node built-ins only.
        installPackagesCommands(["nodejs", "awscli", "curl", "ca-certificates"]),
        "",
        writeFileCommand("/etc/sysctl.d/60-mqtt-edge.conf", "0644", renderSysctlConf(limits)),
        "sysctl -e -p /etc/sysctl.d/60-mqtt-edge.conf",
        writeFileCommand(RUN_SCRIPT_PATH, "0755", renderLoadGeneratorRunScript(spec)),
        // A transient unit, so the run gets its own file-descriptor limit and outlives cloud-init.
        `systemd-run --unit=mqtt-edge-loadgen --setenv=AWS_DEFAULT_REGION="\${region}" --property=LimitNOFILE=${fileDescriptorLimit(limits)} ${RUN_SCRIPT_PATH}`,
        "",
    ].join("\n");
}
