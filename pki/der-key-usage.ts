/**
 * The KeyUsage bits and the basicConstraints cA flag of an X.509 certificate, read straight from
 * its DER. node:crypto's
 * X509Certificate does not expose them, and loading @peculiar/x509 for three bits costs every
 * command that reads the stack configuration about 0.3 s of CPU at start (measured: importing
 * infra/config.ts took 0.57 s user with it, zod alone 0.17 s).
 *
 * Only the path to the extension is walked (RFC 5280 §4.1: Certificate, TBSCertificate,
 * extensions [3]; §4.2.1.3: KeyUsage ::= BIT STRING; §4.2.1.9: BasicConstraints); anything
 * malformed reads as "no such extension",
 * which is what a certificate that node:crypto already parsed never is.
 */

import { children, readTlv, type Tlv } from "./der.ts";

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const keyUsageBits = {
    digitalSignature: 0,
    keyCertSign: 5,
    cRLSign: 6,
} as const;

const keyUsageOid = [0x55, 0x1d, 0x0f]; // 2.5.29.15
const basicConstraintsOid = [0x55, 0x1d, 0x13]; // 2.5.29.19

/** The DER inside an extension's extnValue OCTET STRING, or undefined without the extension. */
function extensionValue(der: Uint8Array, wanted: readonly number[]): Tlv | undefined {
    const certificate = readTlv(der, 0);
    const tbs = certificate && children(der, certificate)[0];
    if (tbs === undefined) return undefined;
    const extensions = children(der, tbs).find((field) => field.tag === 0xa3);
    const list = extensions && children(der, extensions)[0];
    if (list === undefined) return undefined;
    for (const extension of children(der, list)) {
        const [oid, ...rest] = children(der, extension);
        if (oid === undefined || oid.tag !== 0x06) continue;
        const oidBytes = der.subarray(oid.start, oid.end);
        if (oidBytes.length !== wanted.length || !wanted.every((b, i) => oidBytes[i] === b)) {
            continue;
        }
        const value = rest.find((field) => field.tag === 0x04);
        return value && readTlv(der, value.start);
    }
    return undefined;
}

/**
 * Whether the certificate's KeyUsage asserts bit `bit`; `undefined` when it has no KeyUsage
 * extension (then no usage is restricted, RFC 5280 §4.2.1.3).
 */
export function hasKeyUsage(der: Uint8Array, bit: number): boolean | undefined {
    const bits = extensionValue(der, keyUsageOid);
    if (bits === undefined || bits.tag !== 0x03) return undefined;
    // First content byte: unused bits in the last byte; then the bits, most significant first.
    const byte =
        bits.start + 1 + Math.floor(bit / 8) < bits.end
            ? (der[bits.start + 1 + Math.floor(bit / 8)] ?? 0)
            : 0;
    return (byte & (0x80 >> (bit % 8))) !== 0;
}

/** Whether basicConstraints says cA TRUE (RFC 5280 §4.2.1.9; absent or FALSE: not a CA). */
export function isCaByBasicConstraints(der: Uint8Array): boolean {
    const constraints = extensionValue(der, basicConstraintsOid);
    if (constraints === undefined || constraints.tag !== 0x30) return false;
    const first = children(der, constraints)[0];
    return first !== undefined && first.tag === 0x01 && der[first.start] !== 0;
}
