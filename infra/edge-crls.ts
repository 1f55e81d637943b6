/**
 * The stack's CRLs (root and device intermediate) from its reviewed revocation list, for every
 * target; none when the stack turns them off (`pki.crl: false`). An existing CA given without its
 * root key brings the root's CRL (`caRootCrlPem`); the configuration has checked it and requires
 * one of the two when CRLs are on.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Crls } from "../components/crls.ts";
import type { Pki } from "../components/pki.ts";
import { crlWindow } from "../pki/crl.ts";

export interface EdgeCrlsContext {
    readonly stack: string;
    readonly now: Date;
    readonly projectDir: string;
}

export function edgeCrls(
    pki: Pki,
    context: EdgeCrlsContext,
    settings: { readonly enabled: boolean; readonly rootCrlPem: string | undefined },
): Crls | undefined {
    const rootKeyPem = pki.rootKeyPem;
    if (!settings.enabled) return undefined;
    // The root key wins: with it the configuration refuses a supplied root CRL.
    const root =
        rootKeyPem !== undefined
            ? { rootKeyPem }
            : settings.rootCrlPem !== undefined
              ? { rootCrlPem: settings.rootCrlPem }
              : undefined;
    if (root === undefined) return undefined;
    return new Crls("crls", {
        stack: context.stack,
        revocationsText: readRevocations(context.projectDir, context.stack),
        windowStart: crlWindow(context.now).thisUpdate.toISOString(),
        rootCertPem: pki.rootCertPem,
        ...root,
        deviceCaCertPem: pki.deviceCaCertPem,
        deviceCaKeyPem: pki.deviceCaKeyPem,
    });
}

/** The revocation list as committed, or "" when the stack has none yet (nothing revoked). */
function readRevocations(projectDir: string, stack: string): string {
    try {
        return readFileSync(join(projectDir, "revocations", `${stack}.json`), "utf8");
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
        throw error;
    }
}
