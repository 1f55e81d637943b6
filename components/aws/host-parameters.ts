/**
 * HostParameters: the files a group of hosts fetches at boot (configs, certificates, keys, CRLs,
 * secret env files) under one KMS key that exists for this group only, with rotation on. Small
 * files are SSM SecureStrings; files that grow (CRLs) are objects in a HostFilesBucket encrypted
 * with the same key. The group's HostRole sets the key's policy and may read exactly these
 * parameters and objects.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    type HostFileSource,
    hostFilesContentHash,
} from "../../templates/cloud-init-host-files.ts";
import { HostFilesBucket } from "./host-files-bucket.ts";
import {
    FILES_BUCKET_PLACEHOLDER,
    type HostFileLayout,
    hostFileObjectKey,
    hostFileSources,
} from "./host-plans.ts";

/** One file the hosts fetch: where it goes, and its content. */
export interface HostFileInput extends HostFileLayout {
    /** File content. Pass secrets (private keys, env files with passwords) as Pulumi secrets. */
    readonly content: pulumi.Input<string>;
}

/** Arguments of {@link HostParameters}. */
export interface HostParametersArgs {
    /** SSM path every parameter goes under, e.g. `/mqtt-edge/dev/haproxy`. */
    readonly parameterPrefix: string;
    /** The files, in the order the hosts fetch and hash them. */
    readonly files: readonly HostFileInput[];
    /** Tags for the key and the parameters. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** SSM SecureString parameters under a dedicated KMS key, plus the manifest hosts read them by. */
export class HostParameters extends pulumi.ComponentResource {
    /** ARN of the KMS key that encrypts the parameters and objects. */
    public readonly keyArn: pulumi.Output<string>;
    /** Id of that key (its policy is set by the group's HostRole). */
    public readonly keyId: pulumi.Output<string>;
    /** ARNs of the SSM parameters, in file order. */
    public readonly parameterArns: pulumi.Output<string[]>;
    /** Name of the bucket holding the `s3` files; undefined when there are none. */
    public readonly bucketName?: pulumi.Output<string>;
    /** ARN prefix of the group's objects (`arn:aws:s3:::bucket/<prefix>`); undefined without any. */
    public readonly objectArnPrefix?: pulumi.Output<string>;
    /** What user-data lists: parameter or object, path, mode and owner of each file. No content. */
    public readonly sources: pulumi.Output<HostFileSource[]>;
    /** SHA-256 over the contents as the hosts compute it; changes whenever any file changes. */
    public readonly contentHash: pulumi.Output<string>;

    constructor(name: string, args: HostParametersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:HostParameters", name, {}, opts);
        // Validates keys, modes and owners up front, before any resource exists.
        hostFileSources(args.parameterPrefix, args.files, FILES_BUCKET_PLACEHOLDER);

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the host files under ${args.parameterPrefix}`,
                enableKeyRotation: true,
                deletionWindowInDays: 7,
                tags: args.tags,
            },
            { parent: this },
        );
        const objectFiles = args.files.filter((file) => file.store === "s3");
        const bucket =
            objectFiles.length > 0
                ? new HostFilesBucket(
                      `${name}-objects`,
                      { keyArn: key.arn, tags: args.tags },
                      { parent: this },
                  )
                : undefined;
        objectFiles.forEach((file) => {
            if (!bucket) throw new Error("unreachable: s3 files without a bucket");
            new aws.s3.BucketObjectv2(
                `${name}-${file.key}`,
                {
                    bucket: bucket.bucketName,
                    key: hostFileObjectKey(args.parameterPrefix, file.key),
                    // Public data (CRLs) today, but kept under the group key like every file.
                    content: file.content,
                    serverSideEncryption: "aws:kms",
                    kmsKeyId: key.arn,
                    contentType: "application/x-pem-file",
                    tags: args.tags,
                },
                { parent: this, dependsOn: [bucket] },
            );
        });
        const parameterFiles = args.files.filter((file) => file.store !== "s3");
        const parameters = parameterFiles.map(
            (file) =>
                new aws.ssm.Parameter(
                    `${name}-${file.key}`,
                    {
                        name: `${args.parameterPrefix}/${file.key}`,
                        type: "SecureString",
                        keyId: key.arn,
                        // Secret in Pulumi state whether or not the caller marked it: these files
                        // include private keys and passwords.
                        value: pulumi.secret(file.content),
                        // Standard parameters hold 4 KB; a long haproxy.cfg may need the advanced
                        // tier (8 KB), which Intelligent-Tiering picks only when needed. Files that
                        // can grow past 8 KB (CRLs) are objects instead (store: "s3").
                        tier: "Intelligent-Tiering",
                        tags: args.tags,
                    },
                    { parent: this },
                ),
        );
        this.keyArn = key.arn;
        this.keyId = key.keyId;
        this.parameterArns = pulumi.all(parameters.map((parameter) => parameter.arn));
        if (bucket) {
            this.bucketName = bucket.bucketName;
            this.objectArnPrefix =
                pulumi.interpolate`${bucket.bucketArn}/${hostFileObjectKey(args.parameterPrefix, "")}`.apply(
                    (arn) => arn.replace(/\/$/, ""),
                );
        }
        const bucketName: pulumi.Output<string | undefined> =
            this.bucketName ?? pulumi.output(undefined);
        this.sources = bucketName.apply((name) =>
            hostFileSources(args.parameterPrefix, args.files, name),
        );
        this.contentHash = pulumi
            .all(args.files.map((file) => file.content))
            .apply((contents) => hostFilesContentHash(contents));
        this.registerOutputs({
            keyArn: this.keyArn,
            parameterArns: this.parameterArns,
            bucketName: this.bucketName,
            contentHash: this.contentHash,
        });
    }
}
