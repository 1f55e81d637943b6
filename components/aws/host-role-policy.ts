/**
 * The IAM documents of a host group, as pure functions: what the instance role may do, and the
 * key policy of the group's KMS key. Kept apart from the components so tests and the docs table
 * read exactly what the program declares.
 *
 * No statement here allows a parameter, key or object read on `*`. The SSM agent's own actions
 * are those of the managed policy AmazonSSMManagedInstanceCore
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html)
 * without `ssm:GetParameter` and `ssm:GetParameters`, which that policy grants on `*`
 * (shared/reference/corrections.md), so attaching it would defeat every scoped read below.
 */

/** One IAM policy statement, as IAM reads it. */
export interface PolicyStatement {
    /** Statement id, unique in its document. */
    readonly Sid: string;
    /** Allow or Deny. */
    readonly Effect: "Allow" | "Deny";
    /** Actions, `service:Action`. */
    readonly Action: readonly string[];
    /** Resource ARNs; `*` only where the actions take no resource ARN. */
    readonly Resource: string | readonly string[];
    /** Principal, in key and bucket policies only. */
    readonly Principal?: Record<string, string | readonly string[]> | "*";
    /** Conditions: operator -> key -> value(s). */
    readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

/** What one host group may read, and where. */
export interface HostAccess {
    /** AWS region of the stack: the KMS `ViaService` values and document ARNs carry it. */
    readonly region: string;
    /** Account id, for the key policy's administration statement and document ARNs. */
    readonly accountId: string;
    /** ARNs of the group's SSM parameters, and nothing else. */
    readonly parameterArns: readonly string[];
    /** ARN of the group's KMS key. */
    readonly keyArn: string;
    /** ARN prefix of the group's S3 objects (`arn:aws:s3:::bucket/prefix`), if it has any. */
    readonly objectArnPrefix?: string;
}

/**
 * The SSM agent's actions (Session Manager, Run Command, State Manager, inventory). The message
 * channels (`ssmmessages`, `ec2messages`) and the instance-information calls take no resource
 * ARN, so they stay on `*`; documents are scoped to this region's account-owned and AWS-owned
 * documents.
 */
const SSM_AGENT_ACTIONS = [
    "ssm:DescribeAssociation",
    "ssm:GetDeployablePatchSnapshotForInstance",
    "ssm:GetManifest",
    "ssm:ListAssociations",
    "ssm:ListInstanceAssociations",
    "ssm:PutInventory",
    "ssm:PutComplianceItems",
    "ssm:PutConfigurePackageResult",
    "ssm:UpdateAssociationStatus",
    "ssm:UpdateInstanceAssociationStatus",
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
] as const;
const SSM_AGENT_DOCUMENT_ACTIONS = ["ssm:GetDocument", "ssm:DescribeDocument"] as const;

/** Services through which the hosts may use the group key (`kms:ViaService`). */
export function keyViaServices(region: string): { ssm: string; s3: string } {
    return { ssm: `ssm.${region}.amazonaws.com`, s3: `s3.${region}.amazonaws.com` };
}

/**
 * The instance role's statements. Decrypt is allowed only through SSM with the encryption
 * context SSM sets for a SecureString (`PARAMETER_ARN` = the parameter's ARN,
 * https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html), and
 * through S3 with the context S3 sets for SSE-KMS without a bucket key (`aws:s3:arn` = the
 * object's ARN, https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
 */
export function hostRoleStatements(access: HostAccess): PolicyStatement[] {
    requireAccess(access);
    const via = keyViaServices(access.region);
    const statements: PolicyStatement[] = [
        {
            Sid: "SsmAgent",
            Effect: "Allow",
            Action: SSM_AGENT_ACTIONS,
            Resource: "*",
        },
        {
            Sid: "SsmAgentDocuments",
            Effect: "Allow",
            Action: SSM_AGENT_DOCUMENT_ACTIONS,
            Resource: [
                `arn:aws:ssm:${access.region}:${access.accountId}:document/*`,
                `arn:aws:ssm:${access.region}::document/*`,
            ],
        },
        {
            Sid: "ReadOwnParameters",
            Effect: "Allow",
            Action: ["ssm:GetParameter"],
            Resource: access.parameterArns,
        },
        {
            Sid: "DecryptOwnParametersThroughSsm",
            Effect: "Allow",
            Action: ["kms:Decrypt"],
            Resource: [access.keyArn],
            Condition: {
                StringEquals: {
                    "kms:ViaService": via.ssm,
                    "kms:EncryptionContext:PARAMETER_ARN": access.parameterArns,
                },
            },
        },
    ];
    if (access.objectArnPrefix !== undefined) {
        statements.push(
            {
                Sid: "ReadOwnObjects",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: [`${access.objectArnPrefix}/*`],
            },
            {
                Sid: "DecryptOwnObjectsThroughS3",
                Effect: "Allow",
                Action: ["kms:Decrypt"],
                Resource: [access.keyArn],
                Condition: {
                    StringEquals: { "kms:ViaService": via.s3 },
                    StringLike: {
                        "kms:EncryptionContext:aws:s3:arn": `${access.objectArnPrefix}/*`,
                    },
                },
            },
        );
    }
    return statements;
}

/** Key management actions for the account's administrators: everything but using the key. */
const KEY_ADMINISTRATION_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
] as const;

/**
 * The group key's policy: the account administers the key; principals of the account that IAM
 * lets use it (the deployer writing and refreshing parameters and objects) may use it only
 * through SSM and S3; the group's role may only Decrypt, with the same conditions as its IAM
 * policy. No statement lets anyone use the key directly.
 */
export function groupKeyPolicy(access: HostAccess, roleArn: string): string {
    requireAccess(access);
    const via = keyViaServices(access.region);
    const account = { AWS: `arn:aws:iam::${access.accountId}:root` };
    const roleStatements = hostRoleStatements(access)
        .filter((statement) => statement.Action.includes("kms:Decrypt"))
        .map((statement) => ({
            ...statement,
            Sid: `HostRole${statement.Sid}`,
            Principal: { AWS: roleArn },
            Resource: "*",
        }));
    const statements: PolicyStatement[] = [
        {
            Sid: "AccountAdministersTheKey",
            Effect: "Allow",
            Principal: account,
            Action: KEY_ADMINISTRATION_ACTIONS,
            Resource: "*",
        },
        {
            Sid: "AccountUsesTheKeyThroughSsmAndS3",
            Effect: "Allow",
            Principal: account,
            Action: [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            Resource: "*",
            Condition: { StringEquals: { "kms:ViaService": [via.ssm, via.s3] } },
        },
        ...roleStatements,
    ];
    return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** A policy document of `statements`. */
export function policyDocument(statements: readonly PolicyStatement[]): string {
    const sids = new Set<string>();
    for (const statement of statements) {
        if (!/^[A-Za-z0-9]+$/.test(statement.Sid) || sids.has(statement.Sid)) {
            throw new Error(
                `statements: Sid ${JSON.stringify(statement.Sid)} is not allowed; use a unique name of letters and digits`,
            );
        }
        sids.add(statement.Sid);
        if (
            statement.Effect === "Allow" &&
            isWildcard(statement.Resource) &&
            readsData(statement)
        ) {
            throw new Error(
                `statements: ${statement.Sid} allows ${statement.Action.join(", ")} on "*", which is not allowed; name the parameters, keys or objects`,
            );
        }
    }
    return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** Actions that read parameters, keys or objects: never allowed on `*`. */
export const DATA_READ_ACTIONS =
    /^(ssm:GetParameter|ssm:\*|kms:Decrypt|kms:\*|s3:GetObject|s3:\*|\*)/i;

function readsData(statement: PolicyStatement): boolean {
    return statement.Action.some((action) => DATA_READ_ACTIONS.test(action));
}

function isWildcard(resource: string | readonly string[]): boolean {
    return (typeof resource === "string" ? [resource] : resource).includes("*");
}

function requireAccess(access: HostAccess): void {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(access.region)) {
        throw new Error(
            `region: ${JSON.stringify(access.region)} is not allowed; use an AWS region such as eu-west-1`,
        );
    }
    if (!/^\d{12}$/.test(access.accountId)) {
        throw new Error(
            `accountId: ${JSON.stringify(access.accountId)} is not allowed; use a 12-digit AWS account id`,
        );
    }
    if (access.parameterArns.length === 0) {
        throw new Error(
            "parameterArns: [] is not allowed; a host group reads at least one parameter",
        );
    }
}
