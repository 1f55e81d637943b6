import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createThrowawayCa } from "../../pki/self-signed-ca.ts";
import { type CfsslChain, makeCfsslChain } from "../support/cfssl-chain.ts";
import { haproxyCheck, verifyWithCrl, writeCrlBindConfig } from "./crl-checks.ts";
import { openssl, runScript, stderrLines } from "./run-process.ts";

const dayMs = 24 * 60 * 60 * 1000;

let work: string;
let chain: CfsslChain;
let devices: string;
let revocationsDir: string;

function chainFlags(): string[] {
    return [
        "--root-cert",
        chain.rootCert,
        "--root-key",
        chain.rootKey,
        "--intermediate-cert",
        chain.intermediateCert,
        "--intermediate-key",
        chain.intermediateKey,
    ];
}

/** Splits a concatenated CRL file into its PEM blocks, written next to it as part-N.pem. */
async function splitCrls(path: string): Promise<string[]> {
    const blocks =
        (await readFile(path, "utf8")).match(
            /-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----\n/g,
        ) ?? [];
    const parts: string[] = [];
    for (const [index, block] of blocks.entries()) {
        const part = `${path}.part-${index + 1}.pem`;
        await writeFile(part, block);
        parts.push(part);
    }
    return parts;
}

/** `openssl crl -CAfile <issuer>` on one CRL: its exit code and everything it printed. */
async function checkCrlSignature(
    crl: string,
    issuer: string,
): Promise<{ code: number | null; output: string }> {
    const result = await openssl(["crl", "-in", crl, "-CAfile", issuer, "-noout"]);
    return { code: result.code, output: result.stderr + result.stdout };
}

/** openssl's view of one CRL: issuer line, dates, CRL number, revoked serials (lowercase). */
async function describeCrl(path: string): Promise<{
    issuer: string;
    lastUpdate: number;
    nextUpdate: number;
    crlNumber: number;
    serials: string[];
    text: string;
}> {
    const result = await openssl(["crl", "-in", path, "-noout", "-text"]);
    assert.equal(result.code, 0, result.stderr);
    const text = result.stdout;
    return {
        issuer: /Issuer: (.*)/.exec(text)?.[1] ?? "",
        lastUpdate: Date.parse(/Last Update: (.*)/.exec(text)?.[1] ?? ""),
        nextUpdate: Date.parse(/Next Update: (.*)/.exec(text)?.[1] ?? ""),
        crlNumber: Number(/CRL Number: *\n? *(\d+)/.exec(text)?.[1]),
        serials: [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((match) =>
            (match[1] ?? "").toLowerCase(),
        ),
        text,
    };
}

async function serialOf(certPath: string): Promise<string> {
    const result = await openssl(["x509", "-in", certPath, "-noout", "-serial"]);
    return (/serial=([0-9A-F]+)/.exec(result.stdout)?.[1] ?? "")
        .toLowerCase()
        .replace(/^(00)+/, "");
}

before(async () => {
    work = await mkdtemp(join(tmpdir(), "pki-cli-crl-"));
    const cfsslDir = join(work, "cfssl");
    await mkdir(cfsslDir);
    chain = await makeCfsslChain(cfsslDir);
    devices = join(work, "devices");
    const issued = await runScript("cert-device", [
        "--ca-cert",
        chain.intermediateCert,
        "--ca-key",
        chain.intermediateKey,
        "--prefix",
        "DEV-",
        "--count",
        "3",
        "--out",
        devices,
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    revocationsDir = join(work, "revocations");
    await mkdir(revocationsDir);
});

after(async () => {
    await rm(work, { recursive: true, force: true });
});

describe("revoke then crl", () => {
    let crlPath: string;
    let revokedSerial: string;

    before(async () => {
        revokedSerial = await serialOf(join(devices, "DEV-0002.crt"));
        const revoked = await runScript("revoke", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            "--cert",
            join(devices, "DEV-0002.crt"),
            "--reason",
            "keyCompromise",
        ]);
        assert.equal(revoked.code, 0, revoked.stderr);
        crlPath = join(work, "crl.pem");
        const built = await runScript("crl", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            ...chainFlags(),
            "--out",
            crlPath,
        ]);
        assert.equal(built.code, 0, built.stderr);
    });

    test("the revocation file holds a validated entry for the certificate", async () => {
        const file = JSON.parse(await readFile(join(revocationsDir, "ci.json"), "utf8"));
        assert.equal(file.revoked.length, 1);
        const [entry] = file.revoked;
        assert.equal(entry.serial, revokedSerial);
        assert.equal(entry.commonName, "DEV-0002");
        assert.equal(entry.reason, "keyCompromise");
        assert.ok(Math.abs(Date.parse(entry.revokedAt) - Date.now()) < 120_000);
        const aki = await openssl([
            "x509",
            "-in",
            join(devices, "DEV-0002.crt"),
            "-noout",
            "-ext",
            "authorityKeyIdentifier",
        ]);
        assert.equal(
            entry.issuerKeyId,
            (/([0-9A-F]{2}(:[0-9A-F]{2})+)/.exec(aki.stdout)?.[1] ?? "")
                .replaceAll(":", "")
                .toLowerCase(),
        );
    });

    test("revoking again changes nothing", async () => {
        const path = join(revocationsDir, "ci.json");
        const before = await readFile(path, "utf8");
        const again = await runScript("revoke", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            "--cert",
            join(devices, "DEV-0002.crt"),
            "--reason",
            "superseded",
        ]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /^already revoked: serial [0-9a-f]+ \(DEV-0002, keyCompromise/);
        assert.equal(await readFile(path, "utf8"), before);
    });

    test("the file holds the intermediate's CRL and the root's, each signed by its CA", async () => {
        const [intermediatePart, rootPart, extra] = await splitCrls(crlPath);
        assert.ok(intermediatePart && rootPart && extra === undefined, "exactly two CRLs");
        const intermediateCheck = await checkCrlSignature(intermediatePart, chain.intermediateCert);
        assert.equal(intermediateCheck.code, 0, intermediateCheck.output);
        assert.match(intermediateCheck.output, /verify OK/);
        const rootCheck = await checkCrlSignature(rootPart, chain.rootCert);
        assert.equal(rootCheck.code, 0, rootCheck.output);
        assert.match(rootCheck.output, /verify OK/);
        // And not the other way round: the signature really is the issuer's.
        const crossed = await checkCrlSignature(intermediatePart, chain.rootCert);
        assert.doesNotMatch(crossed.output, /verify OK/);

        const intermediate = await describeCrl(intermediatePart);
        const root = await describeCrl(rootPart);
        assert.match(intermediate.issuer, /CN ?= ?intermediate\.emqx\.com/);
        assert.match(root.issuer, /CN ?= ?emqx\.com$/);
        assert.deepEqual(intermediate.serials, [revokedSerial]);
        assert.match(intermediate.text, /Key Compromise/);
        assert.deepEqual(root.serials, []);
    });

    test("dates follow the policy: valid 30 days from a 20-day grid, reissued with 10 left", async () => {
        const [intermediatePart, rootPart] = await splitCrls(crlPath);
        const root = await describeCrl(rootPart ?? "");
        const intermediate = await describeCrl(intermediatePart ?? "");
        const now = Date.now();
        // Root CRL (nothing revoked): thisUpdate is the start of the current 20-day window.
        assert.equal(root.lastUpdate % (20 * dayMs), 0, new Date(root.lastUpdate).toISOString());
        assert.ok(root.lastUpdate <= now && now < root.lastUpdate + 20 * dayMs);
        assert.equal(root.nextUpdate - root.lastUpdate, 30 * dayMs);
        assert.ok(root.nextUpdate - now >= 10 * dayMs, "at least the refresh margin left");
        // Intermediate CRL: dated at the revocation (so it supersedes the window's first CRL),
        // same nextUpdate; CRL numbers are thisUpdate in Unix seconds, so they increase.
        assert.equal(intermediate.nextUpdate, root.nextUpdate);
        assert.ok(intermediate.lastUpdate >= root.lastUpdate && intermediate.lastUpdate <= now);
        assert.equal(intermediate.crlNumber, intermediate.lastUpdate / 1000);
        assert.equal(root.crlNumber, root.lastUpdate / 1000);
    });

    test("rebuilding in the same window gives the same file (RSA CAs sign deterministically)", async () => {
        const again = join(work, "crl-again.pem");
        const built = await runScript("crl", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            ...chainFlags(),
            "--out",
            again,
        ]);
        assert.equal(built.code, 0, built.stderr);
        assert.equal(await readFile(again, "utf8"), await readFile(crlPath, "utf8"));
    });

    test("--out - writes exactly the same PEMs to stdout and the summary to stderr", async () => {
        const built = await runScript("crl", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            ...chainFlags(),
            "--out",
            "-",
        ]);
        assert.equal(built.code, 0, built.stderr);
        assert.equal(built.stdout, await readFile(crlPath, "utf8"));
        assert.match(built.stderr, /^crl: .*nextUpdate/);
    });

    test("openssl -crl_check_all rejects the revoked device and accepts the others", async () => {
        const revoked = await verifyWithCrl(chain, crlPath, join(devices, "DEV-0002.crt"));
        assert.notEqual(revoked.code, 0);
        assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
        for (const good of ["DEV-0001.crt", "DEV-0003.crt"]) {
            const accepted = await verifyWithCrl(chain, crlPath, join(devices, good));
            assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
        }
    });

    test("HAProxy loads the file as crl-file next to the seed's CA files", async () => {
        const config = await writeCrlBindConfig(work, chain, crlPath);
        const checked = await haproxyCheck(config);
        assert.equal(checked.code, 0, checked.stdout + checked.stderr);
        const broken = join(work, "broken-crl.pem");
        await writeFile(broken, "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
        await writeFile(config, (await readFile(config, "utf8")).replace(crlPath, broken));
        const refused = await haproxyCheck(config);
        assert.notEqual(refused.code, 0, "haproxy -c does read the CRL file");
    });
});

describe("crl --check", () => {
    // A pinned time some weeks ahead (inside the cfssl CAs' validity), to the second.
    const pinned = Math.floor((Date.now() + 45 * dayMs) / 1000) * 1000;
    // The policy spelled out independently of pki/crl.ts: 20-day windows from the epoch.
    const windowStart = Math.floor(pinned / (20 * dayMs)) * 20 * dayMs;
    let crlPath: string;

    before(async () => {
        crlPath = join(work, "check-crl.pem");
        const built = await runScript("crl", [
            "--stack",
            "none-revoked",
            "--dir",
            revocationsDir,
            ...chainFlags(),
            "--out",
            crlPath,
            "--now",
            new Date(pinned).toISOString(),
        ]);
        assert.equal(built.code, 0, built.stderr);
    });

    test("--now pins the window: thisUpdate at the window start, nextUpdate 30 days later", async () => {
        const parts = await splitCrls(crlPath);
        assert.equal(parts.length, 2);
        for (const part of parts) {
            const described = await describeCrl(part);
            assert.equal(described.lastUpdate, windowStart);
            assert.equal(described.nextUpdate, windowStart + 30 * dayMs);
            assert.deepEqual(described.serials, []);
        }
    });

    test("ok while at least 10 days are left, exit 0", async () => {
        const result = await runScript("crl", [
            "--check",
            crlPath,
            "--now",
            new Date(windowStart + 19 * dayMs).toISOString(),
        ]);
        assert.equal(result.code, 0, result.stderr);
        const lines = result.stdout.trim().split("\n");
        assert.equal(lines.length, 2);
        for (const line of lines)
            assert.match(
                line,
                /^ok .*nextUpdate .*, 11\.0 days left \(reissue under 10\), 0 revoked$/,
            );
    });

    test("DUE under the threshold and EXPIRED after nextUpdate, exit 1", async () => {
        const due = await runScript("crl", [
            "--check",
            crlPath,
            "--now",
            new Date(windowStart + 25 * dayMs).toISOString(),
        ]);
        assert.equal(due.code, 1);
        assert.match(due.stdout, /^DUE .*5\.0 days left/m);
        assert.match(due.stderr, /need reissuing/);
        const expired = await runScript("crl", [
            "--check",
            crlPath,
            "--now",
            new Date(windowStart + 31 * dayMs).toISOString(),
        ]);
        assert.equal(expired.code, 1);
        assert.match(expired.stdout, /^EXPIRED .*-1\.0 days left/m);
        // A custom threshold moves the line.
        const custom = await runScript("crl", [
            "--check",
            crlPath,
            "--refresh-days",
            "3",
            "--now",
            new Date(windowStart + 25 * dayMs).toISOString(),
        ]);
        assert.equal(custom.code, 0, custom.stdout);
    });
});

describe("revocation of the intermediate goes into the root's CRL", () => {
    test("every device under a revoked intermediate is rejected", async () => {
        const revoked = await runScript("revoke", [
            "--stack",
            "ca-compromise",
            "--dir",
            revocationsDir,
            "--cert",
            chain.intermediateCert,
            "--reason",
            "cACompromise",
        ]);
        assert.equal(revoked.code, 0, revoked.stderr);
        const crlPath = join(work, "ca-compromise.pem");
        const built = await runScript("crl", [
            "--stack",
            "ca-compromise",
            "--dir",
            revocationsDir,
            ...chainFlags(),
            "--out",
            crlPath,
        ]);
        assert.equal(built.code, 0, built.stderr);
        const [intermediatePart, rootPart] = await splitCrls(crlPath);
        assert.deepEqual((await describeCrl(intermediatePart ?? "")).serials, []);
        assert.deepEqual((await describeCrl(rootPart ?? "")).serials, [
            await serialOf(chain.intermediateCert),
        ]);
        const result = await verifyWithCrl(chain, crlPath, join(devices, "DEV-0001.crt"));
        assert.notEqual(result.code, 0);
        assert.match(
            result.stdout + result.stderr,
            /depth 1.*\n?.*certificate revoked|certificate revoked/,
        );
    });
});

describe("bad input: one line, exit 2", () => {
    test("revoke: unknown reason, missing stack, bad serial", async () => {
        const reason = await runScript("revoke", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            "--cert",
            join(devices, "DEV-0001.crt"),
            "--reason",
            "lost",
        ]);
        assert.equal(reason.code, 2);
        assert.deepEqual(stderrLines(reason), [
            'cert:revoke: error: --reason "lost": unknown reason; allowed: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise',
        ]);
        const stack = await runScript("revoke", [
            "--stack",
            "../etc",
            "--dir",
            revocationsDir,
            "--cert",
            join(devices, "DEV-0001.crt"),
            "--reason",
            "superseded",
        ]);
        assert.equal(stack.code, 2);
        assert.match(stack.stderr, /^cert:revoke: error: --stack "\.\.\/etc": not a stack name/);
        const serial = await runScript("revoke", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            "--serial",
            "xyz",
            "--cn",
            "D",
            "--issuer-cert",
            chain.intermediateCert,
            "--reason",
            "superseded",
        ]);
        assert.equal(serial.code, 2);
        assert.match(serial.stderr, /--serial "xyz": not a serial number/);
        assert.deepEqual((await readdir(revocationsDir)).includes("..etc.json"), false);
    });

    test("revoke --serial records the issuer's key id; crl refuses entries of a CA not in the chain", async () => {
        const foreign = await createThrowawayCa({ commonName: "some other CA", validityDays: 2 });
        const foreignPath = join(work, "foreign-ca.pem");
        await writeFile(foreignPath, foreign.certificatePem);
        const revoked = await runScript("revoke", [
            "--stack",
            "foreign",
            "--dir",
            revocationsDir,
            "--serial",
            "0A:BC",
            "--cn",
            "ELSEWHERE-1",
            "--issuer-cert",
            foreignPath,
            "--reason",
            "superseded",
        ]);
        assert.equal(revoked.code, 0, revoked.stderr);
        const file = JSON.parse(await readFile(join(revocationsDir, "foreign.json"), "utf8"));
        assert.equal(file.revoked[0].serial, "0abc");
        const built = await runScript("crl", [
            "--stack",
            "foreign",
            "--dir",
            revocationsDir,
            ...chainFlags(),
            "--out",
            join(work, "never.pem"),
        ]);
        assert.equal(built.code, 2);
        assert.equal(stderrLines(built).length, 1);
        assert.match(
            built.stderr,
            /serial 0abc \(ELSEWHERE-1\) was issued by key id [0-9a-f]+, which is neither CA given/,
        );
        assert.equal((await readdir(work)).includes("never.pem"), false);
    });

    test("crl: a missing CA, a hand-edited file with a bad reason", async () => {
        const missing = await runScript("crl", [
            "--stack",
            "ci",
            "--dir",
            revocationsDir,
            "--intermediate-cert",
            chain.intermediateCert,
            "--intermediate-key",
            chain.intermediateKey,
            "--out",
            join(work, "x.pem"),
        ]);
        assert.equal(missing.code, 2);
        assert.match(
            missing.stderr,
            /^crl: error: --root-cert: missing \(HAProxy needs a CRL from every CA in the chain\)/,
        );
        const edited = join(work, "edited.json");
        await writeFile(
            edited,
            JSON.stringify({
                revoked: [
                    {
                        serial: "0abc",
                        commonName: "X",
                        reason: "stolen",
                        revokedAt: "2026-01-01T00:00:00.000Z",
                        issuerKeyId: "ab",
                    },
                ],
            }),
        );
        const bad = await runScript("crl", [
            "--revocations",
            edited,
            ...chainFlags(),
            "--out",
            join(work, "x.pem"),
        ]);
        assert.equal(bad.code, 2);
        assert.deepEqual(stderrLines(bad).length, 1);
        assert.match(
            bad.stderr,
            /edited\.json: revoked\[0\]\.reason "stolen": unknown reason; allowed: unspecified, keyCompromise/,
        );
    });
});
