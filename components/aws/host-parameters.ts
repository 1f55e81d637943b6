/**
 * HostParameters: the files a group of hosts fetches at boot (configs, certificates, keys, CRLs,
 * secret env files), each stored as an SSM SecureString under one KMS key that exists for this
 * group only. The instance role of the group may read exactly these parameters and decrypt with
 * exactly this key.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    type HostFileSource,
    hostFilesContentHash,
} from "../../templates/cloud-init-host-files.ts";
import { type HostFileLayout, hostFileSources } from "./host-plans.ts";

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
    /** ARN of the KMS key that encrypts the parameters. */
    public readonly keyArn: pulumi.Output<string>;
    /** ARNs of the parameters, in file order. */
    public readonly parameterArns: pulumi.Output<string[]>;
    /** What user-data lists: parameter name, path, mode and owner of each file. No content. */
    public readonly sources: readonly HostFileSource[];
    /** SHA-256 over the contents as the hosts compute it; changes whenever any file changes. */
    public readonly contentHash: pulumi.Output<string>;

    constructor(name: string, args: HostParametersArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:HostParameters", name, {}, opts);
        this.sources = hostFileSources(args.parameterPrefix, args.files);

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the SSM parameters under ${args.parameterPrefix}`,
                enableKeyRotation: true,
                deletionWindowInDays: 7,
                tags: args.tags,
            },
            { parent: this },
        );
        const parameters = args.files.map(
            (file, index) =>
                new aws.ssm.Parameter(
                    `${name}-${file.key}`,
                    {
                        name: this.sources[index]?.parameterName,
                        type: "SecureString",
                        keyId: key.arn,
                        // Secret in Pulumi state whether or not the caller marked it: these files
                        // include private keys and passwords.
                        value: pulumi.secret(file.content),
                        // Standard parameters hold 4 KB; a CRL or a long haproxy.cfg may need the
                        // advanced tier (8 KB), which Intelligent-Tiering picks only when needed.
                        tier: "Intelligent-Tiering",
                        tags: args.tags,
                    },
                    { parent: this },
                ),
        );
        this.keyArn = key.arn;
        this.parameterArns = pulumi.all(parameters.map((parameter) => parameter.arn));
        this.contentHash = pulumi
            .all(args.files.map((file) => file.content))
            .apply((contents) => hostFilesContentHash(contents));
        this.registerOutputs({
            keyArn: this.keyArn,
            parameterArns: this.parameterArns,
            contentHash: this.contentHash,
        });
    }
}
