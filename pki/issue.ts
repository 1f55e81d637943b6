/**
 * Issues device (TLS client) certificates from an {@link IssuingCa}, in process.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs a Reflect polyfill loaded
// first (the library's README, "Reflect Polyfill Required").
import "reflect-metadata";
import {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    ExtendedKeyUsage,
    ExtendedKeyUsageExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    SubjectKeyIdentifierExtension,
    type X509Certificate,
    X509CertificateGenerator,
} from "@peculiar/x509";
import type { IssuingCa } from "./ca.ts";
import { type DeviceKeySpec, exportPrivateKeyPem, generateDeviceKeyPair } from "./keys.ts";
import { toPem } from "./pem.ts";
import { randomSerialHex } from "./serial.ts";

/**
 * How far NotBefore is set before the moment of issue: one hour.
 * A device whose clock runs behind would otherwise see a brand-new certificate as "not yet
 * valid" and fail its first handshake (the tls provider does not backdate at all,
 * shared/reference/facts-pulumi.md §1.6; cfssl backdates 5 minutes). Battery-backed RTCs drift
 * seconds to minutes between NTP syncs, and one hour also covers a device that applied a
 * daylight-saving offset to a clock it should keep in UTC. More would only widen the window in
 * which a certificate is valid before anyone asked for it.
 */
export const notBeforeBackdateMs = 60 * 60 * 1000;

const dayMs = 24 * 60 * 60 * 1000;

/** What to issue. */
export interface DeviceCertificateRequest {
    /** Subject CN; already validated with `commonNameProblem`. */
    commonName: string;
    /** Validity in days, counted from `now` (not from the backdated NotBefore). */
    validityDays: number;
    /** Which key to generate for the device. */
    keySpec: DeviceKeySpec;
    /** Moment of issue; defaults to the current time. */
    now?: Date;
}

/** An issued device certificate and its freshly generated key. */
export interface IssuedDeviceCertificate {
    /** Subject CN of the certificate. */
    commonName: string;
    /** The certificate. */
    certificate: X509Certificate;
    /** The certificate as PEM. */
    certificatePem: string;
    /** The device private key as PKCS#8 PEM. SECRET: write it with mode 0600, never log it. */
    privateKeyPem: string;
    /** Serial number, lowercase hex (the form revocation files use). */
    serialHex: string;
}

/** The NotAfter a certificate issued at `now` for `validityDays` gets. */
export function deviceNotAfter(now: Date, validityDays: number): Date {
    return new Date(now.getTime() + validityDays * dayMs);
}

/**
 * Issues one device certificate: basicConstraints CA:FALSE (critical), keyUsage
 * digitalSignature (+ keyEncipherment for RSA keys, the only keys that can encipher a TLS 1.2
 * RSA key exchange) (critical), extendedKeyUsage clientAuth only (HAProxy rejects a
 * serverAuth-only cert as a client cert, facts-emqx-haproxy.md §10; a device has no use for
 * serverAuth), subject CN only, SKI of the device key, AKI = the CA's key id, a random serial
 * and NotBefore backdated by {@link notBeforeBackdateMs}.
 */
export async function issueDeviceCertificate(
    ca: IssuingCa,
    request: DeviceCertificateRequest,
): Promise<IssuedDeviceCertificate> {
    const now = request.now ?? new Date();
    const keys = await generateDeviceKeyPair(request.keySpec);
    const keyUsage =
        request.keySpec.algorithm === "rsa"
            ? KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment
            : KeyUsageFlags.digitalSignature;
    const serialHex = randomSerialHex();
    const certificate = await X509CertificateGenerator.create({
        serialNumber: serialHex,
        // The issuer Name object is copied byte for byte, so string types and attribute order
        // match the CA's subject exactly (name chaining compares them).
        issuer: ca.certificate.subjectName,
        subject: [{ CN: [request.commonName] }],
        notBefore: new Date(now.getTime() - notBeforeBackdateMs),
        notAfter: deviceNotAfter(now, request.validityDays),
        publicKey: keys.publicKey,
        signingKey: ca.signingKey.privateKey,
        signingAlgorithm: ca.signingKey.signingAlgorithm,
        extensions: [
            new BasicConstraintsExtension(false, undefined, true),
            new KeyUsagesExtension(keyUsage, true),
            new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth], false),
            await SubjectKeyIdentifierExtension.create(keys.publicKey),
            new AuthorityKeyIdentifierExtension(ca.keyId),
        ],
    });
    return {
        commonName: request.commonName,
        certificate,
        certificatePem: toPem(certificate.rawData, "CERTIFICATE"),
        privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
        serialHex,
    };
}
