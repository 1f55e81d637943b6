/**
 * The load generators in the whole program under mocks: what `loadGenerators` adds to a stack
 * (and that it changes nothing else), how narrowly the generators may act, and their user-data.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ConfigError, parseEdgeConfig } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { lintBash } from "../aws/lint-script.ts";
import { userDataOf } from "../support/user-data.ts";
import type { ProgramRun, RecordedResource } from "./run-program.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;

async function runProgram(stack: string, overrides: string[] = []): Promise<ProgramRun> {
    const { stdout } = await run(
        process.execPath,
        [join(projectDir, "test/program/run-program.ts"), stack, ...overrides],
        { maxBuffer: 256 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as ProgramRun;
}

const key = (x: RecordedResource) => `${x.type} ${x.name}`;

/** Resources of `after` whose inputs differ from the same resource in `before`. */
function changedResources(before: ProgramRun, after: ProgramRun): RecordedResource[] {
    const byKey = new Map(before.resources.map((x) => [key(x), x]));
    const changed: RecordedResource[] = [];
    for (const x of after.resources) {
        const old = byKey.get(key(x));
        if (!old) continue;
        // Every run makes fresh keys and certificates, so what holds them differs anyway.
        if (x.type.startsWith("tls:") || x.type.startsWith("command:")) continue;
        if (String(x.inputs.value ?? x.inputs.content).includes("-----BEGIN")) continue;
        const strip = (inputs: Record<string, unknown>) =>
            JSON.stringify({ ...inputs, parameters: undefined });
        // The association's only input that follows the certificates is the content hash.
        if (x.type === "aws:ssm/association:Association" && strip(old.inputs) === strip(x.inputs))
            continue;
        if (JSON.stringify(old.inputs) !== JSON.stringify(x.inputs)) changed.push(x);
    }
    return changed;
}

describe("program, stack dev with loadGenerators (a load-test stack)", () => {
    let plain: ProgramRun;
    let withGenerators: ProgramRun;
    let resized: ProgramRun;
    before(async () => {
        [plain, withGenerators, resized] = await Promise.all([
            runProgram("dev"),
            runProgram("dev", ['loadGenerators={"count":2,"devicesPerGenerator":40000}']),
            // What npm run loadtest sets: the type sized for the plan (scripts/loadtest/generator-hosts.ts).
            runProgram("dev", [
                'loadGenerators={"count":2,"devicesPerGenerator":40000,"instanceType":"c7i.2xlarge"}',
            ]),
        ]);
    });
    const added = () => {
        const before = new Set(plain.resources.map(key));
        return withGenerators.resources.filter((x) => !before.has(key(x)));
    };
    const one = (name: string) => {
        const found = withGenerators.resources.find((x) => x.name === name);
        assert.ok(found, name);
        return found;
    };

    test("adds exactly the generators' resources, all under one component", () => {
        assert.deepEqual(
            added()
                .map((x) => x.type)
                .sort(),
            [
                "aws:ec2/instance:Instance",
                "aws:ec2/instance:Instance",
                "aws:ec2/securityGroup:SecurityGroup",
                "aws:iam/instanceProfile:InstanceProfile",
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:kms/key:Key",
                "aws:s3/bucket:Bucket",
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                "mqtt-edge:aws:LoadGenerators",
            ],
        );
        assert.ok(added().every((x) => x.name.startsWith("loadgen")));
        assert.equal(plain.outputs.loadGenerators, undefined, "a regular stack has none");
    });

    test("changes nothing that was there: a regular stack's update is untouched", () => {
        assert.deepEqual(changedResources(plain, withGenerators).map(key), []);
    });

    test("the sized instance type reaches the generator instances and nothing else", () => {
        const changed = changedResources(withGenerators, resized);
        assert.deepEqual(changed.map(key), [
            "aws:ec2/instance:Instance loadgen-1",
            "aws:ec2/instance:Instance loadgen-2",
        ]);
        for (const instance of changed) assert.equal(instance.inputs.instanceType, "c7i.2xlarge");
        assert.equal(one("loadgen-1").inputs.instanceType, "c7i.xlarge", "the schema's default");
    });

    test("the role reads input/*, writes results/* of its bucket, uses its key: nothing else", () => {
        const bucket = String(one("loadgen-bucket").inputs.bucketPrefix);
        assert.equal(bucket, "mqtt-edge-loadtest-");
        const output = withGenerators.outputs.loadGenerators;
        assert.equal(output?.secret, false);
        const { bucket: name, count } = (output?.value ?? {}) as {
            bucket?: string;
            count?: number;
        };
        assert.equal(count, 2);
        const policy = JSON.parse(String(one("loadgen-bucket-access").inputs.policy)) as {
            Statement: { Action: string[]; Resource: string[] }[];
        };
        // The fake names a KMS key arn:aws:kms:<region>:<account>:key/<32 hex>, as AWS does.
        const keyArn = /^arn:aws:kms:eu-west-1:123456789012:key\/[0-9a-f]{32}$/;
        const statements = policy.Statement.map((s) => [s.Action.join(","), s.Resource.join(",")]);
        assert.match(statements[3]?.[1] ?? "", keyArn);
        assert.deepEqual(
            statements.map(([action, resource]) => [
                action,
                keyArn.test(resource ?? "") ? "key" : resource,
            ]),
            [
                ["s3:GetObject", `arn:aws:s3:::${name}/input/*`],
                ["s3:ListBucket", `arn:aws:s3:::${name}`],
                ["s3:PutObject", `arn:aws:s3:::${name}/results/*`],
                ["kms:Decrypt,kms:GenerateDataKey", "key"],
            ],
        );
        const attachments = withGenerators.resources.filter(
            (x) =>
                x.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" &&
                x.inputs.role === "loadgen-role",
        );
        assert.deepEqual(
            attachments,
            [],
            "no managed policy (SSMManagedInstanceCore reads every parameter)",
        );
    });

    test("the bucket is private, SSE-KMS with its own key, and emptied by destroy", () => {
        assert.equal(one("loadgen-bucket").inputs.forceDestroy, true);
        const block = one("loadgen-bucket-private").inputs;
        for (const flag of [
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ]) {
            assert.equal(block[flag], true, flag);
        }
        const rules = one("loadgen-bucket-encryption").inputs.rules as {
            applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId: string };
        }[];
        const rule = rules[0];
        assert.equal(rule?.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
        assert.match(
            rule?.applyServerSideEncryptionByDefault.kmsMasterKeyId ?? "",
            /^arn:aws:kms:eu-west-1:123456789012:key\/[0-9a-f]{32}$/,
        );
    });

    test("the generators take no inbound traffic and reach out on three ports only", () => {
        const rules = withGenerators.resources.filter(
            (x) => x.type.startsWith("aws:vpc/securityGroup") && x.name.startsWith("loadgen"),
        );
        assert.ok(rules.every((x) => x.type.endsWith("EgressRule")));
        assert.deepEqual(rules.map((x) => x.inputs.fromPort).sort(), [443, 80, 8883]);
    });

    test("instances: private subnets round robin, no public IP, IMDSv2; user-data clean and secret-free", () => {
        const instances = [one("loadgen-1"), one("loadgen-2")];
        assert.deepEqual(
            instances.map((i) => i.inputs.subnetId),
            ["network-private-1-id", "network-private-2-id"],
        );
        for (const [index, instance] of instances.entries()) {
            assert.equal(instance.inputs.associatePublicIpAddress, false);
            assert.equal(
                (instance.inputs.metadataOptions as { httpTokens: string }).httpTokens,
                "required",
            );
            assert.deepEqual(instance.secretInputs, []);
            const userData = userDataOf(instance.inputs);
            assert.doesNotMatch(userData, /BEGIN|PRIVATE KEY/);
            assert.match(userData, new RegExp(`input/job-${index}\\.json`));
            assert.match(userData, /LimitNOFILE=1048576/);
            assert.equal(lintBash(userData), "");
        }
    });
});

describe("configuration: loadGenerators", () => {
    const raw = () => structuredClone(readStackFile(projectDir, "dev").raw);

    test("defaults the instance type and the per-generator size", () => {
        const config = parseEdgeConfig({ ...raw(), loadGenerators: { count: 3 } });
        assert.deepEqual(config.loadGenerators, {
            count: 3,
            instanceType: "c7i.xlarge",
            devicesPerGenerator: 50_000,
        });
    });

    test("is refused on the docker target and out of range, in one line naming the key", () => {
        assert.throws(
            () => parseEdgeConfig({ ...raw(), target: "docker", loadGenerators: { count: 1 } }),
            (e: unknown) =>
                e instanceof ConfigError &&
                /^mqtt-edge:loadGenerators = .*: is only for target aws/.test(e.message),
        );
        assert.throws(
            () => parseEdgeConfig({ ...raw(), loadGenerators: { count: 51 } }),
            (e: unknown) =>
                e instanceof ConfigError &&
                /^mqtt-edge:loadGenerators\.count = 51: must be an integer from 1 to 50$/.test(
                    e.message,
                ),
        );
    });
});
