/**
 * Bash for trusting downloads only when they match a pin: an apt repository key whose primary
 * fingerprint must be the configured one, and a package file whose SHA-256 must be the configured
 * one. Either mismatch stops the bootstrap (`set -e` is on) before anything from it is installed.
 */

import { showBadValue } from "./bad-value.ts";
import { requireAbsolutePath, shellQuote } from "./cloud-init-shell-quote.ts";

/** Pins for the packages the hosts download outside Debian's signed archive. */
export interface PackagePins {
    /** Primary key fingerprint of EMQX's apt repository key (40 hex digits). */
    readonly emqxRepositoryKeyFingerprint?: string;
    /** The SSM agent at an exact version, with the SHA-256 of its .deb per architecture. */
    readonly ssmAgent?: SsmAgentPin;
}

/** An SSM agent version and the SHA-256 of its Debian package for each architecture. */
export interface SsmAgentPin {
    /** Version as in the download path, e.g. `3.3.1802.0`. */
    readonly version: string;
    /** SHA-256 (64 hex) of `debian_amd64/amazon-ssm-agent.deb` of that version. */
    readonly sha256Amd64: string;
    /** SHA-256 (64 hex) of `debian_arm64/amazon-ssm-agent.deb` of that version. */
    readonly sha256Arm64: string;
}

/** Throws a one-line error unless `fingerprint` is 40 hex digits; returns it upper-case. */
export function requireFingerprint(key: string, fingerprint: string): string {
    const compact = fingerprint.replaceAll(" ", "");
    if (!/^[0-9A-Fa-f]{40}$/.test(compact)) {
        throw new Error(
            `${key}: ${showBadValue(fingerprint)} is not allowed; give the key's 40-hex-digit fingerprint`,
        );
    }
    return compact.toUpperCase();
}

/** Throws a one-line error unless `sha256` is 64 hex digits; returns it lower-case. */
export function requireSha256(key: string, sha256: string): string {
    if (!/^[0-9A-Fa-f]{64}$/.test(sha256)) {
        throw new Error(`${key}: ${showBadValue(sha256)} is not allowed; give 64 hex digits`);
    }
    return sha256.toLowerCase();
}

/**
 * Downloads an apt key, refuses it unless it holds exactly one primary key and that key's
 * fingerprint is `fingerprint`, then installs it dearmored at `keyring`.
 */
export function pinnedAptKeyCommands(url: string, fingerprint: string, keyring: string): string {
    const pinned = requireFingerprint("fingerprint", fingerprint);
    requireAbsolutePath("keyring", keyring);
    const refusal = `${url}: primary key fingerprint(s) %s, expected ${pinned}; not trusting it`;
    return `apt_key_file=$(mktemp)
curl -fsSL ${shellQuote(url)} -o "\${apt_key_file}"
apt_key_fingerprints=$(gpg --show-keys --with-colons "\${apt_key_file}" \\
    | awk -F: '$1 == "pub" { primary = 1; next } $1 == "fpr" && primary { print $10; primary = 0 }')
if [ "\${apt_key_fingerprints}" != ${shellQuote(pinned)} ]; then
    printf ${shellQuote(`${refusal}\\n`)} "$(echo "\${apt_key_fingerprints}" | tr '\\n' ' ')" >&2
    exit 1
fi
gpg --dearmor --yes -o ${shellQuote(keyring)} < "\${apt_key_file}"
rm -f "\${apt_key_file}"`;
}

/** Downloads `url` to `path` and refuses it (deleting it) unless its SHA-256 is `sha256`. */
export function pinnedDownloadCommands(url: string, sha256: string, path: string): string {
    const pinned = requireSha256("sha256", sha256);
    requireAbsolutePath("path", path);
    return `curl -fsSL -o ${shellQuote(path)} "${url}"
if ! echo ${shellQuote(`${pinned}  ${path}`)} | sha256sum -c --quiet --strict; then
    rm -f ${shellQuote(path)}
    echo ${shellQuote(`${path}: SHA-256 is not the pinned ${pinned}; not installing it`)} >&2
    exit 1
fi`;
}
