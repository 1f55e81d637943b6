/**
 * HaproxyFleet under mocks: an Auto Scaling group with a launch template, a launch lifecycle hook,
 * a Rolling instance refresh and its own target-group registration (no plain instances); the
 * least-privilege role plus the one lifecycle permission; secrets kept out of user-data; and what
 * each kind of change changes: haproxy.cfg (a parameter and the association, no host), maxconn
 * (the launch template, which rolls), the instance count (the desired capacity only).
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { hostFilesContentHash } from "../../templates/cloud-init-host-files.ts";
import { userDataOf } from "../support/user-data.ts";
import {
    amiQueries,
    created,
    isSecret,
    MOCK_AMI_ID,
    named,
    ofType,
    outputValue,
    type Recorded,
    settle,
    settleAndReset,
} from "./aws-mocks.ts";
import { lintBash } from "./lint-script.ts";

const { HaproxyFleet } = await import("../../components/aws/haproxy-fleet.ts");

const SERVER_KEY =
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
const SERVER_CERT = "-----BEGIN CERTIFICATE-----\nMIIBserver\n-----END CERTIFICATE-----\n";
const CRL = "-----BEGIN X509 CRL-----\nMIIBcrl\n-----END X509 CRL-----\n";

function fleet(
    haproxyCfg: string,
    overrides: Partial<ConstructorParameters<typeof HaproxyFleet>[1]> = {},
) {
    return new HaproxyFleet("hap", {
        instanceCount: 3,
        groupName: "mqtt-edge-test-haproxy",
        region: "eu-west-1",
        instanceType: "c7i.large",
        subnets: [
            { id: "subnet-a", availabilityZone: "eu-west-1a" },
            { id: "subnet-b", availabilityZone: "eu-west-1b" },
        ],
        securityGroupId: "sg-haproxy-id",
        targetGroupArn: "arn:tg/haproxy",
        healthCheck: { port: 8080, path: "/healthz", sendProxy: false },
        maxconn: 500_000,
        haproxyCfg,
        files: [
            {
                key: "server.pem",
                path: "/etc/haproxy/certs/server.pem",
                content: pulumi.secret(SERVER_CERT + SERVER_KEY),
                mode: "0600",
            },
            { key: "crl.pem", path: "/etc/haproxy/ca/crl.pem", content: CRL, store: "s3" },
        ],
        parameterPrefix: "/mqtt-edge/test/haproxy",
        ...overrides,
    });
}

/** The launch template's user-data as the hosts get it. */
function launchUserData(): string {
    const template = ofType("aws:ec2/launchTemplate:LaunchTemplate")[0];
    assert.ok(template, "a launch template");
    return userDataOf(template.inputs);
}

/** Resources whose inputs differ between two recordings of the same graph. */
function changedBetween(before: Recorded[], after: Recorded[]): string[] {
    assert.deepEqual(
        after.map((r) => `${r.type} ${r.name}`),
        before.map((r) => `${r.type} ${r.name}`),
    );
    return after
        .filter((r, i) => JSON.stringify(r.inputs) !== JSON.stringify(before[i]?.inputs))
        .map((r) => `${r.type} ${r.name}`);
}

/** Records the fleet built with `first`, then with `second`; returns both recordings. */
async function recordTwice(
    first: Parameters<typeof fleet>,
    second: Parameters<typeof fleet>,
): Promise<[Recorded[], Recorded[]]> {
    fleet(...first);
    await settle();
    const before = structuredClone(created) as Recorded[];
    await settleAndReset();
    fleet(...second);
    await settle();
    return [before, structuredClone(created) as Recorded[]];
}

const CFG = "global\n    maxconn 500000\n";

describe("HaproxyFleet", () => {
    beforeEach(settleAndReset);

    test("resource graph: an Auto Scaling group and its launch template, no plain instance, no per-host record", async () => {
        fleet(CFG);
        await settle();
        const counts: Record<string, number> = {};
        for (const r of created) counts[r.type] = (counts[r.type] ?? 0) + 1;
        assert.deepEqual(counts, {
            "mqtt-edge:aws:HaproxyFleet": 1,
            "mqtt-edge:aws:HostParameters": 1,
            "mqtt-edge:aws:HostRole": 1,
            "mqtt-edge:aws:ConfigSync": 1,
            "mqtt-edge:aws:RefreshWait": 1,
            "aws:kms/key:Key": 1,
            "aws:kms/keyPolicy:KeyPolicy": 1,
            "aws:ssm/parameter:Parameter": 2,
            "mqtt-edge:aws:HostFilesBucket": 1,
            "aws:s3/bucket:Bucket": 1,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
            "aws:s3/bucketVersioning:BucketVersioning": 1,
            "aws:s3/bucketPolicy:BucketPolicy": 1,
            "aws:s3/bucketObjectv2:BucketObjectv2": 1,
            "aws:iam/role:Role": 1,
            "aws:iam/rolePolicy:RolePolicy": 2,
            "aws:iam/instanceProfile:InstanceProfile": 1,
            "aws:ec2/launchTemplate:LaunchTemplate": 1,
            "aws:autoscaling/group:Group": 1,
            "command:local:Command": 1,
            "aws:ssm/document:Document": 1,
            "aws:ssm/association:Association": 1,
        });
    });

    test("the group: over the proxy subnets, registered with the target group, ELB health checks, a launch hook, a Rolling refresh", async () => {
        fleet(CFG);
        await settle();
        const group = ofType("aws:autoscaling/group:Group")[0]!.inputs;
        assert.equal(group.name, "mqtt-edge-test-haproxy");
        assert.deepEqual(group.vpcZoneIdentifiers, ["subnet-a", "subnet-b"]);
        assert.deepEqual([group.desiredCapacity, group.minSize, group.maxSize], [3, 1, 100]);
        assert.deepEqual(group.targetGroupArns, ["arn:tg/haproxy"]);
        assert.equal(group.healthCheckType, "ELB");
        assert.equal(group.healthCheckGracePeriod, 300);
        assert.deepEqual(group.initialLifecycleHooks, [
            {
                name: "mqtt-edge-bootstrap",
                lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
                defaultResult: "ABANDON",
                heartbeatTimeout: 3600,
            },
        ]);
        assert.deepEqual(group.instanceRefresh, {
            strategy: "Rolling",
            preferences: {
                minHealthyPercentage: 100,
                maxHealthyPercentage: 200,
                instanceWarmup: "120",
                autoRollback: true,
                skipMatching: true,
                scaleInProtectedInstances: "Refresh",
                standbyInstances: "Terminate",
            },
        });
        assert.equal(group.waitForElbCapacity, 3);
        assert.equal(group.waitForCapacityTimeout, "3600s");
        const launch = group.launchTemplate as { id: string; version?: string };
        assert.equal(launch.id, `${ofType("aws:ec2/launchTemplate:LaunchTemplate")[0]!.name}-id`);
    });

    test("checkpoints pause the refresh where configured; bad checkpoints are refused", async () => {
        fleet(CFG, {
            refresh: {
                instanceWarmupSeconds: 60,
                checkpointPercentages: [50, 100],
                checkpointDelaySeconds: 900,
            },
        });
        await settle();
        const preferences = (
            ofType("aws:autoscaling/group:Group")[0]!.inputs.instanceRefresh as {
                preferences: Record<string, unknown>;
            }
        ).preferences;
        assert.deepEqual(
            [
                preferences.instanceWarmup,
                preferences.checkpointPercentages,
                preferences.checkpointDelay,
            ],
            ["60", [50, 100], "900"],
        );
        assert.throws(
            () =>
                fleet(CFG, {
                    refresh: {
                        instanceWarmupSeconds: 60,
                        checkpointPercentages: [50, 40],
                        checkpointDelaySeconds: 900,
                    },
                }),
            /^Error: checkpointPercentages: \[50,40\] is not allowed; use ascending whole percentages from 1 to 100 ending with 100, or \[\]$/,
        );
    });

    test("launch template: official Debian AMI, no public IP, IMDSv2, encrypted root, no key pair, role attached, tagged for the association", async () => {
        fleet(CFG);
        await settle();
        assert.deepEqual(amiQueries[0]?.owners, ["136693071363"]);
        const t = ofType("aws:ec2/launchTemplate:LaunchTemplate")[0]!.inputs;
        assert.equal(t.imageId, MOCK_AMI_ID);
        assert.equal(t.instanceType, "c7i.large");
        assert.equal(t.keyName, undefined);
        assert.deepEqual(t.networkInterfaces, [
            {
                deviceIndex: 0,
                associatePublicIpAddress: "false",
                securityGroups: ["sg-haproxy-id"],
                deleteOnTermination: "true",
            },
        ]);
        assert.deepEqual(t.iamInstanceProfile, { name: "hap-host-profile" });
        assert.deepEqual(t.metadataOptions, {
            httpEndpoint: "enabled",
            httpTokens: "required",
            httpPutResponseHopLimit: 1,
        });
        const [root] = t.blockDeviceMappings as { ebs: Record<string, unknown> }[];
        assert.equal(root?.ebs.encrypted, "true");
        for (const spec of t.tagSpecifications as { tags: Record<string, string> }[]) {
            assert.equal(spec.tags["mqtt-edge:config-group"], "/mqtt-edge/test/haproxy");
        }
    });

    test("user-data passes shellcheck and bash -n, holds no file content or secret, and completes the group's own hook", async () => {
        fleet(CFG);
        await settle();
        const userData = launchUserData();
        assert.equal(lintBash(userData), "");
        for (const content of [
            SERVER_KEY,
            SERVER_CERT,
            CRL,
            CFG,
            "BEGIN PRIVATE KEY",
            "maxconn 500000",
        ]) {
            assert.ok(
                !userData.includes(content.trim()),
                `user-data holds ${content.slice(0, 20)}`,
            );
        }
        assert.match(
            userData,
            /\/mqtt-edge\/test\/haproxy\/server\.pem \/etc\/haproxy\/certs\/server\.pem 0600 root:root/,
        );
        assert.match(
            userData,
            /--auto-scaling-group-name 'mqtt-edge-test-haproxy' --lifecycle-hook-name 'mqtt-edge-bootstrap'/,
        );
        const template = ofType("aws:ec2/launchTemplate:LaunchTemplate")[0]!;
        assert.equal(template.secretInputs.length, 0, "nothing secret reaches the launch template");
    });

    test("the lifecycle permission: CompleteLifecycleAction on this group by name, nothing else", async () => {
        fleet(CFG);
        await settle();
        const policy = JSON.parse(String(named("hap-lifecycle").inputs.policy));
        assert.deepEqual(policy.Statement, [
            {
                Sid: "CompleteOwnLaunchHook",
                Effect: "Allow",
                Action: ["autoscaling:CompleteLifecycleAction"],
                Resource: [
                    "arn:aws:autoscaling:eu-west-1:*:autoScalingGroup:*:autoScalingGroupName/mqtt-edge-test-haproxy",
                ],
            },
        ]);
        assert.equal(named("hap-lifecycle").inputs.role, "hap-host-role");
    });

    test("pulumi up waits for each refresh: the poll re-runs on a new launch template version", async () => {
        fleet(CFG);
        await settle();
        const poll = named("hap-refresh-poll").inputs;
        assert.match(
            String(poll.create),
            /aws autoscaling describe-instance-refreshes --region eu-west-1 --auto-scaling-group-name mqtt-edge-test-haproxy/,
        );
        assert.equal((poll.triggers as unknown[]).length, 1);
    });

    test("files are SecureStrings or S3 objects under the fleet's own key; the role reads exactly them", async () => {
        fleet(CFG);
        await settle();
        const parameters = ofType("aws:ssm/parameter:Parameter");
        const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/1f68dd65efd993e8bdd79c2fb6a1d9f3";
        assert.deepEqual(
            parameters.map((p) => [
                p.inputs.name,
                p.inputs.type,
                p.inputs.keyId,
                p.secretInputs.includes("value"),
            ]),
            [
                ["/mqtt-edge/test/haproxy/haproxy.cfg", "SecureString", keyArn, true],
                ["/mqtt-edge/test/haproxy/server.pem", "SecureString", keyArn, true],
            ],
        );
        const object = named("hap-files-crl.pem").inputs;
        assert.deepEqual(
            [
                object.bucket,
                object.key,
                object.serverSideEncryption,
                object.kmsKeyId,
                object.content,
            ],
            [
                "hap-files-objects-bucket-5000394",
                "mqtt-edge/test/haproxy/crl.pem",
                "aws:kms",
                keyArn,
                CRL,
            ],
        );
        const parameterArns = parameters.map(
            (p) => `arn:aws:ssm:eu-west-1:123456789012:parameter${String(p.inputs.name)}`,
        );
        const objects = "arn:aws:s3:::hap-files-objects-bucket-5000394/mqtt-edge/test/haproxy/*";
        const policy = JSON.parse(String(named("hap-host-access").inputs.policy));
        const bySid = new Map<string, { Condition?: unknown }>(
            policy.Statement.map((s: { Sid: string }) => [s.Sid, s]),
        );
        assert.deepEqual(bySid.get("ReadOwnParameters"), {
            Sid: "ReadOwnParameters",
            Effect: "Allow",
            Action: ["ssm:GetParameter"],
            Resource: parameterArns,
        });
        assert.deepEqual(bySid.get("DecryptOwnParametersThroughSsm"), {
            Sid: "DecryptOwnParametersThroughSsm",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: [keyArn],
            Condition: {
                StringEquals: {
                    "kms:ViaService": "ssm.eu-west-1.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": parameterArns,
                },
            },
        });
        assert.deepEqual(bySid.get("ReadOwnObjects"), {
            Sid: "ReadOwnObjects",
            Effect: "Allow",
            Action: ["s3:GetObject"],
            Resource: [objects],
        });
        assert.deepEqual(bySid.get("DecryptOwnObjectsThroughS3"), {
            Sid: "DecryptOwnObjectsThroughS3",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: [keyArn],
            Condition: {
                StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
                StringLike: { "kms:EncryptionContext:aws:s3:arn": objects },
            },
        });
        assert.equal(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0);
        const keyPolicy = JSON.parse(String(named("hap-host-key-policy").inputs.policy));
        const roleDecrypts = keyPolicy.Statement.filter(
            (s: { Principal: { AWS: string } }) =>
                s.Principal.AWS === "arn:aws:iam::123456789012:role/hap-host-role",
        );
        assert.deepEqual(
            roleDecrypts.map((s: { Action: string[]; Condition: unknown }) => [
                s.Action,
                s.Condition,
            ]),
            [
                [["kms:Decrypt"], bySid.get("DecryptOwnParametersThroughSsm")?.Condition],
                [["kms:Decrypt"], bySid.get("DecryptOwnObjectsThroughS3")?.Condition],
            ],
        );
        assert.equal(named("hap-files-key").inputs.enableKeyRotation, true);
        const trust = JSON.parse(String(named("hap-host-role").inputs.assumeRolePolicy));
        assert.deepEqual(trust.Statement[0].Principal, { Service: "ec2.amazonaws.com" });
    });

    test("the CRL bucket: SSE-KMS with the fleet key and no bucket key, versioned, private, TLS only", async () => {
        fleet(CFG);
        await settle();
        const keyArn = "arn:aws:kms:eu-west-1:123456789012:key/1f68dd65efd993e8bdd79c2fb6a1d9f3";
        const bucket = "hap-files-objects-bucket-5000394";
        const sse = named("hap-files-objects-encryption").inputs;
        assert.deepEqual(sse.rules, [
            {
                applyServerSideEncryptionByDefault: {
                    sseAlgorithm: "aws:kms",
                    kmsMasterKeyId: keyArn,
                },
                bucketKeyEnabled: false,
            },
        ]);
        assert.deepEqual(named("hap-files-objects-versioning").inputs.versioningConfiguration, {
            status: "Enabled",
        });
        const block = named("hap-files-objects-public-access").inputs;
        for (const flag of [
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ]) {
            assert.equal(block[flag], true, flag);
        }
        const policy = JSON.parse(String(named("hap-files-objects-tls-only").inputs.policy));
        assert.deepEqual(policy.Statement, [
            {
                Sid: "DenyWithoutTls",
                Effect: "Deny",
                Principal: "*",
                Action: ["s3:*"],
                Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ]);
        for (const instance of ofType("aws:ec2/instance:Instance")) {
            assert.match(
                userDataOf(instance.inputs),
                new RegExp(
                    `^s3://${bucket}/mqtt-edge/test/haproxy/crl\\.pem /etc/haproxy/ca/crl\\.pem 0644 root:root$`,
                    "m",
                ),
            );
        }
    });

    test("the association targets this fleet's tag, one host at a time, with the hash of exactly the files", async () => {
        const hap = fleet(CFG);
        await settle();
        const association = ofType("aws:ssm/association:Association")[0]!.inputs;
        assert.deepEqual(association.targets, [
            { key: "tag:mqtt-edge:config-group", values: ["/mqtt-edge/test/haproxy"] },
        ]);
        assert.equal(association.maxConcurrency, "1");
        assert.equal(association.maxErrors, "0");
        assert.equal(association.scheduleExpression, "rate(30 minutes)");
        const expected = hostFilesContentHash([CFG, SERVER_CERT + SERVER_KEY, CRL]);
        assert.deepEqual(association.parameters, { contentHash: expected });
        assert.equal(await outputValue(hap.configHash), expected);
        const documentResource = ofType("aws:ssm/document:Document")[0]!;
        assert.equal(association.name, documentResource.name);
        const document = JSON.parse(String(documentResource.inputs.content));
        assert.deepEqual(document.mainSteps[0].inputs.runCommand, [
            "/usr/local/sbin/mqtt-edge-apply-haproxy --expect-hash {{ contentHash }}",
        ]);
    });

    test("a changed haproxy.cfg changes its parameter and the association hash, and no host", async () => {
        const [before, after] = await recordTwice([CFG], [`${CFG}    # tuned\n`]);
        assert.deepEqual(changedBetween(before, after), [
            "aws:ssm/parameter:Parameter hap-files-haproxy.cfg",
            "aws:ssm/association:Association hap-sync-apply",
        ]);
    });

    test("a changed maxconn changes the launch template (a new version, which rolls the group) and nothing else", async () => {
        const [before, after] = await recordTwice([CFG], [CFG, { maxconn: 400_000 }]);
        assert.deepEqual(changedBetween(before, after), [
            "aws:ec2/launchTemplate:LaunchTemplate hap-launch",
        ]);
    });

    test("a changed instance count changes the group's desired capacity (and the capacity it waits for) only", async () => {
        const [before, after] = await recordTwice([CFG], [CFG, { instanceCount: 5 }]);
        assert.deepEqual(changedBetween(before, after), ["aws:autoscaling/group:Group hap-group"]);
        const group = (records: Recorded[]) =>
            records.find((r) => r.type === "aws:autoscaling/group:Group")!.inputs;
        const differing = Object.keys(group(after)).filter(
            (key) => JSON.stringify(group(after)[key]) !== JSON.stringify(group(before)[key]),
        );
        assert.deepEqual(differing.sort(), ["desiredCapacity", "waitForElbCapacity"]);
    });

    test("the private key stays secret in the hash output and never shows up unwrapped", async () => {
        const hap = fleet(CFG);
        await settle();
        assert.equal(await isSecret(hap.configHash), true);
    });

    test("bad arguments are refused", () => {
        assert.throws(
            () => fleet(CFG, { instanceCount: 0 }),
            /^Error: instanceCount: 0 is not allowed; use a whole number from 1 to 50$/,
        );
        assert.throws(() => fleet(CFG, { subnets: [] }), /subnets: \[\] is not allowed/);
        assert.throws(
            () => fleet(CFG, { files: [{ key: "haproxy.cfg", path: "/x", content: "" }] }),
            /files: key "haproxy.cfg" is not allowed; it is reserved/,
        );
        assert.throws(
            () => fleet(CFG, { parameterPrefix: "mqtt-edge" }),
            /parameterPrefix: "mqtt-edge" is not allowed/,
        );
        assert.throws(
            () => fleet(CFG, { instanceType: "large" }),
            /instanceType: "large" is not allowed/,
        );
        assert.throws(
            () => fleet(CFG, { minInstances: 4 }),
            /^Error: minInstances: 4 is not allowed; use a whole number from 0 to instanceCount \(3\)$/,
        );
        assert.throws(
            () => fleet(CFG, { maxInstances: 2 }),
            /^Error: maxInstances: 2 is not allowed; use a whole number from instanceCount \(3\) to 100$/,
        );
        assert.throws(
            () => fleet(CFG, { groupName: "has space" }),
            /^Error: groupName: "has space" is not allowed/,
        );
    });
});
