/**
 * Checks of a bring-your-own CA chain (PkiArgs.existingCa) before anything is issued from it.
 * The checks themselves live in pki/existing-ca-check.ts, shared with the stack configuration;
 * here they are named the way the component's arguments are (`existingCa.deviceCaKeyPem`).
 */
import {
    checkExistingCaChain,
    ExistingCaError,
    type ExistingCaField,
    type ExistingCaPems,
} from "../pki/existing-ca-check.ts";

export type { ExistingCaPems } from "../pki/existing-ca-check.ts";
export { subjectCommonName } from "../pki/existing-ca-check.ts";

const argumentNames: Record<ExistingCaField, string> = {
    rootCertPem: "existingCa.rootCertPem",
    deviceCaCertPem: "existingCa.deviceCaCertPem",
    deviceCaKeyPem: "existingCa.deviceCaKeyPem",
    rootKeyPem: "existingCa.rootKeyPem",
    serverCertPem: "existingCa.serverCertPem",
    serverKeyPem: "existingCa.serverKeyPem",
};

/** Throws one line, `Pki "<component>": existingCa.<input> <problem>; allowed: ...`. */
export function checkExistingCa(component: string, pems: ExistingCaPems): void {
    try {
        checkExistingCaChain(pems, argumentNames);
    } catch (error) {
        if (!(error instanceof ExistingCaError)) throw error;
        throw new Error(`Pki "${component}": ${argumentNames[error.field]} ${error.detail}`);
    }
}
