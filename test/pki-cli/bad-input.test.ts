/**
 * npm run cert:device, cert:revoke and crl refusing bad flags: one stderr line that starts with
 * the npm command's name and names the flag, exit 2, no stack trace, nothing written. The cases
 * run as child processes, several at a time, since each is a separate Node start.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type CfsslChain, makeCfsslChain } from "../support/cfssl-chain.ts";
import { runScript, stderrLines } from "./run-process.ts";

let work: string;
let chain: CfsslChain;
let aFile: string;
let outDir: string;

before(async () => {
    work = await mkdtemp(join(tmpdir(), "mqtt-edge-pki-bad-"));
    await mkdir(join(work, "cfssl"));
    chain = await makeCfsslChain(join(work, "cfssl"));
    aFile = join(work, "a-file");
    await writeFile(aFile, "x");
    outDir = join(work, "out");
    await mkdir(outDir);
});
after(async () => {
    await rm(work, { recursive: true, force: true });
});

type Script = "cert-device" | "revoke" | "crl";

/** [what, script, flags (functions of the chain, built once it exists), expected line]. */
const cases: Array<[string, Script, () => string[], RegExp]> = [
    [
        "cert:device --count 0",
        "cert-device",
        () => [
            "--ca-cert",
            chain.intermediateCert,
            "--ca-key",
            chain.intermediateKey,
            "--prefix",
            "D",
            "--count",
            "0",
            "--out",
            outDir,
        ],
        /^cert:device: error: --count "0": not a whole number in range; allowed: 1 to 100000$/,
    ],
    [
        "cert:device --count abc",
        "cert-device",
        () => [
            "--ca-cert",
            chain.intermediateCert,
            "--ca-key",
            chain.intermediateKey,
            "--prefix",
            "D",
            "--count",
            "abc",
            "--out",
            outDir,
        ],
        /^cert:device: error: --count "abc": not a whole number/,
    ],
    [
        "cert:device --out /proc/nope",
        "cert-device",
        () => [
            "--ca-cert",
            chain.intermediateCert,
            "--ca-key",
            chain.intermediateKey,
            "--cn",
            "D1",
            "--out",
            "/proc/nope",
        ],
        /^cert:device: error: --out "\/proc\/nope": cannot create \/proc\/nope/,
    ],
    [
        "cert:device --out below a file",
        "cert-device",
        () => [
            "--ca-cert",
            chain.intermediateCert,
            "--ca-key",
            chain.intermediateKey,
            "--cn",
            "D1",
            "--out",
            join(aFile, "certs"),
        ],
        /^cert:device: error: --out ".*a-file\/certs": .*a-file exists and is not a folder/,
    ],
    [
        "cert:device with the root key as CA key",
        "cert-device",
        () => [
            "--ca-cert",
            chain.intermediateCert,
            "--ca-key",
            chain.rootKey,
            "--cn",
            "D1",
            "--out",
            outDir,
        ],
        /^cert:device: error: --ca-key .*: private key does not match/,
    ],
    [
        "cert:device with a device certificate as CA",
        "cert-device",
        () => [
            "--ca-cert",
            chain.deviceCert,
            "--ca-key",
            chain.deviceKey,
            "--cn",
            "D1",
            "--out",
            outDir,
        ],
        /^cert:device: error: --ca-cert .*is not a CA/,
    ],
    [
        "cert:device misspelt flag",
        "cert-device",
        () => ["--cnn", "D1"],
        /^cert:device: error: unknown flag "--cnn"; allowed: .*--cn,/,
    ],
    [
        "cert:revoke unknown reason",
        "revoke",
        () => ["--stack", "dev", "--cert", chain.deviceCert, "--reason", "stolen", "--dir", outDir],
        /^cert:revoke: error: --reason "stolen": unknown reason; allowed: unspecified, keyCompromise/,
    ],
    [
        "cert:revoke a certificate file that is not there",
        "revoke",
        () => [
            "--stack",
            "dev",
            "--cert",
            join(work, "missing.pem"),
            "--reason",
            "keyCompromise",
            "--dir",
            outDir,
        ],
        /^cert:revoke: error: --cert ".*missing\.pem": cannot read file \(ENOENT\)/,
    ],
    [
        "cert:revoke stack name with a slash",
        "revoke",
        () => [
            "--stack",
            "a/b",
            "--cert",
            chain.deviceCert,
            "--reason",
            "keyCompromise",
            "--dir",
            outDir,
        ],
        /^cert:revoke: error: --stack "a\/b": not a stack name/,
    ],
    [
        "crl --out in a missing folder",
        "crl",
        () => [
            "--stack",
            "dev",
            "--dir",
            outDir,
            "--root-cert",
            chain.rootCert,
            "--root-key",
            chain.rootKey,
            "--intermediate-cert",
            chain.intermediateCert,
            "--intermediate-key",
            chain.intermediateKey,
            "--out",
            "/proc/nope/crl.pem",
        ],
        /^crl: error: --out "\/proc\/nope\/crl\.pem": folder \/proc\/nope does not exist/,
    ],
    [
        "crl --out that is a folder",
        "crl",
        () => [
            "--stack",
            "dev",
            "--dir",
            outDir,
            "--root-cert",
            chain.rootCert,
            "--root-key",
            chain.rootKey,
            "--intermediate-cert",
            chain.intermediateCert,
            "--intermediate-key",
            chain.intermediateKey,
            "--out",
            outDir,
        ],
        /^crl: error: --out ".*out": is a folder, not a file/,
    ],
    [
        "crl --refresh-days not a number",
        "crl",
        () => ["--check", chain.rootCert, "--refresh-days", "ten"],
        /^crl: error: --refresh-days "ten"/,
    ],
    [
        "crl --check with --out",
        "crl",
        () => ["--check", chain.rootCert, "--out", join(outDir, "crl.pem")],
        /^crl: error: --out with --check: not used when checking/,
    ],
];

describe("PKI CLIs: bad flags are one line, exit 2, nothing written", { concurrency: 4 }, () => {
    for (const [what, script, args, pattern] of cases) {
        test(what, async () => {
            const result = await runScript(script, args());
            assert.equal(result.code, 2, result.stderr);
            const lines = stderrLines(result);
            assert.equal(lines.length, 1, result.stderr);
            assert.match(lines[0] ?? "", pattern);
            assert.doesNotMatch(result.stderr, /^\s+at |PRIVATE KEY/m);
            assert.deepEqual(await readdir(outDir), [], "nothing written");
        });
    }
});

describe("PKI CLIs: --help lists every flag and an npm example", { concurrency: 3 }, () => {
    const npmName: Record<Script, string> = {
        "cert-device": "cert:device",
        revoke: "cert:revoke",
        crl: "crl",
    };
    for (const script of ["cert-device", "revoke", "crl"] as const) {
        test(npmName[script], async () => {
            const result = await runScript(script, ["--help"]);
            assert.equal(result.code, 0, result.stderr);
            assert.match(result.stdout, new RegExp(`^usage: npm run ${npmName[script]} -- `));
            assert.match(
                result.stdout,
                new RegExp(`^examples?:\\n {2}.*npm run ${npmName[script]} -- `, "m"),
            );
            const flags = [...result.stdout.matchAll(/^ {2}(--[a-z-]+) /gm)].map((m) => m[1]);
            assert.ok(flags.includes("--help") && flags.length >= 5, flags.join(" "));
            assert.doesNotMatch(result.stdout, /node scripts\//, "names the npm command");
        });
    }
});
