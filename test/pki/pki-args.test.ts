/**
 * Bad Pki arguments stop with one line naming the argument, the value and what is allowed, before
 * anything is registered; good ones get the documented defaults.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type { PkiArgs, Pki as PkiClass } from "../../components/pki.ts";
import { resolvePkiArgs } from "../../components/pki-args.ts";
import { composeMocks } from "../support/pulumi-mocks.ts";
import { createTlsFake } from "../support/tls-fake.ts";
import { type Registration, recordRegistrations, settle } from "./registrations.ts";

let Pki: typeof PkiClass;
let registrations: Registration[];

before(async () => {
    await pulumi.runtime.setMocks(composeMocks([createTlsFake()]), "mqtt-edge", "test", false);
    registrations = recordRegistrations();
    ({ Pki } = await import("../../components/pki.ts"));
});

const dnsNames = ["mqtt.example.com"];

/** [case, args, what the message must contain (argument and value)] */
const badArgs: [string, PkiArgs, RegExp][] = [
    [
        "P-224 root key",
        { dnsNames, rootKeyAlgorithm: "P224" as never },
        /rootKeyAlgorithm is "P224"; allowed: rsa-2048, rsa-3072, rsa-4096, ecdsa-p256, ecdsa-p384$/,
    ],
    [
        "ECDSA P-224 device CA",
        { dnsNames, deviceCaKeyAlgorithm: "ecdsa-p224" as never },
        /deviceCaKeyAlgorithm is "ecdsa-p224"; allowed: rsa-2048/,
    ],
    [
        "RSA 1024 server key",
        { dnsNames, serverKeyAlgorithms: ["rsa-1024" as never] },
        /serverKeyAlgorithms\[0\] is "rsa-1024"; allowed: rsa-2048, rsa-3072, rsa-4096/,
    ],
    [
        "two RSA server keys",
        { dnsNames, serverKeyAlgorithms: ["rsa-2048", "rsa-4096"] },
        /serverKeyAlgorithms is \["rsa-2048","rsa-4096"\]; allowed: at most one rsa-\* and one ecdsa-\*/,
    ],
    [
        "empty DNS names",
        { dnsNames: [] },
        /dnsNames is \[\]; allowed: a non-empty list of DNS names/,
    ],
    ["no DNS names", {}, /dnsNames is undefined; allowed: a non-empty list/],
    [
        "bad DNS name",
        { dnsNames: ["mqtt.example.com", "not a host"] },
        /dnsNames\[1\] is "not a host"; allowed: a DNS name/,
    ],
    [
        "device count -1",
        { dnsNames, testDeviceCount: -1 },
        /testDeviceCount is -1; allowed: 0-1000$/,
    ],
    [
        "device count 2.5",
        { dnsNames, testDeviceCount: 2.5 },
        /testDeviceCount is 2.5; allowed: 0-1000$/,
    ],
    [
        "device CA outliving the root",
        { dnsNames, validityHours: { root: 1000, deviceCa: 1000 } },
        /validityHours\.deviceCa is 1000; allowed: fewer hours than validityHours\.root \(1000\)$/,
    ],
    [
        "zero server hours",
        { dnsNames, validityHours: { server: 0 } },
        /validityHours\.server is 0; allowed: a whole number of hours, at least 1$/,
    ],
    [
        "empty rotation label",
        { dnsNames, rotation: { server: " " } },
        /rotation\.server is " "; allowed: a non-empty label/,
    ],
    [
        "existing CA without the device CA key",
        { dnsNames, existingCa: { rootCertPem: "x", deviceCaCertPem: "y", deviceCaKeyPem: "" } },
        /existingCa\.deviceCaKeyPem is ""; allowed: a PEM string$/,
    ],
    [
        "existing CA, root-issued server, no root key",
        { dnsNames, existingCa: { rootCertPem: "x", deviceCaCertPem: "y", deviceCaKeyPem: "z" } },
        /existingCa\.rootKeyPem is undefined; allowed: the root key PEM to issue the server certificate/,
    ],
    [
        "unparseable existing root",
        {
            dnsNames,
            serverIssuer: "deviceCa",
            existingCa: { rootCertPem: "x", deviceCaCertPem: "y", deviceCaKeyPem: "z" },
        },
        /existingCa\.rootCertPem is not a PEM certificate; allowed: one PEM CERTIFICATE block$/,
    ],
];

for (const [label, args, expected] of badArgs) {
    test(`bad argument, one clear line: ${label}`, () => {
        assert.throws(
            () => new Pki(`bad-${label.replace(/\W+/g, "-")}`, args),
            (error: Error) => {
                assert.match(error.message, /^Pki "bad-[\w-]+": /);
                assert.match(error.message, expected);
                assert.doesNotMatch(error.message, /\n/);
                return true;
            },
        );
    });
}

test("nothing was registered for the bad arguments (checked after a good Pki settles)", async () => {
    const good = new Pki("good", { dnsNames });
    await settle(good.serverCertificates[0]?.haproxyPem ?? pulumi.output(""));
    await settle(good.urn);
    assert.ok(registrations.length > 0);
    const strays = registrations.filter((r) => r.name !== "good" && !r.name.startsWith("good-"));
    assert.deepEqual(strays, []);
});

test("defaults: ECDSA everywhere, root-issued P-256 server cert, 30y/10y/1y/30d, no test devices", () => {
    const resolved = resolvePkiArgs("edge", { dnsNames });
    assert.deepEqual(
        {
            organization: resolved.organization,
            rootCommonName: resolved.rootCommonName,
            deviceCaCommonName: resolved.deviceCaCommonName,
            rootKeyAlgorithm: resolved.rootKeyAlgorithm,
            deviceCaKeyAlgorithm: resolved.deviceCaKeyAlgorithm,
            serverKeyAlgorithms: resolved.serverKeyAlgorithms,
            serverIssuer: resolved.serverIssuer,
            testDeviceCount: resolved.testDeviceCount,
            testDeviceKeyAlgorithm: resolved.testDeviceKeyAlgorithm,
            testDeviceCommonNamePrefix: resolved.testDeviceCommonNamePrefix,
            validityHours: resolved.validityHours,
            rotation: resolved.rotation,
        },
        {
            organization: "mqtt-edge",
            rootCommonName: "edge Root CA",
            deviceCaCommonName: "edge Device CA",
            rootKeyAlgorithm: "ecdsa-p384",
            deviceCaKeyAlgorithm: "ecdsa-p256",
            serverKeyAlgorithms: ["ecdsa-p256"],
            serverIssuer: "root",
            testDeviceCount: 0,
            testDeviceKeyAlgorithm: "ecdsa-p256",
            testDeviceCommonNamePrefix: "edge-test-device",
            validityHours: { root: 262_800, deviceCa: 87_600, server: 8_760, testDevice: 720 },
            rotation: {
                root: "initial",
                deviceCaKey: "initial",
                deviceCaCert: "initial",
                server: "initial",
            },
        },
    );
});

test("an existing server certificate needs no DNS names and takes no server algorithms", () => {
    const existingCa = {
        rootCertPem: "r",
        deviceCaCertPem: "d",
        deviceCaKeyPem: "k",
        serverCertPem: "s",
        serverKeyPem: "sk",
    };
    const resolved = resolvePkiArgs("edge", { existingCa });
    assert.deepEqual(resolved.serverKeyAlgorithms, []);
    assert.deepEqual(resolved.dnsNames, []);
    assert.throws(
        () => resolvePkiArgs("edge", { existingCa, serverKeyAlgorithms: ["ecdsa-p256"] }),
        /serverKeyAlgorithms is \["ecdsa-p256"\]; allowed: unset when existingCa\.serverCertPem is given/,
    );
});
