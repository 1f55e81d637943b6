/**
 * Certificate serial numbers: positive, unpredictable, at most 20 octets (RFC 5280 §4.1.2.2),
 * kept as lowercase hex without leading zero bytes, the form revocation files and CRLs use.
 */
import { randomBytes } from "node:crypto";

/**
 * A fresh random serial: 16 bytes with the top bit cleared (so the DER INTEGER stays positive
 * without a padding byte) and the next bit set (so it is always exactly 16 bytes long), i.e.
 * 126 random bits - more than the 64 the CA/Browser Forum baseline asks for.
 */
export function randomSerialHex(): string {
    const bytes = randomBytes(16);
    bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
    return bytes.toString("hex");
}

/**
 * The canonical form of a serial written by people or other tools: accepts `0x` prefixes,
 * `:` separators (openssl's `serial=` output) and upper case; returns lowercase hex with an
 * even number of digits and no leading `00` bytes, or `undefined` when it is not hex.
 */
export function normalizeSerialHex(serial: string): string | undefined {
    const digits = serial.trim().replace(/^0x/i, "").replaceAll(":", "").toLowerCase();
    if (!/^[0-9a-f]+$/.test(digits)) return undefined;
    const even = digits.length % 2 === 1 ? `0${digits}` : digits;
    const trimmed = even.replace(/^(00)+/, "");
    if (trimmed.length > 40) return undefined;
    return trimmed === "" ? "00" : trimmed;
}
