/**
 * The certificates the smoke test expects the edge to refuse, made in process for each run and
 * never written to disk: one from a CA nobody trusts, and one issued straight by the stack's root
 * (which HAProxy's ca-verify-file trusts, so only the issuer pinning rule keeps it out).
 */
import { loadIssuingCa } from "../../pki/ca.ts";
import { issueDeviceCertificate } from "../../pki/issue.ts";
import { defaultDeviceKeySpec } from "../../pki/keys.ts";
import { createThrowawayCa } from "../../pki/self-signed-ca.ts";
import type { SmokeCredentials } from "./smoke-checks.ts";

/** A client certificate from a fresh self-signed CA. */
export async function foreignCaCredentials(): Promise<SmokeCredentials> {
    const ca = await createThrowawayCa({
        commonName: "mqtt-edge smoke throwaway CA",
        validityDays: 1,
    });
    const issuer = await loadIssuingCa(
        ca.certificatePem,
        ca.privateKeyPem,
        { certificate: "throwaway CA", privateKey: "throwaway CA key" },
        "certificates",
    );
    const leaf = await issueDeviceCertificate(issuer, {
        commonName: "mqtt-edge-smoke-foreign",
        validityDays: 1,
        keySpec: defaultDeviceKeySpec,
    });
    return { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem };
}

/** A client certificate (clientAuth, like a device's) signed by the root CA itself. */
export async function rootIssuedCredentials(
    rootCertPem: string,
    rootKeyPem: string,
): Promise<SmokeCredentials> {
    const root = await loadIssuingCa(
        rootCertPem,
        rootKeyPem,
        { certificate: "rootCertPem", privateKey: "rootKeyPem" },
        "certificates",
    );
    const leaf = await issueDeviceCertificate(root, {
        commonName: "mqtt-edge-smoke-root-leaf",
        validityDays: 1,
        keySpec: defaultDeviceKeySpec,
    });
    return { certificatePem: leaf.certificatePem, privateKeyPem: leaf.privateKeyPem };
}
