/**
 * The tls provider fake follows the provider's semantics (see test/support/tls-fake.ts for the
 * sources), checked on real output with openssl. Called directly, without the Pulumi runtime.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { describeCertificate, opensslVerify } from "../support/openssl.ts";
import { composeMocks, unwrapSecrets } from "../support/pulumi-mocks.ts";
import { createTlsFake, tlsResourceTypes } from "../support/tls-fake.ts";

const fake = createTlsFake();
type State = Record<string, string>;

async function create(type: string, name: string, inputs: Record<string, unknown>) {
    const result = await fake.newResource({ type, name, inputs, custom: true });
    return { id: result.id, state: result.state as State };
}

const key = (name: string, inputs: Record<string, unknown>) =>
    create(tlsResourceTypes.privateKey, name, inputs);

/** What the tls SDK sends for a pulumi.secret() input under mocks (facts-pulumi §2.2.4). */
function wrappedSecret(value: string) {
    return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value };
}

async function root(name: string, inputs: Record<string, unknown> = {}) {
    const k = await key(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = await create(tlsResourceTypes.selfSignedCert, name, {
        privateKeyPem: wrappedSecret(k.state.privateKeyPem ?? ""),
        subject: { commonName: `${name} CA`, organization: "fake" },
        isCaCertificate: true,
        maxPathLength: 1,
        validityPeriodHours: 48,
        allowedUses: ["cert_signing", "crl_signing"],
        ...inputs,
    });
    return {
        keyPem: k.state.privateKeyPem ?? "",
        certPem: cert.state.certPem ?? "",
        id: cert.id ?? "",
    };
}

async function issue(
    name: string,
    issuer: { keyPem: string; certPem: string },
    certInputs: Record<string, unknown>,
    csrInputs: Record<string, unknown> = {},
) {
    const k = await key(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await create(tlsResourceTypes.certRequest, `${name}-csr`, {
        privateKeyPem: wrappedSecret(k.state.privateKeyPem ?? ""),
        subject: { commonName: name },
        ...csrInputs,
    });
    const cert = await create(tlsResourceTypes.locallySignedCert, name, {
        certRequestPem: csr.state.certRequestPem,
        caCertPem: issuer.certPem,
        caPrivateKeyPem: wrappedSecret(issuer.keyPem),
        validityPeriodHours: 24,
        allowedUses: ["digital_signature"],
        ...certInputs,
    });
    return {
        keyPem: k.state.privateKeyPem ?? "",
        certPem: cert.state.certPem ?? "",
        state: cert.state,
    };
}

test("PrivateKey defaults follow the provider: ECDSA P-224 (!), RSA 2048; PEM formats", async () => {
    const ecdsa = await key("ec", { algorithm: "ECDSA" });
    assert.equal(ecdsa.state.ecdsaCurve, "P224");
    assert.equal(
        createPrivateKey(ecdsa.state.privateKeyPem ?? "").asymmetricKeyDetails?.namedCurve,
        "secp224r1",
    );
    assert.match(ecdsa.state.privateKeyPem ?? "", /^-----BEGIN EC PRIVATE KEY-----\n/);
    assert.match(ecdsa.state.privateKeyPemPkcs8 ?? "", /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(ecdsa.state.publicKeyPem ?? "", /^-----BEGIN PUBLIC KEY-----\n[\s\S]*\n$/);
    const rsa = await key("rsa", { algorithm: "RSA" });
    assert.equal(
        createPrivateKey(rsa.state.privateKeyPem ?? "").asymmetricKeyDetails?.modulusLength,
        2048,
    );
    assert.match(rsa.state.privateKeyPem ?? "", /^-----BEGIN RSA PRIVATE KEY-----\n/);
    await assert.rejects(key("bad", { algorithm: "DSA" }), /algorithm value must be one of/);
    await assert.rejects(
        key("bad-curve", { algorithm: "ECDSA", ecdsaCurve: "P192" }),
        /ecdsaCurve value must be one of: P224, P256, P384, P521, got "P192"/,
    );
});

test("allowedUses: snake_case only, unknown values rejected like the provider's validator", async () => {
    await assert.rejects(
        root("camel", { allowedUses: ["certSigning"] }),
        /allowedUses\[0\] value must be one of: .*cert_signing.*got "certSigning"/,
    );
    const ca = await root("uses-ca");
    const leaf = await issue("uses-leaf", ca, {
        allowedUses: [
            "digital_signature",
            "key_encipherment",
            "content_commitment",
            "server_auth",
            "client_auth",
            "code_signing",
        ],
    });
    const shown = await describeCertificate(leaf.certPem);
    assert.deepEqual(shown.keyUsage, {
        critical: true,
        usages: ["Digital Signature", "Non Repudiation", "Key Encipherment"],
    });
    assert.deepEqual(shown.extendedKeyUsage, {
        critical: false,
        usages: ["TLS Web Server Authentication", "TLS Web Client Authentication", "Code Signing"],
    });
    const bare = await describeCertificate(
        (await issue("no-uses", ca, { allowedUses: [] })).certPem,
    );
    assert.equal(bare.keyUsage, undefined);
    assert.equal(bare.extendedKeyUsage, undefined);
});

test("self-signed CA: BasicConstraints critical with pathlen, SKI = SHA-1 of the key (as openssl's hash), no AKI", async () => {
    const ca = await root("ski");
    const shown = await describeCertificate(ca.certPem);
    assert.deepEqual(shown.basicConstraints, { critical: true, ca: true, pathLength: 1 });
    assert.equal(shown.authorityKeyId, undefined);
    // openssl's own subjectKeyIdentifier=hash (RFC 5280 method 1) over the same key.
    const dir = await mkdtemp(join(tmpdir(), "tls-fake-ski-"));
    try {
        await writeFile(join(dir, "key.pem"), ca.keyPem, { mode: 0o600 });
        const args = ["req", "-new", "-x509", "-key", join(dir, "key.pem"), "-subj", "/CN=x"];
        args.push("-addext", "subjectKeyIdentifier=hash", "-out", join(dir, "c.pem"));
        await promisify(execFile)("openssl", args);
        const reference = await describeCertificate(await readFile(join(dir, "c.pem"), "utf8"));
        assert.equal(shown.subjectKeyId, reference.subjectKeyId);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
    // The id is the decimal serial, below 2^128.
    assert.equal(BigInt(ca.id), BigInt(`0x${shown.serialHex}`));
    assert.ok(BigInt(ca.id) < 2n ** 128n);
});

test("maxPathLength 0 gives a CA with NO pathlen (Go MaxPathLen without MaxPathLenZero)", async () => {
    const ca = await root("pl-root");
    const intermediate = await issue("pl-int", ca, {
        isCaCertificate: true,
        maxPathLength: 0,
        allowedUses: ["cert_signing"],
    });
    const shown = await describeCertificate(intermediate.certPem);
    assert.deepEqual(shown.basicConstraints, { critical: true, ca: true, pathLength: undefined });
    // So the intermediate itself does not stop a CA below it; the root's pathlen:1 does.
    const sub = await issue("pl-sub", intermediate, {
        isCaCertificate: true,
        allowedUses: ["cert_signing"],
    });
    const leaf = await issue("pl-leaf", sub, {});
    const result = await opensslVerify({
        certPem: leaf.certPem,
        trustedPem: ca.certPem,
        untrustedPem: intermediate.certPem + sub.certPem,
    });
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /path length constraint exceeded/);
    const withoutRootLimit = await root("pl-open", { maxPathLength: -1 });
    assert.equal(
        (await describeCertificate(withoutRootLimit.certPem)).basicConstraints?.pathLength,
        undefined,
    );
});

test("leaves: CA:FALSE always present and critical, no SKI unless asked, AKI = issuer SKI, SANs from the CSR", async () => {
    const ca = await root("leaf-ca");
    const caShown = await describeCertificate(ca.certPem);
    const leaf = await issue(
        "leaf",
        ca,
        { allowedUses: ["digital_signature", "client_auth"] },
        { dnsNames: ["a.example"], ipAddresses: ["127.0.0.1"], uris: ["spiffe://edge/dev"] },
    );
    const shown = await describeCertificate(leaf.certPem);
    assert.deepEqual(shown.basicConstraints, { critical: true, ca: false, pathLength: undefined });
    assert.equal(shown.subjectKeyId, undefined);
    assert.equal(shown.authorityKeyId, caShown.subjectKeyId);
    assert.deepEqual(shown.subjectAltNames, [
        "DNS:a.example",
        "IP Address:127.0.0.1",
        "URI:spiffe://edge/dev",
    ]);
    assert.equal(shown.subject, "CN=leaf");
    assert.equal(leaf.state.caKeyAlgorithm, "ECDSA");
    const withSki = await describeCertificate(
        (await issue("leaf-ski", ca, { setSubjectKeyId: true })).certPem,
    );
    assert.match(withSki.subjectKeyId ?? "", /^[0-9a-f]{40}$/);
    const verified = await opensslVerify({ certPem: leaf.certPem, trustedPem: ca.certPem });
    assert.ok(verified.ok, verified.output);
});

test("validity: NotBefore = now, NotAfter = now + hours; RFC 3339 times in state", async () => {
    const ca = await root("validity-ca");
    const leaf = await issue("validity", ca, { validityPeriodHours: 5 });
    const shown = await describeCertificate(leaf.certPem);
    assert.ok(Math.abs(shown.notBefore.getTime() - Date.now()) < 60_000);
    assert.equal(shown.notAfter.getTime() - shown.notBefore.getTime(), 5 * 3_600_000);
    assert.equal(new Date(leaf.state.validityStartTime ?? "").getTime(), shown.notBefore.getTime());
    assert.equal(new Date(leaf.state.validityEndTime ?? "").getTime(), shown.notAfter.getTime());
});

test("provider errors: CA without subject, MaxPathLen on a leaf, CA key of another CA", async () => {
    await assert.rejects(
        root("no-subject", { subject: undefined }),
        /Must contain at least one Distinguished Name when creating Certificate Authority/,
    );
    const ca = await root("err-ca");
    await assert.rejects(
        issue("leaf-pathlen", ca, { maxPathLength: 2 }),
        /only CAs are allowed to specify MaxPathLen/,
    );
    const other = await root("err-other");
    await assert.rejects(
        issue("wrong-key", { certPem: ca.certPem, keyPem: other.keyPem }, {}),
        /provided PrivateKey doesn't match parent's PublicKey/,
    );
    await assert.rejects(
        issue("csr-as-ca", { certPem: ca.keyPem, keyPem: ca.keyPem }, {}),
        /caCertPem: invalid PEM type - expected "CERTIFICATE", got "EC PRIVATE KEY"/,
    );
});

test("a non-CA issuer only warns and still signs, as the provider does", async () => {
    const ca = await root("warn-ca");
    const leaf = await issue("warn-leaf", ca, {});
    const before = fake.warnings.length;
    const child = await issue("warn-child", leaf, {});
    assert.match(child.certPem, /^-----BEGIN CERTIFICATE-----/);
    assert.equal(fake.warnings.length, before + 1);
    assert.match(fake.warnings.at(-1) ?? "", /Potentially Invalid Certificate Authority/);
});

test("secret inputs arrive unwrapped; composeMocks routes tls types to the fake, others to the fallback", async () => {
    assert.deepEqual(unwrapSecrets({ a: [wrappedSecret("x")], b: 1 }), { a: ["x"], b: 1 });
    const recorded = fake.requests.find((r) => r.name === "leaf-csr");
    assert.match(String(recorded?.inputs.privateKeyPem), /^-----BEGIN EC PRIVATE KEY-----/);
    const mocks = composeMocks([fake]);
    const other = await mocks.newResource({
        type: "aws:s3/bucket:Bucket",
        name: "b",
        inputs: { x: 1 },
        custom: true,
    });
    assert.deepEqual(other, { id: "b-id", state: { x: 1 } });
    const tlsKey = await mocks.newResource({
        type: tlsResourceTypes.privateKey,
        name: "routed",
        inputs: { algorithm: "ECDSA", ecdsaCurve: "P384" },
        custom: true,
    });
    assert.match(String(tlsKey.state.privateKeyPem), /EC PRIVATE KEY/);
    assert.deepEqual(await mocks.call({ token: "x:y:z", inputs: { q: 1 } }), { q: 1 });
});

test("reuseRsaKeys hands out one RSA key per size; the default generates a fresh key each time", async () => {
    const reusing = createTlsFake({ reuseRsaKeys: true });
    const rsa = (fakeToUse: typeof fake, name: string) =>
        fakeToUse.newResource({
            type: tlsResourceTypes.privateKey,
            name,
            inputs: { algorithm: "RSA" },
            custom: true,
        });
    const [a, b] = await Promise.all([rsa(reusing, "a"), rsa(reusing, "b")]);
    assert.equal(a.state.privateKeyPem, b.state.privateKeyPem);
    const [c, d] = await Promise.all([rsa(fake, "c"), rsa(fake, "d")]);
    assert.notEqual(c.state.privateKeyPem, d.state.privateKeyPem);
});
