/**
 * The policy pack's rules, called through validateResource with fake args. Each case names what
 * it guards; removing the check it exercises makes the case fail.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { packUserData } from "../../components/aws/user-data-packing.ts";
import { allPolicies } from "../../policy/rules/all-policies.ts";
import { noCidrIngressToEmqxMqtt } from "../../policy/rules/no-cidr-ingress-to-emqx-mqtt.ts";
import { noPublicIpOnHosts } from "../../policy/rules/no-public-ip-on-hosts.ts";
import { noSecretsInUserData } from "../../policy/rules/no-secrets-in-user-data.ts";
import { noWorldIngress } from "../../policy/rules/no-world-ingress.ts";
import { renderEmqxUserData } from "../../templates/cloud-init-emqx.ts";
import { renderHaproxyUserData } from "../../templates/cloud-init-haproxy.ts";
import { violations } from "./fake-policy-args.ts";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const INSTANCE = "aws:ec2/instance:Instance";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

const inline = (entry: Record<string, unknown>) => ({ ingress: [entry] });

describe("no-world-ingress-except-device-port", () => {
    const rejected: [string, string, Record<string, unknown>][] = [
        [
            "SG inline 1883 from 0.0.0.0/0",
            SG,
            inline({ protocol: "tcp", fromPort: 1883, toPort: 1883, cidrBlocks: ["0.0.0.0/0"] }),
        ],
        [
            "SG inline 22 from ::/0",
            SG,
            inline({ protocol: "tcp", fromPort: 22, toPort: 22, ipv6CidrBlocks: ["::/0"] }),
        ],
        [
            "SG inline all protocols from the world",
            SG,
            inline({ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }),
        ],
        [
            "SG rule range 8000-9000 containing the device port",
            SG_RULE,
            {
                type: "ingress",
                protocol: "tcp",
                fromPort: 8000,
                toPort: 9000,
                cidrBlocks: ["0.0.0.0/0"],
            },
        ],
        [
            "SG rule 18083 from the world",
            SG_RULE,
            {
                type: "ingress",
                protocol: "tcp",
                fromPort: 18083,
                toPort: 18083,
                cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"],
            },
        ],
        [
            "vpc ingress rule all protocols (-1, no ports)",
            INGRESS_RULE,
            { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" },
        ],
        [
            "vpc ingress rule 8883 over UDP",
            INGRESS_RULE,
            { ipProtocol: "udp", fromPort: 8883, toPort: 8883, cidrIpv4: "0.0.0.0/0" },
        ],
        [
            "vpc ingress rule 4370 from ::/0",
            INGRESS_RULE,
            { ipProtocol: "tcp", fromPort: 4370, toPort: 4370, cidrIpv6: "::/0" },
        ],
    ];
    for (const [label, type, props] of rejected) {
        test(`rejects ${label}`, async () => {
            const found = await violations(noWorldIngress, type, props, {}, "sg");
            assert.equal(found.length, 1, found.join("\n"));
            assert.match(
                found[0]!,
                /^sg (ingress\[0\]|rule): opens .* to (0\.0\.0\.0\/0|::\/0); only TCP 8883 \(the device port\) may be open to the world$/,
            );
        });
    }

    const allowed: [string, string, Record<string, unknown>][] = [
        [
            "the device port from the world (IPv4)",
            INGRESS_RULE,
            { ipProtocol: "tcp", fromPort: 8883, toPort: 8883, cidrIpv4: "0.0.0.0/0" },
        ],
        [
            "the device port from the world (IPv6, inline)",
            SG,
            inline({ protocol: "tcp", fromPort: 8883, toPort: 8883, ipv6CidrBlocks: ["::/0"] }),
        ],
        [
            "1883 from a security group",
            INGRESS_RULE,
            {
                ipProtocol: "tcp",
                fromPort: 1883,
                toPort: 1883,
                referencedSecurityGroupId: "sg-haproxy",
            },
        ],
        [
            "world egress",
            EGRESS_RULE,
            { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" },
        ],
        [
            "egress-type SG rule",
            SG_RULE,
            { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
        ],
        [
            "a private CIDR on the dashboard",
            INGRESS_RULE,
            { ipProtocol: "tcp", fromPort: 18083, toPort: 18083, cidrIpv4: "10.0.0.0/8" },
        ],
    ];
    for (const [label, type, props] of allowed) {
        test(`allows ${label}`, async () => {
            assert.deepEqual(await violations(noWorldIngress, type, props), []);
        });
    }

    test("the allowed device ports come from the policy config", async () => {
        const props = { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" };
        assert.equal((await violations(noWorldIngress, INGRESS_RULE, props)).length, 1);
        assert.deepEqual(
            await violations(noWorldIngress, INGRESS_RULE, props, { worldOpenTcpPorts: [443] }),
            [],
        );
    });
});

describe("emqx-mqtt-only-from-haproxy", () => {
    const rejected: [string, string, Record<string, unknown>][] = [
        [
            "SG inline 1883 to 0.0.0.0/0",
            SG,
            inline({ protocol: "tcp", fromPort: 1883, toPort: 1883, cidrBlocks: ["0.0.0.0/0"] }),
        ],
        [
            "1883 to a private CIDR",
            INGRESS_RULE,
            { ipProtocol: "tcp", fromPort: 1883, toPort: 1883, cidrIpv4: "10.40.0.0/16" },
        ],
        [
            "a range 1000-2000 over 1883",
            SG_RULE,
            {
                type: "ingress",
                protocol: "tcp",
                fromPort: 1000,
                toPort: 2000,
                cidrBlocks: ["10.0.0.0/8"],
            },
        ],
        [
            "all protocols from a CIDR",
            INGRESS_RULE,
            { ipProtocol: "-1", cidrIpv4: "10.40.128.0/20" },
        ],
        [
            "protocol number 6 on 1883 from IPv6",
            INGRESS_RULE,
            { ipProtocol: "6", fromPort: 1883, toPort: 1883, cidrIpv6: "fd00::/8" },
        ],
    ];
    for (const [label, type, props] of rejected) {
        test(`rejects ${label}`, async () => {
            const found = await violations(noCidrIngressToEmqxMqtt, type, props, {}, "emqx");
            assert.equal(found.length, 1, found.join("\n"));
            assert.match(
                found[0]!,
                /includes 1883\) to .*; 1883 may only be reached from the HAProxy security group$/,
            );
        });
    }
    test("rejects a CIDR on any further PROXY listener port (1884-1898), allows the HAProxy group", async () => {
        for (const port of [1884, 1898]) {
            const found = await violations(noCidrIngressToEmqxMqtt, INGRESS_RULE, {
                ipProtocol: "tcp",
                fromPort: port,
                toPort: port,
                cidrIpv4: "10.40.0.0/16",
            });
            assert.equal(found.length, 1, `${port}: ${found.join("\n")}`);
            assert.match(
                found[0]!,
                new RegExp(`includes ${port}\\) to 10\\.40\\.0\\.0/16; ${port} may only`),
            );
        }
        assert.deepEqual(
            await violations(noCidrIngressToEmqxMqtt, INGRESS_RULE, {
                ipProtocol: "tcp",
                fromPort: 1883,
                toPort: 1898,
                referencedSecurityGroupId: "sg-haproxy",
            }),
            [],
        );
        assert.deepEqual(
            await violations(noCidrIngressToEmqxMqtt, INGRESS_RULE, {
                ipProtocol: "tcp",
                fromPort: 1899,
                toPort: 1899,
                cidrIpv4: "10.40.0.0/16",
            }),
            [],
        );
    });

    test("allows 1883 from the HAProxy group and UDP ranges over 1883", async () => {
        assert.deepEqual(
            await violations(noCidrIngressToEmqxMqtt, INGRESS_RULE, {
                ipProtocol: "tcp",
                fromPort: 1883,
                toPort: 1883,
                referencedSecurityGroupId: "sg-haproxy",
            }),
            [],
        );
        assert.deepEqual(
            await violations(noCidrIngressToEmqxMqtt, INGRESS_RULE, {
                ipProtocol: "udp",
                fromPort: 1000,
                toPort: 2000,
                cidrIpv4: "10.0.0.0/8",
            }),
            [],
        );
    });
});

describe("no-secrets-in-user-data", () => {
    const pemKey = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA\n-----END EC PRIVATE KEY-----\n";
    const rejected: [string, string, Record<string, unknown>, RegExp][] = [
        [
            "a PEM private key",
            INSTANCE,
            { userData: `#!/bin/bash\ncat > /etc/k.pem <<EOF\n${pemKey}EOF\n` },
            /a PEM private key block/,
        ],
        [
            "a PKCS#8 key in base64 user-data",
            INSTANCE,
            {
                userDataBase64: Buffer.from(`#!/bin/bash\n-----BEGIN PRIVATE KEY-----\n`).toString(
                    "base64",
                ),
            },
            /userDataBase64: contains a PEM private key block/,
        ],
        [
            "a key in gzip-compressed user-data, as the stack packs it",
            INSTANCE,
            { userDataBase64: packUserData(`#!/bin/bash\n${pemKey}`, "test") },
            /userDataBase64: contains a PEM private key block/,
        ],
        [
            "a cookie in a launch template's gzip-compressed user-data",
            LAUNCH_TEMPLATE,
            { userData: packUserData("EMQX_NODE__COOKIE=Ab12Cd34Ef56\n", "test") },
            /userData: contains a cookie, password, secret, token or key assignment/,
        ],
        [
            "the Erlang cookie as an env assignment",
            INSTANCE,
            { userData: "EMQX_NODE__COOKIE=Ab12Cd34Ef56\n" },
            /cookie, password, secret, token or key assignment/,
        ],
        [
            "a HOCON cookie",
            INSTANCE,
            { userData: 'node.cookie = "emqxsecretcookie"\n' },
            /cookie, password/,
        ],
        [
            "a YAML password in a launch template",
            LAUNCH_TEMPLATE,
            { userData: Buffer.from("#cloud-config\npassword: hunter22\n").toString("base64") },
            /cookie, password/,
        ],
        [
            "an AWS access key id",
            INSTANCE,
            { userData: "export AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP\n" },
            /an AWS access key id/,
        ],
    ];
    for (const [label, type, props, reason] of rejected) {
        test(`rejects ${label}`, async () => {
            const found = await violations(noSecretsInUserData, type, props, {}, "host");
            assert.ok(found.length >= 1);
            assert.ok(
                found.some((m) => reason.test(m)),
                found.join("\n"),
            );
            assert.ok(
                found.every((m) => !m.includes("Ab12Cd34Ef56") && !m.includes("MHcCAQEEIA")),
                "messages never repeat the secret",
            );
        });
    }
    test("allows values fetched at run time and our own rendered user-data", async () => {
        assert.deepEqual(
            await violations(noSecretsInUserData, INSTANCE, {
                userData:
                    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template
                    'token=$(curl -fsS http://169.254.169.254/latest/api/token)\nEMQX_NODE__COOKIE="${cookie}"\n',
            }),
            [],
        );
        const haproxy = renderHaproxyUserData({
            architecture: "x86_64",
            healthCheck: { port: 8080, path: "/healthz", sendProxy: false },
            lifecycleHook: { groupName: "mqtt-edge-dev-haproxy", hookName: "mqtt-edge-bootstrap" },
            maxconn: 1000,
            configPath: "/etc/haproxy/haproxy.cfg",
            files: [
                {
                    parameterName: "/e/haproxy.cfg",
                    path: "/etc/haproxy/haproxy.cfg",
                    mode: "0644",
                    owner: "root:root",
                },
                {
                    parameterName: "/e/server-key.pem",
                    path: "/etc/haproxy/certs/server.pem",
                    mode: "0600",
                    owner: "root:root",
                },
            ],
        });
        const emqx = renderEmqxUserData({
            hostname: "emqx-1.edge.internal",
            nodeName: "emqx@emqx-1.edge.internal",
            architecture: "x86_64",
            dataDir: "/var/lib/emqx",
            dataVolumeId: "vol-0123456789abcdef0",
            configPath: "/etc/emqx/emqx.conf",
            secretsEnvPath: "/etc/emqx/secrets.env",
            files: [
                {
                    parameterName: "/e/emqx.conf",
                    path: "/etc/emqx/emqx.conf",
                    mode: "0640",
                    owner: "root:emqx",
                },
                {
                    parameterName: "/e/secrets.env",
                    path: "/etc/emqx/secrets.env",
                    mode: "0600",
                    owner: "root:root",
                },
                {
                    parameterName: "/e/emqx-version",
                    path: "/etc/mqtt-edge/emqx-version",
                    mode: "0644",
                    owner: "root:root",
                },
                {
                    parameterName: "/e/cluster-nodes",
                    path: "/etc/mqtt-edge/emqx-cluster-nodes",
                    mode: "0644",
                    owner: "root:root",
                },
            ],
        });
        assert.deepEqual(
            await violations(noSecretsInUserData, INSTANCE, { userData: haproxy }),
            [],
        );
        assert.deepEqual(await violations(noSecretsInUserData, INSTANCE, { userData: emqx }), []);
    });
});

describe("no-public-ip-on-hosts", () => {
    test("rejects a public IP and an unset flag; allows false", async () => {
        assert.match(
            (
                await violations(
                    noPublicIpOnHosts,
                    INSTANCE,
                    { associatePublicIpAddress: true },
                    {},
                    "emqx-1",
                )
            )[0]!,
            /^emqx-1 associatePublicIpAddress: true is not allowed; set it to false/,
        );
        assert.match(
            (await violations(noPublicIpOnHosts, INSTANCE, {}, {}, "haproxy-1"))[0]!,
            /^haproxy-1 associatePublicIpAddress: undefined is not allowed/,
        );
        assert.deepEqual(
            await violations(noPublicIpOnHosts, INSTANCE, { associatePublicIpAddress: false }),
            [],
        );
    });
    test("checks launch template network interfaces", async () => {
        const props = {
            networkInterfaces: [
                { associatePublicIpAddress: "false" },
                { associatePublicIpAddress: "true" },
            ],
        };
        assert.deepEqual(await violations(noPublicIpOnHosts, LAUNCH_TEMPLATE, props, {}, "lt"), [
            'lt networkInterfaces[1].associatePublicIpAddress: "true" is not allowed; set it to false',
        ]);
    });
});

describe("the pack", () => {
    test("has a version, a nodejs runtime and its eight policies, all mandatory", () => {
        const pkg = JSON.parse(
            readFileSync(new URL("../../policy/package.json", import.meta.url), "utf8"),
        );
        assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
        const manifest = parseYaml(
            readFileSync(new URL("../../policy/PulumiPolicy.yaml", import.meta.url), "utf8"),
        );
        assert.equal(manifest.runtime.name, "nodejs");
        assert.deepEqual(
            allPolicies.map((p) => [p.name, p.enforcementLevel]),
            [
                ["no-world-ingress-except-device-port", "mandatory"],
                ["emqx-mqtt-only-from-haproxy", "mandatory"],
                ["no-secrets-in-user-data", "mandatory"],
                ["no-public-ip-on-hosts", "mandatory"],
                ["no-data-reads-on-everything", "mandatory"],
                ["kms-keys-rotate", "mandatory"],
                ["world-ingress-only-on-the-nlb", "mandatory"],
                ["emqx-ports-from-their-peers", "mandatory"],
            ],
        );
        assert.match(
            readFileSync(new URL("../../policy/index.ts", import.meta.url), "utf8"),
            /new PolicyPack\("mqtt-edge", \{ policies: allPolicies \}\)/,
        );
    });
});
