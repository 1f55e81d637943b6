/**
 * The bring-your-own CA keys (caRootCertPem, caDeviceCertPem, caDeviceKeyPem, caRootKeyPem,
 * caRootCrlPem): the chain is checked as X.509 (pki/existing-ca-check.ts, the same checks the Pki
 * component runs), private keys must be Pulumi secrets, and a chain without its root key either
 * brings the root's CRL (pki/supplied-root-crl.ts) or says it runs without revocation. Every
 * failure is one line naming the stack key.
 */

import { defaultCrlPolicy } from "../pki/crl-policy.ts";
import {
    checkExistingCaChain,
    ExistingCaError,
    type ExistingCaField,
} from "../pki/existing-ca-check.ts";
import { checkSuppliedRootCrl, SuppliedRootCrlError } from "../pki/supplied-root-crl.ts";
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
    if (c.caRootCrlPem !== undefined && byo === 0) {
        fail(
            "caRootCrlPem",
            c.caRootCrlPem,
            "only goes with a bring-your-own CA (caRootCertPem, caDeviceCertPem, caDeviceKeyPem); a generated chain signs its own root CRL",
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
    checkRootCrlSource(c);
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
    if (c.caRootCrlPem !== undefined) {
        checkRootCrl(c.caRootCrlPem, c.caRootCertPem, c.caDeviceCertPem, context);
    }
}

/**
 * Where the root's CRL comes from when CRLs are on: signed here with caRootKeyPem, or supplied as
 * caRootCrlPem; with CRLs off, from nowhere. HAProxy's crl-file needs one from every CA in the
 * chain (docs/revocation.md), so a chain without either cannot have CRLs.
 */
function checkRootCrlSource(c: EdgeConfig): void {
    if (c.caRootCrlPem !== undefined && c.caRootKeyPem !== undefined) {
        fail(
            "caRootCrlPem",
            c.caRootCrlPem,
            "not used with caRootKeyPem, which signs the root's CRL here; allowed: one of the two",
        );
    }
    if (c.caRootCrlPem !== undefined && !c.pki.crl) {
        fail(
            "caRootCrlPem",
            c.caRootCrlPem,
            "not used with pki.crl: false; allowed: unset it, or turn CRLs on (unset pki.crl)",
        );
    }
    if (c.caRootKeyPem === undefined && c.caRootCrlPem === undefined && c.pki.crl) {
        fail(
            "pki.crl",
            c.pki.crl,
            "needs the root's CRL, and a bring-your-own CA without caRootKeyPem cannot sign it; allowed: caRootCrlPem (a current CRL from the root's CA), caRootKeyPem (as a secret), or pki.crl: false to run without revocation (docs/pki.md)",
        );
    }
}

/** Days before a supplied root CRL's nextUpdate below which we warn: the CRL refresh window. */
const ROOT_CRL_WARNING_DAYS = defaultCrlPolicy.refreshBeforeDays;

function checkRootCrl(
    crlPem: string,
    rootCertPem: string,
    deviceCaCertPem: string,
    context: ExistingCaContext,
): void {
    const names = {
        crl: `${CONFIG_NAMESPACE}:caRootCrlPem`,
        root: stackKeyNames.rootCertPem,
        deviceCa: stackKeyNames.deviceCaCertPem,
    };
    try {
        const crl = checkSuppliedRootCrl(
            crlPem,
            { rootCertPem, deviceCaCertPem },
            names,
            context.now,
            ROOT_CRL_WARNING_DAYS,
        );
        for (const warning of crl.warnings) context.onWarning(warning);
    } catch (error) {
        if (!(error instanceof SuppliedRootCrlError)) throw error;
        throw new ConfigError(`${names.crl} = [PEM X509 CRL]: ${error.detail}`);
    }
}
