/**
 * Files a host fetches at boot and on every config change, from SSM Parameter Store (small
 * files, secrets) or from S3 (files that grow past SSM's 8 KB limit: CRLs): the manifest that
 * lists them, the fetch script that reads them, and the content hash both sides agree on.
 *
 * The content never passes through user-data: user-data carries only parameter names and object
 * keys, so a changed haproxy.cfg, CRL or emqx.conf changes a parameter or an object and the
 * association that re-applies it, never the instance.
 */
import { createHash } from "node:crypto";
import {
    instanceMetadataFunction,
    NETWORK_STEP_RETRY_SECONDS,
    retryFunction,
} from "./cloud-init-debian-host.ts";
import { requireAbsolutePath, requirePlainToken } from "./cloud-init-shell-quote.ts";

/** An S3 object: bucket and key. */
export interface HostFileObject {
    /** Bucket name. */
    bucket: string;
    /** Object key, e.g. `haproxy/crl.pem`. */
    key: string;
}

/** One file on the host whose content lives in one SSM parameter or one S3 object. */
export interface HostFileSource {
    /** SSM parameter name holding the content, e.g. `/mqtt-edge/dev/haproxy/haproxy.cfg`. */
    parameterName?: string;
    /** Or the S3 object holding it (exactly one of the two). */
    object?: HostFileObject;
    /** Absolute path the file is written to on the host. */
    path: string;
    /** Octal file mode, e.g. `0600` for private keys and secret env files. */
    mode: string;
    /** `user:group` owning the file, e.g. `root:root` or `root:emqx`. */
    owner: string;
}

/** Where the fetch script lives on every host. */
export const FETCH_PARAMETERS_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-fetch-parameters";

/** Throws a one-line error naming the first field of `file` that cannot be rendered safely. */
export function validateHostFileSource(file: HostFileSource, key: string): HostFileSource {
    if ((file.parameterName === undefined) === (file.object === undefined)) {
        throw new Error(
            `${key}: ${file.parameterName === undefined ? "neither" : "both"} parameterName and object given; give exactly one`,
        );
    }
    if (file.parameterName !== undefined) {
        requirePlainToken(`${key}.parameterName`, file.parameterName);
        if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(file.parameterName)) {
            throw new Error(
                `${key}.parameterName: ${JSON.stringify(file.parameterName)} is not allowed; it must be a path like /mqtt-edge/dev/haproxy.cfg`,
            );
        }
    }
    if (file.object !== undefined) {
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(file.object.bucket)) {
            throw new Error(
                `${key}.object.bucket: ${JSON.stringify(file.object.bucket)} is not allowed; use an S3 bucket name (3-63 of a-z, 0-9, . and -)`,
            );
        }
        if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(file.object.key)) {
            throw new Error(
                `${key}.object.key: ${JSON.stringify(file.object.key)} is not allowed; use a key like haproxy/crl.pem (letters, digits, _.- and /)`,
            );
        }
    }
    requireAbsolutePath(`${key}.path`, file.path);
    if (!/^0[0-7]{3}$/.test(file.mode)) {
        throw new Error(
            `${key}.mode: ${JSON.stringify(file.mode)} is not allowed; use a 4-digit octal mode such as 0600`,
        );
    }
    if (!/^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/.test(file.owner)) {
        throw new Error(
            `${key}.owner: ${JSON.stringify(file.owner)} is not allowed; use user:group such as root:root`,
        );
    }
    return file;
}

/** Where a file comes from as the manifest writes it: the parameter name, or `s3://bucket/key`. */
export function hostFileSourceName(file: HostFileSource): string {
    return file.object
        ? `s3://${file.object.bucket}/${file.object.key}`
        : String(file.parameterName);
}

/**
 * Renders the manifest: one `source path mode owner` line per file, in a fixed order; the source
 * is an SSM parameter name or `s3://bucket/key`.
 */
export function renderHostFileManifest(files: readonly HostFileSource[]): string {
    if (files.length === 0) {
        throw new Error("files: [] is not allowed; a host needs at least one file from SSM or S3");
    }
    const paths = new Set<string>();
    const lines = files.map((file, index) => {
        validateHostFileSource(file, `files[${index}]`);
        if (paths.has(file.path)) {
            throw new Error(
                `files[${index}].path: ${JSON.stringify(file.path)} is listed twice; each path may come from one parameter only`,
            );
        }
        paths.add(file.path);
        return `${hostFileSourceName(file)} ${file.path} ${file.mode} ${file.owner}\n`;
    });
    return lines.join("");
}

/**
 * The hash the host computes over what it fetched: SHA-256 of the lines
 * `<sha256 hex of file content>\n`, in manifest order. The association passes it to the host,
 * which refuses to apply anything else, so a stale read can never pass as success.
 */
export function hostFilesContentHash(contents: readonly string[]): string {
    const perFile = contents.map((content) => `${sha256Hex(content)}\n`).join("");
    return sha256Hex(perFile);
}

function sha256Hex(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
}

/** How long one SSM read may keep retrying (waits between tries), in seconds. */
export const PARAMETER_READ_RETRY_SECONDS = 120;

/**
 * The fetch script: `mqtt-edge-fetch-parameters <manifest> <staging-dir>` writes every listed
 * parameter or object to `<staging-dir><path>` with its mode and owner, then prints the content
 * hash. Parameter values go from the AWS CLI's JSON through python3 (a dependency of Debian's
 * awscli) straight to the file; objects go from S3 straight to the file. Byte-exact, and never on
 * a command line, in a variable or in a log. Each read is retried (one call site per kind,
 * `fetch_parameter` and `fetch_object`): right after launch the instance role may not have
 * propagated yet, and SSM throttles.
 */
export function renderFetchParametersScript(withObjects = true): string {
    // Hosts without S3 files keep the script they booted with: a changed user-data replaces the
    // instance (userDataReplaceOnChange), and EMQX nodes are pets.
    if (!withObjects) return renderSsmOnlyFetchScript();
    return `#!/bin/bash
# Fetches the files listed in a manifest from SSM Parameter Store and S3 into a staging directory.
# Rendered by templates/cloud-init-host-files.ts. Prints only the content hash, never a value.
set -euo pipefail
umask 077

manifest="$1"
staging="$2"

${retryFunction()}
${instanceMetadataFunction()}
AWS_DEFAULT_REGION=$(retry ${NETWORK_STEP_RETRY_SECONDS} "read the region from instance metadata" imds placement/region)
export AWS_DEFAULT_REGION

fetch_parameter() {
    aws ssm get-parameter --name "$1" --with-decryption --output json \\
        | python3 -c 'import json, sys; sys.stdout.buffer.write(json.load(sys.stdin)["Parameter"]["Value"].encode("utf-8"))' \\
        > "$2"
}

# s3://bucket/key; S3 decrypts with the group key (SSE-KMS) for the instance role.
fetch_object() {
    local bucket_and_key="\${1#s3://}"
    aws s3api get-object --bucket "\${bucket_and_key%%/*}" --key "\${bucket_and_key#*/}" "$2" > /dev/null
}

hashes=""
while read -r source path mode owner; do
    [ -n "\${source}" ] || continue
    target="\${staging}\${path}"
    install -d -m 0700 "$(dirname "\${target}")"
    case "\${source}" in
        s3://*) retry ${PARAMETER_READ_RETRY_SECONDS} "read \${source}" fetch_object "\${source}" "\${target}" ;;
        *) retry ${PARAMETER_READ_RETRY_SECONDS} "read \${source} from SSM" fetch_parameter "\${source}" "\${target}" ;;
    esac
    chmod "\${mode}" "\${target}"
    chown "\${owner}" "\${target}"
    hashes+="$(sha256sum < "\${target}" | cut -d ' ' -f 1)"$'\\n'
done < "\${manifest}"

printf '%s' "\${hashes}" | sha256sum | cut -d ' ' -f 1
`;
}

/** The SSM-only fetch script, byte for byte as before S3 sources existed. */
function renderSsmOnlyFetchScript(): string {
    return `#!/bin/bash
# Fetches the files listed in a manifest from SSM Parameter Store into a staging directory.
# Rendered by templates/cloud-init-host-files.ts. Prints only the content hash, never a value.
set -euo pipefail
umask 077

manifest="$1"
staging="$2"

${retryFunction()}
${instanceMetadataFunction()}
# read_parameter <name> <file>: the parameter's value, byte-exact, into the file.
read_parameter() {
    aws ssm get-parameter --name "$1" --with-decryption --output json \\
        | python3 -c 'import json, sys; sys.stdout.buffer.write(json.load(sys.stdin)["Parameter"]["Value"].encode("utf-8"))' \\
        > "$2"
}

AWS_DEFAULT_REGION=$(retry ${NETWORK_STEP_RETRY_SECONDS} "read the region from instance metadata" imds placement/region)
export AWS_DEFAULT_REGION

hashes=""
while read -r parameter path mode owner; do
    [ -n "\${parameter}" ] || continue
    target="\${staging}\${path}"
    install -d -m 0700 "$(dirname "\${target}")"
    retry ${PARAMETER_READ_RETRY_SECONDS} "read \${parameter} from SSM" read_parameter "\${parameter}" "\${target}"
    chmod "\${mode}" "\${target}"
    chown "\${owner}" "\${target}"
    hashes+="$(sha256sum < "\${target}" | cut -d ' ' -f 1)"$'\\n'
done < "\${manifest}"

printf '%s' "\${hashes}" | sha256sum | cut -d ' ' -f 1
`;
}

/** What the two apply scripts (HAProxy, EMQX) share at their start. */
export interface ApplyScriptEntry {
    /** "host" or "node", as the messages say. */
    readonly what: "host" | "node";
    /** The bootstrap-done marker (cloud-init-debian-host.ts). */
    readonly bootstrapDone: string;
    /** The lock file that keeps two runs apart. */
    readonly lockPath: string;
    /** How long a run waits for the lock. */
    readonly lockWaitSeconds: number;
}

/**
 * The start of an apply script: its two arguments, the guard that leaves a host still in its
 * bootstrap alone, and the lock. Expects `manifest` set before it.
 */
export function applyScriptEntry(entry: ApplyScriptEntry): string {
    return `expected_hash=""
boot=false
while [ "$#" -gt 0 ]; do
    case "$1" in
        --boot) boot=true ;;
        --expect-hash) expected_hash="$2"; shift ;;
        *) echo "unknown argument: $1 (allowed: --boot, --expect-hash <sha256>)" >&2; exit 2 ;;
    esac
    shift
done

# State Manager reaches a ${entry.what} as soon as its SSM agent runs, which is early in the bootstrap; the
# bootstrap applies the newest files itself.
if [ "\${boot}" = false ] && [ ! -e ${requireAbsolutePath("bootstrapDone", entry.bootstrapDone)} ]; then
    echo "bootstrap of this ${entry.what} not finished; it applies the current files itself"
    exit 0
fi

exec 9> ${requireAbsolutePath("lockPath", entry.lockPath)}
flock -w ${entry.lockWaitSeconds} 9
`;
}

/**
 * Fetches every file of the manifest into `${staging}` and compares: refuses content whose hash is
 * not the one the stack expects, and ends the run when nothing changed and `service` is running
 * (`unchanged` says so). Leaves the paths that differ in `changed_paths`.
 */
export function fetchAndCompareCommands(
    fetchScript: string,
    service: string,
    unchanged: string,
): string {
    requirePlainToken("service", service);
    return `fetched_hash=$(${requireAbsolutePath("fetchScript", fetchScript)} "\${manifest}" "\${staging}")
if [ -n "\${expected_hash}" ] && [ "\${fetched_hash}" != "\${expected_hash}" ]; then
    echo "fetched content with hash \${fetched_hash}, expected \${expected_hash}; not applying" >&2
    exit 1
fi

changed_paths=()
while read -r _parameter path _mode _owner; do
    cmp -s "\${staging}\${path}" "\${path}" || changed_paths+=("\${path}")
done < "\${manifest}"
if [ "\${#changed_paths[@]}" -eq 0 ] && [ "\${boot}" = false ] && systemctl is-active --quiet ${service}; then
    echo "${unchanged} (\${fetched_hash})"
    exit 0
fi
`;
}
