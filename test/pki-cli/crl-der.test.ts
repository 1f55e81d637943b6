/**
 * The hand-encoded CRL entries (pki/crl-der.ts) against the library they replace: the same
 * TBSCertList byte for byte on small lists for every CA key kind, signatures OpenSSL accepts, and
 * the DER pieces at their edges (long lengths, the 2050 switch to GeneralizedTime, serials with
 * the top bit set).
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
    AuthorityKeyIdentifierExtension,
    Extension,
    type X509CrlEntryParams,
    X509CrlGenerator,
    type X509CrlReason,
} from "@peculiar/x509";
import { type IssuingCa, loadIssuingCa } from "../../pki/ca.ts";
import { buildCrl } from "../../pki/crl.ts";
import { encodeCrlEntry } from "../../pki/crl-der.ts";
import { children, encodeTime, encodeTlv, encodeUnsignedInteger, readTlv } from "../../pki/der.ts";
import { type RevocationEntry, revocationReasonCodes } from "../../pki/revocations.ts";
import { openssl } from "./run-process.ts";

let work: string;

/** A CA made by openssl with `newkey` (e.g. rsa:2048, ec:<params file>). */
async function opensslCa(name: string, newkey: string[]): Promise<{ ca: IssuingCa; cert: string }> {
    const cert = join(work, `${name}.pem`);
    const key = join(work, `${name}-key.pem`);
    const made = await openssl([
        "req",
        "-x509",
        ...newkey,
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        `/O=mqtt-edge test/CN=${name}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    assert.equal(made.code, 0, made.stderr);
    const ca = await loadIssuingCa(
        await readFile(cert, "utf8"),
        await readFile(key, "utf8"),
        { certificate: name, privateKey: `${name} key` },
        "crls",
    );
    return { ca, cert };
}

const entries: RevocationEntry[] = [
    // Top bit set: the INTEGER needs a leading zero byte.
    { serial: "80a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3", reason: "keyCompromise" },
    { serial: "7f", reason: "unspecified" },
    { serial: "1", reason: "cessationOfOperation" },
    { serial: "4f3a00", reason: "certificateHold" },
    { serial: "0123456789abcdef", reason: "aACompromise" },
].map((e, i) => ({
    ...e,
    reason: e.reason as RevocationEntry["reason"],
    commonName: `DEVICE-${i}`,
    revokedAt: new Date(Date.UTC(2026, 10, 1 + i, 12, 0, i)).toISOString(),
    issuerKeyId: "unused",
}));

/** The CRL as @peculiar/x509 alone builds it (what buildCrl did before the entries moved out). */
async function libraryCrl(ca: IssuingCa, list: readonly RevocationEntry[], dates: Dates) {
    const params: X509CrlEntryParams[] = list.map((entry) => ({
        serialNumber: entry.serial,
        revocationDate: new Date(entry.revokedAt),
        reason: revocationReasonCodes[entry.reason] as X509CrlReason,
    }));
    const crl = await X509CrlGenerator.create({
        issuer: ca.certificate.subjectName,
        ...dates,
        signingKey: ca.signingKey.privateKey,
        signingAlgorithm: ca.signingKey.signingAlgorithm,
        entries: params,
        extensions: [
            new AuthorityKeyIdentifierExtension(ca.keyId),
            new Extension("2.5.29.20", false, new Uint8Array([0x02, 0x01, 0x07])),
        ],
    });
    return new Uint8Array(crl.rawData);
}

interface Dates {
    thisUpdate: Date;
    nextUpdate: Date;
}

/** The TBSCertList bytes of a DER CRL. */
function tbsOf(der: Uint8Array): Uint8Array {
    const list = readTlv(der, 0);
    const tbs = list && children(der, list)[0];
    assert.ok(tbs, "a CertificateList");
    return der.subarray(tbs.offset, tbs.end);
}

before(async () => {
    work = await mkdtemp(join(tmpdir(), "mqtt-edge-crl-entries-"));
});
after(async () => {
    await rm(work, { recursive: true, force: true });
});

describe("CRL entries encoded by hand", () => {
    const dates: Dates = {
        thisUpdate: new Date(Date.UTC(2026, 10, 20)),
        nextUpdate: new Date(Date.UTC(2026, 11, 20)),
    };
    const kinds = [
        ["rsa-2048", ["-newkey", "rsa:2048"]],
        ["ecdsa-p256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]],
        ["ecdsa-p384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]],
    ] as const;
    for (const [kind, newkey] of kinds) {
        test(`${kind} CA: the same TBSCertList as the library, a signature OpenSSL accepts`, async () => {
            const { ca, cert } = await opensslCa(`ca-${kind}`, [...newkey]);
            // The library writes an empty crlEntryExtensions for `unspecified`, which RFC 5280
            // forbids (Extensions ::= SEQUENCE SIZE (1..MAX)); compare on the other reasons.
            const withReasons = entries.filter((e) => e.reason !== "unspecified");
            const built = await buildCrl({ ...dates, ca, entries: withReasons, crlNumber: 7n });
            const reference = await libraryCrl(ca, withReasons, dates);
            assert.deepEqual(Buffer.from(tbsOf(built.der)), Buffer.from(tbsOf(reference)));
            if (kind.startsWith("rsa")) {
                // PKCS#1 v1.5 signatures are deterministic: the whole CRL is the same.
                assert.deepEqual(Buffer.from(built.der), Buffer.from(reference));
            }
            const path = join(work, `crl-${kind}.pem`);
            await writeFile(path, built.pem);
            const checked = await openssl(["crl", "-in", path, "-CAfile", cert, "-noout", "-text"]);
            assert.equal(checked.code, 0, checked.stderr);
            assert.match(checked.stderr, /verify OK/);
            const serials = [...checked.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) =>
                m[1]?.toLowerCase().replace(/^0+(?=.)/, ""),
            );
            assert.deepEqual(
                serials,
                withReasons.map((e) => e.serial.replace(/^0+(?=.)/, "")),
            );
            assert.match(checked.stdout, /Certificate Hold/);
        });
    }

    test("unspecified: the entry has no extensions at all (RFC 5280 §5.3.1: reasonCode absent)", () => {
        const der = encodeCrlEntry({
            serial: "7f",
            revocationDate: new Date("2026-11-02T12:00:01Z"),
        });
        assert.equal(
            Buffer.from(der).toString("hex"),
            `3012${"02017f"}170d${Buffer.from("261102120001Z").toString("hex")}`,
        );
    });

    test("an empty list has no revokedCertificates field, as RFC 5280 §5.1.2.6 wants", async () => {
        const { ca } = await opensslCa("ca-empty", ["-newkey", "rsa:2048"]);
        const built = await buildCrl({ ...dates, ca, entries: [], crlNumber: 7n });
        assert.deepEqual(Buffer.from(built.der), Buffer.from(await libraryCrl(ca, [], dates)));
    });
});

describe("DER pieces", () => {
    test("lengths in long form round-trip through readTlv, up to megabytes", () => {
        for (const length of [0, 127, 128, 255, 256, 65_535, 65_536, 6_600_000]) {
            const tlv = encodeTlv(0x04, new Uint8Array(length));
            const read = readTlv(tlv, 0);
            assert.equal(read?.end, tlv.length, `length ${length}`);
            assert.equal((read?.end ?? 0) - (read?.start ?? 0), length);
        }
    });

    test("INTEGER: minimal, positive", () => {
        const hex = (bytes: number[]) =>
            Buffer.from(encodeUnsignedInteger(new Uint8Array(bytes))).toString("hex");
        assert.equal(hex([0x80]), "02020080");
        assert.equal(hex([0x00, 0x00, 0x7f]), "02017f");
        assert.equal(hex([0x00]), "020100");
    });

    test("Time: UTCTime through 2049, GeneralizedTime from 2050", () => {
        const text = (iso: string) => {
            const der = encodeTime(new Date(iso));
            return [der[0], Buffer.from(der.subarray(2)).toString("latin1")];
        };
        assert.deepEqual(text("2049-12-31T23:59:59Z"), [0x17, "491231235959Z"]);
        assert.deepEqual(text("2050-01-01T00:00:00Z"), [0x18, "20500101000000Z"]);
    });
});
