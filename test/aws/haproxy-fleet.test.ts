/**
 * HaproxyFleet under mocks: resource graph, placement, target registration, least-privilege role,
 * secrets kept out of user-data, and what a changed haproxy.cfg changes (the SSM parameter and the
 * association's hash) and what it does not (user-data, instances).
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { hostFilesContentHash } from "../../templates/cloud-init-host-files.ts";
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
        instanceType: "c7i.large",
        subnets: [
            { id: "subnet-a", availabilityZone: "eu-west-1a" },
            { id: "subnet-b", availabilityZone: "eu-west-1b" },
        ],
        securityGroupId: "sg-haproxy-id",
        targetGroupArn: "arn:tg/haproxy",
        devicePort: 8883,
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
        zone: { zoneId: "Z123", zoneName: "edge.internal" },
        ...overrides,
    });
}

const CFG = "global\n    maxconn 500000\n";

describe("HaproxyFleet", () => {
    beforeEach(settleAndReset);

    test("resource graph: three instances over two zones, each registered with the target group and named in DNS", async () => {
        const hap = fleet(CFG);
        await settle();
        const counts: Record<string, number> = {};
        for (const r of created) counts[r.type] = (counts[r.type] ?? 0) + 1;
        assert.deepEqual(counts, {
            "mqtt-edge:aws:HaproxyFleet": 1,
            "mqtt-edge:aws:HostParameters": 1,
            "mqtt-edge:aws:HostRole": 1,
            "mqtt-edge:aws:ConfigSync": 1,
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
            "aws:iam/rolePolicy:RolePolicy": 1,
            "aws:iam/instanceProfile:InstanceProfile": 1,
            "aws:ec2/instance:Instance": 3,
            "aws:lb/targetGroupAttachment:TargetGroupAttachment": 3,
            "aws:route53/record:Record": 3,
            "aws:ssm/document:Document": 1,
            "aws:ssm/association:Association": 1,
        });
        const instances = ofType("aws:ec2/instance:Instance");
        assert.deepEqual(
            instances.map((i) => i.inputs.subnetId),
            ["subnet-a", "subnet-b", "subnet-a"],
        );
        const ids = await outputValue(hap.instanceIds);
        assert.deepEqual(
            ofType("aws:lb/targetGroupAttachment:TargetGroupAttachment").map((a) => [
                a.inputs.targetGroupArn,
                a.inputs.targetId,
                a.inputs.port,
            ]),
            ids.map((id) => ["arn:tg/haproxy", id, 8883]),
        );
        const ips = await outputValue(hap.privateIps);
        assert.deepEqual(
            ofType("aws:route53/record:Record").map((r) => [
                r.inputs.zoneId,
                r.inputs.name,
                r.inputs.type,
                r.inputs.records,
            ]),
            hap.hostnames.map((name, i) => ["Z123", name, "A", [ips[i]]]),
        );
        assert.deepEqual(hap.hostnames, [
            "haproxy-1.edge.internal",
            "haproxy-2.edge.internal",
            "haproxy-3.edge.internal",
        ]);
    });

    test("instances: official Debian AMI, no public IP, IMDSv2, encrypted root, no key pair, role attached", async () => {
        fleet(CFG);
        await settle();
        assert.deepEqual(amiQueries[0]?.owners, ["136693071363"]);
        assert.deepEqual(
            ((amiQueries[0]?.filters ?? []) as { name: string; values: string[] }[]).find(
                (f) => f.name === "name",
            )?.values,
            ["debian-12-amd64-*"],
        );
        for (const instance of ofType("aws:ec2/instance:Instance")) {
            const i = instance.inputs;
            assert.equal(i.ami, MOCK_AMI_ID);
            assert.equal(i.associatePublicIpAddress, false);
            assert.equal(i.keyName, undefined);
            assert.deepEqual(i.vpcSecurityGroupIds, ["sg-haproxy-id"]);
            assert.equal(i.iamInstanceProfile, "hap-host-profile");
            assert.deepEqual(i.metadataOptions, {
                httpEndpoint: "enabled",
                httpTokens: "required",
                httpPutResponseHopLimit: 1,
            });
            assert.equal((i.rootBlockDevice as { encrypted: boolean }).encrypted, true);
            assert.equal(i.userDataReplaceOnChange, true);
            assert.equal(
                (i.tags as Record<string, string>)["mqtt-edge:config-group"],
                "/mqtt-edge/test/haproxy",
            );
        }
    });

    test("user-data passes shellcheck and bash -n, and holds no file content or secret", async () => {
        fleet(CFG);
        await settle();
        for (const instance of ofType("aws:ec2/instance:Instance")) {
            const userData = String(instance.inputs.userData);
            assert.equal(lintBash(userData), "", instance.name);
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
                    `${instance.name} user-data holds ${content.slice(0, 20)}`,
                );
            }
            assert.match(
                userData,
                /\/mqtt-edge\/test\/haproxy\/server\.pem \/etc\/haproxy\/certs\/server\.pem 0600 root:root/,
            );
            assert.equal(instance.secretInputs.length, 0, "nothing secret reaches the instance");
        }
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
                String(instance.inputs.userData),
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

    test("a changed haproxy.cfg changes its parameter and the association hash, and no user-data", async () => {
        fleet(CFG);
        await settle();
        const before = structuredClone(created) as Recorded[];
        await settleAndReset();
        fleet(`${CFG}    # tuned\n`);
        await settle();
        const after = created;
        assert.deepEqual(
            after.map((r) => `${r.type} ${r.name}`),
            before.map((r) => `${r.type} ${r.name}`),
        );
        const changed = after
            .filter((r, i) => JSON.stringify(r.inputs) !== JSON.stringify(before[i]?.inputs))
            .map((r) => `${r.type} ${r.name}`);
        assert.deepEqual(changed, [
            "aws:ssm/parameter:Parameter hap-files-haproxy.cfg",
            "aws:ssm/association:Association hap-sync-apply",
        ]);
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
    });
});
