/**
 * LoadGenerators: the EC2 hosts that play the device fleet in a load-test stack, and the bucket
 * they exchange files through. Each host boots with only the bucket's name in its user-data,
 * waits for its job, certificates and the generator code under `input/`, runs and writes its
 * result under `results/` (templates/cloud-init-load-generator.ts). Their role can read `input/*`
 * and write `results/*` of this one bucket, and use this one key: nothing else (no SSM parameters,
 * no AmazonSSMManagedInstanceCore, which grants ssm:GetParameter on `*`, corrections.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { debian12AmiId } from "./debian-ami.ts";
import { hostInstanceArgs } from "./host-instance.ts";

/** Arguments of {@link LoadGenerators}. */
export interface LoadGeneratorsArgs {
    /** The VPC the generators run in (the stack's). */
    readonly vpcId: pulumi.Input<string>;
    /** Subnets to spread the generators over, round robin (the private ones, behind NAT). */
    readonly subnetIds: readonly pulumi.Input<string>[];
    /** AMI id; default the newest official Debian 12 x86_64 image, as every edge host. */
    readonly amiId?: pulumi.Input<string>;
    /** EC2 instance type of every generator. */
    readonly instanceType: string;
    /** Device port of the NLB, the only non-web port the generators may reach. */
    readonly devicePort: number;
    /** How many generators. */
    readonly count: number;
    /**
     * Renders generator n's user-data (0-based) once the bucket, which this component creates,
     * has its name: the Output is resolved here, at the boundary, and the template stays pure.
     */
    readonly renderUserData: (generator: number, bucket: string) => string;
    /** Tags for every resource. */
    readonly tags: Record<string, string>;
}

/** Bucket, key, role, security group and instances of the load generators. */
export class LoadGenerators extends pulumi.ComponentResource {
    /** Name of the bucket jobs, certificates and results go through. */
    public readonly bucket: pulumi.Output<string>;
    /** Instance ids, in generator order. */
    public readonly instanceIds: pulumi.Output<string[]>;

    constructor(name: string, args: LoadGeneratorsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:LoadGenerators", name, {}, opts);
        const { tags } = args;
        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the load-test bucket of ${name} (device keys, results)`,
                enableKeyRotation: true,
                deletionWindowInDays: 7,
                tags,
            },
            { parent: this },
        );
        const bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            {
                bucketPrefix: "mqtt-edge-loadtest-",
                // The bucket holds only this run's files; destroy must not stop at a full bucket.
                forceDestroy: true,
                tags,
            },
            { parent: this },
        );
        new aws.s3.BucketPublicAccessBlock(
            `${name}-bucket-private`,
            {
                bucket: bucket.id,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            { parent: this },
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-bucket-encryption`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: {
                            sseAlgorithm: "aws:kms",
                            kmsMasterKeyId: key.arn,
                        },
                        bucketKeyEnabled: true,
                    },
                ],
            },
            { parent: this },
        );
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Effect: "Allow",
                            Principal: { Service: "ec2.amazonaws.com" },
                            Action: "sts:AssumeRole",
                        },
                    ],
                }),
                tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-bucket-access`,
            {
                role: role.id,
                policy: pulumi
                    .all([bucket.arn, key.arn])
                    .apply(([bucketArn, keyArn]) => loadGeneratorPolicy(bucketArn, keyArn)),
            },
            { parent: this },
        );
        const profile = new aws.iam.InstanceProfile(
            `${name}-profile`,
            { role: role.name, tags },
            { parent: this },
        );
        const group = new aws.ec2.SecurityGroup(
            `${name}-group`,
            {
                vpcId: args.vpcId,
                description: "Load generators: out to the device port and to S3/packages only",
                revokeRulesOnDelete: true,
                tags: { ...tags, Name: `${name}-group`, "mqtt-edge:tier": "load-generator" },
            },
            { parent: this },
        );
        // No ingress at all. Egress: the NLB's device port (its public address, through NAT),
        // HTTPS for S3 and HTTP for Debian's mirrors.
        const egress: [string, number, string][] = [
            ["device", args.devicePort, "Device connections to the NLB"],
            ["https", 443, "S3"],
            ["http", 80, "Debian package mirrors"],
        ];
        for (const [label, port, description] of egress) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-out-${label}`,
                {
                    securityGroupId: group.id,
                    description,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    cidrIpv4: "0.0.0.0/0",
                },
                { parent: this },
            );
        }
        this.bucket = bucket.bucket;
        if (!Number.isInteger(args.count) || args.count < 1 || args.count > 50) {
            throw new Error(`count: ${args.count} is not allowed; use a whole number from 1 to 50`);
        }
        if (args.subnetIds.length === 0) {
            throw new Error("subnetIds: [] is not allowed; give at least one subnet");
        }
        const ami = args.amiId ?? debian12AmiId("x86_64", { parent: this });
        const instances = Array.from(
            { length: args.count },
            (_, index) =>
                new aws.ec2.Instance(
                    `${name}-${index + 1}`,
                    hostInstanceArgs({
                        ami,
                        instanceType: args.instanceType,
                        subnetId: args.subnetIds[
                            index % args.subnetIds.length
                        ] as pulumi.Input<string>,
                        securityGroupId: group.id,
                        instanceProfileName: profile.name,
                        userData: bucket.bucket.apply((b) => args.renderUserData(index, b)),
                        rootVolumeGiB: 8,
                        tags: { ...tags, Name: `${name}-${index + 1}` },
                    }),
                    { parent: this },
                ),
        );
        this.instanceIds = pulumi.all(instances.map((instance) => instance.id));
        this.registerOutputs({ bucket: this.bucket, instanceIds: this.instanceIds });
    }
}

/**
 * The generators' only permissions: read `input/*`, write `results/*` of the load-test bucket,
 * and use its key for both. ListBucket on `input/` lets a poll for a job that is not there yet
 * see 404 instead of 403.
 */
export function loadGeneratorPolicy(bucketArn: string, keyArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadInput",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: [`${bucketArn}/input/*`],
            },
            {
                Sid: "ListInput",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: [bucketArn],
                Condition: { StringLike: { "s3:prefix": ["input/*"] } },
            },
            {
                Sid: "WriteResults",
                Effect: "Allow",
                Action: ["s3:PutObject"],
                Resource: [`${bucketArn}/results/*`],
            },
            {
                Sid: "UseBucketKey",
                Effect: "Allow",
                Action: ["kms:Decrypt", "kms:GenerateDataKey"],
                Resource: [keyArn],
            },
        ],
    });
}
