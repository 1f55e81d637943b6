/**
 * A stand-in for the Pulumi tls provider (@pulumi/tls 5.6.1) under Pulumi mocks that makes REAL
 * keys, CSRs and X.509 certificates, so tests can hand them to openssl, HAProxy or an MQTT client.
 *
 * It follows what the provider does, not what we would like it to do. The provider is
 * hashicorp/terraform-provider-tls (bridged); the behaviour reproduced here was read in
 * hashicorp/terraform-provider-tls@1f1283d internal/provider/common_cert.go (createCertificate,
 * keyUsages/extendedKeyUsages, generateSubjectKeyID), @1586a22 resource_locally_signed_cert.go
 * (Create, parseCertificate), @7a60d4a resource_self_signed_cert.go (Create), @b49f704
 * resource_private_key.go (schema defaults, Create) and @9371a25 common_key.go (keyParsers), plus
 * Go's crypto/x509 which does the encoding (https://pkg.go.dev/crypto/x509#CreateCertificate and
 * #Certificate):
 *
 * - PrivateKey: RSA default 2048 bits, ECDSA default curve P224 (!), ED25519. `privateKeyPem` is
 *   PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for ED25519; `privateKeyPemPkcs8` is PKCS#8.
 * - allowedUses: snake_case values only, anything else is rejected (validator OneOf); each value
 *   ORs a KeyUsage bit or appends an ExtKeyUsage, in the order given. No KU/EKU extension when
 *   none of the values maps to one.
 * - BasicConstraints is ALWAYS present and critical (BasicConstraintsValid: true), CA:FALSE for
 *   leaves. `maxPathLength` n >= 0 sets Go's MaxPathLen = n but never MaxPathLenZero, and Go
 *   writes "no limit" for MaxPathLen == 0 without MaxPathLenZero: so 0 gives a CA with NO
 *   pathlen, only n >= 1 gives `pathlen:n`. On a non-CA, n >= 1 fails ("x509: only CAs are
 *   allowed to specify MaxPathLen", Go's CreateCertificate).
 * - isCaCertificate: needs a non-empty subject, and always adds a SubjectKeyIdentifier (SHA-1 of
 *   the subjectPublicKey bits; for ED25519 of the key's ASN.1 OCTET STRING, as generateSubjectKeyID
 *   does). setSubjectKeyId adds one to a leaf.
 * - AuthorityKeyIdentifier: Go copies the issuer's SKI when issuer and subject DNs differ (so every
 *   cert under a provider CA gets one); a self-signed cert gets one only with setAuthorityKeyId,
 *   which fails without an SKI ("Could not determine Authority Key Identifier").
 * - LocallySignedCert takes ONLY subject, DNS/IP/URI SANs and the public key from the CSR (no
 *   e-mail SANs, no requested extensions; the CSR signature is not checked); a CA cert that is not
 *   a CA only warns; the CA key must match the CA cert (Go checks this).
 * - Serial: random below 2^128, resource id = its decimal string. NotBefore = now, NotAfter =
 *   now + validityPeriodHours. Signature: SHA-256 for RSA and P-256, SHA-384 for P-384, SHA-512
 *   for P-521 (Go's signingParamsForKey).
 * - Subject attributes in Go's order: C, ST, L, STREET, PostalCode, O, OU, CN, SERIALNUMBER, then
 *   emailAddress (PKCS#9); PrintableString when the value allows it, else UTF8String.
 *
 * Not reproduced (tests that need these must not rely on the fake): OpenSSH key formats and
 * fingerprints (returned as ""), earlyRenewalHours/readyForRenewal (always false), and any use of a
 * P-224 key in a CSR or certificate: WebCrypto, which @peculiar/x509 signs with, has no P-224, so
 * the fake throws where the provider would sign.
 */
import "reflect-metadata";
import {
    createHash,
    createPrivateKey,
    createPublicKey,
    generateKeyPair,
    type KeyObject,
    randomBytes,
    webcrypto,
} from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";
import * as x509 from "@peculiar/x509";
import type * as pulumi from "@pulumi/pulumi";
import { type MockHandler, unwrapSecrets } from "./pulumi-mocks.ts";

type MockResourceArgs = pulumi.runtime.MockResourceArgs;
type MockResourceResult = pulumi.runtime.MockResourceResult;

/** The four tls provider resource types the fake answers for. */
export const tlsResourceTypes = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

/** Options of {@link createTlsFake}. */
export interface TlsFakeOptions {
    /** Clock used for NotBefore (default: the real clock). */
    readonly now?: () => Date;
    /**
     * Generate one RSA key per size and hand the same key out again for later RSA PrivateKeys of
     * that size (default false). Saves 0.1-2 s per RSA key; only for tests that never need two
     * distinct RSA keys of one size (two CAs sharing a key have the same SKI).
     */
    readonly reuseRsaKeys?: boolean;
}

/** A tls provider fake: a {@link MockHandler} plus what it saw. */
export interface TlsFake extends MockHandler {
    /** Every tls resource request, in arrival order, with secret inputs unwrapped. */
    readonly requests: readonly MockResourceArgs[];
    /** Warnings the provider would have shown (e.g. "Potentially Invalid Certificate Authority"). */
    readonly warnings: readonly string[];
}

// common_cert.go keyUsages / extendedKeyUsages.
const keyUsageBits: Readonly<Record<string, number>> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const extendedKeyUsageOids: Readonly<Record<string, string>> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};
const supportedUses = [...Object.keys(keyUsageBits), ...Object.keys(extendedKeyUsageOids)].sort();

// resource_private_key.go: OneOf(RSA, ECDSA, ED25519) and OneOf(P224, P256, P384, P521).
const nodeCurveNames: Readonly<Record<string, string>> = {
    P224: "secp224r1",
    P256: "prime256v1",
    P384: "secp384r1",
    P521: "secp521r1",
};
const webCryptoCurves: Readonly<Record<string, string>> = {
    prime256v1: "P-256",
    secp384r1: "P-384",
    secp521r1: "P-521",
};

// pkix.Name.ToRDNSequence order; emailAddress (PKCS#9) goes last like an ExtraName.
const subjectAttributes = [
    { field: "country", oid: "2.5.4.6" },
    { field: "province", oid: "2.5.4.8" },
    { field: "locality", oid: "2.5.4.7" },
    { field: "streetAddresses", oid: "2.5.4.9" },
    { field: "postalCode", oid: "2.5.4.17" },
    { field: "organization", oid: "2.5.4.10" },
    { field: "organizationalUnit", oid: "2.5.4.11" },
    { field: "commonName", oid: "2.5.4.3" },
    { field: "serialNumber", oid: "2.5.4.5" },
    { field: "emailAddress", oid: "1.2.840.113549.1.9.1" },
] as const;

/** Subject attribute values by OID, in Go's order; an empty list means "not set". */
type SubjectValues = { oid: string; values: string[] }[];

const generateKeyPairAsync = promisify(generateKeyPair);

class TlsFakeError extends Error {
    override name = "TlsFakeError";
}

interface Plan {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
}

function fail(plan: Plan, message: string): never {
    throw new TlsFakeError(`tls-fake ${plan.type} "${plan.name}": ${message}`);
}

function optionalString(plan: Plan, key: string): string | undefined {
    const value = plan.inputs[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") fail(plan, `${key} must be a string, got ${typeof value}`);
    return value;
}

function requiredString(plan: Plan, key: string): string {
    const value = optionalString(plan, key);
    if (value === undefined) fail(plan, `${key} is required`);
    return value;
}

function optionalInteger(plan: Plan, key: string): number | undefined {
    const value = plan.inputs[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value)) {
        fail(plan, `${key} must be an integer, got ${JSON.stringify(value)}`);
    }
    return value;
}

function optionalBoolean(plan: Plan, key: string): boolean {
    const value = plan.inputs[key];
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") fail(plan, `${key} must be a boolean, got ${typeof value}`);
    return value;
}

function optionalStringList(plan: Plan, key: string): string[] {
    const value = plan.inputs[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
        fail(plan, `${key} must be a list of strings`);
    }
    return value as string[];
}

function subjectValues(plan: Plan): SubjectValues {
    const subject = plan.inputs.subject;
    if (subject === undefined || subject === null) return [];
    if (typeof subject !== "object") fail(plan, "subject must be an object");
    const fields = subject as Record<string, unknown>;
    return subjectAttributes.map(({ field, oid }) => {
        const value = fields[field];
        if (value === undefined || value === null) return { oid, values: [] };
        if (Array.isArray(value)) return { oid, values: value.map(String) };
        return { oid, values: [String(value)] };
    });
}

function isEmptySubject(subject: SubjectValues): boolean {
    return subject.every((attribute) => attribute.values.length === 0);
}

function toX509Name(subject: SubjectValues): x509.Name {
    // One RDN per attribute type, all its values in it, as pkix.Name.appendRDNs does.
    const rdns = subject
        .filter((attribute) => attribute.values.length > 0)
        .map((attribute) => ({
            [attribute.oid]: attribute.values.map((value) =>
                x509.Name.isPrintableString(value)
                    ? { printableString: value }
                    : { utf8String: value },
            ),
        }));
    return new x509.Name(rdns);
}

/** Subject of a parsed CSR reduced to the attributes Go's pkix.Name keeps, in Go's order. */
function subjectFromName(name: x509.Name): SubjectValues {
    return subjectAttributes
        .filter(({ field }) => field !== "emailAddress") // parsed into Names, not re-emitted
        .map(({ oid, field }) => {
            const values = name.getField(oid);
            const single = field === "commonName" || field === "serialNumber";
            return { oid, values: single ? values.slice(-1) : values };
        });
}

// PEM labels the provider parses private keys from (common_key.go keyParsers).
const privateKeyLabels = ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"];

function firstPemLabel(pem: string): string | undefined {
    return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
}

function parsePrivateKey(plan: Plan, key: string, pem: string): KeyObject {
    const label = firstPemLabel(pem);
    if (label === undefined || !privateKeyLabels.includes(label)) {
        fail(plan, `${key}: unable to determine parser for PEM preamble: ${label ?? "(none)"}`);
    }
    return createPrivateKey(pem);
}

function keyAlgorithmName(key: KeyObject): "RSA" | "ECDSA" | "ED25519" {
    if (key.asymmetricKeyType === "rsa") return "RSA";
    if (key.asymmetricKeyType === "ec") return "ECDSA";
    if (key.asymmetricKeyType === "ed25519") return "ED25519";
    throw new TlsFakeError(`tls-fake: unsupported key type ${key.asymmetricKeyType}`);
}

function unsupportedP224(plan: Plan): never {
    fail(
        plan,
        "a P-224 key cannot be used for a CSR or certificate in this fake (WebCrypto has no " +
            "P-224); the real provider would accept it - use P256 or P384",
    );
}

type KeyAlgorithmParams =
    | webcrypto.RsaHashedImportParams
    | webcrypto.EcKeyImportParams
    | webcrypto.Algorithm;

/** The WebCrypto algorithm a key signs with, picked like Go's signingParamsForKey. */
function signingAlgorithm(plan: Plan, key: KeyObject): KeyAlgorithmParams {
    if (key.asymmetricKeyType === "rsa") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    if (key.asymmetricKeyType === "ec") {
        const curve = webCryptoCurves[key.asymmetricKeyDetails?.namedCurve ?? ""];
        if (curve === undefined) unsupportedP224(plan);
        return { name: "ECDSA", namedCurve: curve };
    }
    if (key.asymmetricKeyType === "ed25519") return { name: "Ed25519" };
    throw new TlsFakeError(`tls-fake: unsupported key type ${key.asymmetricKeyType}`);
}

function signatureParams(algorithm: KeyAlgorithmParams): webcrypto.Algorithm {
    if (!("namedCurve" in algorithm)) return algorithm;
    const curve = algorithm.namedCurve;
    const hash = curve === "P-384" ? "SHA-384" : curve === "P-521" ? "SHA-512" : "SHA-256";
    return { name: "ECDSA", hash } as webcrypto.Algorithm;
}

function importSigningKey(plan: Plan, privateKey: KeyObject): Promise<webcrypto.CryptoKey> {
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
    return webcrypto.subtle.importKey("pkcs8", pkcs8, signingAlgorithm(plan, privateKey), false, [
        "sign",
    ]);
}

async function importKeyPair(plan: Plan, privateKey: KeyObject): Promise<webcrypto.CryptoKeyPair> {
    const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
    return {
        privateKey: await importSigningKey(plan, privateKey),
        publicKey: await webcrypto.subtle.importKey(
            "spki",
            spki,
            signingAlgorithm(plan, privateKey),
            true,
            ["verify"],
        ),
    };
}

/** generateSubjectKeyID in common_cert.go: SHA-1 over the marshalled public key. */
function subjectKeyId(publicKey: KeyObject): string {
    let marshalled: Buffer;
    if (publicKey.asymmetricKeyType === "rsa") {
        marshalled = publicKey.export({ type: "pkcs1", format: "der" });
    } else if (publicKey.asymmetricKeyType === "ec") {
        // elliptic.Marshal: 0x04 || X || Y, each padded to the field size (= the BIT STRING).
        const spki = publicKey.export({ type: "spki", format: "der" });
        const jwk = publicKey.export({ format: "jwk" });
        const size = Buffer.from(jwk.x ?? "", "base64url").length;
        marshalled = spki.subarray(spki.length - (1 + 2 * size));
    } else {
        // asn1.Marshal(ed25519.PublicKey) is an OCTET STRING of the 32 key bytes.
        const raw = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
        marshalled = Buffer.concat([Buffer.from([0x04, raw.length]), raw]);
    }
    return createHash("sha1").update(marshalled).digest("hex");
}

/** Go's pem.EncodeToMemory ends every PEM with a newline (the provider documents it). */
function withFinalNewline(pem: string): string {
    return pem.endsWith("\n") ? pem : `${pem}\n`;
}

function randomSerial(): bigint {
    // rand.Int(rand.Reader, 2^128): uniform in [0, 2^128).
    return BigInt(`0x${randomBytes(16).toString("hex")}`);
}

function serialHex(serial: bigint): string {
    const hex = serial.toString(16);
    return hex.length % 2 === 0 ? hex : `0${hex}`;
}

/** Go's time.Time.MarshalText for a UTC time: RFC 3339 with the fraction trimmed of zeros. */
function rfc3339(date: Date): string {
    return date.toISOString().replace(/\.000Z$/, "Z");
}

interface CertificatePlan {
    readonly plan: Plan;
    readonly subject: SubjectValues;
    readonly sans: x509.JsonGeneralNames;
    readonly subjectPublicKey: KeyObject;
    /** The issuer's certificate, or undefined when self-signed. */
    readonly issuer: x509.X509Certificate | undefined;
    readonly signer: KeyObject;
    /** Only SelfSignedCert has the set_authority_key_id attribute. */
    readonly hasSetAuthorityKeyId: boolean;
}

function sansFromInputs(plan: Plan): x509.JsonGeneralNames {
    const sans: x509.JsonGeneralNames = [];
    for (const dns of optionalStringList(plan, "dnsNames")) sans.push({ type: "dns", value: dns });
    for (const ip of optionalStringList(plan, "ipAddresses")) {
        if (isIP(ip) === 0) fail(plan, `Invalid IP address: failed to parse "${ip}"`);
        sans.push({ type: "ip", value: ip });
    }
    for (const uri of optionalStringList(plan, "uris")) {
        if (!URL.canParse(uri)) fail(plan, `Invalid URI: failed to parse "${uri}"`);
        sans.push({ type: "url", value: uri });
    }
    return sans;
}

function validateAllowedUses(plan: Plan): string[] {
    const value = plan.inputs.allowedUses;
    if (value === undefined || value === null) fail(plan, "allowedUses is required");
    const uses = optionalStringList(plan, "allowedUses");
    uses.forEach((use, index) => {
        if (!supportedUses.includes(use)) {
            fail(
                plan,
                `allowedUses[${index}] value must be one of: ${supportedUses.join(", ")}, got "${use}"`,
            );
        }
    });
    return uses;
}

/** createCertificate (common_cert.go) followed by Go's x509.CreateCertificate. */
async function createCertificate(
    cert: CertificatePlan,
    now: Date,
): Promise<{ id: string; certPem: string; start: Date; end: Date }> {
    const { plan } = cert;
    const hours = optionalInteger(plan, "validityPeriodHours");
    if (hours === undefined) fail(plan, "validityPeriodHours is required");
    if (hours < 0) fail(plan, `validityPeriodHours must be at least 0, got ${hours}`);
    // X.509 times have whole seconds; Go truncates the same way when it encodes them.
    const start = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const end = new Date(start.getTime() + hours * 3_600_000);
    const serial = randomSerial();

    let keyUsage = 0;
    const extendedKeyUsages: string[] = [];
    for (const use of validateAllowedUses(plan)) {
        const bit = keyUsageBits[use];
        if (bit !== undefined) keyUsage |= bit;
        const oid = extendedKeyUsageOids[use];
        if (oid !== undefined) extendedKeyUsages.push(oid);
    }

    const isCa = optionalBoolean(plan, "isCaCertificate");
    let ski: string | undefined;
    if (isCa) {
        if (isEmptySubject(cert.subject)) {
            fail(
                plan,
                "Invalid Certificate Subject: Must contain at least one Distinguished Name when " +
                    "creating Certificate Authority (CA)",
            );
        }
        ski = subjectKeyId(cert.subjectPublicKey);
    }

    const maxPathLength = optionalInteger(plan, "maxPathLength");
    if (maxPathLength !== undefined && maxPathLength < -1) {
        fail(plan, `maxPathLength must be at least -1, got ${maxPathLength}`);
    }
    // Go: MaxPathLen 0 without MaxPathLenZero means "not set"; the provider never sets the latter.
    const goMaxPathLen = maxPathLength !== undefined && maxPathLength >= 0 ? maxPathLength : 0;
    if (!isCa && goMaxPathLen > 0) fail(plan, "x509: only CAs are allowed to specify MaxPathLen");
    const pathLength = isCa && goMaxPathLen > 0 ? goMaxPathLen : undefined;

    if (optionalBoolean(plan, "setSubjectKeyId")) ski = subjectKeyId(cert.subjectPublicKey);

    const subjectName = toX509Name(cert.subject);
    let aki: string | undefined;
    if (cert.hasSetAuthorityKeyId && optionalBoolean(plan, "setAuthorityKeyId")) {
        // Self-signed: the parent is the template itself.
        if (ski === undefined) {
            fail(
                plan,
                "Invalid Certificate Authority: Could not determine Authority Key Identifier",
            );
        }
        aki = ski;
    }
    const issuerName = cert.issuer ? cert.issuer.subjectName : subjectName;
    if (cert.issuer) {
        const issuerSki = cert.issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
        const sameDn =
            Buffer.compare(
                Buffer.from(issuerName.toArrayBuffer()),
                Buffer.from(subjectName.toArrayBuffer()),
            ) === 0;
        if (!sameDn && issuerSki) aki = issuerSki;
        const issuerSpki = Buffer.from(cert.issuer.publicKey.rawData);
        const signerSpki = createPublicKey(cert.signer).export({ type: "spki", format: "der" });
        if (!issuerSpki.equals(signerSpki)) {
            fail(plan, "x509: provided PrivateKey doesn't match parent's PublicKey");
        }
    }

    // Go's buildCertExtensions order: KU, EKU, BC, SKI, AKI, SAN.
    const extensions: x509.Extension[] = [];
    if (keyUsage !== 0) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
    if (extendedKeyUsages.length > 0) {
        extensions.push(new x509.ExtendedKeyUsageExtension(extendedKeyUsages, false));
    }
    extensions.push(new x509.BasicConstraintsExtension(isCa, pathLength, true));
    if (ski !== undefined) extensions.push(new x509.SubjectKeyIdentifierExtension(ski, false));
    if (aki !== undefined) extensions.push(new x509.AuthorityKeyIdentifierExtension(aki, false));
    if (cert.sans.length > 0) {
        extensions.push(
            new x509.SubjectAlternativeNameExtension(cert.sans, isEmptySubject(cert.subject)),
        );
    }

    const signingKey = await importSigningKey(plan, cert.signer);
    const certificate = await x509.X509CertificateGenerator.create({
        serialNumber: serialHex(serial),
        subject: subjectName,
        issuer: issuerName,
        notBefore: start,
        notAfter: end,
        // Raw SPKI: the subject key itself never has to go through WebCrypto.
        publicKey: cert.subjectPublicKey.export({ type: "spki", format: "der" }),
        signingKey,
        signingAlgorithm: signatureParams(signingAlgorithm(plan, cert.signer)),
        extensions,
    });
    return {
        id: serial.toString(10),
        certPem: withFinalNewline(certificate.toString("pem")),
        start,
        end,
    };
}

interface GeneratedKey {
    readonly privateKey: KeyObject;
    readonly publicKey: KeyObject;
}

async function generateKey(plan: Plan, rsaCache: Map<number, Promise<GeneratedKey>> | undefined) {
    const algorithm = requiredString(plan, "algorithm");
    if (algorithm === "RSA") {
        const bits = optionalInteger(plan, "rsaBits") ?? 2048;
        if (rsaCache === undefined) {
            return generateKeyPairAsync("rsa", { modulusLength: bits, publicExponent: 0x10001 });
        }
        let cached = rsaCache.get(bits);
        if (cached === undefined) {
            cached = generateKeyPairAsync("rsa", { modulusLength: bits, publicExponent: 0x10001 });
            rsaCache.set(bits, cached);
        }
        return cached;
    }
    if (algorithm === "ECDSA") {
        const curve = optionalString(plan, "ecdsaCurve") ?? "P224";
        const namedCurve = nodeCurveNames[curve];
        if (namedCurve === undefined) {
            fail(plan, `ecdsaCurve value must be one of: P224, P256, P384, P521, got "${curve}"`);
        }
        return generateKeyPairAsync("ec", { namedCurve });
    }
    if (algorithm === "ED25519") return generateKeyPairAsync("ed25519");
    return fail(plan, `algorithm value must be one of: ECDSA, ED25519, RSA, got "${algorithm}"`);
}

async function privateKeyResource(
    plan: Plan,
    rsaCache: Map<number, Promise<GeneratedKey>> | undefined,
): Promise<MockResourceResult> {
    const { privateKey, publicKey } = await generateKey(plan, rsaCache);
    const traditional =
        privateKey.asymmetricKeyType === "rsa"
            ? privateKey.export({ type: "pkcs1", format: "pem" })
            : privateKey.asymmetricKeyType === "ec"
              ? privateKey.export({ type: "sec1", format: "pem" })
              : privateKey.export({ type: "pkcs8", format: "pem" });
    const spkiDer = publicKey.export({ type: "spki", format: "der" });
    return {
        // resource id: hex SHA-1 of the marshalled public key (hashForState).
        id: createHash("sha1").update(spkiDer).digest("hex"),
        state: {
            ...plan.inputs,
            rsaBits: optionalInteger(plan, "rsaBits") ?? 2048,
            ecdsaCurve: optionalString(plan, "ecdsaCurve") ?? "P224",
            privateKeyPem: withFinalNewline(String(traditional)),
            privateKeyPemPkcs8: withFinalNewline(
                String(privateKey.export({ type: "pkcs8", format: "pem" })),
            ),
            privateKeyOpenssh: "",
            publicKeyPem: withFinalNewline(
                String(publicKey.export({ type: "spki", format: "pem" })),
            ),
            publicKeyOpenssh: "",
            publicKeyFingerprintMd5: "",
            publicKeyFingerprintSha256: "",
        },
    };
}

function certificateState(
    plan: Plan,
    created: { id: string; certPem: string; start: Date; end: Date },
    extra: Record<string, unknown>,
): MockResourceResult {
    return {
        id: created.id,
        state: {
            ...plan.inputs,
            isCaCertificate: optionalBoolean(plan, "isCaCertificate"),
            setSubjectKeyId: optionalBoolean(plan, "setSubjectKeyId"),
            earlyRenewalHours: optionalInteger(plan, "earlyRenewalHours") ?? 0,
            readyForRenewal: false,
            certPem: created.certPem,
            validityStartTime: rfc3339(created.start),
            validityEndTime: rfc3339(created.end),
            ...extra,
        },
    };
}

async function selfSignedCertResource(plan: Plan, now: Date): Promise<MockResourceResult> {
    const privateKey = parsePrivateKey(
        plan,
        "privateKeyPem",
        requiredString(plan, "privateKeyPem"),
    );
    const created = await createCertificate(
        {
            plan,
            subject: subjectValues(plan),
            sans: sansFromInputs(plan),
            subjectPublicKey: createPublicKey(privateKey),
            issuer: undefined,
            signer: privateKey,
            hasSetAuthorityKeyId: true,
        },
        now,
    );
    return certificateState(plan, created, {
        setAuthorityKeyId: optionalBoolean(plan, "setAuthorityKeyId"),
        keyAlgorithm: keyAlgorithmName(privateKey),
    });
}

async function certRequestResource(plan: Plan): Promise<MockResourceResult> {
    const privateKey = parsePrivateKey(
        plan,
        "privateKeyPem",
        requiredString(plan, "privateKeyPem"),
    );
    const sans = sansFromInputs(plan);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: toX509Name(subjectValues(plan)),
        keys: await importKeyPair(plan, privateKey),
        signingAlgorithm: signatureParams(signingAlgorithm(plan, privateKey)),
        extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
    });
    const certRequestPem = withFinalNewline(csr.toString("pem"));
    return {
        // resource_cert_request.go: id = hashForState(DER of the CSR), a hex SHA-1.
        id: createHash("sha1").update(Buffer.from(csr.rawData)).digest("hex"),
        state: { ...plan.inputs, certRequestPem, keyAlgorithm: keyAlgorithmName(privateKey) },
    };
}

/** decodePEM in resource_locally_signed_cert.go: only the FIRST block counts, and its type must match. */
function firstPemBlock(plan: Plan, key: string, pem: string, expected: string): string {
    const match = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/.exec(pem);
    if (match === null) fail(plan, `${key}: failed to decode PEM of expected type "${expected}"`);
    if (match[1] !== expected) {
        fail(plan, `${key}: invalid PEM type - expected "${expected}", got "${match[1]}"`);
    }
    return match[0];
}

async function locallySignedCertResource(
    plan: Plan,
    now: Date,
    warnings: string[],
): Promise<MockResourceResult> {
    const csrPem = firstPemBlock(
        plan,
        "certRequestPem",
        requiredString(plan, "certRequestPem"),
        "CERTIFICATE REQUEST",
    );
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    const keyPem = optionalString(plan, "caPrivateKeyPem");
    const writeOnlyKeyPem = optionalString(plan, "caPrivateKeyPemWo");
    if ((keyPem === undefined) === (writeOnlyKeyPem === undefined)) {
        fail(plan, "exactly one of caPrivateKeyPem or caPrivateKeyPemWo must be set");
    }
    const caKey = parsePrivateKey(plan, "caPrivateKeyPem", keyPem ?? writeOnlyKeyPem ?? "");
    const caCert = new x509.X509Certificate(
        firstPemBlock(plan, "caCertPem", requiredString(plan, "caCertPem"), "CERTIFICATE"),
    );
    if (!caCert.getExtension(x509.BasicConstraintsExtension)?.ca) {
        warnings.push(
            `${plan.name}: Potentially Invalid Certificate Authority: Certificate provided as ` +
                "Authority does not appear to be a valid Certificate Authority.",
        );
    }
    const sanExtension = csr.getExtension("2.5.29.17");
    const requestedSans = sanExtension
        ? new x509.SubjectAlternativeNameExtension(sanExtension.rawData).names.toJSON()
        : [];
    const created = await createCertificate(
        {
            plan,
            subject: subjectFromName(csr.subjectName),
            // Only DNS names, IPs and URIs survive; e-mail and other names are dropped.
            sans: requestedSans.filter(
                (n) => n.type === "dns" || n.type === "ip" || n.type === "url",
            ),
            subjectPublicKey: createPublicKey({
                key: Buffer.from(csr.publicKey.rawData),
                format: "der",
                type: "spki",
            }),
            issuer: caCert,
            signer: caKey,
            hasSetAuthorityKeyId: false,
        },
        now,
    );
    return certificateState(plan, created, { caKeyAlgorithm: keyAlgorithmName(caKey) });
}

/** Creates a fake of the tls provider's four resources; see the file comment for its semantics. */
export function createTlsFake(options: TlsFakeOptions = {}): TlsFake {
    const requests: MockResourceArgs[] = [];
    const warnings: string[] = [];
    const now = options.now ?? (() => new Date());
    const rsaCache = options.reuseRsaKeys ? new Map<number, Promise<GeneratedKey>>() : undefined;
    const types: readonly string[] = Object.values(tlsResourceTypes);
    return {
        requests,
        warnings,
        handles: (type) => types.includes(type),
        newResource: async (args) => {
            const inputs = unwrapSecrets(args.inputs) as Record<string, unknown>;
            requests.push({ ...args, inputs });
            const plan: Plan = { type: args.type, name: args.name, inputs };
            switch (args.type) {
                case tlsResourceTypes.privateKey:
                    return privateKeyResource(plan, rsaCache);
                case tlsResourceTypes.selfSignedCert:
                    return selfSignedCertResource(plan, now());
                case tlsResourceTypes.certRequest:
                    return certRequestResource(plan);
                case tlsResourceTypes.locallySignedCert:
                    return locallySignedCertResource(plan, now(), warnings);
                default:
                    return fail(plan, "not a tls provider resource type");
            }
        },
    };
}
