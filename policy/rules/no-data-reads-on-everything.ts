/**
 * No role may read parameters, keys or objects on `*`: `ssm:GetParameter*`, `kms:Decrypt` and
 * `s3:GetObject` (or a wildcard covering them) must name their resources. The same through a
 * managed policy: AWS managed policies cannot be read from here, and the usual ones for EC2
 * (AmazonSSMManagedInstanceCore, AmazonS3ReadOnlyAccess, ReadOnlyAccess...) grant exactly these
 * reads on `*` (shared/reference/corrections.md), so attaching any AWS managed policy fails unless
 * the policy config allows that ARN by name.
 */
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import { readField, UNKNOWN } from "./ingress-permissions.ts";

/** Configuration of the rule. */
export interface NoDataReadsOnEverythingConfig {
    /** AWS managed policy ARNs a role may have anyway; default none. */
    allowedManagedPolicyArns?: string[];
}

/** The reads that must name their resources. */
export const DATA_READS = [
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "kms:Decrypt",
    "s3:GetObject",
] as const;

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const POLICY = "aws:iam/policy:Policy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment";
const AWS_MANAGED = /^arn:aws[a-z-]*:iam::aws:policy\//;

/** What in `document` allows a data read on `*`, one line each; empty when nothing does. */
export function wildcardReads(document: string): string[] {
    let parsed: { Statement?: unknown };
    try {
        parsed = JSON.parse(document) as { Statement?: unknown };
    } catch {
        return ["a policy document that is not JSON"];
    }
    const statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
    const found: string[] = [];
    statements.forEach((statement: Record<string, unknown> | undefined, index) => {
        if (statement?.Effect !== "Allow") return;
        const label = String(statement.Sid ?? `Statement[${index}]`);
        if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
            found.push(`${label} uses NotAction/NotResource`);
            return;
        }
        const resources = list(statement.Resource);
        if (!resources.includes("*")) return;
        const reads = DATA_READS.filter((read) =>
            list(statement.Action).some((action) => wildcardMatches(action, read)),
        );
        if (reads.length > 0) found.push(`${label} allows ${reads.join(", ")} on "*"`);
    });
    return found;
}

/** The validation, exported for unit tests. */
export function validateNoDataReadsOnEverything(
    args: ResourceValidationArgs,
    report: ReportViolation,
): void {
    const allowed = args.getConfig<NoDataReadsOnEverythingConfig>().allowedManagedPolicyArns ?? [];
    const documents: [string, unknown][] = [];
    const managed: [string, unknown][] = [];
    if (args.type === ROLE_POLICY || args.type === POLICY) {
        documents.push(["policy", readField(args.props, "policy")]);
    } else if (args.type === ROLE) {
        const inline = readField(args.props, "inlinePolicies");
        (Array.isArray(inline) ? inline : []).forEach((entry, i) => {
            documents.push([`inlinePolicies[${i}].policy`, readField(entry, "policy")]);
        });
        const arns = readField(args.props, "managedPolicyArns");
        (Array.isArray(arns) ? arns : []).forEach((arn, i) => {
            managed.push([`managedPolicyArns[${i}]`, arn]);
        });
    } else if (args.type === ATTACHMENT || args.type === POLICY_ATTACHMENT) {
        managed.push(["policyArn", readField(args.props, "policyArn")]);
    }
    for (const [field, document] of documents) {
        if (document === UNKNOWN) continue; // Judged at `pulumi up`, when inputs are known.
        for (const finding of wildcardReads(String(document))) {
            report(`${args.name} ${field}: ${finding}; name the parameters, keys or objects`);
        }
    }
    for (const [field, arn] of managed) {
        if (typeof arn === "string" && AWS_MANAGED.test(arn) && !allowed.includes(arn)) {
            report(
                `${args.name} ${field}: ${arn} is an AWS managed policy, which is not allowed; write the scoped statements inline (AmazonSSMManagedInstanceCore reads every parameter)`,
            );
        }
    }
}

function list(value: unknown): string[] {
    if (typeof value === "string") return [value];
    return Array.isArray(value) ? value.map(String) : [];
}

/** IAM action wildcards: `*` any run of characters, `?` one; case-insensitive. */
function wildcardMatches(pattern: string, action: string): boolean {
    const regex = pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp(`^${regex}$`, "i").test(action);
}

/** Policy: parameter, key and object reads name their resources. */
export const noDataReadsOnEverything: ResourceValidationPolicy = {
    name: "no-data-reads-on-everything",
    description:
        "No IAM policy allows ssm:GetParameter*, kms:Decrypt or s3:GetObject on *, and no role gets an AWS managed policy (which may).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedManagedPolicyArns: { type: "array", items: { type: "string" }, default: [] },
        },
    },
    validateResource: validateNoDataReadsOnEverything,
};
