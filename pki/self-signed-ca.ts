/**
 * Throwaway self-signed CAs made in process: for benchmarks and tests that need a CA quickly
 * (ECDSA keys: milliseconds, where cfssl's RSA chain takes a process per step). Production CAs
 * come from the Pulumi PKI component or the operator's own (cfssl) CA.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs a Reflect polyfill loaded
// first (the library's README, "Reflect Polyfill Required").
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    SubjectKeyIdentifierExtension,
    X509CertificateGenerator,
} from "@peculiar/x509";
import type { IssuingCa } from "./ca.ts";
import { exportPrivateKeyPem } from "./keys.ts";
import { toPem } from "./pem.ts";
import { randomSerialHex } from "./serial.ts";

/** A CA as PEM text, the form CLIs read. */
export interface PemCa {
    /** CA certificate, PEM. */
    certificatePem: string;
    /** CA private key, PKCS#8 PEM. SECRET. */
    privateKeyPem: string;
}

/** What kind of throwaway CA to make. */
export interface ThrowawayCaRequest {
    /** Subject CN. */
    commonName: string;
    /** Validity in days from now. */
    validityDays: number;
    /** The CA that signs this one; omit for a self-signed root. */
    issuer?: IssuingCa;
}

const dayMs = 24 * 60 * 60 * 1000;

/**
 * Makes an ECDSA P-256 CA certificate (basicConstraints CA:TRUE critical, pathlen 0 when
 * issued by another CA; keyUsage keyCertSign + cRLSign critical; SKI and AKI).
 */
export async function createThrowawayCa(request: ThrowawayCaRequest): Promise<PemCa> {
    const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
        "sign",
        "verify",
    ]);
    const ski = await SubjectKeyIdentifierExtension.create(keys.publicKey);
    const now = Date.now();
    const issuer = request.issuer;
    const certificate = await X509CertificateGenerator.create({
        serialNumber: randomSerialHex(),
        subject: [{ CN: [request.commonName] }],
        issuer: issuer ? issuer.certificate.subjectName : [{ CN: [request.commonName] }],
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + request.validityDays * dayMs),
        publicKey: keys.publicKey,
        signingKey: issuer ? issuer.signingKey.privateKey : keys.privateKey,
        signingAlgorithm: issuer
            ? issuer.signingKey.signingAlgorithm
            : { name: "ECDSA", hash: "SHA-256" },
        extensions: [
            new BasicConstraintsExtension(true, issuer ? 0 : undefined, true),
            new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
            ski,
            new AuthorityKeyIdentifierExtension(issuer ? issuer.keyId : ski.keyId),
        ],
    });
    return {
        certificatePem: toPem(certificate.rawData, "CERTIFICATE"),
        privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    };
}
