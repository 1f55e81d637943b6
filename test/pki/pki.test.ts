/**
 * The Pki component with generated CAs, under Pulumi mocks with the tls fake: every certificate is
 * real X.509 and is judged by openssl, the library HAProxy verifies device certificates with.
 * Not proven here: that the real provider encodes exactly like the fake (see tls-fake.ts).
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type { Pki as PkiClass } from "../../components/pki.ts";
import {
    type CertificateDescription,
    describeCertificate,
    opensslVerify,
} from "../support/openssl.ts";
import { composeMocks } from "../support/pulumi-mocks.ts";
import { createTlsFake } from "../support/tls-fake.ts";
import { type Registration, recordRegistrations, settle } from "./registrations.ts";

// The fake does not mark additionalSecretOutputs (as mocks do not), so what is secret below was
// made secret by the component itself.
const fake = createTlsFake();
let registrations: Registration[] = [];
let pki: PkiClass;
let rotated: PkiClass;

const dnsNames = ["mqtt.example.com", "edge-nlb-0123456789.elb.eu-west-1.amazonaws.com"];
const hour = 3_600_000;

interface Resolved {
    root: string;
    deviceCa: string;
    servers: { algorithm: string; cert: string; fullChain: string; key: string; haproxy: string }[];
    devices: { commonName: string; cert: string; key: string }[];
}
let resolved: Resolved;

before(async () => {
    await pulumi.runtime.setMocks(composeMocks([fake]), "mqtt-edge", "test", false);
    registrations = recordRegistrations();
    const { Pki } = await import("../../components/pki.ts");
    pki = new Pki("edge", {
        dnsNames,
        serverKeyAlgorithms: ["ecdsa-p256", "rsa-2048"],
        testDeviceCount: 2,
    });
    rotated = new Pki("edge2", {
        dnsNames: ["mqtt2.example.com"],
        rotation: { root: "2027-1", deviceCaKey: "k-2", deviceCaCert: "c-3", server: "s-4" },
    });
    resolved = {
        root: await settle(pki.rootCertPem),
        deviceCa: await settle(pki.deviceCaCertPem),
        servers: await Promise.all(
            pki.serverCertificates.map(async (s) => ({
                algorithm: String(s.keyAlgorithm),
                cert: await settle(s.certPem),
                fullChain: await settle(s.fullChainPem),
                key: await settle(s.keyPem),
                haproxy: await settle(s.haproxyPem),
            })),
        ),
        devices: await Promise.all(
            pki.testDevices.map(async (d) => ({
                commonName: d.commonName,
                cert: await settle(d.certPem),
                key: await settle(d.keyPem),
            })),
        ),
    };
    await settle(rotated.rootCertPem);
});

function assertRecent(date: Date, label: string) {
    assert.ok(
        Math.abs(date.getTime() - Date.now()) < 10 * 60_000,
        `${label}: ${date.toISOString()}`,
    );
}

function assertLifetime(cert: CertificateDescription, hours: number) {
    assertRecent(cert.notBefore, `${cert.subject} notBefore`);
    assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), hours * hour, cert.subject);
}

test("device certificates verify against the root through the device CA, as TLS clients", async () => {
    assert.equal(resolved.devices.length, 2);
    for (const device of resolved.devices) {
        const asClient = await opensslVerify({
            certPem: device.cert,
            trustedPem: resolved.root,
            untrustedPem: resolved.deviceCa,
            purpose: "sslclient",
        });
        assert.ok(asClient.ok, asClient.output);
        // Without the device CA there is no path: proof the device CA, not the root, issued it.
        const rootOnly = await opensslVerify({ certPem: device.cert, trustedPem: resolved.root });
        assert.equal(rootOnly.ok, false, rootOnly.output);
    }
});

test("server certificates verify against the root for their DNS names and FAIL as client certs", async () => {
    assert.deepEqual(
        resolved.servers.map((s) => s.algorithm),
        ["ecdsa-p256", "rsa-2048"],
    );
    for (const server of resolved.servers) {
        for (const hostname of dnsNames) {
            const asServer = await opensslVerify({
                certPem: server.cert,
                trustedPem: resolved.root,
                purpose: "sslserver",
                hostname,
            });
            assert.ok(asServer.ok, asServer.output);
        }
        const asClient = await opensslVerify({
            certPem: server.cert,
            trustedPem: resolved.root,
            purpose: "sslclient",
        });
        assert.equal(asClient.ok, false, asClient.output);
        assert.match(asClient.output, /unsuitable certificate purpose/);
    }
});

test("root CA: CA:TRUE pathlen:1, cert+CRL signing, no EKU, P-384, 30 years", async () => {
    const root = await describeCertificate(resolved.root);
    assert.equal(root.subject, "CN=edge Root CA,O=mqtt-edge");
    assert.equal(root.issuer, root.subject);
    assert.deepEqual(root.basicConstraints, { critical: true, ca: true, pathLength: 1 });
    assert.deepEqual(root.keyUsage, {
        critical: true,
        usages: ["Digital Signature", "Certificate Sign", "CRL Sign"],
    });
    assert.equal(root.extendedKeyUsage, undefined);
    assert.equal(root.curve, "secp384r1");
    assert.ok(root.subjectKeyId);
    assertLifetime(root, 262_800);
});

test("device CA: CA:TRUE with no pathlen (provider semantics), cert+CRL signing, under the root", async () => {
    const root = await describeCertificate(resolved.root);
    const deviceCa = await describeCertificate(resolved.deviceCa);
    assert.equal(deviceCa.subject, "CN=edge Device CA,O=mqtt-edge");
    assert.equal(deviceCa.issuer, root.subject);
    assert.deepEqual(deviceCa.basicConstraints, {
        critical: true,
        ca: true,
        pathLength: undefined,
    });
    assert.deepEqual(deviceCa.keyUsage, {
        critical: true,
        usages: ["Certificate Sign", "CRL Sign"],
    });
    assert.equal(deviceCa.extendedKeyUsage, undefined);
    assert.equal(deviceCa.authorityKeyId, root.subjectKeyId);
    assert.equal(deviceCa.curve, "prime256v1");
    assertLifetime(deviceCa, 87_600);
    assert.equal(await settle(pki.deviceCaCommonName), "edge Device CA");
    const chain = await opensslVerify({ certPem: resolved.deviceCa, trustedPem: resolved.root });
    assert.ok(chain.ok, chain.output);
});

test("server certificates: server_auth only, SANs = dnsNames, CN = first name, 1 year", async () => {
    const [ecdsa, rsa] = await Promise.all(
        resolved.servers.map((s) => describeCertificate(s.cert)),
    );
    assert.ok(ecdsa && rsa);
    for (const server of [ecdsa, rsa]) {
        assert.equal(server.subject, `CN=${dnsNames[0]},O=mqtt-edge`);
        assert.equal(server.issuer, "CN=edge Root CA,O=mqtt-edge");
        assert.deepEqual(server.basicConstraints, {
            critical: true,
            ca: false,
            pathLength: undefined,
        });
        assert.deepEqual(server.extendedKeyUsage, {
            critical: false,
            usages: ["TLS Web Server Authentication"],
        });
        assert.deepEqual(
            server.subjectAltNames,
            dnsNames.map((n) => `DNS:${n}`),
        );
        assertLifetime(server, 8_760);
    }
    assert.equal(ecdsa.curve, "prime256v1");
    assert.deepEqual(ecdsa.keyUsage?.usages, ["Digital Signature"]);
    assert.equal(rsa.publicKeyAlgorithm, "rsaEncryption");
    assert.equal(rsa.publicKeyBits, 2048);
    assert.deepEqual(rsa.keyUsage?.usages, ["Digital Signature", "Key Encipherment"]);
});

test("test devices: client_auth only, CN <name>-test-device-<i>, 30 days, under the device CA", async () => {
    const deviceCa = await describeCertificate(resolved.deviceCa);
    for (const [i, device] of resolved.devices.entries()) {
        const cert = await describeCertificate(device.cert);
        assert.equal(device.commonName, `edge-test-device-${i + 1}`);
        assert.equal(cert.subject, `CN=edge-test-device-${i + 1},O=mqtt-edge`);
        assert.equal(cert.issuer, deviceCa.subject);
        assert.equal(cert.authorityKeyId, deviceCa.subjectKeyId);
        assert.deepEqual(cert.basicConstraints, {
            critical: true,
            ca: false,
            pathLength: undefined,
        });
        assert.deepEqual(cert.keyUsage, { critical: true, usages: ["Digital Signature"] });
        assert.deepEqual(cert.extendedKeyUsage, {
            critical: false,
            usages: ["TLS Web Client Authentication"],
        });
        assert.deepEqual(cert.subjectAltNames, []);
        assertLifetime(cert, 720);
        assert.ok(new X509Certificate(device.cert).checkPrivateKey(createPrivateKey(device.key)));
    }
});

test("HAProxy crt PEM: full chain then the matching key; root-issued chain is the leaf alone", () => {
    for (const server of resolved.servers) {
        assert.equal(server.fullChain, server.cert);
        assert.equal(server.haproxy, `${server.fullChain}${server.key}`);
        const cert = new X509Certificate(server.cert);
        assert.ok(cert.checkPrivateKey(createPrivateKey(server.key)), server.algorithm);
    }
});

test("key outputs are secret, certificate outputs are not, no private key in a plain output", async () => {
    const secret: [string, pulumi.Output<unknown>][] = [["deviceCaKeyPem", pki.deviceCaKeyPem]];
    const plain: [string, pulumi.Output<unknown>][] = [
        ["rootCertPem", pki.rootCertPem],
        ["deviceTrustBundlePem", pki.deviceTrustBundlePem],
        ["deviceCaCertPem", pki.deviceCaCertPem],
        ["deviceCaCommonName", pki.deviceCaCommonName],
    ];
    for (const [i, s] of pki.serverCertificates.entries()) {
        secret.push([`server[${i}].keyPem`, s.keyPem], [`server[${i}].haproxyPem`, s.haproxyPem]);
        plain.push(
            [`server[${i}].certPem`, s.certPem],
            [`server[${i}].fullChainPem`, s.fullChainPem],
        );
    }
    for (const [i, d] of pki.testDevices.entries()) {
        secret.push([`testDevices[${i}].keyPem`, d.keyPem]);
        plain.push([`testDevices[${i}].certPem`, d.certPem]);
    }
    for (const [label, output] of secret) {
        assert.equal(await pulumi.isSecret(output), true, `${label} must be secret`);
        assert.match(String(await settle(output)), /-----BEGIN [A-Z ]*PRIVATE KEY-----/, label);
    }
    for (const [label, output] of plain) {
        assert.equal(await pulumi.isSecret(output), false, `${label} must not be secret`);
        assert.doesNotMatch(String(await settle(output)), /PRIVATE KEY/, label);
    }
});

test("children are parented to the component and named after it", async () => {
    const urn = await settle(pki.urn);
    const mine = registrations.filter((r) => r.name.startsWith("edge-"));
    assert.ok(
        mine.every((r) => r.parent === urn),
        JSON.stringify(mine.filter((r) => r.parent !== urn)),
    );
    const count = (type: string) => mine.filter((r) => r.type === type).length;
    // root: key + cert; device CA: key + csr + cert; 2 servers and 2 devices: key + csr + cert.
    assert.equal(count("tls:index/privateKey:PrivateKey"), 1 + 1 + 2 + 2);
    assert.equal(count("tls:index/selfSignedCert:SelfSignedCert"), 1);
    assert.equal(count("tls:index/certRequest:CertRequest"), 1 + 2 + 2);
    assert.equal(count("tls:index/locallySignedCert:LocallySignedCert"), 1 + 2 + 2);
    assert.equal(mine.length, 17);
    assert.deepEqual(mine.map((r) => r.name).sort(), [
        "edge-device-ca",
        "edge-device-ca-csr",
        "edge-device-ca-key",
        "edge-root",
        "edge-root-key",
        "edge-server-ecdsa-p256-cert",
        "edge-server-ecdsa-p256-csr",
        "edge-server-ecdsa-p256-key",
        "edge-server-rsa-2048-cert",
        "edge-server-rsa-2048-csr",
        "edge-server-rsa-2048-key",
        "edge-test-device-1-cert",
        "edge-test-device-1-csr",
        "edge-test-device-1-key",
        "edge-test-device-2-cert",
        "edge-test-device-2-csr",
        "edge-test-device-2-key",
    ]);
    const component = registrations.find((r) => r.name === "edge");
    assert.equal(component?.type, "mqtt-edge:pki:Pki");
});

test("rotation labels reach replacementTrigger on exactly the resource they rotate", () => {
    const triggers = (prefix: string) =>
        Object.fromEntries(
            registrations
                .filter(
                    (r) => r.name.startsWith(`${prefix}-`) && r.replacementTrigger !== undefined,
                )
                .map((r) => [r.name, r.replacementTrigger]),
        );
    assert.deepEqual(triggers("edge2"), {
        "edge2-root-key": "2027-1",
        "edge2-device-ca-key": "k-2",
        "edge2-device-ca": "c-3",
        "edge2-server-ecdsa-p256-key": "s-4",
    });
    // Unset labels default to "initial", so the first real change replaces (null -> value does not).
    assert.deepEqual(triggers("edge"), {
        "edge-root-key": "initial",
        "edge-device-ca-key": "initial",
        "edge-device-ca": "initial",
        "edge-server-ecdsa-p256-key": "initial",
        "edge-server-rsa-2048-key": "initial",
    });
});
