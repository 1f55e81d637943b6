/**
 * User-data is readable by anyone who can describe the instance (and by every process on it
 * through IMDS), and it is stored in plain text. Secrets come from SSM at boot instead.
 */

import { gunzipSync } from "node:zlib";
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";

const INSTANCE = "aws:ec2/instance:Instance";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/** What gives a secret away, with the reason shown in the violation (never the match itself). */
const SECRET_PATTERNS: { pattern: RegExp; reason: string }[] = [
    { pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/, reason: "a PEM private key block" },
    {
        // KEY=value / key: value where the key names a secret and the value is a literal, not a
        // shell expansion ($VAR, $(...)) of something fetched at run time.
        pattern:
            /[A-Za-z0-9_.-]*(?:cookie|passw(?:or)?d|secret|token|api[_-]?key|license[_-]?key)\s*[:=]\s*["']?[^\s"'$`{][^\s"']{3,}/i,
        reason: "a cookie, password, secret, token or key assignment with a literal value",
    },
    { pattern: /\bAKIA[0-9A-Z]{16}\b/, reason: "an AWS access key id" },
];

/** Returns the reasons `userData` looks like it holds a secret; empty when clean. */
export function secretFindings(userData: string): string[] {
    return SECRET_PATTERNS.filter(({ pattern }) => pattern.test(userData)).map(
        ({ reason }) => reason,
    );
}

/** The validation, exported for unit tests. */
export function validateNoSecretsInUserData(
    args: ResourceValidationArgs,
    report: ReportViolation,
): void {
    const texts: [string, string][] = [];
    if (args.type === INSTANCE) {
        if (typeof args.props.userData === "string") {
            texts.push(["userData", args.props.userData]);
        }
        if (typeof args.props.userDataBase64 === "string") {
            texts.push(["userDataBase64", decodeBase64(args.props.userDataBase64)]);
        }
    } else if (args.type === LAUNCH_TEMPLATE && typeof args.props.userData === "string") {
        texts.push(["userData", decodeBase64(args.props.userData)]);
    }
    for (const [field, text] of texts) {
        for (const reason of secretFindings(text)) {
            report(
                `${args.name} ${field}: contains ${reason}; fetch secrets at boot from SSM Parameter Store instead`,
            );
        }
    }
}

/** Base64 user-data as text; gzip-compressed user-data (what the stack declares) unpacked. */
function decodeBase64(value: string): string {
    const bytes = Buffer.from(value, "base64");
    // gzip's magic number (RFC 1952 §2.3.1); cloud-init unpacks it the same way.
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
        try {
            return gunzipSync(bytes).toString("utf8");
        } catch {
            return "";
        }
    }
    return bytes.toString("utf8");
}

/** Policy: no secret material in user-data. */
export const noSecretsInUserData: ResourceValidationPolicy = {
    name: "no-secrets-in-user-data",
    description: "EC2 user-data holds no private keys, cookies, passwords, tokens or access keys.",
    enforcementLevel: "mandatory",
    validateResource: validateNoSecretsInUserData,
};
