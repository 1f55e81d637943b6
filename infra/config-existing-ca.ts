/**
 * The bring-your-own CA keys (caRootCertPem, caDeviceCertPem, caDeviceKeyPem, caRootKeyPem):
 * the chain is checked as X.509 (pki/existing-ca-check.ts, the same checks the Pki component
 * runs), private keys must be Pulumi secrets, and a chain without its root key must say what
 * happens to revocation. Every failure is one line naming the stack key.
 */
import {
    checkExistingCaChain,
    ExistingCaError,
    type ExistingCaField,
} from "../pki/existing-ca-check.ts";
import type { EdgeConfig } from "./config.ts";
import { CONFIG_NAMESPACE, ConfigError, fail } from "./config-errors.ts";

/** Stack keys of the chain's inputs (the server certificate is never taken from config). */
const stackKeys: Record<ExistingCaField, string> = {
    rootCertPem: "caRootCertPem",
    deviceCaCertPem: "caDeviceCertPem",
    deviceCaKeyPem: "caDeviceKeyPem",
    rootKeyPem: "caRootKeyPem",
    serverCertPem: "serverCertPem",
    serverKeyPem: "serverKeyPem",
};
const stackKeyNames = Object.fromEntries(
    Object.entries(stackKeys).map(([field, key]) => [field, `${CONFIG_NAMESPACE}:${key}`]),
) as Record<ExistingCaField, string>;

/** Private keys: never in plaintext in a stack file, unless the stack says it is a throwaway. */
const PRIVATE_KEY_KEYS = ["caDeviceKeyPem", "caRootKeyPem"] as const;
/** The file name the seed's cfssl commands give each key, for the command we suggest. */
const keyFileExample: Record<(typeof PRIVATE_KEY_KEYS)[number], string> = {
    caDeviceKeyPem: "CaIntermediate-key.pem",
    caRootKeyPem: "CaRoot-key.pem",
};

export interface ExistingCaContext {
    /** Secret keys whose values are in plaintext in the stack file (not `{secure: ...}`). */
    readonly plaintextSecrets: readonly string[];
    /** Secret keys whose values are encrypted and so cannot be checked here. */
    readonly encryptedSecrets: readonly string[];
    /** What time "valid now" means. */
    readonly now: Date;
    /** Receives one line per warning (a CA close to expiry). */
    readonly onWarning: (line: string) => void;
}

export function checkExistingCaConfig(c: EdgeConfig, context: ExistingCaContext): void {
    for (const key of PRIVATE_KEY_KEYS) {
        if (context.plaintextSecrets.includes(key) && !c.pki.allowPlaintextKeys) {
            fail(
                key,
                c[key],
                `is in plaintext in the stack file; allowed: a Pulumi secret - run \`pulumi config set --secret ${CONFIG_NAMESPACE}:${key} < ${keyFileExample[key]}\` (or set ${CONFIG_NAMESPACE}:pki.allowPlaintextKeys: true on a throwaway stack)`,
            );
        }
    }
    const byo = [c.caRootCertPem, c.caDeviceCertPem, c.caDeviceKeyPem].filter(Boolean).length;
    if (byo !== 0 && byo !== 3) {
        fail(
            c.caRootCertPem
                ? c.caDeviceCertPem
                    ? "caDeviceKeyPem"
                    : "caDeviceCertPem"
                : "caRootCertPem",
            undefined,
            "bring-your-own CA needs all of caRootCertPem, caDeviceCertPem and caDeviceKeyPem",
        );
    }
    if (c.caRootKeyPem && byo === 0) {
        fail(
            "caRootKeyPem",
            c.caRootKeyPem,
            "only goes with caRootCertPem, caDeviceCertPem and caDeviceKeyPem",
        );
    }
    if (byo === 0 || !c.caRootCertPem || !c.caDeviceCertPem) return;
    for (const label of ["root", "deviceCaKey"] as const) {
        // The schema's default is "initial"; any other value asks for a rotation we cannot do.
        if (c.pki.rotation[label] !== "initial") {
            fail(
                `pki.rotation.${label}`,
                c.pki.rotation[label],
                "must stay unset with a bring-your-own CA: rotate that CA where it lives and set the new PEMs (docs/pki.md)",
            );
        }
    }
    if (c.caRootKeyPem === undefined && c.pki.crl) {
        fail(
            "pki.crl",
            c.pki.crl,
            "must be set to false when a bring-your-own CA comes without caRootKeyPem: HAProxy needs a CRL signed by the root; set caRootKeyPem (as a secret) to keep revocation, or pki.crl: false to run without it (docs/pki.md)",
        );
    }
    const checkable = (key: "caDeviceKeyPem" | "caRootKeyPem") =>
        context.encryptedSecrets.includes(key) ? undefined : c[key];
    try {
        const report = checkExistingCaChain(
            {
                rootCertPem: c.caRootCertPem,
                deviceCaCertPem: c.caDeviceCertPem,
                deviceCaKeyPem: checkable("caDeviceKeyPem"),
                rootKeyPem: checkable("caRootKeyPem"),
            },
            stackKeyNames,
            context.now,
        );
        for (const warning of report.warnings) {
            context.onWarning(`${stackKeyNames[warning.field]} ${warning.message}`);
        }
    } catch (error) {
        if (!(error instanceof ExistingCaError)) throw error;
        const key = stackKeys[error.field];
        const shown =
            error.field === "deviceCaKeyPem" || error.field === "rootKeyPem"
                ? "[secret]"
                : `[PEM${error.subject ? ` ${error.subject}` : ""}]`;
        throw new ConfigError(`${CONFIG_NAMESPACE}:${key} = ${shown}: ${error.detail}`);
    }
}
