/**
 * pki/der-key-usage.ts reads KeyUsage from DER without @peculiar/x509; it must agree with that
 * library on real certificates: the seed's cfssl chain, and openssl-made ones with and without
 * the extension.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate as NodeCertificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import {
    BasicConstraintsExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    X509Certificate,
} from "@peculiar/x509";
import { hasKeyUsage, isCaByBasicConstraints, keyUsageBits } from "../../pki/der-key-usage.ts";
import { makeCfsslChain } from "../support/cfssl-chain.ts";

const run = promisify(execFile);
let dir: string;
const pems: Record<string, string> = {};

async function selfSigned(name: string, extensions: string[]): Promise<void> {
    await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        join(dir, `${name}-key.pem`),
        "-out",
        join(dir, `${name}.pem`),
        "-subj",
        `/CN=${name}`,
        "-days",
        "2",
        ...extensions.flatMap((e) => ["-addext", e]),
    ]);
    pems[name] = await readFile(join(dir, `${name}.pem`), "utf8");
}

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mqtt-edge-key-usage-"));
    await mkdir(join(dir, "cfssl"));
    const chain = await makeCfsslChain(join(dir, "cfssl"));
    pems.root = await readFile(chain.rootCert, "utf8");
    pems.intermediate = await readFile(chain.intermediateCert, "utf8");
    pems.device = await readFile(chain.deviceCert, "utf8");
    await selfSigned("ca-without-cert-sign", [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,cRLSign",
    ]);
    await selfSigned("ca-cert-sign-only", [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=keyCertSign",
    ]);
});
after(async () => {
    await rm(dir, { recursive: true, force: true });
});

test("KeyUsage bits read from DER agree with @peculiar/x509", () => {
    const flags = {
        digitalSignature: KeyUsageFlags.digitalSignature,
        keyCertSign: KeyUsageFlags.keyCertSign,
        cRLSign: KeyUsageFlags.cRLSign,
    } as const;
    let compared = 0;
    for (const [name, pem] of Object.entries(pems)) {
        const der = new NodeCertificate(pem).raw;
        const usage = new X509Certificate(pem).getExtension(KeyUsagesExtension);
        for (const bit of Object.keys(keyUsageBits) as (keyof typeof keyUsageBits)[]) {
            const expected = usage === null ? undefined : (usage.usages & flags[bit]) !== 0;
            assert.equal(hasKeyUsage(der, keyUsageBits[bit]), expected, `${name} ${bit}`);
            compared++;
        }
    }
    assert.equal(compared, 15);
    assert.equal(
        hasKeyUsage(new NodeCertificate(pems["ca-without-cert-sign"] ?? "").raw, 5),
        false,
    );
    assert.equal(hasKeyUsage(new NodeCertificate(pems["ca-cert-sign-only"] ?? "").raw, 5), true);
});

test("basicConstraints cA read from DER agrees with @peculiar/x509", () => {
    const answers: Record<string, boolean> = {};
    for (const [name, pem] of Object.entries(pems)) {
        const expected =
            new X509Certificate(pem).getExtension(BasicConstraintsExtension)?.ca === true;
        answers[name] = isCaByBasicConstraints(new NodeCertificate(pem).raw);
        assert.equal(answers[name], expected, name);
    }
    assert.deepEqual(answers, {
        root: true,
        intermediate: true,
        device: false,
        "ca-without-cert-sign": true,
        "ca-cert-sign-only": true,
    });
});

test("bytes that are no certificate read as no KeyUsage, without throwing", () => {
    assert.equal(hasKeyUsage(new Uint8Array([0x30, 0x82, 0xff]), 5), undefined);
    assert.equal(hasKeyUsage(new Uint8Array(), 5), undefined);
    assert.equal(isCaByBasicConstraints(new Uint8Array([0x30, 0x00])), false);
});
