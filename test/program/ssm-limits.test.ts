/**
 * No SSM value can outgrow its tier at the sizes the configuration allows: the program, under
 * mocks, at the largest settings the schema accepts (RSA-4096 everywhere, the most and longest
 * device domains, the most nodes and instances, the longest license key). Parameters use the
 * Intelligent-Tiering tier, so the hard limit is the advanced tier's 8 KB
 * (shared/reference/corrections.md); CRLs, which grow with every revocation, are S3 objects.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import {
    MAX_CA_CERT_PEM_CHARS,
    MAX_DEVICE_DOMAINS,
    MAX_LICENSE_KEY_CHARS,
} from "../../infra/config-schema.ts";
import { runProgram } from "./program-process.ts";
import type { ProgramRun } from "./run-program.ts";

const ADVANCED_TIER_BYTES = 8192;

/** A DNS name of exactly 253 characters, distinct per index. */
function longestName(index: number): string {
    const label = "a".repeat(63);
    const name = [label, label, label, "b".repeat(61)].join(".");
    return `${index}${name.slice(String(index).length)}`;
}

let r: ProgramRun;
before(async () => {
    r = await runProgram("dev", [
        'pki.serverKeyAlgorithms=["rsa-4096","ecdsa-p384"]',
        'pki.caKeyAlgorithm="rsa-4096"',
        "emqx.nodes=32",
        "haproxy.instances=50",
        `deviceDomains=${JSON.stringify(Array.from({ length: MAX_DEVICE_DOMAINS }, (_, i) => longestName(i)))}`,
        `emqxLicenseKey=${JSON.stringify("K".repeat(MAX_LICENSE_KEY_CHARS))}`,
    ]);
});

test("every SSM value fits the advanced tier at the largest configuration", () => {
    const sizes = r.resources
        .filter((x) => x.type === "aws:ssm/parameter:Parameter")
        .map((x) => ({
            name: String(x.inputs.name),
            tier: x.inputs.tier,
            bytes: Buffer.byteLength(String(x.inputs.value)),
        }));
    assert.ok(sizes.length >= 6, "haproxy.cfg, server PEMs, CAs, emqx.conf, secrets.env");
    assert.ok(
        sizes.some((p) => p.name.endsWith("/secrets.env") && p.bytes > MAX_LICENSE_KEY_CHARS),
        "the license key reached the secrets file",
    );
    for (const p of sizes) {
        assert.equal(p.tier, "Intelligent-Tiering", p.name);
        assert.ok(p.bytes <= ADVANCED_TIER_BYTES, `${p.name}: ${p.bytes} bytes`);
    }
    // A bring-your-own intermediate may be larger than ours, up to the schema's cap; it rides in
    // every server PEM, so the largest one must still fit with it.
    const ours = sizes.find((p) => p.name.endsWith("/device-intermediate.pem"))?.bytes ?? 0;
    const largestServer = Math.max(
        ...sizes.filter((p) => /\/server-[^/]+\.pem$/.test(p.name)).map((p) => p.bytes),
    );
    assert.ok(ours > 0 && largestServer > 0);
    assert.ok(
        largestServer - ours + MAX_CA_CERT_PEM_CHARS <= ADVANCED_TIER_BYTES,
        `largest server PEM with a ${MAX_CA_CERT_PEM_CHARS}-character intermediate: ${largestServer - ours + MAX_CA_CERT_PEM_CHARS} bytes`,
    );
});

test("the CRLs are an S3 object, not an SSM parameter", () => {
    const parameters = r.resources.filter((x) => x.type === "aws:ssm/parameter:Parameter");
    assert.ok(parameters.every((p) => !String(p.inputs.value).includes("BEGIN X509 CRL")));
    assert.ok(parameters.every((p) => !/crl/i.test(String(p.inputs.name))));
    const objects = r.resources.filter((x) => x.type === "aws:s3/bucketObjectv2:BucketObjectv2");
    assert.equal(objects.length, 1);
    assert.match(String(objects[0]?.inputs.content), /^-----BEGIN X509 CRL-----/);
});
