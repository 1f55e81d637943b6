import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadCapacityFigures } from "../../capacity/figures.ts";
import { haproxyMemoryDeviceLimit } from "../../capacity/model.ts";
import { ConfigError, ENCRYPTED_SECRET, parseEdgeConfig } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { committedStacks } from "../support/committed-stacks.ts";

const projectDir = new URL("../../", import.meta.url).pathname;

/** Each case: a configuration, the key the error must name, and the value it must show. */
const badConfigs: Array<[string, Record<string, unknown>, string, string]> = [
    ["negative maxconn", { haproxy: { maxconn: -1 } }, "haproxy.maxconn", "-1"],
    ["maxconn as text", { haproxy: { maxconn: "lots" } }, "haproxy.maxconn", '"lots"'],
    ["fractional maxconn", { haproxy: { maxconn: 1.5 } }, "haproxy.maxconn", "1.5"],
    ["zero instances", { haproxy: { instances: 0 } }, "haproxy.instances", "0"],
    ["no EMQX node", { emqx: { nodes: 0 } }, "emqx.nodes", "0"],
    ["unknown balance", { haproxy: { balance: "random" } }, "haproxy.balance", '"random"'],
    [
        "TLS 1.1 floor",
        { haproxy: { tlsMinVersion: "TLSv1.1" } },
        "haproxy.tlsMinVersion",
        '"TLSv1.1"',
    ],
    ["unknown top-level key", { haproxx: {} }, "haproxx", "unknown key"],
    ["unknown nested key", { emqx: { node: 3 } }, "emqx.node", "unknown key"],
    ["EMQX 4", { emqx: { version: "4.4.19" } }, "emqx.version", '"4.4.19"'],
    [
        "5.9 cluster without license",
        { emqx: { version: "5.9.1", nodes: 3 } },
        "emqx.version",
        '"5.9.1"',
    ],
    [
        "client timeout under keepalive",
        { haproxy: { clientTimeoutSeconds: 60 } },
        "haproxy.clientTimeoutSeconds",
        "60",
    ],
    [
        "server timeout under 1.5x keepalive",
        {
            mqtt: { keepaliveSeconds: 120 },
            haproxy: { serverTimeoutSeconds: 180, clientTimeoutSeconds: 400 },
            nlb: { idleTimeoutSeconds: 500 },
        },
        "haproxy.serverTimeoutSeconds",
        "180",
    ],
    [
        "NLB idle under HAProxy timeout",
        { nlb: { idleTimeoutSeconds: 120 } },
        "nlb.idleTimeoutSeconds",
        "120",
    ],
    [
        "NLB idle out of AWS range",
        { nlb: { idleTimeoutSeconds: 7000 } },
        "nlb.idleTimeoutSeconds",
        "7000",
    ],
    [
        "frontend maxconn above global",
        { haproxy: { maxconn: 1000, frontendMaxconn: 2000 } },
        "haproxy.frontendMaxconn",
        "2000",
    ],
    [
        "server maxconn above frontend",
        { haproxy: { maxconn: 1000, serverMaxconn: 2000 } },
        "haproxy.serverMaxconn",
        "2000",
    ],
    [
        "server maxconn above EMQX limit",
        { haproxy: { serverMaxconn: 2000 }, emqx: { maxConnections: 1000 } },
        "haproxy.serverMaxconn",
        "2000",
    ],
    [
        "server maxconn above one of several EMQX listeners",
        {
            haproxy: { maxconn: 250_000, serverMaxconn: 60_000, instanceType: "r7i.large" },
            emqx: { maxConnections: 100_000 },
        },
        "haproxy.serverMaxconn",
        "60000",
    ],
    [
        "unbounded queue with too few slots",
        { haproxy: { maxconn: 1000, serverMaxconn: 100, maxqueue: 0 } },
        "haproxy.maxqueue",
        "0",
    ],
    [
        "HAProxy group minimum above the desired count",
        { haproxy: { instances: 2, minInstances: 3 } },
        "haproxy.minInstances",
        "3",
    ],
    [
        "HAProxy group maximum below the desired count",
        { haproxy: { instances: 4, maxInstances: 3 } },
        "haproxy.maxInstances",
        "3",
    ],
    [
        "refresh checkpoints not ending at 100",
        { haproxy: { refreshCheckpointPercentages: [50, 90] } },
        "haproxy.refreshCheckpointPercentages",
        "[50,90]",
    ],
    [
        "refresh of a node that does not exist",
        { emqx: { nodes: 3, refreshNode: 4 } },
        "emqx.refreshNode",
        "4",
    ],
    [
        "health port equals device port",
        { haproxy: { healthPort: 8883 } },
        "haproxy.healthPort",
        "8883",
    ],
    [
        "device domain with newline",
        { deviceDomains: ["mqtt.example.com\nbind :1"] },
        "deviceDomains[0]",
        "\\n",
    ],
    [
        "device domain with space",
        { deviceDomains: ["mqtt example.com"] },
        "deviceDomains[0]",
        '"mqtt example.com"',
    ],
    ["no device domain", { deviceDomains: [] }, "deviceDomains", "[]"],
    [
        "bad client CIDR",
        { network: { clientCidrs: ["10.0.0.0/33"] } },
        "network.clientCidrs[0]",
        '"10.0.0.0/33"',
    ],
    [
        "one availability zone",
        { network: { availabilityZones: ["eu-west-1a"] } },
        "network.availabilityZones",
        '["eu-west-1a"]',
    ],
    [
        "repeated zone",
        { network: { availabilityZones: ["eu-west-1a", "eu-west-1a"] } },
        "network.availabilityZones",
        "eu-west-1a",
    ],
    [
        "unknown client IP mode",
        { nlb: { clientIpMode: "x-forwarded-for" } },
        "nlb.clientIpMode",
        '"x-forwarded-for"',
    ],
    ["P-224 key", { pki: { caKeyAlgorithm: "ecdsa-p224" } }, "pki.caKeyAlgorithm", '"ecdsa-p224"'],
    [
        "two RSA server keys",
        { pki: { serverKeyAlgorithms: ["rsa-2048", "rsa-4096"] } },
        "pki.serverKeyAlgorithms",
        "rsa-4096",
    ],
    [
        "intermediate named like root",
        { pki: { rootCommonName: "Same CA", intermediateCommonName: "Same CA" } },
        "pki.intermediateCommonName",
        '"Same CA"',
    ],
    [
        "CA name with quote",
        { pki: { intermediateCommonName: 'Evil" CA' } },
        "pki.intermediateCommonName",
        '\\"',
    ],
    [
        "intermediate outlives root",
        { pki: { rootValidityHours: 1000, intermediateValidityHours: 2000 } },
        "pki.intermediateValidityHours",
        "2000",
    ],
    [
        "proxy protocol timeout over esockd cap",
        { emqx: { proxyProtocolTimeoutSeconds: 30 } },
        "emqx.proxyProtocolTimeoutSeconds",
        "30",
    ],
    ["unknown target", { target: "gcp" }, "target", '"gcp"'],
    [
        "private zone with underscore",
        { emqx: { privateZone: "emqx_internal" } },
        "emqx.privateZone",
        '"emqx_internal"',
    ],
    [
        "root PEM alone",
        { caRootCertPem: "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n" },
        "caDeviceCertPem",
        "(missing)",
    ],
    [
        "root certificate that is not PEM",
        { caRootCertPem: "MIIB..." },
        "caRootCertPem",
        '"MIIB..."',
    ],
    [
        "rotation label with a space",
        { pki: { rotation: { root: "2027 q1" } } },
        "pki.rotation.root",
        '"2027 q1"',
    ],
];

describe("stack configuration: bad input", () => {
    for (const [name, raw, key, shown] of badConfigs) {
        test(`${name} -> one line naming mqtt-edge:${key}`, () => {
            assert.throws(
                () => parseEdgeConfig(raw),
                (e: unknown) => {
                    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
                    const message = e.message;
                    assert.equal(message.split("\n").length, 1, `not one line: ${message}`);
                    assert.ok(message.startsWith(`mqtt-edge:${key}`), `names the key: ${message}`);
                    assert.ok(message.includes(shown), `shows ${shown}: ${message}`);
                    assert.match(message, /must|allowed|needs/, `says what is allowed: ${message}`);
                    return true;
                },
            );
        });
    }

    test("a bad private key is named but never echoed", () => {
        assert.throws(
            () => parseEdgeConfig({ caDeviceKeyPem: "not-a-key-but-secret-text" }),
            (e: Error) =>
                e.message.startsWith(
                    "mqtt-edge:caDeviceKeyPem = [secret]: must be a PEM private key",
                ) && !e.message.includes("secret-text"),
        );
    });

    test("a secret value is never echoed in an error", () => {
        assert.throws(
            () => parseEdgeConfig({ emqxLicenseKey: 12345 }),
            (e: Error) => e.message.includes("[secret]") && !e.message.includes("12345"),
        );
    });
});

describe("stack configuration: defaults and derived values", () => {
    test("an empty configuration takes every default from the schema", () => {
        const c = parseEdgeConfig({});
        assert.equal(c.target, "aws");
        assert.equal(c.emqx.version, "5.8.9");
        assert.equal(c.emqx.nodes, 3);
        // what the default c7i.large holds by the capacity model, rounded down to 10000
        assert.equal(c.haproxy.maxconn, 90_000);
        assert.equal(
            c.haproxy.maxconn,
            Math.floor(
                haproxyMemoryDeviceLimit({ vcpus: 2, memoryGiB: 4 }, loadCapacityFigures()) /
                    10_000,
            ) * 10_000,
        );
        // the frontend limit defaults to the global one; a server line to what one source
        // address can open to one EMQX port
        assert.equal(c.haproxy.frontendMaxconn, 90_000);
        assert.equal(c.haproxy.serverMaxconn, 64_512);
        assert.equal(c.emqx.maxConnections, 250_000);
        // The cheapest HAProxy handshake at 128-bit strength (docs/pki.md, "Key algorithms").
        assert.equal(c.pki.caKeyAlgorithm, "rsa-3072");
        assert.deepEqual(c.pki.serverKeyAlgorithms, ["ecdsa-p256", "rsa-3072"]);
        assert.equal(c.nlb.clientIpMode, "preserve");
    });

    test("explicit frontend and server limits are kept", () => {
        const c = parseEdgeConfig({
            haproxy: { maxconn: 9000, frontendMaxconn: 8000, serverMaxconn: 4000 },
        });
        assert.equal(c.haproxy.frontendMaxconn, 8000);
        assert.equal(c.haproxy.serverMaxconn, 4000);
    });

    test("EMQX 5.9+ with a license key, or on one node, is accepted", () => {
        assert.equal(
            parseEdgeConfig({ emqx: { version: "5.10.1" }, emqxLicenseKey: "k" }).emqx.version,
            "5.10.1",
        );
        assert.equal(parseEdgeConfig({ emqx: { version: "5.9.0", nodes: 1 } }).emqx.nodes, 1);
    });

    test("the docker target does not need an NLB timeout above HAProxy's", () => {
        assert.equal(
            parseEdgeConfig({ target: "docker", nlb: { idleTimeoutSeconds: 60 } }).target,
            "docker",
        );
    });
});

describe("secrets encrypted in a stack file (read without the Pulumi CLI)", () => {
    test("an encrypted license key counts as set for an EMQX 5.9 cluster", () => {
        const c = parseEdgeConfig(
            { emqx: { version: "5.9.1", nodes: 3 } },
            { encryptedSecrets: ["emqxLicenseKey"] },
        );
        assert.equal(c.emqxLicenseKey, ENCRYPTED_SECRET);
    });

    test("an encrypted device CA key counts as set; the certificates are still checked", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n";
        assert.throws(
            () =>
                parseEdgeConfig(
                    { caRootCertPem: pem, caDeviceCertPem: pem, pki: { crl: false } },
                    { encryptedSecrets: ["caDeviceKeyPem"] },
                ),
            /^ConfigError: mqtt-edge:caRootCertPem = \[PEM\]: is not a parseable certificate/,
        );
    });

    test("an encrypted key that is not a secret setting is refused with one line", () => {
        assert.throws(
            () => parseEdgeConfig({}, { encryptedSecrets: ["haproxy"] }),
            /^ConfigError: mqtt-edge:haproxy is encrypted in the stack file but is not a secret setting; only emqxLicenseKey, caDeviceKeyPem, caRootKeyPem are$/,
        );
    });
});

describe("committed stack files", () => {
    const stacks = committedStacks(projectDir);

    test("there is a dev stack", () => {
        assert.ok(stacks.includes("dev"), `stacks: ${stacks.join(", ")}`);
    });

    for (const stack of stacks) {
        test(`Pulumi.${stack}.yaml validates`, () => {
            const file = readStackFile(projectDir, stack);
            const c = parseEdgeConfig(file.raw);
            assert.ok(c.emqx.nodes >= 1);
        });
    }

    test("dev states its target: 500000 devices, a 5-minute storm, one host of each tier spare", () => {
        const c = parseEdgeConfig(readStackFile(projectDir, "dev").raw);
        assert.equal(c.target, "aws");
        assert.equal(c.capacity.targetDevices, 500_000);
        assert.equal(c.capacity.stormSeconds, 300);
        assert.equal(c.capacity.spareHosts, 1);
        // the target itself holds with one of each lost (the guard checks it; this pins the file)
        assert.ok((c.haproxy.instances - 1) * c.haproxy.maxconn >= 500_000);
        assert.ok((c.emqx.nodes - 1) * c.emqx.maxConnections >= 500_000);
    });

    test("an unknown stack names the stacks that exist", () => {
        assert.throws(() => readStackFile(projectDir, "nosuch"), /unknown stack "nosuch".*dev/);
    });

    test("a stack name cannot walk out of the project", () => {
        assert.throws(
            () => readStackFile(projectDir, "../etc/passwd"),
            /stack name "..\/etc\/passwd" is not valid/,
        );
    });
});
