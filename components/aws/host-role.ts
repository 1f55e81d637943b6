/**
 * HostRole: the instance role and profile of one group of hosts. Session Manager access through
 * AmazonSSMManagedInstanceCore (no SSH, no key pair), and read access to exactly the group's
 * parameters and decrypt access to exactly the group's key.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link HostRole}. */
export interface HostRoleArgs {
    /** ARNs of the SSM parameters the hosts may read, and nothing else. */
    readonly parameterArns: pulumi.Input<pulumi.Input<string>[]>;
    /** ARN of the KMS key those parameters are encrypted with. */
    readonly keyArn: pulumi.Input<string>;
    /**
     * More statements for what runs on the hosts besides the bootstrap (e.g. the CloudWatch
     * agent's, components/aws/host-metrics.ts), each already scoped; in their own inline policy.
     */
    readonly extraStatements?: pulumi.Input<PolicyStatement[]>;
    /** Tags for the role and the profile. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** One IAM policy statement as JSON writes it. */
export interface PolicyStatement {
    /** Statement id. */
    readonly Sid: string;
    /** Allow or Deny. */
    readonly Effect: "Allow" | "Deny";
    /** Actions, e.g. `cloudwatch:PutMetricData`. */
    readonly Action: string[];
    /** Resource ARNs (or `*` where the action has no resource type, with a Condition). */
    readonly Resource: string[] | string;
    /** Conditions, e.g. `{ StringEquals: { "cloudwatch:namespace": "mqtt-edge/dev" } }`. */
    readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** AWS managed policy for the SSM agent (Session Manager, Run Command, State Manager). */
const SSM_MANAGED_INSTANCE_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/** Builds the inline policy document: GetParameter on the listed ARNs, Decrypt on the key. */
export function parameterReadPolicy(parameterArns: string[], keyArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadOwnParameters",
                Effect: "Allow",
                Action: ["ssm:GetParameter"],
                Resource: parameterArns,
            },
            {
                Sid: "DecryptOwnParameters",
                Effect: "Allow",
                Action: ["kms:Decrypt"],
                Resource: [keyArn],
            },
        ],
    });
}

/** Role, managed-policy attachment, inline parameter policy and instance profile. */
export class HostRole extends pulumi.ComponentResource {
    /** ARN of the role. */
    public readonly roleArn: pulumi.Output<string>;
    /** Name of the instance profile to launch the hosts with. */
    public readonly instanceProfileName: pulumi.Output<string>;

    constructor(name: string, args: HostRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:HostRole", name, {}, opts);
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
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-ssm-core`,
            { role: role.name, policyArn: SSM_MANAGED_INSTANCE_CORE },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-parameters`,
            {
                role: role.id,
                policy: pulumi
                    .all([args.parameterArns, args.keyArn])
                    .apply(([arns, keyArn]) => parameterReadPolicy(arns, keyArn)),
            },
            { parent: this },
        );
        if (args.extraStatements !== undefined) {
            new aws.iam.RolePolicy(
                `${name}-extra`,
                {
                    role: role.id,
                    policy: pulumi
                        .output(args.extraStatements)
                        .apply((statements) =>
                            JSON.stringify({ Version: "2012-10-17", Statement: statements }),
                        ),
                },
                { parent: this },
            );
        }
        const profile = new aws.iam.InstanceProfile(
            `${name}-profile`,
            { role: role.name, tags: args.tags },
            { parent: this },
        );
        this.roleArn = role.arn;
        this.instanceProfileName = profile.name;
        this.registerOutputs({
            roleArn: this.roleArn,
            instanceProfileName: this.instanceProfileName,
        });
    }
}
