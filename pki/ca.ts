/**
 * A CA certificate with its private key, checked to be usable before anything is signed with
 * it: the certificate is a CA, allowed to sign what we ask for, in validity, and the key is the
 * certificate's key.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs a Reflect polyfill loaded
// first (the library's README, "Reflect Polyfill Required").
import "reflect-metadata";
import {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    SubjectKeyIdentifierExtension,
    X509Certificate,
} from "@peculiar/x509";
import { PkiInputError } from "./input-error.ts";
import { importSigningKey, type SigningKey } from "./keys.ts";
import { pemBlocks, toPem } from "./pem.ts";

/** What the CA will be used to sign; decides which key usage bit it must carry. */
export type CaPurpose = "certificates" | "crls";

/** A CA ready to sign. */
export interface IssuingCa {
    /** The CA certificate. */
    certificate: X509Certificate;
    /** The CA certificate alone, re-encoded as PEM (one block, trailing newline). */
    certificatePem: string;
    /** The CA's private key and the signature algorithm that goes with it. */
    signingKey: SigningKey;
    /**
     * Hex key identifier to put in the AuthorityKeyIdentifier of what this CA signs: the CA
     * certificate's own SubjectKeyIdentifier, or the RFC 5280 §4.2.1.2 method-1 SHA-1 of its
     * public key when it has none (RFC 5280 §4.2.1.1: AKI must be present, and must match).
     */
    keyId: string;
}

/** Where the CA came from, for error messages (e.g. `--ca-cert ./CaIntermediate.pem`). */
export interface CaSources {
    /** How to name the certificate input in messages. */
    certificate: string;
    /** How to name the private key input in messages. */
    privateKey: string;
}

/** Parses the first CERTIFICATE block in `pem`; `source` names the input in errors. */
export function parseCertificatePem(pem: string, source: string): X509Certificate {
    const block = pemBlocks(pem).find((candidate) => candidate.label === "CERTIFICATE");
    if (!block) {
        throw new PkiInputError(
            `${source}: no "-----BEGIN CERTIFICATE-----" block found; allowed: a PEM X.509 certificate`,
        );
    }
    try {
        return new X509Certificate(block.der);
    } catch (error) {
        const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
        throw new PkiInputError(
            `${source}: not a valid X.509 certificate (${reason}); allowed: a PEM X.509 certificate`,
        );
    }
}

function sameBytes(a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array): boolean {
    return Buffer.from(a instanceof Uint8Array ? a : new Uint8Array(a)).equals(
        Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)),
    );
}

/**
 * Loads and checks a CA. Throws a {@link PkiInputError} when the certificate is not a CA
 * (no basicConstraints CA:TRUE), lacks keyCertSign (for `certificates`) or cRLSign (for
 * `crls`) in a present KeyUsage, is outside its validity at `now`, or when the key is not the
 * certificate's key.
 */
export async function loadIssuingCa(
    certificatePem: string,
    privateKeyPem: string,
    sources: CaSources,
    purpose: CaPurpose,
    now: Date = new Date(),
): Promise<IssuingCa> {
    const certificate = parseCertificatePem(certificatePem, sources.certificate);
    const subject = JSON.stringify(certificate.subject);
    const constraints = certificate.getExtension(BasicConstraintsExtension);
    if (!constraints?.ca) {
        throw new PkiInputError(
            `${sources.certificate}: certificate ${subject} is not a CA (basicConstraints ${constraints ? "CA:FALSE" : "missing"}); allowed: a CA certificate with basicConstraints CA:TRUE`,
        );
    }
    const keyUsage = certificate.getExtension(KeyUsagesExtension);
    const neededUsage =
        purpose === "certificates" ? KeyUsageFlags.keyCertSign : KeyUsageFlags.cRLSign;
    if (keyUsage && (keyUsage.usages & neededUsage) === 0) {
        const name = purpose === "certificates" ? "keyCertSign" : "cRLSign";
        throw new PkiInputError(
            `${sources.certificate}: CA ${subject} may not sign ${purpose} (keyUsage lacks ${name}); allowed: a CA whose keyUsage includes ${name}`,
        );
    }
    if (now < certificate.notBefore || now > certificate.notAfter) {
        throw new PkiInputError(
            `${sources.certificate}: CA ${subject} is not valid now (${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}); allowed: a CA certificate within its validity`,
        );
    }
    const signingKey = await importSigningKey(privateKeyPem, sources.privateKey);
    if (!sameBytes(signingKey.publicKeySpki, certificate.publicKey.rawData)) {
        throw new PkiInputError(
            `${sources.privateKey}: private key does not match the public key of CA ${subject} in ${sources.certificate}; allowed: the private key of that certificate`,
        );
    }
    return {
        certificate,
        certificatePem: toPem(certificate.rawData, "CERTIFICATE"),
        signingKey,
        keyId: await subjectKeyIdOf(certificate),
    };
}

/**
 * Lowercase hex key id of a certificate's own key: its SubjectKeyIdentifier, or the RFC 5280
 * §4.2.1.2 method-1 SHA-1 of the public key when it has none.
 */
export async function subjectKeyIdOf(certificate: X509Certificate): Promise<string> {
    const ski = certificate.getExtension(SubjectKeyIdentifierExtension);
    const keyId =
        ski?.keyId ?? Buffer.from(await certificate.publicKey.getKeyIdentifier()).toString("hex");
    return keyId.toLowerCase();
}

/** Lowercase hex key id of the issuer (AuthorityKeyIdentifier keyIdentifier), if present. */
export function authorityKeyIdOf(certificate: X509Certificate): string | undefined {
    return certificate.getExtension(AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase();
}

/** The subject's first CN, or "" when it has none. */
export function commonNameOf(certificate: X509Certificate): string {
    return certificate.subjectName.getField("CN")[0] ?? "";
}

/**
 * Throws unless `child` (e.g. the intermediate) is signed by `parent` (e.g. the root) and
 * `parent` is a CA; used before writing a chain that includes the parent.
 */
export async function assertSignedBy(
    child: X509Certificate,
    parent: X509Certificate,
    sources: { child: string; parent: string },
): Promise<void> {
    const parentIsCa = parent.getExtension(BasicConstraintsExtension)?.ca === true;
    const signed = await child.verify({ publicKey: parent.publicKey, signatureOnly: true });
    if (!parentIsCa || !signed) {
        throw new PkiInputError(
            `${sources.parent}: ${JSON.stringify(parent.subject)} is not the CA that signed ${JSON.stringify(child.subject)} from ${sources.child}; allowed: the issuing CA certificate of ${sources.child}`,
        );
    }
}
