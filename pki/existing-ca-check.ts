/**
 * Checks of a bring-your-own CA chain, shared by the stack configuration (render CLI and
 * `pulumi up` refuse a bad chain before anything is written or declared) and the Pki component
 * (which also takes a chain from code). Pure and synchronous: PEM text in, a report or one
 * {@link ExistingCaError} out. Messages name the input, the certificate's subject and what is
 * allowed, never key material.
 *
 * Without these checks a wrong file shows up much later: an unrelated root or a device CA that
 * the root did not sign fails every device handshake; a device *leaf* given as the device CA
 * turns HAProxy's issuer pin into the leaf's CN; a key of another certificate signs device
 * certificates nobody trusts.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { hasKeyUsage, isCaByBasicConstraints, keyUsageBits } from "./der-key-usage.ts";
import { PkiInputError } from "./input-error.ts";
import { pemBlocks } from "./pem.ts";

/** The inputs of an existing chain, as the Pki component names them. */
export type ExistingCaField =
    | "rootCertPem"
    | "deviceCaCertPem"
    | "deviceCaKeyPem"
    | "rootKeyPem"
    | "serverCertPem"
    | "serverKeyPem";

/** The chain's PEM texts. A key left out (e.g. encrypted in a stack file) is not checked. */
export interface ExistingCaPems {
    /** Root CA certificate. */
    readonly rootCertPem: string;
    /** Device (intermediate) CA certificate, signed by the root. */
    readonly deviceCaCertPem: string;
    /** Device CA private key. */
    readonly deviceCaKeyPem?: string | undefined;
    /** Root CA private key. */
    readonly rootKeyPem?: string | undefined;
    /** An existing server certificate. */
    readonly serverCertPem?: string | undefined;
    /** The key of {@link serverCertPem}. */
    readonly serverKeyPem?: string | undefined;
}

/** One problem with one input: `field` to name, `detail` saying what is wrong and what is allowed. */
export class ExistingCaError extends PkiInputError {
    override name = "ExistingCaError";
    /** The input at fault. */
    readonly field: ExistingCaField;
    /** What is wrong and what is allowed, without naming the input itself. */
    readonly detail: string;
    /** The input's subject on one line, when it parsed as a certificate. */
    readonly subject: string | undefined;
    constructor(field: ExistingCaField, detail: string, subject?: string) {
        super(detail);
        this.field = field;
        this.detail = detail;
        this.subject = subject;
    }
}

/** What a valid chain tells its users. */
export interface ExistingCaReport {
    /** The device CA's subject CN, read from the verified certificate: HAProxy pins this issuer. */
    readonly deviceCaCommonName: string;
    /** Inputs that are valid but need attention soon (expiry within {@link EXPIRY_WARNING_DAYS}). */
    readonly warnings: readonly { field: ExistingCaField; message: string }[];
}

/** A CA closer than this to its notAfter gets a warning: time to rotate before devices fail. */
export const EXPIRY_WARNING_DAYS = 30;

const serverAuthOid = "1.3.6.1.5.5.7.3.1";
const clientAuthOid = "1.3.6.1.5.5.7.3.2";
const anyExtendedKeyUsageOid = "2.5.29.37.0";
const dayMs = 86_400_000;

/** Subject on one line, e.g. `CN=intermediate.emqx.com, O=EMQX intermediate CA`. */
export function oneLineSubject(cert: X509Certificate): string {
    return cert.subject.split("\n").reverse().join(", ");
}

/** The common name of a certificate's subject ("" when it has none). */
export function subjectCommonName(certPem: string): string {
    const block = pemBlocks(certPem).find((b) => b.label === "CERTIFICATE");
    const cert = new X509Certificate(block?.der ?? certPem);
    const line = cert.subject.split("\n").find((l) => l.startsWith("CN="));
    return line === undefined ? "" : line.slice(3);
}

type Names = Readonly<Record<ExistingCaField, string>>;

function parseCertificate(field: ExistingCaField, pem: string): X509Certificate {
    const blocks = pemBlocks(pem).filter((b) => b.label === "CERTIFICATE");
    if (blocks.length !== 1) {
        const problem =
            blocks.length === 0
                ? "is not a PEM certificate"
                : `holds ${blocks.length} PEM CERTIFICATE blocks`;
        throw new ExistingCaError(field, `${problem}; allowed: one PEM CERTIFICATE block`);
    }
    try {
        return new X509Certificate(blocks[0]?.der ?? new Uint8Array());
    } catch {
        // A corrupted base64 body decodes to bytes that are no DER certificate.
        throw new ExistingCaError(
            field,
            "is not a parseable certificate (the PEM body does not decode to X.509); allowed: the certificate file as the CA tool wrote it",
        );
    }
}

function checkIsCa(field: ExistingCaField, cert: X509Certificate): void {
    const subject = oneLineSubject(cert);
    if (!isCaByBasicConstraints(cert.raw)) {
        throw new ExistingCaError(
            field,
            `(${subject}) is not a CA certificate (basicConstraints CA:TRUE missing); allowed: a CA certificate, not a device or server certificate`,
            subject,
        );
    }
    // RFC 5280 §4.2.1.3: a CA that signs certificates asserts keyCertSign. OpenSSL accepts a CA
    // without a KeyUsage extension at all, and so do we (pki/ca.ts loadIssuingCa does the same).
    if (hasKeyUsage(cert.raw, keyUsageBits.keyCertSign) === false) {
        throw new ExistingCaError(
            field,
            `(${subject}) may not sign certificates (keyUsage lacks keyCertSign); allowed: a CA whose keyUsage includes keyCertSign`,
            subject,
        );
    }
    // Whatever else OpenSSL (X509_check_ca, node's `ca`) holds against it, HAProxy would too.
    if (!cert.ca) {
        throw new ExistingCaError(
            field,
            `(${subject}) is not accepted as a CA by OpenSSL; allowed: a CA certificate (basicConstraints CA:TRUE, keyUsage keyCertSign)`,
            subject,
        );
    }
}

function checkValidity(
    field: ExistingCaField,
    cert: X509Certificate,
    now: Date,
    warnings: { field: ExistingCaField; message: string }[],
): void {
    const subject = oneLineSubject(cert);
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    if (now < from || now > to) {
        throw new ExistingCaError(
            field,
            `(${subject}) is not valid now (${from.toISOString()} to ${to.toISOString()}); allowed: a certificate within its validity`,
            subject,
        );
    }
    const daysLeft = Math.floor((to.getTime() - now.getTime()) / dayMs);
    if (daysLeft < EXPIRY_WARNING_DAYS) {
        warnings.push({
            field,
            message: `(${subject}) expires in ${daysLeft} days (${to.toISOString()}); rotate it (docs/pki.md) before devices are refused`,
        });
    }
}

function checkKeyMatches(
    names: Names,
    field: ExistingCaField,
    keyPem: string,
    cert: X509Certificate,
    certField: ExistingCaField,
): void {
    let matches = false;
    try {
        matches = cert.checkPrivateKey(createPrivateKey(keyPem));
    } catch {
        throw new ExistingCaError(
            field,
            "is not a PEM private key; allowed: PKCS#1, SEC1 or PKCS#8 PEM",
        );
    }
    if (!matches) {
        throw new ExistingCaError(
            field,
            `does not belong to ${names[certField]} (${oneLineSubject(cert)}); allowed: the private key of that certificate`,
        );
    }
}

/**
 * Checks an existing chain and returns the device CA's CN (the issuer HAProxy pins). Throws one
 * {@link ExistingCaError} for the first problem; `names` says how messages refer to the other
 * inputs (`existingCa.rootCertPem` for the component, `mqtt-edge:caRootCertPem` for the config).
 */
export function checkExistingCaChain(
    pems: ExistingCaPems,
    names: Names,
    now: Date = new Date(),
): ExistingCaReport {
    const warnings: { field: ExistingCaField; message: string }[] = [];
    const root = parseCertificate("rootCertPem", pems.rootCertPem);
    checkIsCa("rootCertPem", root);
    checkValidity("rootCertPem", root, now, warnings);
    const deviceCa = parseCertificate("deviceCaCertPem", pems.deviceCaCertPem);
    checkIsCa("deviceCaCertPem", deviceCa);
    if (!deviceCa.checkIssued(root) || !deviceCa.verify(root.publicKey)) {
        const subject = oneLineSubject(deviceCa);
        throw new ExistingCaError(
            "deviceCaCertPem",
            `(${subject}) is not signed by ${names.rootCertPem} (${oneLineSubject(root)}); allowed: a device CA issued by that root`,
            subject,
        );
    }
    checkValidity("deviceCaCertPem", deviceCa, now, warnings);
    if (pems.deviceCaKeyPem !== undefined) {
        checkKeyMatches(names, "deviceCaKeyPem", pems.deviceCaKeyPem, deviceCa, "deviceCaCertPem");
    }
    if (pems.rootKeyPem !== undefined) {
        checkKeyMatches(names, "rootKeyPem", pems.rootKeyPem, root, "rootCertPem");
    }
    if (pems.serverCertPem !== undefined) {
        const server = parseCertificate("serverCertPem", pems.serverCertPem);
        // OpenSSL, and so HAProxy, accepts a client certificate whose EKU has clientAuth or
        // anyExtendedKeyUsage, or that has no EKU at all. A server certificate like that under
        // our root would pass HAProxy's device check (the seed's cfssl "device" profile does this).
        const ekus = server.keyUsage ?? [];
        if (
            !ekus.includes(serverAuthOid) ||
            ekus.includes(clientAuthOid) ||
            ekus.includes(anyExtendedKeyUsageOid)
        ) {
            const subject = oneLineSubject(server);
            throw new ExistingCaError(
                "serverCertPem",
                `(${subject}) has extended key usages [${ekus.join(", ")}]; allowed: serverAuth (${serverAuthOid}) without clientAuth or any - it would otherwise pass HAProxy's client certificate check`,
                subject,
            );
        }
        checkKeyMatches(names, "serverKeyPem", pems.serverKeyPem ?? "", server, "serverCertPem");
    }
    return { deviceCaCommonName: subjectCommonName(pems.deviceCaCertPem), warnings };
}
