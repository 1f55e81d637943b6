/**
 * The SSM agent's signature check, run for real: the rendered install step with real gpgv and
 * base64, fakes only for curl (it hands out prepared files), apt-get and systemctl. The packages
 * are signed with a throwaway key made here; the key the hosts carry is checked for the
 * fingerprint AWS publishes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { installSsmAgentCommands } from "../../templates/cloud-init-debian-host.ts";
import {
    armoredKeyBody,
    SSM_AGENT_SIGNING_KEY,
    SSM_AGENT_SIGNING_KEY_FINGERPRINT,
} from "../../templates/ssm-agent-signing-key.ts";

let work: string;

/** gpg with a home of its own under `work`. */
function gpg(home: string, args: string[], input?: string): string {
    const run = spawnSync("gpg", ["--homedir", home, "--batch", "--quiet", ...args], {
        encoding: "utf8",
        input,
    });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
}

/** A signing key in its own gpg home: its armored public key and fingerprint. */
function makeKey(name: string): { home: string; armored: string; fingerprint: string } {
    const home = join(work, `gpg-${name}`);
    mkdirSync(home, { mode: 0o700 });
    gpg(home, [
        "--passphrase",
        "",
        "--quick-gen-key",
        `${name} <${name}@example.com>`,
        "ed25519",
        "sign",
        "1d",
    ]);
    const colons = gpg(home, ["--with-colons", "--list-keys"]);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1];
    assert.ok(fingerprint, colons);
    return { home, armored: gpg(home, ["--armor", "--export"]), fingerprint };
}

/** Runs the rendered install step; curl serves `deb` and `sig` from the files given. */
function install(
    key: { armored: string; fingerprint: string },
    deb: string,
    sig: string,
): { status: number | null; stderr: string; calls: string[]; left: string[] } {
    const dir = mkdtempSync(join(work, "run-"));
    const bin = join(dir, "bin");
    const tmp = join(dir, "tmp");
    mkdirSync(bin);
    mkdirSync(tmp);
    const calls = join(dir, "calls.log");
    writeFileSync(calls, "");
    const fake = (body: string) => `#!/bin/bash\necho "$(basename "$0") $*" >> ${calls}\n${body}\n`;
    // curl -fsSL --max-time N -o <file> <url>: copies the prepared file for the URL's suffix.
    writeFileSync(
        join(bin, "curl"),
        fake(`out=""; previous=""
for arg in "$@"; do [ "\${previous}" = -o ] && out="\${arg}"; previous="\${arg}"; done
case "\${!#}" in
    *.deb.sig) cp ${sig} "\${out}" ;;
    *.deb) cp ${deb} "\${out}" ;;
esac`),
    );
    writeFileSync(join(bin, "apt-get"), fake(""));
    writeFileSync(join(bin, "systemctl"), fake(""));
    for (const tool of ["curl", "apt-get", "systemctl"]) chmodSync(join(bin, tool), 0o755);
    // The step writes under /tmp; here it writes under the run's own directory.
    const script = installSsmAgentCommands("x86_64", undefined, key).replaceAll("/tmp/", `${tmp}/`);
    const run = spawnSync(
        "bash",
        ["-euo", "pipefail", "-c", `region=eu-west-1\nretry() { shift 2; "$@"; }\n${script}`],
        { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir } },
    );
    const left = spawnSync("ls", [tmp], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
    return {
        status: run.status,
        stderr: run.stderr,
        calls: readFileSync(calls, "utf8").split("\n").filter(Boolean),
        left,
    };
}

before(() => {
    work = mkdtempSync(join(tmpdir(), "mqtt-edge-ssm-signature-"));
});
after(() => {
    rmSync(work, { recursive: true, force: true });
});

describe("SSM agent package signature", () => {
    test("the key the hosts carry is AWS's SSM agent key, by fingerprint", () => {
        const home = join(work, "gpg-show");
        mkdirSync(home, { mode: 0o700 });
        const binary = join(work, "aws-ssm-agent.gpg");
        writeFileSync(
            binary,
            Buffer.from(armoredKeyBody(SSM_AGENT_SIGNING_KEY).join(""), "base64"),
        );
        const shown = gpg(home, ["--with-colons", "--show-keys", binary]);
        const primary = /^fpr:+([0-9A-F]{40}):/m.exec(shown)?.[1];
        assert.equal(primary, SSM_AGENT_SIGNING_KEY_FINGERPRINT);
        assert.match(shown, /^uid:.*SSM Agent <ssm-agent-signer@amazon\.com>/m);
    });

    describe("the rendered install step", () => {
        let signer: ReturnType<typeof makeKey>;
        let deb: string;
        let goodSig: string;
        before(() => {
            signer = makeKey("signer");
            deb = join(work, "agent.deb");
            writeFileSync(deb, "a package\n");
            goodSig = join(work, "agent.deb.sig");
            gpg(signer.home, ["--output", goodSig, "--detach-sign", deb]);
        });

        test("a package signed with the key is installed and started", () => {
            const run = install(signer, deb, goodSig);
            assert.equal(run.status, 0, run.stderr);
            assert.ok(
                run.calls.some((c) => /^apt-get .*install -y .*amazon-ssm-agent\.deb$/.test(c)),
            );
            assert.ok(run.calls.includes("systemctl enable --now amazon-ssm-agent"));
            assert.deepEqual(run.left, [], "package, signature and keyring removed");
        });

        test("a package changed after signing is refused, removed, and never installed", () => {
            const tampered = join(work, "tampered.deb");
            writeFileSync(tampered, "a package, changed\n");
            const run = install(signer, tampered, goodSig);
            assert.equal(run.status, 1);
            assert.match(
                run.stderr,
                new RegExp(
                    `signature does not verify with the SSM agent signing key ${signer.fingerprint}; not installing it`,
                ),
            );
            assert.ok(!run.calls.some((c) => c.startsWith("apt-get")), run.calls.join("\n"));
            assert.ok(
                !run.left.some((f) => f.startsWith("amazon-ssm-agent.deb")),
                run.left.join(" "),
            );
        });

        test("a package signed with another key is refused", () => {
            const other = makeKey("other");
            const otherSig = join(work, "other.sig");
            gpg(other.home, ["--output", otherSig, "--detach-sign", deb]);
            const run = install(signer, deb, otherSig);
            assert.equal(run.status, 1);
            assert.ok(!run.calls.some((c) => c.startsWith("apt-get")));
        });
    });
});
