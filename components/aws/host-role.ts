/**
 * HostRole: the instance role and profile of one group of hosts, and the policy of the group's
 * KMS key. The role may run the SSM agent (Session Manager, State Manager), read exactly the
 * group's parameters and objects, and decrypt them with the group's key only through SSM or S3
 * and only under their own encryption context (host-role-policy.ts). No managed policy.
 *
 * The key policy names the role, and the role's policy names the key, so the key is created by
 * HostParameters with AWS's default policy and its policy is set here (aws.kms.KeyPolicy) once
 * the role exists: no cycle, and the key never waits for the hosts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    groupKeyPolicy,
    hostRoleStatements,
    type PolicyStatement,
    policyDocument,
} from "./host-role-policy.ts";

export type { PolicyStatement } from "./host-role-policy.ts";

/** Arguments of {@link HostRole}. */
export interface HostRoleArgs {
    /** ARNs of the SSM parameters the hosts may read, and nothing else. */
    readonly parameterArns: pulumi.Input<pulumi.Input<string>[]>;
    /** ARN of the group's KMS key (parameters and objects are encrypted with it). */
    readonly keyArn: pulumi.Input<string>;
    /** Id of that key: its key policy is set here, naming this role. */
    readonly keyId: pulumi.Input<string>;
    /** ARN prefix of the group's S3 objects (`arn:aws:s3:::bucket/prefix`); omit when none. */
    readonly objectArnPrefix?: pulumi.Input<string>;
    /**
     * More statements for what runs on the hosts besides the bootstrap (e.g. the CloudWatch
     * agent's, components/aws/host-metrics.ts, or a lifecycle hook's), each already scoped; in
     * their own inline policy. One that allows a parameter, key or object read on `*` is refused.
     */
    readonly extraStatements?: pulumi.Input<PolicyStatement[]>;
    /** Tags for the role and the profile. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** Role, inline policy, key policy and instance profile. */
export class HostRole extends pulumi.ComponentResource {
    /** ARN of the role. */
    public readonly roleArn: pulumi.Output<string>;
    /** Name of the role, for policies a group adds for itself (e.g. its lifecycle hook). */
    public readonly roleName: pulumi.Output<string>;
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
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const access = pulumi
            .all([region, accountId, args.parameterArns, args.keyArn, args.objectArnPrefix])
            .apply(([region, accountId, parameterArns, keyArn, objectArnPrefix]) => ({
                region,
                accountId,
                parameterArns,
                keyArn,
                ...(objectArnPrefix !== undefined ? { objectArnPrefix } : {}),
            }));
        new aws.iam.RolePolicy(
            `${name}-access`,
            {
                role: role.id,
                policy: access.apply((access) => policyDocument(hostRoleStatements(access))),
            },
            { parent: this },
        );
        if (args.extraStatements !== undefined) {
            new aws.iam.RolePolicy(
                `${name}-extra`,
                {
                    role: role.id,
                    policy: pulumi.output(args.extraStatements).apply(policyDocument),
                },
                { parent: this },
            );
        }
        new aws.kms.KeyPolicy(
            `${name}-key-policy`,
            {
                keyId: args.keyId,
                policy: pulumi
                    .all([access, role.arn])
                    .apply(([access, roleArn]) => groupKeyPolicy(access, roleArn)),
            },
            { parent: this },
        );
        const profile = new aws.iam.InstanceProfile(
            `${name}-profile`,
            { role: role.name, tags: args.tags },
            { parent: this },
        );
        this.roleArn = role.arn;
        this.roleName = role.name;
        this.instanceProfileName = profile.name;
        this.registerOutputs({
            roleArn: this.roleArn,
            roleName: this.roleName,
            instanceProfileName: this.instanceProfileName,
        });
    }
}
