import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type CfsslChain, makeCfsslChain } from "../support/cfssl-chain.ts";
import { openssl, runScript, stderrLines } from "./run-process.ts";

let work: string;
let chain: CfsslChain;
let outCount = 0;

/** A fresh, empty output folder. */
async function freshOut(): Promise<string> {
    outCount++;
    const dir = join(work, `out-${outCount}`);
    await mkdir(dir);
    return dir;
}

function caFlags(): string[] {
    return ["--ca-cert", chain.intermediateCert, "--ca-key", chain.intermediateKey];
}

async function verifyAgainstSeedChain(files: string[]): Promise<void> {
    const result = await openssl([
        "verify",
        "-CAfile",
        chain.rootCert,
        "-untrusted",
        chain.intermediateCert,
        "-purpose",
        "sslclient",
        ...files,
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    for (const file of files) assert.match(result.stdout, new RegExp(`${file}: OK`));
}

before(async () => {
    work = await mkdtemp(join(tmpdir(), "pki-cli-cert-device-"));
    const cfsslDir = join(work, "cfssl");
    await mkdir(cfsslDir);
    chain = await makeCfsslChain(cfsslDir);
});

after(async () => {
    await rm(work, { recursive: true, force: true });
});

// Tests in these suites use their own out dirs and input files, so they run side by side.
describe("cert-device with the seed's cfssl chain", { concurrency: 3 }, () => {
    test("issues one device cert that openssl verifies, clientAuth only, key 0600", async () => {
        const out = await freshOut();
        const result = await runScript("cert-device", [
            ...caFlags(),
            "--cn",
            "DEVICE-0001",
            "--out",
            out,
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, "", "a single cert prints no progress");
        assert.deepEqual((await readdir(out)).sort(), [
            "DEVICE-0001.chain.pem",
            "DEVICE-0001.crt",
            "DEVICE-0001.key",
        ]);
        const crt = join(out, "DEVICE-0001.crt");
        await verifyAgainstSeedChain([crt]);

        const text = await openssl([
            "x509",
            "-in",
            crt,
            "-noout",
            "-subject",
            "-ext",
            "extendedKeyUsage,keyUsage,basicConstraints",
        ]);
        assert.match(text.stdout, /subject=CN ?= ?DEVICE-0001/);
        assert.match(text.stdout, /TLS Web Client Authentication/);
        assert.doesNotMatch(text.stdout, /TLS Web Server Authentication/);
        assert.match(text.stdout, /CA:FALSE/);
        assert.match(text.stdout, /Digital Signature/);

        const keyMode = (await stat(join(out, "DEVICE-0001.key"))).mode & 0o777;
        assert.equal(keyMode.toString(8), "600");

        // The key belongs to the certificate.
        const certPublic = await openssl(["x509", "-in", crt, "-noout", "-pubkey"]);
        const keyPublic = await openssl(["pkey", "-in", join(out, "DEVICE-0001.key"), "-pubout"]);
        assert.equal(keyPublic.stdout, certPublic.stdout);

        // The chain file is the device cert followed by the intermediate.
        const chainPem = await readFile(join(out, "DEVICE-0001.chain.pem"), "utf8");
        const intermediatePem = await readFile(chain.intermediateCert, "utf8");
        assert.ok(chainPem.startsWith(await readFile(crt, "utf8")));
        const intermediateBody = intermediatePem.replace(/-----[A-Z ]+-----|\s/g, "");
        assert.ok(chainPem.replace(/\s/g, "").includes(intermediateBody));
        assert.equal(chainPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    });

    test("NotBefore is backdated by one hour for device clock skew", async () => {
        const out = await freshOut();
        const issuedAround = Date.now();
        const result = await runScript("cert-device", [
            ...caFlags(),
            "--cn",
            "SKEW-1",
            "--out",
            out,
            "--days",
            "10",
        ]);
        assert.equal(result.code, 0, result.stderr);
        const dates = await openssl([
            "x509",
            "-in",
            join(out, "SKEW-1.crt"),
            "-noout",
            "-startdate",
            "-enddate",
        ]);
        const notBefore = Date.parse(/notBefore=(.*)/.exec(dates.stdout)?.[1] ?? "");
        const notAfter = Date.parse(/notAfter=(.*)/.exec(dates.stdout)?.[1] ?? "");
        const hour = 3_600_000;
        assert.ok(Math.abs(issuedAround - hour - notBefore) < 60_000, dates.stdout);
        assert.ok(Math.abs(issuedAround + 10 * 24 * hour - notAfter) < 60_000, dates.stdout);
    });

    test("a batch of 100 draws no progress when stderr is not a terminal; every cert verifies", async () => {
        const out = await freshOut();
        const result = await runScript("cert-device", [
            ...caFlags(),
            "--prefix",
            "DEVICE-",
            "--count",
            "100",
            "--out",
            out,
        ]);
        assert.equal(result.code, 0, result.stderr);
        // The progress line itself is tested in test/scripts/progress.test.ts; a pipe gets none.
        assert.equal(result.stderr, "");
        assert.match(result.stdout, /^wrote 100 device certificates to /);
        const certs = (await readdir(out)).filter((name) => name.endsWith(".crt")).sort();
        assert.equal(certs.length, 100);
        assert.equal(certs[0], "DEVICE-0001.crt");
        assert.equal(certs[99], "DEVICE-0100.crt");
        assert.equal((await readdir(out)).length, 300);
        await verifyAgainstSeedChain(certs.map((name) => join(out, name)));
    });

    test("--cn-file issues one cert per line, skipping blanks and comments, CRLF tolerated", async () => {
        const out = await freshOut();
        const list = join(work, "cns.txt");
        await writeFile(list, "# pilot devices\r\nPUMP-7\r\n\r\nvalve_12\r\nmeter.3\r\n");
        const result = await runScript("cert-device", [
            ...caFlags(),
            "--cn-file",
            list,
            "--out",
            out,
        ]);
        assert.equal(result.code, 0, result.stderr);
        const certs = (await readdir(out)).filter((name) => name.endsWith(".crt")).sort();
        assert.deepEqual(certs, ["PUMP-7.crt", "meter.3.crt", "valve_12.crt"]);
        await verifyAgainstSeedChain(certs.map((name) => join(out, name)));
    });

    test("--root-cert appends the root to the chain file", async () => {
        const out = await freshOut();
        const result = await runScript("cert-device", [
            ...caFlags(),
            "--root-cert",
            chain.rootCert,
            "--cn",
            "ROOTED-1",
            "--out",
            out,
        ]);
        assert.equal(result.code, 0, result.stderr);
        const chainPem = await readFile(join(out, "ROOTED-1.chain.pem"), "utf8");
        assert.equal(chainPem.match(/BEGIN CERTIFICATE/g)?.length, 3);
        const split = join(out, "untrusted.pem");
        await writeFile(split, chainPem);
        const verified = await openssl([
            "verify",
            "-CAfile",
            chain.rootCert,
            "-untrusted",
            split,
            join(out, "ROOTED-1.crt"),
        ]);
        assert.equal(verified.code, 0, verified.stderr);
    });

    test("--algorithm rsa gives an RSA key with keyEncipherment", async () => {
        const out = await freshOut();
        const result = await runScript("cert-device", [
            ...caFlags(),
            "--algorithm",
            "rsa",
            "--rsa-bits",
            "2048",
            "--cn",
            "RSA-1",
            "--out",
            out,
        ]);
        assert.equal(result.code, 0, result.stderr);
        const text = await openssl(["x509", "-in", join(out, "RSA-1.crt"), "-noout", "-text"]);
        assert.match(text.stdout, /Public-Key: \(2048 bit\)/);
        assert.match(text.stdout, /rsaEncryption/);
        assert.match(text.stdout, /Digital Signature, Key Encipherment/);
        await verifyAgainstSeedChain([join(out, "RSA-1.crt")]);
    });

    test("--curve P-384 gives a P-384 key", async () => {
        const out = await freshOut();
        const result = await runScript("cert-device", [
            ...caFlags(),
            "--curve",
            "P-384",
            "--cn",
            "EC384-1",
            "--out",
            out,
        ]);
        assert.equal(result.code, 0, result.stderr);
        const text = await openssl(["x509", "-in", join(out, "EC384-1.crt"), "-noout", "-text"]);
        assert.match(text.stdout, /NIST CURVE: P-384/);
    });

    test("--stack-outputs - reads the CA from pulumi stack output JSON on stdin", async () => {
        const out = await freshOut();
        const outputs = {
            intermediateCertPem: await readFile(chain.intermediateCert, "utf8"),
            intermediateKeyPem: await readFile(chain.intermediateKey, "utf8"),
            rootCertPem: await readFile(chain.rootCert, "utf8"),
        };
        const result = await runScript(
            "cert-device",
            ["--stack-outputs", "-", "--cn", "STACK-1", "--out", out],
            {
                input: JSON.stringify(outputs),
            },
        );
        assert.equal(result.code, 0, result.stderr);
        await verifyAgainstSeedChain([join(out, "STACK-1.crt")]);
        // rootCertPem was used: the chain file carries the root too.
        const chainPem = await readFile(join(out, "STACK-1.chain.pem"), "utf8");
        assert.equal(chainPem.match(/BEGIN CERTIFICATE/g)?.length, 3);
    });

    test("an existing output is refused without --force and replaced (still 0600) with it", async () => {
        const out = await freshOut();
        const first = await runScript("cert-device", [
            ...caFlags(),
            "--cn",
            "AGAIN-1",
            "--out",
            out,
        ]);
        assert.equal(first.code, 0, first.stderr);
        const before = await readFile(join(out, "AGAIN-1.crt"), "utf8");
        const refused = await runScript("cert-device", [
            ...caFlags(),
            "--cn",
            "AGAIN-1",
            "--out",
            out,
        ]);
        assert.equal(refused.code, 2);
        assert.deepEqual(stderrLines(refused).length, 1);
        assert.match(
            refused.stderr,
            /AGAIN-1\.(key|crt|chain\.pem)": already exists; allowed: .*--force/,
        );
        assert.equal(await readFile(join(out, "AGAIN-1.crt"), "utf8"), before);
        const forced = await runScript("cert-device", [
            ...caFlags(),
            "--cn",
            "AGAIN-1",
            "--out",
            out,
            "--force",
        ]);
        assert.equal(forced.code, 0, forced.stderr);
        assert.notEqual(await readFile(join(out, "AGAIN-1.crt"), "utf8"), before);
        assert.equal(((await stat(join(out, "AGAIN-1.key"))).mode & 0o777).toString(8), "600");
    });
});

describe("cert-device refuses bad input with one line, exit 2, nothing written", {
    concurrency: 3,
}, () => {
    /** Runs with `args` into a fresh empty out dir and checks the refusal; returns the line. */
    async function refused(args: (out: string) => string[]): Promise<string> {
        const out = await freshOut();
        const result = await runScript("cert-device", args(out));
        assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
        const lines = stderrLines(result);
        assert.equal(lines.length, 1, `exactly one stderr line, got ${JSON.stringify(lines)}`);
        assert.equal(result.stdout, "");
        assert.deepEqual(await readdir(out), [], "out dir untouched");
        return lines[0] ?? "";
    }

    test("a CN with a newline: named, escaped, the rule given", async () => {
        const line = await refused((out) => [...caFlags(), "--cn", "DEVICE\n0001", "--out", out]);
        assert.match(
            line,
            /--cn "DEVICE\\n0001": CN contains control character U\+000A at position 7; allowed: 1-64 characters from A-Z a-z 0-9 \. _ -/,
        );
    });

    test("a CN with a carriage return or DEL, and NUL from a --cn-file", async () => {
        for (const [cn, code] of [
            ["A\rB", "000D"],
            ["A\u007fB", "007F"],
        ] as const) {
            const line = await refused((out) => [...caFlags(), "--cn", cn, "--out", out]);
            assert.match(line, new RegExp(`control character U\\+${code}`));
        }
        // argv cannot carry NUL; a CN list file can.
        const list = join(work, "nul.txt");
        await writeFile(list, "GOOD-1\nBAD\u00002\n");
        const line = await refused((out) => [...caFlags(), "--cn-file", list, "--out", out]);
        assert.match(
            line,
            /line 2 "BAD\\u00002": CN contains control character U\+0000 at position 4/,
        );
    });

    test("a CN longer than 64 characters", async () => {
        const line = await refused((out) => [...caFlags(), "--cn", "D".repeat(65), "--out", out]);
        assert.match(line, /CN is 65 characters long; allowed: 1-64 characters/);
    });

    test("CNs with MQTT topic characters, spaces or a leading dot", async () => {
        for (const [cn, problem] of [
            ["site/7", 'contains "/" at position 5'],
            ["dev+1", 'contains "+" at position 4'],
            ["dev#1", 'contains "#" at position 4'],
            ["dev 1", "contains U+0020 at position 4"],
            ["..", 'starts with "."'],
            ["dévice", "contains U+00E9 at position 2"],
        ] as const) {
            const line = await refused((out) => [...caFlags(), "--cn", cn, "--out", out]);
            assert.ok(line.includes(problem), `${cn}: ${line}`);
        }
    });

    test("a duplicate CN in a --cn-file batch, and a bad line names its line number", async () => {
        const duplicates = join(work, "duplicates.txt");
        await writeFile(duplicates, "DEV-1\nDEV-2\ndev-1\n");
        const line = await refused((out) => [...caFlags(), "--cn-file", duplicates, "--out", out]);
        assert.match(line, /CN "dev-1": listed twice in the batch/);
        const badLine = join(work, "bad-line.txt");
        await writeFile(badLine, "DEV-1\nDEV 2\n");
        const line2 = await refused((out) => [...caFlags(), "--cn-file", badLine, "--out", out]);
        assert.match(line2, /line 2 "DEV 2": CN contains U\+0020 at position 4/);
    });

    test("a CA key that does not belong to the CA cert", async () => {
        const line = await refused((out) => [
            "--ca-cert",
            chain.intermediateCert,
            "--ca-key",
            chain.rootKey,
            "--cn",
            "DEVICE-0001",
            "--out",
            out,
        ]);
        assert.match(
            line,
            /--ca-key .*CaRoot-key\.pem: private key does not match the public key of CA .*intermediate\.emqx\.com/,
        );
    });

    test("a CA cert that is not a CA", async () => {
        const line = await refused((out) => [
            "--ca-cert",
            chain.deviceCert,
            "--ca-key",
            chain.deviceKey,
            "--cn",
            "DEVICE-0001",
            "--out",
            out,
        ]);
        assert.match(
            line,
            /--ca-cert .*device-a\.pem: certificate .*DEVICEAXXXXXXXX" is not a CA \(basicConstraints CA:FALSE\); allowed: a CA certificate/,
        );
    });

    test("an unknown flag", async () => {
        const line = await refused((out) => [
            ...caFlags(),
            "--cn",
            "DEVICE-0001",
            "--out",
            out,
            "--valid-for",
            "3",
        ]);
        assert.match(line, /unknown flag "--valid-for"; allowed: --ca-cert, --ca-key, /);
    });

    test("a root that did not sign the CA", async () => {
        const line = await refused((out) => [
            ...caFlags(),
            "--root-cert",
            chain.serverCert,
            "--cn",
            "D-1",
            "--out",
            out,
        ]);
        assert.match(line, /--root-cert .*emqx-server\.pem: .* is not the CA that signed/);
    });

    test("validity beyond the chain's expiry (the seed's root lives 5 years)", async () => {
        const line = await refused((out) => [
            ...caFlags(),
            "--root-cert",
            chain.rootCert,
            "--days",
            "3650",
            "--cn",
            "D-1",
            "--out",
            out,
        ]);
        assert.match(
            line,
            /--days 3650: certificates would outlive their CA chain \(expires .*\); allowed: at most \d+/,
        );
    });

    test("stack outputs without --show-secrets", async () => {
        const outputs = JSON.stringify({
            intermediateCertPem: await readFile(chain.intermediateCert, "utf8"),
            intermediateKeyPem: "[secret]",
        });
        const out = await freshOut();
        const result = await runScript(
            "cert-device",
            ["--stack-outputs", "-", "--cn", "D-1", "--out", out],
            { input: outputs },
        );
        assert.equal(result.code, 2);
        assert.deepEqual(stderrLines(result).length, 1);
        assert.match(
            result.stderr,
            /output intermediateKeyPem is "\[secret\]"; allowed: .*--show-secrets/,
        );
        assert.deepEqual(await readdir(out), []);
    });

    test("no CN source, or two", async () => {
        const none = await refused((out) => [...caFlags(), "--out", out]);
        assert.match(
            none,
            /device names: none given; allowed: exactly one of --cn, --cn-file, --prefix with --count/,
        );
        const two = await refused((out) => [
            ...caFlags(),
            "--cn",
            "A",
            "--prefix",
            "B",
            "--count",
            "2",
            "--out",
            out,
        ]);
        assert.match(two, /given more than one way/);
    });
});
