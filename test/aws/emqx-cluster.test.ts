/**
 * EmqxCluster under mocks: node names match DNS records, each node has its own volume in its
 * zone, the cookie and dashboard password are generated, secret, stored only in SSM, and absent
 * from user-data and plain outputs; raising the node count from 3 to 5 adds exactly two nodes.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { hostFilesContentHash } from "../../templates/cloud-init-host-files.ts";
import { userDataOf } from "../support/user-data.ts";
import {
    created,
    isSecret,
    named,
    ofType,
    outputValue,
    type Recorded,
    settle,
    settleAndReset,
} from "./aws-mocks.ts";
import { lintBash } from "./lint-script.ts";

const { EmqxCluster } = await import("../../components/aws/emqx-cluster.ts");
const { emqxHostFiles } = await import("../../components/aws/host-user-data.ts");
const { emqxNodeNames } = await import("../../components/aws/emqx-node-names.ts");
const { createEmqxCredentials } = await import("../../components/emqx-credentials.ts");

const CONF =
    "cluster { discovery_strategy = static }\nlisteners.tcp.default.proxy_protocol = true\n";

function cluster(
    nodeCount: number,
    overrides: Partial<ConstructorParameters<typeof EmqxCluster>[1]> = {},
    opts: pulumi.ComponentResourceOptions = {},
) {
    return new EmqxCluster(
        "emqx",
        {
            nodeCount,
            instanceType: "c7i.xlarge",
            subnets: [
                { id: "subnet-a", availabilityZone: "eu-west-1a" },
                { id: "subnet-b", availabilityZone: "eu-west-1b" },
                { id: "subnet-c", availabilityZone: "eu-west-1c" },
            ],
            securityGroupId: "sg-emqx-id",
            zone: { zoneId: "Z123", zoneName: "edge.internal" },
            emqxVersion: "5.8.9",
            maxConnections: 500_000,
            emqxConf: CONF,
            dataVolumeGiB: 50,
            parameterPrefix: "/mqtt-edge/test/emqx",
            ...overrides,
        },
        opts,
    );
}

/** Each EMQX instance's ignoreChanges, by resource name, as the component declares them. */
function instanceIgnoreChanges(
    overrides: Partial<ConstructorParameters<typeof EmqxCluster>[1]> = {},
): Map<string, string[]> {
    const seen = new Map<string, string[]>();
    cluster(3, overrides, {
        transformations: [
            (args) => {
                if (args.type === "aws:ec2/instance:Instance") {
                    seen.set(args.name, [...(args.opts.ignoreChanges ?? [])].sort());
                }
                return undefined;
            },
        ],
    });
    return seen;
}

/**
 * The cluster's parameters in the order the hosts fetch and hash them (emqxHostFiles); the mocks
 * record them as their values resolve, the generated secrets last.
 */
function parametersInManifestOrder(): Recorded[] {
    const order = emqxHostFiles({
        emqxVersion: "5.8.9",
        maxConnections: 1,
        parameterPrefix: "/mqtt-edge/test/emqx",
    }).map((file) => `/mqtt-edge/test/emqx/${file.key}`);
    return ofType("aws:ssm/parameter:Parameter").sort(
        (a, b) => order.indexOf(String(a.inputs.name)) - order.indexOf(String(b.inputs.name)),
    );
}

/** The generated secrets as the mocks answered them (see aws-mocks.ts). */
function generatedSecrets(): string[] {
    return ofType("random:index/randomPassword:RandomPassword").map((r) => r.name);
}

describe("EmqxCluster", () => {
    beforeEach(settleAndReset);

    test("a node keeps its instance when its user-data, AMI or type changes, in either user-data field; refreshNode frees one", async () => {
        const kept = instanceIgnoreChanges();
        await settle();
        assert.deepEqual([...kept.keys()].sort(), ["emqx-1", "emqx-2", "emqx-3"]);
        for (const fields of kept.values()) {
            // userData too: nodes made before user-data was packed (userDataBase64) hold it.
            assert.deepEqual(fields, ["ami", "instanceType", "userData", "userDataBase64"]);
        }
        await settleAndReset();
        const refreshed = instanceIgnoreChanges({ refreshNode: 2 });
        await settle();
        assert.deepEqual(refreshed.get("emqx-2"), []);
        assert.deepEqual(refreshed.get("emqx-1"), [
            "ami",
            "instanceType",
            "userData",
            "userDataBase64",
        ]);
    });

    test("dns discovery: one SRV record naming every node, so peers keep their DNS names", async () => {
        cluster(3, { discoverySrvName: "_emqx._tcp.edge.internal" });
        await settle();
        const srv = named("emqx-discovery").inputs;
        assert.equal(srv.type, "SRV");
        assert.equal(srv.name, "_emqx._tcp.edge.internal");
        assert.equal(srv.zoneId, "Z123");
        assert.deepEqual(srv.records, [
            "10 10 4370 emqx-1.edge.internal",
            "10 10 4370 emqx-2.edge.internal",
            "10 10 4370 emqx-3.edge.internal",
        ]);
    });

    test("static seeds: no SRV record", async () => {
        cluster(3);
        await settle();
        assert.equal(
            ofType("aws:route53/record:Record").filter((r) => r.inputs.type === "SRV").length,
            0,
        );
    });

    test("three nodes: node names, DNS records, volumes in the node's zone, attachments", async () => {
        const emqx = cluster(3);
        await settle();
        assert.deepEqual(emqx.nodeNames, [
            "emqx@emqx-1.edge.internal",
            "emqx@emqx-2.edge.internal",
            "emqx@emqx-3.edge.internal",
        ]);
        assert.deepEqual(emqx.nodeNames, emqxNodeNames("edge.internal", 3));
        const ips = await outputValue(emqx.privateIps);
        const ids = await outputValue(emqx.instanceIds);
        assert.deepEqual(
            ofType("aws:route53/record:Record").map((r) => [
                r.inputs.zoneId,
                `emqx@${String(r.inputs.name)}`,
                r.inputs.type,
                r.inputs.records,
            ]),
            emqx.nodeNames.map((node, i) => ["Z123", node, "A", [ips[i]]]),
        );
        const volumes = ofType("aws:ebs/volume:Volume");
        assert.deepEqual(
            volumes.map((v) => [
                v.inputs.availabilityZone,
                v.inputs.size,
                v.inputs.type,
                v.inputs.encrypted,
            ]),
            [
                ["eu-west-1a", 50, "gp3", true],
                ["eu-west-1b", 50, "gp3", true],
                ["eu-west-1c", 50, "gp3", true],
            ],
        );
        const instances = ofType("aws:ec2/instance:Instance");
        assert.deepEqual(
            instances.map((i) => i.inputs.subnetId),
            ["subnet-a", "subnet-b", "subnet-c"],
        );
        const attachments = ofType("aws:ec2/volumeAttachment:VolumeAttachment");
        assert.equal(attachments.length, 3);
        attachments.forEach((a, i) => {
            assert.equal(a.inputs.instanceId, ids[i]);
            assert.equal(a.inputs.deviceName, "/dev/sdf");
            assert.equal(a.inputs.stopInstanceBeforeDetaching, true);
        });
        // Each node's user-data names the node and its own volume.
        instances.forEach((instance, i) => {
            const userData = userDataOf(instance.inputs);
            assert.ok(userData.includes(`Environment=EMQX_NODE__NAME=${emqx.nodeNames[i]}`));
            const volumeId = String(attachments[i]?.inputs.volumeId);
            assert.match(volumeId, /^vol-[0-9a-f]{17}$/);
            assert.ok(userData.includes(`Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`));
            assert.equal(instance.inputs.associatePublicIpAddress, false);
        });
    });

    test("user-data passes shellcheck and bash -n, pins the version, and holds no cookie or password", async () => {
        const emqx = cluster(2);
        await settle();
        const password = await outputValue(emqx.dashboardPassword);
        const secretsFile = String(named("emqx-files-secrets.env").inputs.value);
        const cookie = /^EMQX_NODE__COOKIE='([A-Za-z0-9_]+)'$/m.exec(secretsFile)?.[1];
        assert.ok(cookie && cookie.length >= 40, "the env file carries a generated cookie");
        assert.match(
            secretsFile,
            new RegExp(`^EMQX_DASHBOARD__DEFAULT_PASSWORD='${password}'$`, "m"),
        );
        for (const instance of ofType("aws:ec2/instance:Instance")) {
            const userData = userDataOf(instance.inputs);
            assert.equal(lintBash(userData), "", instance.name);
            // The version pin is read from SSM, so a new pin changes no instance input.
            assert.match(userData, /--name '\/mqtt-edge\/test\/emqx\/emqx-version'/);
            assert.doesNotMatch(userData, /5\.8\.9/);
            assert.ok(!userData.includes(cookie), "cookie not in user-data");
            assert.ok(!userData.includes(password), "password not in user-data");
            assert.ok(
                !userData.includes("proxy_protocol"),
                "emqx.conf travels through SSM, not user-data",
            );
            assert.equal(instance.secretInputs.length, 0);
        }
        assert.deepEqual(generatedSecrets(), ["emqx-cookie", "emqx-dashboard"]);
    });

    test("secrets: stored as SecureString, secret in state and outputs, read by the role only from these parameters", async () => {
        const emqx = cluster(3, {
            licenseKey: pulumi.secret("MjIwMTExCjAKMTAKRXZhbHVhdGlvbgo=.MEUCIE271Mt"),
        });
        await settle();
        const parameters = parametersInManifestOrder();
        assert.deepEqual(
            parameters.map((p) => [p.inputs.name, p.inputs.type, p.secretInputs.includes("value")]),
            [
                ["/mqtt-edge/test/emqx/emqx.conf", "SecureString", true],
                ["/mqtt-edge/test/emqx/secrets.env", "SecureString", true],
                ["/mqtt-edge/test/emqx/emqx-version", "SecureString", true],
                ["/mqtt-edge/test/emqx/cluster-nodes", "SecureString", true],
                ["/mqtt-edge/test/emqx/sysctl.conf", "SecureString", true],
                ["/mqtt-edge/test/emqx/emqx-limits.conf", "SecureString", true],
            ],
        );
        assert.match(
            String(named("emqx-files-secrets.env").inputs.value),
            /^EMQX_LICENSE__KEY='"MjIw/m,
        );
        assert.equal(await isSecret(emqx.dashboardPassword), true);
        assert.equal(await isSecret(emqx.configHash), true);
        assert.equal(await isSecret(emqx.dashboardPortForwardCommand), false);
        assert.equal(emqx.secretsParameterName, "/mqtt-edge/test/emqx/secrets.env");
        const policy = JSON.parse(String(named("emqx-host-access").inputs.policy));
        const bySid = new Map(
            policy.Statement.map((s: { Sid: string; Resource: unknown }) => [s.Sid, s.Resource]),
        );
        // Exactly the node files: emqx.conf, the secrets and the shared host settings.
        assert.deepEqual(
            bySid.get("ReadOwnParameters"),
            [
                "emqx.conf",
                "secrets.env",
                "emqx-version",
                "cluster-nodes",
                "sysctl.conf",
                "emqx-limits.conf",
            ].map(
                (key) => `arn:aws:ssm:eu-west-1:123456789012:parameter/mqtt-edge/test/emqx/${key}`,
            ),
        );
        // The key the parameters are encrypted with, and no other.
        assert.deepEqual(bySid.get("DecryptOwnParametersThroughSsm"), [
            named("emqx-files-emqx.conf").inputs.keyId,
        ]);
        // Nothing of S3: the EMQX nodes have no objects.
        assert.equal(bySid.has("ReadOwnObjects"), false);
        // The plain outputs a stack would export carry no secret.
        const plain = JSON.stringify([
            emqx.nodeNames,
            emqx.hostnames,
            await outputValue(emqx.dashboardPortForwardCommand),
        ]);
        assert.ok(!plain.includes(await outputValue(emqx.dashboardPassword)));
    });

    test("the generated Erlang cookie and dashboard password are secret outputs", async () => {
        const parent = new pulumi.ComponentResource("test:index:Parent", "creds-parent");
        const credentials = createEmqxCredentials("creds", parent);
        await settle();
        assert.equal(await isSecret(credentials.erlangCookie), true);
        assert.equal(await isSecret(credentials.dashboardPassword), true);
        assert.match(await outputValue(credentials.erlangCookie), /^C[A-Za-z0-9]{47}$/);
    });

    test("dashboard access is an SSM port-forward to node 1", async () => {
        const emqx = cluster(3);
        await settle();
        const [first] = await outputValue(emqx.instanceIds);
        assert.equal(
            await outputValue(emqx.dashboardPortForwardCommand),
            `aws ssm start-session --target ${first} --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["18083"],"localPortNumber":["18083"]}'`,
        );
    });

    test("the association rolls one node at a time, on a schedule too, with the hash of every file", async () => {
        const emqx = cluster(3);
        await settle();
        const association = ofType("aws:ssm/association:Association")[0]!.inputs;
        assert.equal(association.maxConcurrency, "1");
        assert.equal(association.maxErrors, "0");
        assert.equal(association.scheduleExpression, "rate(30 minutes)");
        const contents = parametersInManifestOrder().map((p) => String(p.inputs.value));
        assert.equal(contents[0], CONF);
        assert.match(contents[2] ?? "", /^5\.8\.9\n$/);
        assert.equal(
            contents[3],
            "emqx@emqx-1.edge.internal\nemqx@emqx-2.edge.internal\nemqx@emqx-3.edge.internal\n",
        );
        assert.match(contents[5] ?? "", /^LimitNOFILE=1048576$/m);
        assert.deepEqual(association.parameters, { contentHash: hostFilesContentHash(contents) });
        assert.equal(await outputValue(emqx.configHash), hostFilesContentHash(contents));
        const document = JSON.parse(String(ofType("aws:ssm/document:Document")[0]?.inputs.content));
        assert.deepEqual(document.mainSteps[0].inputs.runCommand, [
            "/usr/local/sbin/mqtt-edge-apply-emqx --expect-hash {{ contentHash }}",
        ]);
        // Covers the lock wait (600), six bounded reads (6 x 150), an upgrade (3 x 300), the
        // node's readiness (300) and the cluster check (600).
        assert.equal(document.mainSteps[0].inputs.timeoutSeconds, "3300");
    });

    test("3 -> 5 nodes adds exactly nodes 4 and 5 (instance, volume, attachment, record) and changes nothing else", async () => {
        cluster(3);
        await settle();
        const three = structuredClone(created) as Recorded[];
        await settleAndReset();
        cluster(5);
        await settle();
        const key = (r: Recorded) => `${r.type} ${r.name}`;
        const before = new Map(three.map((r) => [key(r), JSON.stringify(r.inputs)]));
        const added = created
            .filter((r) => !before.has(key(r)))
            .map(key)
            .sort();
        assert.deepEqual(added, [
            "aws:ebs/volume:Volume emqx-4-data",
            "aws:ebs/volume:Volume emqx-5-data",
            "aws:ec2/instance:Instance emqx-4",
            "aws:ec2/instance:Instance emqx-5",
            "aws:ec2/volumeAttachment:VolumeAttachment emqx-4-data",
            "aws:ec2/volumeAttachment:VolumeAttachment emqx-5-data",
            "aws:route53/record:Record emqx-4-dns",
            "aws:route53/record:Record emqx-5-dns",
        ]);
        const removed = three.filter((r) => !created.some((c) => key(c) === key(r)));
        assert.deepEqual(removed, []);
        const changed = created
            .filter((r) => before.has(key(r)) && before.get(key(r)) !== JSON.stringify(r.inputs))
            .map(key);
        // The peer list every node waits for: nodes 1-3 roll one by one through the association.
        assert.deepEqual(changed, [
            "aws:ssm/parameter:Parameter emqx-files-cluster-nodes",
            "aws:ssm/association:Association emqx-sync-apply",
        ]);
        // Nodes 4 and 5 wrap around to the first two zones.
        const zoneOf = (volume: string) =>
            ofType("aws:ebs/volume:Volume").find((v) => v.name === volume)?.inputs.availabilityZone;
        assert.deepEqual(
            [zoneOf("emqx-4-data"), zoneOf("emqx-5-data")],
            ["eu-west-1a", "eu-west-1b"],
        );
    });

    for (const [what, overrides] of [
        ["emqx.conf", { emqxConf: `${CONF}mqtt.max_packet_size = 2MB\n` }],
        ["the EMQX version", { emqxVersion: "5.8.10" }],
        ["max_connections", { maxConnections: 400_000 }],
        [
            "the license key",
            { licenseKey: pulumi.secret("MjIwMTExCjAKMTAKRXZhbHVhdGlvbgo=.MEUCIE271Mu") },
        ],
    ] as const) {
        test(`a changed ${what} changes parameters and the association only: no instance, no volume`, async () => {
            cluster(3);
            await settle();
            const before = structuredClone(created) as Recorded[];
            await settleAndReset();
            cluster(3, overrides);
            await settle();
            const key = (r: Recorded) => `${r.type} ${r.name}`;
            assert.deepEqual(created.map(key), before.map(key));
            const changed = created
                .filter((r, i) => JSON.stringify(r.inputs) !== JSON.stringify(before[i]?.inputs))
                .map((r) => r.type);
            assert.ok(changed.length > 0);
            assert.deepEqual([...new Set(changed)].sort(), [
                "aws:ssm/association:Association",
                "aws:ssm/parameter:Parameter",
            ]);
        });
    }

    test("bad arguments are refused", () => {
        assert.throws(
            () => cluster(0),
            /^Error: nodeCount: 0 is not allowed; use a whole number from 1 to 32$/,
        );
        assert.throws(
            () => cluster(3, { dataVolumeGiB: 4 }),
            /dataVolumeGiB: 4 is not allowed; use a whole number from 8 to 16384/,
        );
        assert.throws(
            () => cluster(3, { extraFiles: [{ key: "secrets.env", path: "/etc/x", content: "" }] }),
            /extraFiles: key "secrets.env" is not allowed/,
        );
        assert.throws(
            () => cluster(3, { refreshNode: 4 }),
            /^Error: refreshNode: 4 is not allowed; use a node index from 1 to 3, or leave it unset$/,
        );
    });
});
