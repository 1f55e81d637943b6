/**
 * The download pins, run for real: the apt-key check with gpg against a key made here and served
 * from a file:// URL, the SHA-256 check with sha256sum. A wrong pin stops the script before the
 * keyring or the package is there; the right one installs it. And the pins reach user-data only
 * when configured.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import {
    EMQX_CLUSTER_NODES_FILE_PATH,
    EMQX_LIMITS_DROP_IN_PATH,
    EMQX_SYSCTL_PATH,
    EMQX_VERSION_FILE_PATH,
    renderEmqxUserData,
} from "../../templates/cloud-init-emqx.ts";
import {
    pinnedAptKeyCommands,
    pinnedDownloadCommands,
} from "../../templates/cloud-init-package-pins.ts";
import { lintBash } from "../aws/lint-script.ts";

const run = promisify(execFile);
let dir: string;
let keyUrl: string;
let fingerprint: string;

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mqtt-edge-pins-"));
    const env = { ...process.env, GNUPGHOME: join(dir, "gnupg") };
    await run("install", ["-d", "-m", "0700", env.GNUPGHOME]);
    await run(
        "gpg",
        [
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "repo <repo@example.com>",
            "ed25519",
            "sign",
            "1d",
        ],
        { env },
    );
    const { stdout: armored } = await run("gpg", ["--armor", "--export", "repo@example.com"], {
        env,
    });
    await writeFile(join(dir, "gpgkey"), armored);
    keyUrl = `file://${join(dir, "gpgkey")}`;
    const { stdout } = await run("gpg", ["--with-colons", "--list-keys", "repo@example.com"], {
        env,
    });
    fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)?.[1] ?? "";
    assert.equal(fingerprint.length, 40);
});
after(async () => {
    await rm(dir, { recursive: true, force: true });
});

async function bash(script: string): Promise<{ code: number; stderr: string }> {
    const file = join(dir, "script.sh");
    await writeFile(
        file,
        `set -euo pipefail\nexport GNUPGHOME=${join(dir, "gnupg-host")}\nmkdir -p -m 0700 "$GNUPGHOME"\n${script}\n`,
    );
    try {
        await run("bash", [file]);
        return { code: 0, stderr: "" };
    } catch (error) {
        const e = error as { code: number; stderr: string };
        return { code: e.code, stderr: e.stderr };
    }
}

describe("the EMQX repository key pin", () => {
    test("the pinned fingerprint installs the keyring", async () => {
        const keyring = join(dir, "ok.gpg");
        const result = await bash(pinnedAptKeyCommands(keyUrl, fingerprint.toLowerCase(), keyring));
        assert.equal(result.code, 0, result.stderr);
        assert.ok(existsSync(keyring));
    });
    test("another fingerprint stops the bootstrap and installs nothing", async () => {
        const keyring = join(dir, "refused.gpg");
        const other = `${fingerprint.slice(0, 39)}${fingerprint.endsWith("0") ? "1" : "0"}`;
        const result = await bash(pinnedAptKeyCommands(keyUrl, other, keyring));
        assert.equal(result.code, 1);
        assert.match(
            result.stderr,
            new RegExp(
                `primary key fingerprint\\(s\\) ${fingerprint} +, expected ${other}; not trusting it`,
            ),
        );
        assert.equal(existsSync(keyring), false);
    });
    test("a bad fingerprint is refused at render time", () => {
        assert.throws(
            () => pinnedAptKeyCommands(keyUrl, "abc", "/k.gpg"),
            /^Error: fingerprint: "abc" is not allowed; give the key's 40-hex-digit fingerprint$/,
        );
    });
});

describe("the SSM agent package pin", () => {
    test("the pinned SHA-256 keeps the file; another deletes it and stops", async () => {
        const pkg = join(dir, "agent.deb");
        await writeFile(pkg, "not really a deb\n");
        const { stdout } = await run("sha256sum", [pkg]);
        const sha = stdout.split(" ")[0] ?? "";
        const target = join(dir, "downloaded.deb");
        const ok = await bash(pinnedDownloadCommands(`file://${pkg}`, sha, target));
        assert.equal(ok.code, 0, ok.stderr);
        assert.ok(existsSync(target));
        const bad = await bash(pinnedDownloadCommands(`file://${pkg}`, "0".repeat(64), target));
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /SHA-256 is not the pinned 0{64}; not installing it/);
        assert.equal(existsSync(target), false);
    });
});

test("pins reach the EMQX user-data only when configured", () => {
    const spec = {
        hostname: "emqx-1.edge.internal",
        nodeName: "emqx@emqx-1.edge.internal",
        architecture: "arm64" as const,
        emqxVersion: "5.8.9",
        maxConnections: 1000,
        dataDir: "/var/lib/emqx",
        dataVolumeId: "vol-0123456789abcdef0",
        configPath: "/etc/emqx/emqx.conf",
        secretsEnvPath: "/etc/emqx/secrets.env",
        files: [
            {
                parameterName: "/e/emqx.conf",
                path: "/etc/emqx/emqx.conf",
                mode: "0640",
                owner: "root:emqx",
            },
            {
                parameterName: "/e/secrets.env",
                path: "/etc/emqx/secrets.env",
                mode: "0600",
                owner: "root:root",
            },
            // The settings every node fetches besides emqx.conf (version pin, peers, limits).
            ...[
                EMQX_VERSION_FILE_PATH,
                EMQX_CLUSTER_NODES_FILE_PATH,
                EMQX_SYSCTL_PATH,
                EMQX_LIMITS_DROP_IN_PATH,
            ].map((path) => ({
                parameterName: `/e/${path.split("/").at(-1)}`,
                path,
                mode: "0644",
                owner: "root:root",
            })),
        ],
    };
    const plain = renderEmqxUserData(spec);
    assert.doesNotMatch(plain, /gpg --show-keys|sha256sum -c/);
    const pinned = renderEmqxUserData({
        ...spec,
        packagePins: {
            emqxRepositoryKeyFingerprint: "A".repeat(40),
            ssmAgent: {
                version: "3.3.1802.0",
                sha256Amd64: "1".repeat(64),
                sha256Arm64: "2".repeat(64),
            },
        },
    });
    assert.match(pinned, /if \[ "\$\{apt_key_fingerprints\}" != 'A{40}' \]/);
    assert.equal(lintBash(pinned), "");
    assert.match(
        pinned,
        /amazon-ssm-\$\{region\}\/3\.3\.1802\.0\/debian_arm64\/amazon-ssm-agent\.deb/,
    );
    assert.match(pinned, /echo '2{64} {2}\/tmp\/amazon-ssm-agent\.deb' \| sha256sum -c/);
});
