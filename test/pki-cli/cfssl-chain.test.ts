import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type CfsslChain, cfsslSeedFixtureDir, makeCfsslChain } from "../support/cfssl-chain.ts";
import { openssl } from "./run-process.ts";

let work: string;
let chain: CfsslChain;

before(async () => {
    work = await mkdtemp(join(tmpdir(), "pki-cli-cfssl-"));
    chain = await makeCfsslChain(work);
});

after(async () => {
    await rm(work, { recursive: true, force: true });
});

test("the seed's JSON files are copied byte for byte", async () => {
    for (const name of [
        "config.json",
        "root.json",
        "intermediate.json",
        "device-a-csr.json",
        "emqx-server-csr.json",
    ]) {
        assert.equal(
            await readFile(join(work, name), "utf8"),
            await readFile(join(cfsslSeedFixtureDir, name), "utf8"),
        );
    }
    const config = JSON.parse(await readFile(join(work, "config.json"), "utf8"));
    assert.deepEqual(config.signing.profiles.intermediate.ca_constraint, {
        is_ca: true,
        max_path_len: 1,
    });
});

test("cfssl makes the seed's chain: device-a under the intermediate, server under the root", async () => {
    const device = await openssl([
        "verify",
        "-CAfile",
        chain.rootCert,
        "-untrusted",
        chain.intermediateCert,
        chain.deviceCert,
    ]);
    assert.equal(device.code, 0, device.stdout + device.stderr);
    const server = await openssl(["verify", "-CAfile", chain.rootCert, chain.serverCert]);
    assert.equal(server.code, 0, server.stdout + server.stderr);
    const intermediate = await openssl([
        "x509",
        "-in",
        chain.intermediateCert,
        "-noout",
        "-ext",
        "basicConstraints,keyUsage",
    ]);
    assert.match(intermediate.stdout, /CA:TRUE, pathlen:1/);
    assert.match(intermediate.stdout, /Certificate Sign, CRL Sign/);
    for (const key of [chain.rootKey, chain.intermediateKey, chain.deviceKey, chain.serverKey]) {
        assert.equal(((await stat(key)).mode & 0o777).toString(8), "600", key);
    }
});

test("what cfssl warns about, and the seed's quirks the helper documents", async () => {
    // One "lacks a hosts field" warning per `gencert -ca=...` (intermediate, device, server).
    assert.equal(
        chain.warnings.filter((warning) => warning.includes('lacks a "hosts" field')).length,
        3,
        chain.warnings.join("\n"),
    );
    // The device profile gives device certs serverAuth as well as clientAuth.
    const device = await openssl([
        "x509",
        "-in",
        chain.deviceCert,
        "-noout",
        "-ext",
        "extendedKeyUsage",
    ]);
    assert.match(device.stdout, /TLS Web Client Authentication, TLS Web Server Authentication/);
    // The server cert has no subjectAltName at all.
    const server = await openssl([
        "x509",
        "-in",
        chain.serverCert,
        "-noout",
        "-ext",
        "subjectAltName",
    ]);
    assert.doesNotMatch(server.stdout, /DNS:/);
    // The intermediate (700800h) outlives the root (cfssl's 5-year -initca default).
    const end = async (path: string) =>
        Date.parse(
            (await openssl(["x509", "-in", path, "-noout", "-enddate"])).stdout.replace(
                "notAfter=",
                "",
            ),
        );
    assert.ok((await end(chain.intermediateCert)) > (await end(chain.rootCert)));
});
