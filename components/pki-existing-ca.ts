/**
 * Checks of a bring-your-own CA chain (PkiArgs.existingCa), done with Node's X.509 parser before
 * anything is issued from it. A wrong file (an intermediate that the root did not sign, a key of
 * another certificate, a server certificate that could log in as a device) otherwise shows up much
 * later as a failed TLS handshake. Messages name the argument and the certificate's subject, never
 * key material.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** The existing chain, resolved to strings. */
export interface ExistingCaPems {
    /** Root CA certificate, PEM. */
    readonly rootCertPem: string;
    /** Device CA certificate, PEM. */
    readonly deviceCaCertPem: string;
    /** Device CA private key, PEM. */
    readonly deviceCaKeyPem: string;
    /** Root CA private key, PEM, when the server certificate is issued from the root here. */
    readonly rootKeyPem?: string | undefined;
    /** Existing server certificate, PEM. */
    readonly serverCertPem?: string | undefined;
    /** Key of the existing server certificate, PEM. */
    readonly serverKeyPem?: string | undefined;
}

const serverAuthOid = "1.3.6.1.5.5.7.3.1";
const clientAuthOid = "1.3.6.1.5.5.7.3.2";
const anyExtendedKeyUsageOid = "2.5.29.37.0";

function fail(component: string, key: string, problem: string): never {
    throw new Error(`Pki "${component}": existingCa.${key} ${problem}`);
}

/** Subject on one line, e.g. `CN=intermediate.emqx.com, O=EMQX intermediate CA`. */
function oneLineSubject(cert: X509Certificate): string {
    return cert.subject.split("\n").reverse().join(", ");
}

/** The common name of a certificate's subject ("" when it has none). */
export function subjectCommonName(certPem: string): string {
    const cert = new X509Certificate(certPem);
    const line = cert.subject.split("\n").find((l) => l.startsWith("CN="));
    return line === undefined ? "" : line.slice(3);
}

function parseCertificate(component: string, key: string, pem: string): X509Certificate {
    try {
        return new X509Certificate(pem);
    } catch {
        return fail(component, key, "is not a PEM certificate; allowed: one PEM CERTIFICATE block");
    }
}

function checkKeyMatches(
    component: string,
    key: string,
    keyPem: string,
    cert: X509Certificate,
    certKey: string,
): void {
    let matches = false;
    try {
        matches = cert.checkPrivateKey(createPrivateKey(keyPem));
    } catch {
        fail(component, key, "is not a PEM private key; allowed: PKCS#1, SEC1 or PKCS#8 PEM");
    }
    if (!matches) {
        fail(
            component,
            key,
            `does not belong to existingCa.${certKey} (${oneLineSubject(cert)}); ` +
                "allowed: the private key of that certificate",
        );
    }
}

/** Throws one line naming the first problem of an existing CA chain. */
export function checkExistingCa(component: string, pems: ExistingCaPems): void {
    const root = parseCertificate(component, "rootCertPem", pems.rootCertPem);
    if (!root.ca) {
        fail(component, "rootCertPem", `(${oneLineSubject(root)}) is not a CA certificate`);
    }
    const deviceCa = parseCertificate(component, "deviceCaCertPem", pems.deviceCaCertPem);
    if (!deviceCa.ca) {
        fail(component, "deviceCaCertPem", `(${oneLineSubject(deviceCa)}) is not a CA certificate`);
    }
    if (!deviceCa.checkIssued(root) || !deviceCa.verify(root.publicKey)) {
        fail(
            component,
            "deviceCaCertPem",
            `(${oneLineSubject(deviceCa)}) is not signed by existingCa.rootCertPem ` +
                `(${oneLineSubject(root)}); allowed: a device CA issued by that root`,
        );
    }
    checkKeyMatches(component, "deviceCaKeyPem", pems.deviceCaKeyPem, deviceCa, "deviceCaCertPem");
    if (pems.rootKeyPem !== undefined) {
        checkKeyMatches(component, "rootKeyPem", pems.rootKeyPem, root, "rootCertPem");
    }
    if (pems.serverCertPem !== undefined) {
        const server = parseCertificate(component, "serverCertPem", pems.serverCertPem);
        // OpenSSL, and so HAProxy, accepts a client certificate whose EKU has clientAuth or
        // anyExtendedKeyUsage, or that has no EKU at all. A server certificate like that under
        // our root would pass HAProxy's device check (the seed's cfssl "device" profile does this).
        const ekus = server.keyUsage ?? [];
        if (
            !ekus.includes(serverAuthOid) ||
            ekus.includes(clientAuthOid) ||
            ekus.includes(anyExtendedKeyUsageOid)
        ) {
            fail(
                component,
                "serverCertPem",
                `(${oneLineSubject(server)}) has extended key usages [${ekus.join(", ")}]; ` +
                    `allowed: serverAuth (${serverAuthOid}) without clientAuth or any - it would ` +
                    "otherwise pass HAProxy's client certificate check",
            );
        }
        checkKeyMatches(
            component,
            "serverKeyPem",
            pems.serverKeyPem ?? "",
            server,
            "serverCertPem",
        );
    }
}
