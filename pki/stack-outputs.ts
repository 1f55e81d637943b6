/**
 * Reads CA material from the JSON that `pulumi stack output --show-secrets --json` prints, so
 * operators need not copy keys into files. Output names the Pulumi program must export:
 *
 * | output               | what                                   | secret |
 * |----------------------|----------------------------------------|--------|
 * | `rootCertPem`        | root CA certificate, PEM               | no     |
 * | `rootKeyPem`         | root CA private key, PEM (for its CRL) | yes    |
 * | `intermediateCertPem`| device-issuing intermediate CA, PEM    | no     |
 * | `intermediateKeyPem` | intermediate CA private key, PEM       | yes    |
 * | `rootCrlPem`         | instead of `rootKeyPem` for a bring-your-own root: its supplied CRL | no |
 */
import { PkiInputError } from "./input-error.ts";

/** The stack output names, in one place for the CLIs, the docs and the lead's program. */
export const stackOutputNames = {
    rootCertPem: "rootCertPem",
    rootKeyPem: "rootKeyPem",
    intermediateCertPem: "intermediateCertPem",
    intermediateKeyPem: "intermediateKeyPem",
    rootCrlPem: "rootCrlPem",
} as const;

/** A stack output name from {@link stackOutputNames}. */
export type StackOutputName = keyof typeof stackOutputNames;

/** Parsed `pulumi stack output --json`: output name to value. */
export type StackOutputs = Record<string, unknown>;

/** Parses the JSON; `source` is the file name or `-` (stdin) for messages. */
export function parseStackOutputs(text: string, source: string): StackOutputs {
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new PkiInputError(
            `--stack-outputs ${source}: not valid JSON (${reason}); allowed: the output of pulumi stack output --show-secrets --json`,
        );
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
        throw new PkiInputError(
            `--stack-outputs ${source}: not a JSON object; allowed: the output of pulumi stack output --show-secrets --json`,
        );
    }
    return data as StackOutputs;
}

/**
 * One PEM output. Fails when it is missing, not a string, or the `[secret]` placeholder that
 * pulumi prints without `--show-secrets`.
 */
export function stackOutputPem(
    outputs: StackOutputs,
    name: StackOutputName,
    source: string,
): string {
    const value = outputs[name];
    if (value === undefined) {
        const present = Object.keys(outputs).join(", ") || "none";
        throw new PkiInputError(
            `--stack-outputs ${source}: output ${name} is missing (outputs present: ${present}); allowed: a stack that exports ${name}`,
        );
    }
    if (value === "[secret]") {
        throw new PkiInputError(
            `--stack-outputs ${source}: output ${name} is "[secret]"; allowed: its value, from pulumi stack output --show-secrets --json`,
        );
    }
    if (typeof value !== "string" || !value.includes("-----BEGIN ")) {
        // Describe, never echo: the value may be a key in some other encoding.
        const shape =
            typeof value === "string" ? `a string of ${value.length} characters` : typeof value;
        throw new PkiInputError(
            `--stack-outputs ${source}: output ${name} is not PEM (${shape}); allowed: a PEM string`,
        );
    }
    return value;
}
