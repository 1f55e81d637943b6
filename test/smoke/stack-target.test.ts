/**
 * How `npm run smoke` reads a stack's outputs: which device it presents, which name it checks,
 * when it can make a root-issued leaf, and the one-line errors for outputs it cannot use.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs this loaded first.
import "reflect-metadata";
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { X509Certificate } from "@peculiar/x509";
import { loadIssuingCa } from "../../pki/ca.ts";
import { PkiInputError } from "../../pki/input-error.ts";
import { createThrowawayCa, type PemCa } from "../../pki/self-signed-ca.ts";
import { smokeTargetFromOutputs } from "../../scripts/smoke/stack-target.ts";

let root: PemCa;
let intermediate: PemCa;

before(async () => {
    root = await createThrowawayCa({ commonName: "smoke test root", validityDays: 2 });
    intermediate = await createThrowawayCa({
        commonName: "smoke test intermediate",
        validityDays: 2,
        issuer: await loadIssuingCa(
            root.certificatePem,
            root.privateKeyPem,
            { certificate: "root", privateKey: "root key" },
            "certificates",
        ),
    });
});

const base = () => ({
    deviceEndpoint: "nlb-0123.elb.eu-west-1.amazonaws.com:8883",
    deviceTrustBundlePem: root.certificatePem,
    rootCertPem: root.certificatePem,
    intermediateCertPem: intermediate.certificatePem,
});
const issuerOf = (pem: string) => new X509Certificate(pem).issuer;

test("AWS outputs: the NLB name is the name checked; the first test device is presented", async () => {
    const target = await smokeTargetFromOutputs(
        {
            ...base(),
            testDevices: [
                { commonName: "DEV-1", certPem: "CERT", keyPem: "-----BEGIN PRIVATE KEY-----x" },
            ],
        },
        "outputs.json",
    );
    assert.equal(target.host, "nlb-0123.elb.eu-west-1.amazonaws.com");
    assert.equal(target.port, 8883);
    assert.equal(target.serverName, "nlb-0123.elb.eu-west-1.amazonaws.com");
    assert.equal(target.device.commonName, "DEV-1");
    assert.equal(target.rootIssuedLeaf, undefined, "no rootKeyPem, no root-issued leaf");
    assert.match(issuerOf(target.foreignDevice.certificatePem), /throwaway/);
});

test("Docker outputs: deviceServerName is the name checked on 127.0.0.1", async () => {
    const target = await smokeTargetFromOutputs(
        {
            ...base(),
            deviceEndpoint: "127.0.0.1:8883",
            deviceServerName: "localhost",
            intermediateKeyPem: intermediate.privateKeyPem,
        },
        "-",
    );
    assert.equal(target.host, "127.0.0.1");
    assert.equal(target.serverName, "localhost");
});

test("no test device with a key: one is issued from the intermediate; the root key gives a root leaf", async () => {
    const target = await smokeTargetFromOutputs(
        {
            ...base(),
            testDevices: [{ commonName: "DEV-1", certPem: "CERT", keyPem: "[secret]" }],
            intermediateKeyPem: intermediate.privateKeyPem,
            rootKeyPem: root.privateKeyPem,
        },
        "outputs.json",
    );
    assert.equal(target.device.commonName, "mqtt-edge-smoke-device");
    assert.equal(issuerOf(target.device.certificatePem), "CN=smoke test intermediate");
    assert.equal(issuerOf(target.rootIssuedLeaf?.certificatePem ?? ""), "CN=smoke test root");
});

test("outputs it cannot use: one line naming the output and what is allowed", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
        [
            { ...base(), deviceEndpoint: "nlb:99999" },
            '--stack-outputs o.json: output deviceEndpoint is "nlb:99999"; allowed: "<host>:<port>" as the mqtt-edge program exports it',
        ],
        [
            { ...base(), deviceTrustBundlePem: "[secret]" },
            "--stack-outputs o.json: output deviceTrustBundlePem is missing or not PEM; allowed: the PEM the mqtt-edge program exports",
        ],
        [
            base(),
            "--stack-outputs o.json: no testDevices with keys and no intermediateKeyPem; allowed: outputs from pulumi stack output --show-secrets --json of a stack with pki.testDevices >= 1",
        ],
        [
            { ...base(), intermediateKeyPem: "[secret]" },
            '--stack-outputs o.json: output intermediateKeyPem is "[secret]"; allowed: its value, from pulumi stack output --show-secrets --json',
        ],
    ];
    for (const [outputs, message] of cases) {
        await assert.rejects(smokeTargetFromOutputs(outputs, "o.json"), (error: Error) => {
            assert.ok(error instanceof PkiInputError);
            assert.equal(error.message, message);
            return true;
        });
    }
});
