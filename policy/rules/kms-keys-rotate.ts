/**
 * Every customer managed KMS key rotates its key material yearly (enableKeyRotation). A value not
 * known at preview is reported, not skipped.
 */
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";
import { readField, UNKNOWN } from "./ingress-permissions.ts";

const KEY = "aws:kms/key:Key";

/** The validation, exported for unit tests. */
export function validateKmsKeysRotate(args: ResourceValidationArgs, report: ReportViolation): void {
    if (args.type !== KEY) return;
    const rotation = readField(args.props, "enableKeyRotation");
    if (rotation !== true) {
        const shown = rotation === UNKNOWN ? "not known at preview" : JSON.stringify(rotation);
        report(`${args.name} enableKeyRotation: ${shown} is not allowed; set it to true`);
    }
}

/** Policy: KMS keys rotate. */
export const kmsKeysRotate: ResourceValidationPolicy = {
    name: "kms-keys-rotate",
    description: "Customer managed KMS keys have automatic rotation on (enableKeyRotation: true).",
    enforcementLevel: "mandatory",
    validateResource: validateKmsKeysRotate,
};
