/**
 * `npm run crl -- --root-crl`: a bring-your-own root whose key stays with its owner. The CRL file
 * for HAProxy holds the intermediate's CRL (signed here) and the root's as supplied (cfssl
 * `gencrl`), and openssl's full-chain CRL check, which HAProxy turns on with a crl-file, accepts a
 * good device and refuses a revoked one with it. Wrong root CRLs are one line, exit 2, nothing
 * written; `--check` reports the supplied CRL's days left.
 */
import assert from "node:assert/strict";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type CfsslChain, makeCfsslChain } from "../support/cfssl-chain.ts";
import { type CfsslRootCrls, makeCfsslRootCrls } from "../support/cfssl-root-crls.ts";
import { haproxyCheck, verifyWithCrl, writeCrlBindConfig } from "./crl-checks.ts";
import { openssl, runScript, stderrLines } from "./run-process.ts";

let work: string;
let chain: CfsslChain;
let crls: CfsslRootCrls;
let devices: string;
let revocationsDir: string;
const crlFiles: Record<string, string> = {};

/** The CA flags with the supplied root CRL instead of the root key. */
function chainFlags(rootCrl: string): string[] {
    return [
        "--root-cert",
        chain.rootCert,
        "--root-crl",
        rootCrl,
        "--intermediate-cert",
        chain.intermediateCert,
        "--intermediate-key",
        chain.intermediateKey,
    ];
}

/** `npm run crl` for the stack's revocation list with `rootCrl` supplied, into `out`. */
function buildWithRootCrl(rootCrl: string, out: string, extra: string[] = [], stack = "byo") {
    return runScript("crl", [
        "--stack",
        stack,
        "--dir",
        revocationsDir,
        ...chainFlags(rootCrl),
        ...extra,
        "--out",
        out,
    ]);
}

async function missing(path: string): Promise<boolean> {
    return access(path).then(
        () => false,
        () => true,
    );
}

before(async () => {
    work = await mkdtemp(join(tmpdir(), "pki-cli-root-crl-"));
    const cfsslDir = join(work, "cfssl");
    await mkdir(cfsslDir);
    chain = await makeCfsslChain(cfsslDir);
    crls = await makeCfsslRootCrls(chain, cfsslDir);
    for (const [name, pem] of Object.entries(crls)) {
        crlFiles[name] = join(work, `root-${name}.crl.pem`);
        await writeFile(crlFiles[name], pem);
    }
    devices = join(work, "devices");
    const issued = await runScript("cert-device", [
        "--ca-cert",
        chain.intermediateCert,
        "--ca-key",
        chain.intermediateKey,
        "--prefix",
        "DEV-",
        "--count",
        "2",
        "--out",
        devices,
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    revocationsDir = join(work, "revocations");
    await mkdir(revocationsDir);
    const revoked = await runScript("revoke", [
        "--stack",
        "byo",
        "--dir",
        revocationsDir,
        "--cert",
        join(devices, "DEV-0002.crt"),
        "--reason",
        "keyCompromise",
    ]);
    assert.equal(revoked.code, 0, revoked.stderr);
});

after(async () => {
    await rm(work, { recursive: true, force: true });
});

describe("crl with a supplied root CRL", () => {
    let crlPath: string;
    let stdout: string;

    before(async () => {
        crlPath = join(work, "crl.pem");
        const built = await buildWithRootCrl(crlFiles.valid as string, crlPath);
        assert.equal(built.code, 0, built.stderr);
        stdout = built.stdout;
    });

    test("the file holds the intermediate's CRL, then the root's byte for byte as supplied", async () => {
        const text = await readFile(crlPath, "utf8");
        const blocks = text.match(/-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----\n/g);
        assert.equal(blocks?.length, 2);
        assert.equal(blocks?.[1], crls.valid);
        const first = join(work, "part-1.pem");
        await writeFile(first, blocks?.[0] ?? "");
        const signed = await openssl([
            "crl",
            "-in",
            first,
            "-CAfile",
            chain.intermediateCert,
            "-noout",
            "-issuer",
        ]);
        assert.equal(signed.code, 0, signed.stderr);
        assert.match(signed.stdout + signed.stderr, /CN ?= ?intermediate\.emqx\.com/);
        assert.match(
            stdout,
            /CN=emqx\.com.*: supplied, 0 revoked, nextUpdate \S+ \(\d+\.\d days left\)/,
        );
    });

    test("openssl -crl_check_all accepts the good device and refuses the revoked one", async () => {
        const good = await verifyWithCrl(chain, crlPath, join(devices, "DEV-0001.crt"));
        assert.equal(good.code, 0, good.stdout + good.stderr);
        const bad = await verifyWithCrl(chain, crlPath, join(devices, "DEV-0002.crt"));
        assert.notEqual(bad.code, 0);
        assert.match(bad.stdout + bad.stderr, /certificate revoked/);
        // Without the root's CRL the full-chain check fails every device: why it is needed.
        const intermediateOnly = join(work, "intermediate-only.pem");
        const text = await readFile(crlPath, "utf8");
        await writeFile(intermediateOnly, text.slice(0, text.indexOf(crls.valid)));
        const lacking = await verifyWithCrl(chain, intermediateOnly, join(devices, "DEV-0001.crt"));
        assert.notEqual(lacking.code, 0);
        assert.match(lacking.stdout + lacking.stderr, /unable to get certificate CRL/);
    });

    test("HAProxy loads the file as crl-file next to the seed's CA files", async () => {
        const config = await writeCrlBindConfig(work, chain, crlPath);
        const checked = await haproxyCheck(config);
        assert.equal(checked.code, 0, checked.stdout + checked.stderr);
    });

    test("--check reports the root CRL's days left next to the intermediate's", async () => {
        const result = await runScript("crl", ["--check", crlPath]);
        assert.equal(result.code, 0, result.stderr);
        const lines = result.stdout.trim().split("\n");
        assert.equal(lines.length, 2);
        assert.match(lines[1] ?? "", /^ok .*CN=emqx\.com: nextUpdate \S+, (29|30)\.\d days left/);
        const late = await runScript("crl", [
            "--check",
            crlPath,
            "--now",
            new Date(Date.now() + 25 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
        ]);
        assert.equal(late.code, 1);
        assert.match(late.stdout, /^DUE .*CN=emqx\.com: nextUpdate \S+, [45]\.\d days left/m);
        assert.match(late.stderr, /mqtt-edge:caRootCrlPem is not signed here: get a newer one/);
    });

    test("a root CRL inside the refresh window is used, with a warning on stderr", async () => {
        const out = join(work, "due-soon.pem");
        const built = await buildWithRootCrl(crlFiles.dueSoon as string, out);
        assert.equal(built.code, 0, built.stderr);
        assert.match(built.stderr, /^crl: --root-crl \S+ reaches its nextUpdate in [67]\.\d days/m);
    });
});

describe("crl refuses a wrong root CRL: one line, exit 2, nothing written", {
    concurrency: 2,
}, () => {
    const cases: [string, () => string, RegExp][] = [
        ["another issuer's", () => crlFiles.otherIssuer as string, /is not issued by --root-cert/],
        ["forged", () => crlFiles.forged as string, /signature does not verify/],
        [
            "one revoking the intermediate",
            () => crlFiles.revokesIntermediate as string,
            /revokes --intermediate-cert/,
        ],
        ["a certificate instead", () => chain.rootCert, /is not a PEM CRL/],
    ];
    for (const [name, file, pattern] of cases) {
        test(name, async () => {
            const out = join(work, `refused-${name.replace(/\W+/g, "-")}.pem`);
            const result = await buildWithRootCrl(file(), out);
            assert.equal(result.code, 2, result.stderr);
            const lines = stderrLines(result);
            assert.equal(lines.length, 1, result.stderr);
            assert.match(lines[0] ?? "", /^crl: error: --root-crl \S+: /);
            assert.match(lines[0] ?? "", pattern);
            assert.ok(await missing(out), "nothing written");
        });
    }

    test("an expired one (--now after its nextUpdate)", async () => {
        const out = join(work, "refused-expired.pem");
        const result = await buildWithRootCrl(crlFiles.valid as string, out, [
            "--now",
            new Date(Date.now() + 31 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
        ]);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /^crl: error: --root-crl \S+: expired at its nextUpdate/);
        assert.ok(await missing(out));
    });

    test("--root-key and --root-crl together; a root-issued revocation with a supplied root CRL", async () => {
        const both = await buildWithRootCrl(crlFiles.valid as string, join(work, "both.pem"), [
            "--root-key",
            chain.rootKey,
        ]);
        assert.equal(both.code, 2);
        assert.match(both.stderr, /^crl: error: --root-crl with --root-key: both given/);
        // The seed's server certificate is signed by the root: only the root's CA can revoke it.
        const revoked = await runScript("revoke", [
            "--stack",
            "root-issued",
            "--dir",
            revocationsDir,
            "--cert",
            chain.serverCert,
            "--reason",
            "superseded",
        ]);
        assert.equal(revoked.code, 0, revoked.stderr);
        const out = join(work, "root-issued.pem");
        const result = await buildWithRootCrl(crlFiles.valid as string, out, [], "root-issued");
        assert.equal(result.code, 2, result.stderr);
        assert.match(
            result.stderr,
            /was issued by the root .*whose CRL is supplied \(--root-crl \S+\); allowed: entries of the intermediate/,
        );
        assert.ok(await missing(out));
    });
});
