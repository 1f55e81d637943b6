/**
 * The few DER (X.690) pieces the PKI code reads and writes by hand: walking a structure to one
 * field (der-key-usage.ts), and encoding the entries of a large CRL (crl-der.ts), where a
 * general ASN.1 library is too slow.
 */

/** One tag-length-value in a DER buffer. */
export interface Tlv {
    tag: number;
    /** First byte of the header. */
    offset: number;
    /** First content byte. */
    start: number;
    /** One past the last content byte. */
    end: number;
}

/** The TLV at `offset`, or undefined when it is cut short or its length is not DER. */
export function readTlv(der: Uint8Array, offset: number): Tlv | undefined {
    const tag = der[offset];
    let lengthByte = der[offset + 1];
    if (tag === undefined || lengthByte === undefined) return undefined;
    let start = offset + 2;
    let length = lengthByte;
    if (lengthByte & 0x80) {
        const count = lengthByte & 0x7f;
        if (count === 0 || count > 4) return undefined;
        length = 0;
        for (let i = 0; i < count; i++) {
            lengthByte = der[start + i];
            if (lengthByte === undefined) return undefined;
            length = length * 256 + lengthByte;
        }
        start += count;
    }
    const end = start + length;
    return end > der.length ? undefined : { tag, offset, start, end };
}

/** The children of a constructed value; empty when one of them is malformed. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
    const out: Tlv[] = [];
    for (let offset = parent.start; offset < parent.end; ) {
        const child = readTlv(der, offset);
        if (child === undefined) return [];
        out.push(child);
        offset = child.end;
    }
    return out;
}

/** Universal tags used here. */
export const derTag = {
    integer: 0x02,
    octetString: 0x04,
    oid: 0x06,
    enumerated: 0x0a,
    utcTime: 0x17,
    generalizedTime: 0x18,
    sequence: 0x30,
} as const;

/** The length octets (X.690 §8.1.3: short form below 128, else the minimal long form). */
function lengthOctets(length: number): number[] {
    if (length < 0x80) return [length];
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    return [0x80 | bytes.length, ...bytes];
}

/** One TLV around `content` (already DER). */
export function encodeTlv(tag: number, ...content: Uint8Array[]): Uint8Array {
    const length = content.reduce((sum, part) => sum + part.length, 0);
    const header = [tag, ...lengthOctets(length)];
    const out = new Uint8Array(header.length + length);
    out.set(header, 0);
    let at = header.length;
    for (const part of content) {
        out.set(part, at);
        at += part.length;
    }
    return out;
}

/**
 * A non-negative INTEGER from big-endian magnitude bytes (X.690 §8.3: two's complement, minimal:
 * leading zero bytes dropped, one 0x00 put back when the top bit is set).
 */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
    let first = 0;
    while (first < magnitude.length - 1 && magnitude[first] === 0) first++;
    const body = magnitude.subarray(first);
    const pad = (body[0] ?? 0) >= 0x80 ? new Uint8Array([0]) : new Uint8Array(0);
    return encodeTlv(derTag.integer, pad, body.length > 0 ? body : new Uint8Array([0]));
}

/**
 * An X.509 Time (RFC 5280 §4.1.2.5 and §5.1.2.4): UTCTime YYMMDDHHMMSSZ through 2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ from 2050; seconds, no fraction.
 */
export function encodeTime(date: Date): Uint8Array {
    const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
    const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
    const year = date.getUTCFullYear();
    const text = year < 2050 && year >= 1950 ? `${digits.slice(2)}Z` : `${digits}Z`;
    const tag = year < 2050 && year >= 1950 ? derTag.utcTime : derTag.generalizedTime;
    return encodeTlv(tag, new TextEncoder().encode(text));
}

/** A UTCTime or GeneralizedTime ending in Z (RFC 5280's forms); undefined for anything else. */
export function decodeTime(der: Uint8Array, tlv: Tlv): Date | undefined {
    const text = Buffer.from(der.subarray(tlv.start, tlv.end)).toString("latin1");
    let digits: string;
    if (tlv.tag === derTag.utcTime && /^\d{12}Z$/.test(text)) {
        // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
        digits = `${Number(text.slice(0, 2)) >= 50 ? "19" : "20"}${text}`;
    } else if (tlv.tag === derTag.generalizedTime && /^\d{14}Z$/.test(text)) {
        digits = text;
    } else {
        return undefined;
    }
    const iso = `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}T${digits.slice(8, 10)}:${digits.slice(10, 12)}:${digits.slice(12, 14)}Z`;
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The whole encoding of a TLV, tag and length included (e.g. the signed part of a CRL). */
export function encodingOf(der: Uint8Array, tlv: Tlv): Uint8Array {
    return der.subarray(tlv.offset, tlv.end);
}

/** Dotted form of an OBJECT IDENTIFIER's contents (X.690 §8.19), e.g. `1.2.840.113549.1.1.11`. */
export function oidText(der: Uint8Array, oid: Tlv): string {
    const arcs: number[] = [];
    let value = 0;
    for (let i = oid.start; i < oid.end; i++) {
        const byte = der[i] ?? 0;
        value = value * 128 + (byte & 0x7f);
        if ((byte & 0x80) === 0) {
            if (arcs.length === 0) {
                const first = value < 80 ? Math.floor(value / 40) : 2;
                arcs.push(first, value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    return arcs.join(".");
}

/** An INTEGER's value as lower-case hex without leading zeros (serial numbers compare this way). */
export function integerHex(der: Uint8Array, integer: Tlv): string {
    const hex = Buffer.from(der.subarray(integer.start, integer.end)).toString("hex");
    return hex.replace(/^(00)+(?=.)/, "").replace(/^0(?=.)/, "");
}
