/**
 * A minimal DER reader (X.690 §8.1: tag, length, contents) for the few fields node:crypto does
 * not expose: KeyUsage bits, basicConstraints, and a CRL's parts. Only definite lengths of up to
 * four bytes, which is all DER allows for anything this project reads; anything malformed reads
 * as `undefined` (or no children) and the caller decides what that means.
 */

/** One tag-length-value: where its contents start and end in the buffer. */
export interface Tlv {
    tag: number;
    /** First content byte. */
    start: number;
    /** One past the last content byte. */
    end: number;
    /** The first byte of the TLV itself (its tag). */
    offset: number;
}

/** The TLV at `offset`, or undefined when it runs past the buffer or its length is not DER. */
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
    return end > der.length ? undefined : { tag, start, end, offset };
}

/** The children of a constructed value; none when any of them is malformed. */
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

/**
 * An X.509 time (RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ, years 50-99 are 19xx; GeneralizedTime
 * YYYYMMDDHHMMSSZ), or undefined for any other form.
 */
export function timeOf(der: Uint8Array, time: Tlv): Date | undefined {
    const text = Buffer.from(der.subarray(time.start, time.end)).toString("latin1");
    const match =
        time.tag === 0x17
            ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
            : time.tag === 0x18
              ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
              : null;
    if (match === null) return undefined;
    const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
    const year = time.tag === 0x17 ? ((y as number) >= 50 ? 1900 : 2000) + (y as number) : y;
    const date = new Date(Date.UTC(year as number, (mo as number) - 1, d, h, mi, s));
    return Number.isNaN(date.getTime()) ? undefined : date;
}

/** An INTEGER's value as lower-case hex without leading zeros (serial numbers compare this way). */
export function integerHex(der: Uint8Array, integer: Tlv): string {
    const hex = Buffer.from(der.subarray(integer.start, integer.end)).toString("hex");
    return hex.replace(/^(00)+(?=.)/, "").replace(/^0(?=.)/, "");
}
