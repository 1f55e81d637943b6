/**
 * HostFilesBucket: the S3 bucket for host files that outgrow SSM Parameter Store (8 KB at most,
 * even in the advanced tier): the CRLs, about 66 bytes per revoked certificate. Encrypted with
 * the group's KMS key (SSE-KMS, no bucket key, so every object keeps its own encryption context
 * and the hosts' Decrypt can be conditioned on it), versioned, closed to the public, and reachable
 * over TLS only. Hosts read it through the VPC's S3 gateway endpoint.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "./host-role-policy.ts";

/** Arguments of {@link HostFilesBucket}. */
export interface HostFilesBucketArgs {
    /** ARN of the KMS key every object is encrypted with by default. */
    readonly keyArn: pulumi.Input<string>;
    /** Tags for the bucket. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The bucket policy: refuse every request that does not arrive over TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): string {
    const statement: PolicyStatement = {
        Sid: "DenyWithoutTls",
        Effect: "Deny",
        Principal: "*",
        Action: ["s3:*"],
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
    return JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
}

/** Bucket, default encryption, versioning, public access block and TLS-only policy. */
export class HostFilesBucket extends pulumi.ComponentResource {
    /** Bucket name (generated from the component name). */
    public readonly bucketName: pulumi.Output<string>;
    /** Bucket ARN. */
    public readonly bucketArn: pulumi.Output<string>;

    constructor(name: string, args: HostFilesBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:HostFilesBucket", name, {}, opts);
        const bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            // Emptied by `pulumi destroy` like every other resource of a short-lived stack.
            { forceDestroy: true, tags: args.tags },
            { parent: this },
        );
        new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
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
            `${name}-encryption`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: {
                            sseAlgorithm: "aws:kms",
                            kmsMasterKeyId: args.keyArn,
                        },
                        // With a bucket key the encryption context is the bucket, not the object.
                        bucketKeyEnabled: false,
                    },
                ],
            },
            { parent: this },
        );
        new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
            { parent: this },
        );
        new aws.s3.BucketPolicy(
            `${name}-tls-only`,
            { bucket: bucket.id, policy: bucket.arn.apply(tlsOnlyBucketPolicy) },
            { parent: this },
        );
        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}
