/**
 * Bring your own CA: a chain made by Debian's cfssl exactly as the seed does it
 * (test/support/cfssl-chain.ts) drives the Pki component; what it issues must verify against the
 * cfssl root with openssl. Also: the seed's own server certificate is refused, because its cfssl
 * "device" profile gives it clientAuth.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type { ExistingCa, Pki as PkiClass } from "../../components/pki.ts";
import { type CfsslChain, makeCfsslChain } from "../support/cfssl-chain.ts";
import { describeCertificate, opensslVerify } from "../support/openssl.ts";
import { composeMocks } from "../support/pulumi-mocks.ts";
import { createTlsFake } from "../support/tls-fake.ts";
import { type Registration, recordRegistrations, settle } from "./registrations.ts";

let dir: string;
let chain: CfsslChain;
let pems: Record<"root" | "rootKey" | "int" | "intKey" | "server" | "serverKey", string>;
let Pki: typeof PkiClass;
let registrations: Registration[];

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pki-byo-"));
    chain = await makeCfsslChain(dir);
    const read = (path: string) => readFile(path, "utf8");
    pems = {
        root: await read(chain.rootCert),
        rootKey: await read(chain.rootKey),
        int: await read(chain.intermediateCert),
        intKey: await read(chain.intermediateKey),
        server: await read(chain.serverCert),
        serverKey: await read(chain.serverKey),
    };
    await pulumi.runtime.setMocks(composeMocks([createTlsFake()]), "mqtt-edge", "test", false);
    registrations = recordRegistrations();
    ({ Pki } = await import("../../components/pki.ts"));
});

after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
});

function cfsslCa(extra: Partial<ExistingCa> = {}): ExistingCa {
    // Plain strings on purpose: the component itself must make the keys secret.
    return {
        rootCertPem: pems.root,
        deviceCaCertPem: pems.int,
        deviceCaKeyPem: pems.intKey,
        ...extra,
    };
}

test("devices issued from the cfssl intermediate verify against the cfssl root as TLS clients", async () => {
    const pki = new Pki("byo", {
        dnsNames: ["emqx.xxx.com"],
        testDeviceCount: 2,
        existingCa: cfsslCa({ rootKeyPem: pems.rootKey }),
    });
    const intermediate = await describeCertificate(pems.int);
    assert.equal(await settle(pki.rootCertPem), pems.root);
    assert.equal(await settle(pki.deviceTrustBundlePem), pems.root);
    assert.equal(await settle(pki.deviceCaCertPem), pems.int);
    assert.equal(await settle(pki.deviceCaCommonName), "intermediate.emqx.com");
    assert.equal(pki.testDevices.length, 2);
    for (const device of pki.testDevices) {
        const certPem = await settle(device.certPem);
        const verified = await opensslVerify({
            certPem,
            trustedPem: pems.root,
            untrustedPem: pems.int,
            purpose: "sslclient",
        });
        assert.ok(verified.ok, verified.output);
        const shown = await describeCertificate(certPem);
        assert.equal(shown.issuer, intermediate.subject);
        assert.equal(shown.authorityKeyId, intermediate.subjectKeyId);
        assert.equal(await pulumi.isSecret(device.keyPem), true);
    }
    const [server] = pki.serverCertificates;
    assert.ok(server);
    const serverPem = await settle(server.certPem);
    const asServer = await opensslVerify({
        certPem: serverPem,
        trustedPem: pems.root,
        purpose: "sslserver",
        hostname: "emqx.xxx.com",
    });
    assert.ok(asServer.ok, asServer.output);
    const asClient = await opensslVerify({
        certPem: serverPem,
        trustedPem: pems.root,
        purpose: "sslclient",
    });
    assert.equal(asClient.ok, false, asClient.output);
    assert.equal(await pulumi.isSecret(pki.deviceCaKeyPem), true);
    assert.equal(await pulumi.isSecret(server.haproxyPem), true);
    assert.equal(await pulumi.isSecret(pki.rootCertPem), false);
    // No root or device CA resources are created in this mode.
    const created = registrations.filter((r) => r.name.startsWith("byo-")).map((r) => r.name);
    assert.equal(
        created.filter((n) => n.startsWith("byo-root") || n.startsWith("byo-device-ca")).length,
        0,
    );
    assert.equal(created.length, 3 + 2 * 3);
});

test("server issued from the cfssl intermediate carries it in the full chain", async () => {
    const pki = new Pki("byo-int", {
        dnsNames: ["emqx.xxx.com"],
        serverIssuer: "deviceCa",
        existingCa: cfsslCa(),
    });
    const [server] = pki.serverCertificates;
    assert.ok(server);
    const certPem = await settle(server.certPem);
    assert.equal(await settle(server.fullChainPem), `${certPem}${pems.int.trimEnd()}\n`);
    const verified = await opensslVerify({
        certPem,
        trustedPem: pems.root,
        untrustedPem: pems.int,
        purpose: "sslserver",
        hostname: "emqx.xxx.com",
    });
    assert.ok(verified.ok, verified.output);
});

test("the seed's cfssl server certificate is refused: its EKU has clientAuth", () => {
    assert.throws(
        () =>
            new Pki("byo-seed-server", {
                existingCa: cfsslCa({ serverCertPem: pems.server, serverKeyPem: pems.serverKey }),
            }),
        (error: Error) => {
            assert.match(
                error.message,
                /^Pki "byo-seed-server": existingCa\.serverCertPem \(.*CN=emqx\.xxx\.com/,
            );
            assert.match(error.message, /1\.3\.6\.1\.5\.5\.7\.3\.2/);
            assert.doesNotMatch(error.message, /\n|PRIVATE KEY/);
            return true;
        },
    );
});

test("a device CA key that does not belong to the device CA is refused, naming no key material", () => {
    assert.throws(
        () =>
            new Pki("byo-wrong-key", {
                dnsNames: ["a.example"],
                existingCa: cfsslCa({ deviceCaKeyPem: pems.rootKey, rootKeyPem: pems.rootKey }),
            }),
        /^Error: Pki "byo-wrong-key": existingCa\.deviceCaKeyPem does not belong to existingCa\.deviceCaCertPem \(.*intermediate\.emqx\.com.*\); allowed: the private key of that certificate$/,
    );
    assert.throws(
        () =>
            new Pki("byo-swapped", {
                dnsNames: ["a.example"],
                serverIssuer: "deviceCa",
                existingCa: cfsslCa({ rootCertPem: pems.int }),
            }),
        /existingCa\.deviceCaCertPem .* is not signed by existingCa\.rootCertPem/,
    );
});

test("a chain given as secret Outputs (e.g. config.requireSecret) is used once it resolves", async () => {
    const pki = new Pki("byo-output", {
        dnsNames: [pulumi.output("emqx.xxx.com")],
        serverIssuer: "deviceCa",
        testDeviceCount: 1,
        existingCa: {
            rootCertPem: pulumi.output(pems.root),
            deviceCaCertPem: pulumi.output(pems.int),
            deviceCaKeyPem: pulumi.secret(pems.intKey),
        },
    });
    const [device] = pki.testDevices;
    assert.ok(device);
    const verified = await opensslVerify({
        certPem: await settle(device.certPem),
        trustedPem: pems.root,
        untrustedPem: pems.int,
        purpose: "sslclient",
    });
    assert.ok(verified.ok, verified.output);
    assert.equal(await settle(pki.deviceCaCommonName), "intermediate.emqx.com");
});
