/**
 * The stack's CRLs (root and device intermediate) from its reviewed revocation list, for every
 * target; none when the stack turns them off (`pki.crl: false`, which the configuration requires
 * of an existing CA given without its root key).
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

export function edgeCrls(pki: Pki, context: EdgeCrlsContext, enabled: boolean): Crls | undefined {
    const rootKeyPem = pki.rootKeyPem;
    if (!enabled || rootKeyPem === undefined) return undefined;
    return new Crls("crls", {
        stack: context.stack,
        revocationsText: readRevocations(context.projectDir, context.stack),
        windowStart: crlWindow(context.now).thisUpdate.toISOString(),
        rootCertPem: pki.rootCertPem,
        rootKeyPem,
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
