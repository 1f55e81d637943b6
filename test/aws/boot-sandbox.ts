/**
 * Runs a rendered user-data script for real, in a sandbox: a private mount namespace where /etc,
 * /usr, /var and /dev are overlays on the host's (writes land in a temp directory), /run is
 * empty, the serial console is a file, and fakes first on PATH stand in for everything that
 * would reach the network or the machine (`aws`, `apt-get`, `curl`, `systemctl`, `dpkg-query`,
 * `sleep`, `gpgv` (its real run is in test/templates/ssm-agent-signature.test.ts), ...). Every fake call is logged in order; each network step can be told to fail a
 * number of times or always. Bash, coreutils, flock, install, python3 and the rendered scripts
 * themselves are real.
 */
import { spawnSync } from "node:child_process";
import {
    existsSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Network steps the fakes can fail, by what the script asks for. */
export type NetworkStep =
    | "imds"
    | "ssm-agent-download"
    | "ssm-agent-install"
    | "ssm-agent-signature"
    | "apt-update"
    | "apt-install"
    | "emqx-key"
    | "ssm-read"
    | "health"
    | "lifecycle";

export interface BootRun {
    /** Exit status of the user-data. */
    status: number | null;
    /** Every fake call, `<tool> <args>`, in order. */
    calls: string[];
    /** /var/log/mqtt-edge-bootstrap.log as the script left it. */
    log: string;
    /** What the script printed (stdout and stderr). */
    output: string;
    /** What reached the serial console. */
    console: string;
    /** Whether the bootstrap-done marker exists. */
    done: boolean;
    /** Contents of the files asked for in `options.read` that the script wrote, by path. */
    files: Record<string, string | undefined>;
    /** Seconds the script slept in retries, summed. */
    slept: number;
}

const DEBIAN_PYTHON = "/usr/bin/python3";

const TOOLS = [
    "aws",
    "apt-get",
    "apt-mark",
    "curl",
    "systemctl",
    "hostnamectl",
    "sysctl",
    "sleep",
    "haproxy",
    "dpkg-query",
    "gpg",
    "gpgv",
    "blkid",
    "mkfs.ext4",
    "mount",
    "mountpoint",
    "emqx",
];

function fakeScript(state: string): string {
    return `#!/bin/bash
# A stand-in for the tool it is named after; see test/aws/boot-sandbox.ts.
tool=$(basename "$0")
state=${state}
echo "\${tool} $*" >> "\${state}/calls.log"
key=""
case "\${tool} $*" in
    "curl "*"169.254.169.254"*) key=imds ;;
    "curl "*"amazon-ssm-agent.deb"*) key=ssm-agent-download ;;
    "curl "*"gpgkey"*) key=emqx-key ;;
    "curl "*"healthz"*) key=health ;;
    "apt-get "*" update"*) key=apt-update ;;
    "apt-get "*"amazon-ssm-agent.deb"*) key=ssm-agent-install ;;
    "gpgv "*"amazon-ssm-agent.deb"*) key=ssm-agent-signature ;;
    "apt-get "*" install "*) key=apt-install ;;
    "aws ssm get-parameter"*) key=ssm-read ;;
    "aws autoscaling complete-lifecycle-action"*) key=lifecycle ;;
esac
if [ -n "\${key}" ] && [ -f "\${state}/fail/\${key}" ]; then
    left=$(cat "\${state}/fail/\${key}")
    if [ "\${left}" = always ]; then echo "fake \${tool}: \${key} fails" >&2; exit 1; fi
    if [ "\${left}" -gt 0 ]; then
        echo $((left - 1)) > "\${state}/fail/\${key}"
        echo "fake \${tool}: \${key} fails this time" >&2
        exit 1
    fi
fi
case "\${tool}" in
    curl)
        case "$*" in
            *api/token*) echo token ;;
            *placement/region*) echo eu-west-1 ;;
            *instance-id*) echo i-0123456789abcdef0 ;;
        esac
        out="" previous=""
        for arg in "$@"; do
            if [ "\${previous}" = -o ]; then out="\${arg}"; fi
            previous="\${arg}"
        done
        if [ -n "\${out}" ] && [ "\${out}" != /dev/null ]; then echo fake > "\${out}"; fi
        ;;
    aws)
        case "$*" in
            "ssm get-parameter"*) exec ${DEBIAN_PYTHON} "\${state}/ssm.py" "$@" ;;
        esac
        ;;
    dpkg-query) cat "\${state}/installed-emqx-version" ;;
    emqx)
        # One answer per call from the list; the last one repeats.
        if [ -f "\${state}/emqx-cluster-status" ]; then
            head -n 1 "\${state}/emqx-cluster-status"
            if [ "$(wc -l < "\${state}/emqx-cluster-status")" -gt 1 ]; then
                sed -i 1d "\${state}/emqx-cluster-status"
            fi
        fi
        ;;
    blkid)
        case "$*" in
            *UUID*) echo 0f0e0d0c-0b0a-0908-0706-050403020100 ;;
        esac
        ;;
    gpg)
        out="" previous=""
        for arg in "$@"; do
            if [ "\${previous}" = -o ]; then out="\${arg}"; fi
            previous="\${arg}"
        done
        echo fake-key > "\${out}"
        ;;
esac
exit 0
`;
}

/**
 * Runs `userData` in the sandbox. `parameters` are the SSM values by name; `failures` tells each
 * network step how often to fail first (`"always"`: every time). `blockDevice` creates the
 * EMQX data volume's device node.
 */
export function runBoot(
    userData: string,
    parameters: Record<string, string>,
    failures: Partial<Record<NetworkStep, number | "always">> = {},
    options: {
        blockDevice?: string;
        installedEmqxVersion?: string;
        read?: string[];
        /** What `emqx ctl cluster status --json` prints, one answer per call, the last repeating. */
        clusterStatus?: string[];
    } = {},
): BootRun {
    const work = mkdtempSync(join(tmpdir(), "mqtt-edge-boot-"));
    try {
        const bin = join(work, "bin");
        const state = join(work, "state");
        mkdirSync(bin);
        mkdirSync(join(state, "fail"), { recursive: true });
        writeFileSync(join(state, "fake"), fakeScript(state), { mode: 0o755 });
        for (const tool of TOOLS) symlinkSync(join(state, "fake"), join(bin, tool));
        // The hosts' python3 is Debian's; a version manager's shim on PATH would cost seconds a call.
        symlinkSync(DEBIAN_PYTHON, join(bin, "python3"));
        writeFileSync(join(state, "calls.log"), "");
        writeFileSync(join(state, "installed-emqx-version"), options.installedEmqxVersion ?? "");
        if (options.clusterStatus) {
            writeFileSync(
                join(state, "emqx-cluster-status"),
                `${options.clusterStatus.join("\n")}\n`,
            );
        }
        writeFileSync(join(state, "values.json"), JSON.stringify(parameters));
        writeFileSync(
            join(state, "ssm.py"),
            [
                "import json, sys",
                'name = sys.argv[sys.argv.index("--name") + 1]',
                `value = json.load(open(${JSON.stringify(join(state, "values.json"))}))[name]`,
                'if "text" in sys.argv: print(value.strip())',
                'else: print(json.dumps({"Parameter": {"Name": name, "Value": value}}))',
                "",
            ].join("\n"),
        );
        for (const [step, count] of Object.entries(failures)) {
            writeFileSync(join(state, "fail", step), String(count));
        }
        writeFileSync(join(work, "user-data.sh"), userData);
        writeFileSync(join(work, "console"), "");
        const overlays = ["etc", "usr", "var", "dev"]
            .map((dir) => {
                mkdirSync(join(work, "upper", dir), { recursive: true });
                mkdirSync(join(work, "overlay-work", dir), { recursive: true });
                return `mount -t overlay overlay -o lowerdir=/${dir},upperdir=${work}/upper/${dir},workdir=${work}/overlay-work/${dir} /${dir}`;
            })
            .join("\n");
        const setup = `set -e
mount --make-rprivate /
${overlays}
mount -t tmpfs tmpfs /run
mkdir -p /run/lock
mount --bind ${work}/console /dev/console
echo 'emqx:x:64999:' >> /etc/group
echo 'emqx:x:64999:64999::/var/lib/emqx:/usr/sbin/nologin' >> /etc/passwd
${options.blockDevice ? `mkdir -p "$(dirname ${options.blockDevice})"\nmknod ${options.blockDevice} b 7 0` : ""}
touch ${work}/sandbox-ready
exec env PATH=${bin}:"$PATH" bash ${work}/user-data.sh
`;
        // As root a mount namespace is enough; otherwise map ourselves to root in a user namespace.
        const unshare = process.getuid?.() === 0 ? ["--mount"] : ["--mount", "--map-root-user"];
        const run = spawnSync("unshare", [...unshare, "bash", "-c", setup], {
            encoding: "utf8",
            timeout: 60_000,
        });
        if (run.error) throw run.error;
        if (!existsSync(join(work, "sandbox-ready"))) {
            throw new Error(`the boot sandbox could not be set up: ${run.stderr}`);
        }
        const calls = readFileSync(join(state, "calls.log"), "utf8").split("\n").filter(Boolean);
        const logPath = join(work, "upper", "var", "log", "mqtt-edge-bootstrap.log");
        const upper = (path: string) => join(work, "upper", path);
        return {
            status: run.status,
            calls,
            log: existsSync(logPath) ? readFileSync(logPath, "utf8") : "",
            output: `${run.stdout}${run.stderr}`,
            console: readFileSync(join(work, "console"), "utf8"),
            done: existsSync(upper("/var/lib/mqtt-edge/bootstrap-done")),
            files: Object.fromEntries(
                (options.read ?? []).map((path) => [
                    path,
                    existsSync(upper(path)) ? readFileSync(upper(path), "utf8") : undefined,
                ]),
            ),
            slept: calls
                .filter((call) => call.startsWith("sleep "))
                .reduce((sum, call) => sum + Number(call.slice("sleep ".length)), 0),
        };
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
}
