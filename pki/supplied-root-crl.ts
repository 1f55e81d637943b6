/**
 * A root CRL signed elsewhere: how a bring-your-own CA given without its root key keeps
 * revocation. HAProxy's `crl-file` must hold a current CRL from every CA in a device's chain
 * (pki/crl.ts, docs/revocation.md), and the stack can sign only the device CA's; the root's comes
 * from whoever holds the root key, and this module checks it before anything uses it.
 *
 * Pure and synchronous, node:crypto and a small DER reader only, so the stack configuration can
 * run it without loading the X.509 library (pki/der-key-usage.ts says what that costs). Shared by
 * the configuration (`mqtt-edge:caRootCrlPem`) and `npm run crl -- --root-crl`.
 *
 * What OpenSSL, and so HAProxy, would do with a bad one: a CRL of another issuer is never matched
 * to the root, and without a matching CRL every device fails ("unable to get certificate CRL");
 * a bad signature fails every device ("CRL signature failure"); past nextUpdate, "CRL has
 * expired"; one that lists the device CA's serial refuses every device it issued.
 */
import { constants, verify, X509Certificate } from "node:crypto";
import { children, decodeTime, encodingOf, integerHex, oidText, readTlv, type Tlv } from "./der.ts";
import { hasKeyUsage, keyUsageBits } from "./der-key-usage.ts";
import { oneLineSubject } from "./existing-ca-check.ts";
import { PkiInputError } from "./input-error.ts";
import { pemBlocks, toPem } from "./pem.ts";

/** How messages name the CRL and the two certificates it is checked against. */
export interface SuppliedRootCrlNames {
    /** The CRL input, e.g. `mqtt-edge:caRootCrlPem` or `--root-crl root.crl.pem`. */
    readonly crl: string;
    /** The root certificate input. */
    readonly root: string;
    /** The device CA certificate input. */
    readonly deviceCa: string;
}

/** A supplied root CRL that passed every check. */
export interface SuppliedRootCrl {
    /** The CRL as one PEM block with a trailing newline, as it goes into HAProxy's crl-file. */
    readonly pem: string;
    /** The root's subject on one line (the CRL's issuer). */
    readonly issuer: string;
    readonly thisUpdate: Date;
    readonly nextUpdate: Date;
    /** Days (fractional) from the check's `now` to nextUpdate. */
    readonly daysLeft: number;
    /** Serials it revokes, lower-case hex without leading zeros. */
    readonly revokedSerials: readonly string[];
    /** One line each: valid, but needs the operator soon (nextUpdate inside the refresh window). */
    readonly warnings: readonly string[];
}

/** One problem with the supplied CRL: `detail` says what is wrong and what is allowed. */
export class SuppliedRootCrlError extends PkiInputError {
    override name = "SuppliedRootCrlError";
    /** What is wrong and what is allowed, without naming the input itself. */
    readonly detail: string;
    constructor(detail: string) {
        super(detail);
        this.detail = detail;
    }
}

const dayMs = 86_400_000;

/**
 * Signature algorithms a root CRL may use, by OID, with the digest node:crypto verifies with
 * (RFC 4055 §5 / RFC 5758 §3.2 / RFC 8410 §3). RSA-PSS is left out: its parameters carry the
 * digest and salt, and no CA tool we know signs CRLs with it by default.
 */
const signatureDigests: Record<string, string | null> = {
    "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
    "1.3.101.112": null, // Ed25519: no separate digest
};

interface ParsedCrl {
    tbs: Tlv;
    signatureOid: string;
    signature: Uint8Array;
    issuer: Tlv;
    thisUpdate: Date;
    nextUpdate: Date | undefined;
    revokedSerials: string[];
}

/**
 * RFC 5280 §5.1: CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }
 * and TBSCertList ::= SEQUENCE { version OPTIONAL, signature, issuer, thisUpdate,
 * nextUpdate OPTIONAL, revokedCertificates OPTIONAL, crlExtensions [0] OPTIONAL }.
 */
function parseCrl(der: Uint8Array): ParsedCrl | undefined {
    const outer = readTlv(der, 0);
    if (outer === undefined || outer.tag !== 0x30 || outer.end !== der.length) return undefined;
    const [tbs, algorithm, signatureBits] = children(der, outer);
    if (tbs?.tag !== 0x30 || algorithm?.tag !== 0x30 || signatureBits?.tag !== 0x03) {
        return undefined;
    }
    const oid = children(der, algorithm)[0];
    if (oid?.tag !== 0x06) return undefined;
    const fields = children(der, tbs);
    let i = fields[0]?.tag === 0x02 ? 1 : 0; // version v2
    const [, issuer, thisUpdateField] = fields.slice(i, i + 3);
    i += 3;
    if (issuer?.tag !== 0x30 || thisUpdateField === undefined) return undefined;
    const thisUpdate = decodeTime(der, thisUpdateField);
    if (thisUpdate === undefined) return undefined;
    let nextUpdate: Date | undefined;
    const next = fields[i];
    if (next !== undefined && (next.tag === 0x17 || next.tag === 0x18)) {
        nextUpdate = decodeTime(der, next);
        if (nextUpdate === undefined) return undefined;
        i++;
    }
    const revokedSerials: string[] = [];
    const revoked = fields[i];
    if (revoked?.tag === 0x30) {
        for (const entry of children(der, revoked)) {
            const serial = children(der, entry)[0];
            if (serial?.tag !== 0x02) return undefined;
            revokedSerials.push(integerHex(der, serial));
        }
    }
    return {
        tbs,
        signatureOid: oidText(der, oid),
        // BIT STRING contents: one byte of unused bits (0 for signatures), then the signature.
        signature: der.subarray(signatureBits.start + 1, signatureBits.end),
        issuer,
        thisUpdate,
        nextUpdate,
        revokedSerials,
    };
}

/** A Name's attributes as (type, value) pairs, compared the way OpenSSL's canonical form does:
 * string type ignored, case folded, inner whitespace collapsed (crypto/x509/x_name.c
 * x509_name_canon). */
function nameKey(der: Uint8Array, name: Tlv): string {
    const parts: string[] = [];
    for (const rdn of children(der, name)) {
        for (const attribute of children(der, rdn)) {
            const [type, value] = children(der, attribute);
            if (type === undefined || value === undefined) continue;
            const text = Buffer.from(der.subarray(value.start, value.end))
                .toString("utf8")
                .trim()
                .replace(/\s+/g, " ")
                .toLowerCase();
            parts.push(`${oidText(der, type)}=${text}`);
        }
        parts.push("/");
    }
    return parts.join("");
}

/** The subject Name of a certificate (RFC 5280 §4.1: TBSCertificate's sixth field after version). */
function certificateSubject(der: Uint8Array): Tlv | undefined {
    const certificate = readTlv(der, 0);
    const tbs = certificate && children(der, certificate)[0];
    if (tbs === undefined) return undefined;
    const fields = children(der, tbs);
    const first = fields[0]?.tag === 0xa0 ? 1 : 0;
    return fields[first + 4];
}

function fail(detail: string): never {
    throw new SuppliedRootCrlError(detail);
}

/**
 * Checks a root CRL supplied for a chain whose root key the stack does not hold: one PEM CRL,
 * issued and signed by the root, current at `now` (a warning once fewer than
 * `refreshBeforeDays` are left), not revoking the device CA. Throws one
 * {@link SuppliedRootCrlError} for the first problem. The certificates must already have passed
 * pki/existing-ca-check.ts.
 */
export function checkSuppliedRootCrl(
    crlPem: string,
    certificates: { readonly rootCertPem: string; readonly deviceCaCertPem: string },
    names: SuppliedRootCrlNames,
    now: Date,
    refreshBeforeDays: number,
): SuppliedRootCrl {
    const blocks = pemBlocks(crlPem).filter((block) => block.label === "X509 CRL");
    if (blocks.length !== 1) {
        fail(
            `${blocks.length === 0 ? "is not a PEM CRL" : `holds ${blocks.length} PEM X509 CRL blocks`}; allowed: one PEM X509 CRL block issued by ${names.root}`,
        );
    }
    const block = blocks[0] as (typeof blocks)[number];
    const der = block.der;
    const crl = parseCrl(der);
    if (crl === undefined) {
        fail(
            "is not a parseable CRL (the PEM body does not decode to an X.509 CRL); allowed: the CRL file as the CA tool wrote it",
        );
    }
    const root = new X509Certificate(certificates.rootCertPem);
    const rootSubject = oneLineSubject(root);
    const rootRaw = new Uint8Array(root.raw);
    const subject = certificateSubject(rootRaw);
    if (subject === undefined || nameKey(der, crl.issuer) !== nameKey(rootRaw, subject)) {
        fail(
            `is not issued by ${names.root} (${rootSubject}); allowed: a CRL of that root, signed with its key`,
        );
    }
    if (hasKeyUsage(rootRaw, keyUsageBits.cRLSign) === false) {
        fail(
            `is issued by ${names.root} (${rootSubject}), whose keyUsage lacks cRLSign, so OpenSSL refuses it; allowed: a root allowed to sign CRLs`,
        );
    }
    if (!(crl.signatureOid in signatureDigests)) {
        fail(
            `is signed with algorithm ${crl.signatureOid}; allowed: RSA PKCS#1 v1.5, ECDSA or Ed25519 with SHA-1/256/384/512`,
        );
    }
    let signed = false;
    try {
        const key = root.publicKey;
        signed = verify(
            signatureDigests[crl.signatureOid] ?? null,
            encodingOf(der, crl.tbs),
            key.asymmetricKeyType === "rsa" ? { key, padding: constants.RSA_PKCS1_PADDING } : key,
            crl.signature,
        );
    } catch {
        signed = false; // e.g. an ECDSA algorithm against an RSA root: no valid signature either
    }
    if (!signed) {
        fail(
            `names ${names.root} (${rootSubject}) as issuer but its signature does not verify against that root's key; allowed: a CRL signed by that root`,
        );
    }
    if (crl.thisUpdate.getTime() > now.getTime()) {
        fail(
            `is not valid yet (thisUpdate ${crl.thisUpdate.toISOString()}, now ${now.toISOString()}); allowed: a CRL whose thisUpdate has passed`,
        );
    }
    if (crl.nextUpdate === undefined) {
        fail(
            "has no nextUpdate, so nothing can tell when it goes stale; allowed: a CRL with a nextUpdate",
        );
    }
    const daysLeft = (crl.nextUpdate.getTime() - now.getTime()) / dayMs;
    if (daysLeft <= 0) {
        fail(
            `expired at its nextUpdate ${crl.nextUpdate.toISOString()} (HAProxy would refuse every device); allowed: a current CRL from the root's CA`,
        );
    }
    const deviceCa = new X509Certificate(certificates.deviceCaCertPem);
    const deviceCaSerial = deviceCa.serialNumber.toLowerCase().replace(/^0+(?=.)/, "");
    if (crl.revokedSerials.includes(deviceCaSerial)) {
        fail(
            `revokes ${names.deviceCa} (${oneLineSubject(deviceCa)}, serial ${deviceCaSerial}), so HAProxy would refuse every device; allowed: a root CRL that does not list the device CA`,
        );
    }
    const warnings =
        daysLeft < refreshBeforeDays
            ? [
                  `${names.crl} reaches its nextUpdate in ${daysLeft.toFixed(1)} days (${crl.nextUpdate.toISOString()}); replace it with a newer CRL from the root's CA before then, or HAProxy refuses every device (docs/revocation.md)`,
              ]
            : [];
    return {
        pem: toPem(der, "X509 CRL"),
        issuer: rootSubject,
        thisUpdate: crl.thisUpdate,
        nextUpdate: crl.nextUpdate,
        daysLeft,
        revokedSerials: crl.revokedSerials,
        warnings,
    };
}
