/**
 * Test-only certificate issuance with @peculiar/x509, for the certificates a real fleet would
 * never be given: self-signed, from a foreign CA, expired, not yet valid, serverAuth-only,
 * signed by the root itself. The edge's own CAs come from the Pki component (see edge-pki.ts) and
 * are wrapped here with {@link TestCertificateAuthority.fromIssuingCa}; good device certificates
 * come from the project's issuing code (pki/issue.ts, the device-certificate CLI).
 */
// @peculiar/x509 needs a Reflect metadata polyfill loaded first (as pki/issue.ts does).
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { IssuingCa } from "../../../pki/ca.ts";

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const EC_KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const P256_SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate with its private key, both PEM. */
export interface IssuedCertificate {
    /** Subject common name. */
    commonName: string;
    /** Certificate, PEM. */
    certificatePem: string;
    /** PKCS#8 private key, PEM. Secret: write it to a 0600 temp file only, never log it. */
    privateKeyPem: string;
    /** Serial number, lower-case hex, as a CRL entry names it. */
    serialNumber: string;
}

/** What kind of leaf to issue. */
export interface LeafRequest {
    /** Subject CN. */
    commonName: string;
    /** Extended key usage: device (clientAuth), server (serverAuth) or both. */
    usage: "client" | "server" | "client+server";
    /** IPv4 SANs. */
    ipAddresses?: string[];
    /** DNS SANs. */
    dnsNames?: string[];
    /** Start of validity; default one hour ago. */
    notBefore?: Date;
    /** End of validity; default 30 days from now. */
    notAfter?: Date;
}

/** The signature algorithm parameter @peculiar/x509 takes (WebCrypto Algorithm or EcdsaParams). */
type SigningAlgorithm = NonNullable<
    Parameters<typeof x509.X509CertificateGenerator.create>[0]["signingAlgorithm"]
>;

/** How a CA signs: its key, the signature algorithm for that key, and its key identifier. */
interface CaSigner {
    privateKey: CryptoKey;
    algorithm: SigningAlgorithm;
    keyIdHex: string;
}

/** A CA that can issue intermediates and leaves. */
export class TestCertificateAuthority {
    /** The CA's subject CN. */
    readonly commonName: string;
    /** The CA certificate, PEM. */
    readonly certificatePem: string;
    readonly #certificate: x509.X509Certificate;
    readonly #signer: CaSigner;

    private constructor(commonName: string, certificate: x509.X509Certificate, signer: CaSigner) {
        this.commonName = commonName;
        this.#certificate = certificate;
        this.#signer = signer;
        this.certificatePem = withTrailingNewline(certificate.toString("pem"));
    }

    /** Wraps a CA loaded by the project's PKI code (pki/ca.ts `loadIssuingCa`). */
    static fromIssuingCa(ca: IssuingCa): TestCertificateAuthority {
        const commonName = ca.certificate.subjectName.getField("CN")[0] ?? ca.certificate.subject;
        return new TestCertificateAuthority(commonName, ca.certificate, {
            privateKey: ca.signingKey.privateKey as CryptoKey,
            algorithm: ca.signingKey.signingAlgorithm as SigningAlgorithm,
            keyIdHex: ca.keyId,
        });
    }

    /** A self-signed root CA (used for foreign chains, never for the edge's own). */
    static async createRoot(commonName: string): Promise<TestCertificateAuthority> {
        const keys = await generateKeys();
        const certificate = await x509.X509CertificateGenerator.createSelfSigned({
            serialNumber: randomSerial(),
            name: `CN=${commonName}`,
            notBefore: new Date(Date.now() - DAY_MS),
            notAfter: new Date(Date.now() + 365 * DAY_MS),
            keys,
            signingAlgorithm: P256_SIGNING_ALGORITHM,
            extensions: [
                new x509.BasicConstraintsExtension(true, undefined, true),
                new x509.KeyUsagesExtension(
                    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
                    true,
                ),
                await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
            ],
        });
        return new TestCertificateAuthority(commonName, certificate, await signerOf(keys));
    }

    /** An intermediate CA signed by this one. */
    async issueIntermediate(commonName: string): Promise<TestCertificateAuthority> {
        const keys = await generateKeys();
        const certificate = await x509.X509CertificateGenerator.create({
            serialNumber: randomSerial(),
            subject: `CN=${commonName}`,
            issuer: this.#certificate.subjectName,
            notBefore: new Date(Date.now() - DAY_MS),
            notAfter: new Date(Date.now() + 180 * DAY_MS),
            publicKey: keys.publicKey,
            signingKey: this.#signer.privateKey,
            signingAlgorithm: this.#signer.algorithm,
            extensions: [
                new x509.BasicConstraintsExtension(true, 0, true),
                new x509.KeyUsagesExtension(
                    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
                    true,
                ),
                await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
                new x509.AuthorityKeyIdentifierExtension(this.#signer.keyIdHex),
            ],
        });
        return new TestCertificateAuthority(commonName, certificate, await signerOf(keys));
    }

    /** A leaf certificate signed by this CA. */
    async issueLeaf(request: LeafRequest): Promise<IssuedCertificate> {
        const keys = await generateKeys();
        const usages: string[] = [];
        if (request.usage !== "server") usages.push(x509.ExtendedKeyUsage.clientAuth);
        if (request.usage !== "client") usages.push(x509.ExtendedKeyUsage.serverAuth);
        const extensions: x509.Extension[] = [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension(usages, false),
            new x509.AuthorityKeyIdentifierExtension(this.#signer.keyIdHex),
        ];
        const alternativeNames = [
            ...(request.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
            ...(request.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
        ];
        if (alternativeNames.length > 0) {
            extensions.push(new x509.SubjectAlternativeNameExtension(alternativeNames, false));
        }
        const certificate = await x509.X509CertificateGenerator.create({
            serialNumber: randomSerial(),
            subject: `CN=${request.commonName}`,
            issuer: this.#certificate.subjectName,
            notBefore: request.notBefore ?? new Date(Date.now() - 60 * 60 * 1000),
            notAfter: request.notAfter ?? new Date(Date.now() + 30 * DAY_MS),
            publicKey: keys.publicKey,
            signingKey: this.#signer.privateKey,
            signingAlgorithm: this.#signer.algorithm,
            extensions,
        });
        return {
            commonName: request.commonName,
            certificatePem: withTrailingNewline(certificate.toString("pem")),
            privateKeyPem: await privateKeyPem(keys.privateKey),
            serialNumber: certificate.serialNumber.toLowerCase(),
        };
    }
}

/** A self-signed clientAuth certificate: trusted by nobody. */
export async function createSelfSignedDevice(commonName: string): Promise<IssuedCertificate> {
    const keys = await generateKeys();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: `CN=${commonName}`,
        keys,
        signingAlgorithm: P256_SIGNING_ALGORITHM,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        ],
    });
    return {
        commonName,
        certificatePem: withTrailingNewline(certificate.toString("pem")),
        privateKeyPem: await privateKeyPem(keys.privateKey),
        serialNumber: certificate.serialNumber.toLowerCase(),
    };
}

async function generateKeys(): Promise<CryptoKeyPair> {
    return (await webcrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, [
        "sign",
        "verify",
    ])) as CryptoKeyPair;
}

async function signerOf(keys: CryptoKeyPair): Promise<CaSigner> {
    const keyId = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
    return {
        privateKey: keys.privateKey,
        algorithm: P256_SIGNING_ALGORITHM,
        keyIdHex: keyId.keyId,
    };
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
    const der = await webcrypto.subtle.exportKey("pkcs8", key);
    return withTrailingNewline(x509.PemConverter.encode(der, "PRIVATE KEY"));
}

/** 16 random bytes with the top bit clear, so the DER INTEGER stays positive. */
function randomSerial(): string {
    const bytes = webcrypto.getRandomValues(new Uint8Array(16));
    bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
    return Buffer.from(bytes).toString("hex");
}

/** PemConverter ends without a newline; concatenated PEM files (chains, CRL bundles) need one. */
function withTrailingNewline(pem: string): string {
    return pem.endsWith("\n") ? pem : `${pem}\n`;
}
