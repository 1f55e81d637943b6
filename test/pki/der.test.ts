/**
 * pki/der.ts, the small DER reader the supplied-root-CRL check stands on: lengths, OIDs, both
 * X.509 time forms (a CRL whose dates pass 2049 carries GeneralizedTime, RFC 5280 §5.1.2.4),
 * INTEGER serials with their sign byte, and malformed input read as "nothing".
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { children, decodeTime, encodingOf, integerHex, oidText, readTlv } from "../../pki/der.ts";

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ""), "hex"));
const ascii = (text: string) => Buffer.from(text, "latin1").toString("hex");

describe("DER reader", () => {
    test("short and long lengths; a length past the end is nothing", () => {
        const short = readTlv(bytes("04 03 aabbcc"), 0);
        assert.deepEqual(short, { tag: 0x04, start: 2, end: 5, offset: 0 });
        const long = bytes(`04 81 80 ${"00".repeat(128)}`);
        assert.deepEqual(readTlv(long, 0), { tag: 0x04, start: 3, end: 131, offset: 0 });
        assert.equal(readTlv(bytes("04 05 aabb"), 0), undefined);
        assert.equal(readTlv(bytes("04 80"), 0), undefined, "indefinite length is not DER");
    });

    test("children of a SEQUENCE, and the whole encoding of one", () => {
        const der = bytes("30 06 02 01 05 04 01 ff");
        const outer = readTlv(der, 0);
        assert.ok(outer);
        const [integer, octets] = children(der, outer);
        assert.equal(integer?.tag, 0x02);
        assert.equal(octets?.tag, 0x04);
        assert.deepEqual([...encodingOf(der, octets!)], [0x04, 0x01, 0xff]);
        assert.deepEqual(
            children(bytes("30 03 02 05 00"), readTlv(bytes("30 03 02 05 00"), 0)!),
            [],
        );
    });

    test("OIDs in dotted form", () => {
        // sha256WithRSAEncryption, ecdsa-with-SHA384, id-Ed25519, id-ce-cRLNumber
        const cases: [string, string][] = [
            ["06 09 2a864886f70d01010b", "1.2.840.113549.1.1.11"],
            ["06 08 2a8648ce3d040303", "1.2.840.10045.4.3.3"],
            ["06 03 2b6570", "1.3.101.112"],
            ["06 03 551d14", "2.5.29.20"],
        ];
        for (const [hex, dotted] of cases) {
            const der = bytes(hex);
            assert.equal(oidText(der, readTlv(der, 0)!), dotted);
        }
    });

    test("UTCTime (50-99 are 19xx) and GeneralizedTime; other forms are nothing", () => {
        const time = (tag: string, text: string) => {
            const der = bytes(`${tag} ${text.length.toString(16).padStart(2, "0")} ${ascii(text)}`);
            return decodeTime(der, readTlv(der, 0)!)?.toISOString();
        };
        assert.equal(time("17", "261201043047Z"), "2026-12-01T04:30:47.000Z");
        assert.equal(time("17", "500101000000Z"), "1950-01-01T00:00:00.000Z");
        assert.equal(time("17", "491231235959Z"), "2049-12-31T23:59:59.000Z");
        assert.equal(time("18", "20500101000000Z"), "2050-01-01T00:00:00.000Z");
        assert.equal(time("17", "2612010430Z"), undefined, "no seconds: not RFC 5280");
        assert.equal(time("18", "20500101000000+0100"), undefined, "not Zulu");
    });

    test("INTEGER serials as hex without the sign byte or leading zeros", () => {
        const hex = (der: string) => integerHex(bytes(der), readTlv(bytes(der), 0)!);
        assert.equal(hex("02 02 00ff"), "ff");
        assert.equal(hex("02 02 1c02"), "1c02");
        assert.equal(hex("02 01 05"), "5");
        assert.equal(hex("02 01 00"), "0");
    });
});
