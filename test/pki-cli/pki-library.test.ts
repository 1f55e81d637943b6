import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseFlags } from "../../pki/cli-flags.ts";
import {
    commonNameProblem,
    firstDuplicateCommonName,
    numberedCommonNames,
} from "../../pki/common-name.ts";
import { crlNumberFor, crlThisUpdate, crlWindow, defaultCrlPolicy } from "../../pki/crl.ts";
import { PkiInputError, quoteValue } from "../../pki/input-error.ts";
import {
    addRevocation,
    emptyRevocationFile,
    formatRevocationFile,
    parseRevocationFile,
    type RevocationEntry,
} from "../../pki/revocations.ts";
import { normalizeSerialHex, randomSerialHex } from "../../pki/serial.ts";

const dayMs = 24 * 60 * 60 * 1000;

describe("crlWindow", () => {
    test("every moment of a window gives the same dates; the next window starts 20 days on", () => {
        const start = Date.UTC(2026, 10, 23);
        const windowStart = Math.floor(start / (20 * dayMs)) * 20 * dayMs;
        const first = crlWindow(new Date(windowStart));
        for (const offset of [1, 3_600_000, 5 * dayMs, 20 * dayMs - 1]) {
            assert.deepEqual(crlWindow(new Date(windowStart + offset)), first);
        }
        assert.equal(first.thisUpdate.getTime(), windowStart);
        assert.equal(first.nextUpdate.getTime(), windowStart + 30 * dayMs);
        assert.equal(first.reissueAfter.getTime(), windowStart + 20 * dayMs);
        assert.equal(
            crlWindow(new Date(windowStart + 20 * dayMs)).thisUpdate.getTime(),
            windowStart + 20 * dayMs,
        );
    });

    test("at any time at least refreshBeforeDays and at most validityDays remain", () => {
        for (const policy of [
            defaultCrlPolicy,
            { validityDays: 7, refreshBeforeDays: 2 },
            { validityDays: 1, refreshBeforeDays: 0 },
        ]) {
            for (let step = 0; step < 200; step++) {
                const now = new Date(Date.UTC(2026, 0, 1) + step * 7_777_777);
                const window = crlWindow(now, policy);
                const left = window.nextUpdate.getTime() - now.getTime();
                assert.ok(
                    left > policy.refreshBeforeDays * dayMs,
                    `${now.toISOString()} ${JSON.stringify(policy)}`,
                );
                assert.ok(left <= policy.validityDays * dayMs);
                assert.ok(window.thisUpdate <= now);
            }
        }
    });

    test("a bad policy is a one-line input error", () => {
        assert.throws(
            () => crlWindow(new Date(), { validityDays: 10, refreshBeforeDays: 10 }),
            (error: unknown) => {
                assert.ok(error instanceof PkiInputError);
                assert.equal(
                    error.message,
                    "--refresh-days 10: out of range; allowed: an integer from 0 to 9 (below --valid-days)",
                );
                return true;
            },
        );
    });
});

describe("crlThisUpdate and crlNumberFor", () => {
    const window = crlWindow(new Date(Date.UTC(2026, 5, 15, 12)));
    const entry = (revokedAt: string): RevocationEntry => ({
        serial: "01",
        commonName: "D",
        reason: "superseded",
        revokedAt,
        issuerKeyId: "ab",
    });

    test("the window start, or a later revocation, truncated to the second", () => {
        const now = new Date(window.thisUpdate.getTime() + 3 * dayMs);
        assert.deepEqual(crlThisUpdate(window, [], now), window.thisUpdate);
        assert.deepEqual(
            crlThisUpdate(window, [entry("2020-01-01T00:00:00.000Z")], now),
            window.thisUpdate,
        );
        const later = new Date(window.thisUpdate.getTime() + dayMs + 1234);
        assert.equal(
            crlThisUpdate(window, [entry(later.toISOString())], now).getTime(),
            window.thisUpdate.getTime() + dayMs + 1000,
        );
        assert.throws(
            () => crlThisUpdate(window, [entry(new Date(now.getTime() + 1000).toISOString())], now),
            /in the future/,
        );
    });

    test("CRL numbers grow with thisUpdate", () => {
        assert.equal(crlNumberFor(new Date(1_700_000_000_999)), 1_700_000_000n);
        assert.ok(crlNumberFor(window.nextUpdate) > crlNumberFor(window.thisUpdate));
    });
});

describe("common names", () => {
    test("accepts the documented set and refuses the rest with a reason", () => {
        for (const good of ["DEVICE-0001", "a", "x.y_z-1", "D".repeat(64)])
            assert.equal(commonNameProblem(good), undefined, good);
        assert.equal(commonNameProblem(""), "is empty");
        assert.equal(commonNameProblem("D".repeat(65)), "is 65 characters long");
        assert.equal(commonNameProblem("a\nb"), "contains control character U+000A at position 2");
        assert.equal(
            commonNameProblem("a\u0085b"),
            "contains control character U+0085 at position 2",
        );
        assert.equal(commonNameProblem("-rf"), 'starts with "-"');
        assert.equal(commonNameProblem("a,b"), 'contains "," at position 2');
        assert.equal(commonNameProblem("ab\u2028"), "contains U+2028 at position 3");
    });

    test("duplicates are found ignoring case; numbered names are zero-padded", () => {
        assert.equal(firstDuplicateCommonName(["a", "B", "b"]), "b");
        assert.equal(firstDuplicateCommonName(["a", "b"]), undefined);
        assert.deepEqual(numberedCommonNames("D-", 3), ["D-0001", "D-0002", "D-0003"]);
        assert.equal(numberedCommonNames("D-", 12345).at(-1), "D-12345");
    });

    test("quoteValue keeps a message on one line", () => {
        assert.equal(quoteValue("a\nb\tc\u2028"), '"a\\nb\\tc\\u2028"');
        assert.equal(quoteValue("x".repeat(100), 5), '"xxxxx..."');
    });
});

describe("serials", () => {
    test("random serials are 16 positive bytes and canonical", () => {
        for (let index = 0; index < 50; index++) {
            const serial = randomSerialHex();
            assert.match(serial, /^[4-7][0-9a-f]{31}$/);
            assert.equal(normalizeSerialHex(serial), serial);
        }
    });

    test("normalisation accepts openssl and colon forms", () => {
        assert.equal(normalizeSerialHex("00:8F:01"), "8f01");
        assert.equal(normalizeSerialHex("0x0abc"), "0abc");
        assert.equal(normalizeSerialHex("ABC"), "0abc");
        assert.equal(normalizeSerialHex("xyz"), undefined);
        assert.equal(normalizeSerialHex("ff".repeat(21)), undefined);
    });
});

describe("revocation files", () => {
    const entry = (serial: string, issuerKeyId = "aa"): RevocationEntry => ({
        serial,
        commonName: `D-${serial}`,
        reason: "keyCompromise",
        revokedAt: "2026-11-01T00:00:00.000Z",
        issuerKeyId,
    });

    test("adding is idempotent and keeps entries sorted by serial value", () => {
        let file = emptyRevocationFile();
        for (const serial of ["ff", "0100", "10", "0a"])
            file = addRevocation(file, entry(serial)).file;
        assert.deepEqual(
            file.revoked.map((item) => item.serial),
            ["0a", "10", "ff", "0100"],
        );
        const again = addRevocation(file, { ...entry("10"), reason: "superseded" });
        assert.equal(again.added, false);
        assert.equal(again.entry.reason, "keyCompromise");
        assert.equal(formatRevocationFile(again.file), formatRevocationFile(file));
        assert.equal(
            addRevocation(file, entry("10", "bb")).added,
            true,
            "same serial, other issuer",
        );
    });

    test("what formatRevocationFile writes, parseRevocationFile reads back", () => {
        const file = addRevocation(
            addRevocation(emptyRevocationFile(), entry("0b")).file,
            entry("0a"),
        ).file;
        assert.deepEqual(parseRevocationFile(formatRevocationFile(file), "f.json"), file);
    });

    test("hand edits are checked field by field", () => {
        const bad = (patch: Record<string, unknown>) =>
            JSON.stringify({ revoked: [{ ...entry("0a"), ...patch }] });
        assert.throws(
            () => parseRevocationFile(bad({ serial: "0A" }), "dev.json"),
            /^PkiInputError: dev\.json: revoked\[0\]\.serial "0A": not a canonical serial; allowed: .*\(here: "0a"\)$/,
        );
        assert.throws(
            () => parseRevocationFile(bad({ reason: "removeFromCRL" }), "dev.json"),
            /revoked\[0\]\.reason "removeFromCRL": unknown reason/,
        );
        assert.throws(
            () => parseRevocationFile(bad({ revokedAt: "yesterday" }), "dev.json"),
            /revoked\[0\]\.revokedAt "yesterday": not an ISO 8601 UTC time/,
        );
        assert.throws(
            () => parseRevocationFile(bad({ note: "x" }), "dev.json"),
            /revoked\[0\]: unknown key "note"/,
        );
        assert.throws(
            () =>
                parseRevocationFile(
                    JSON.stringify({ revoked: [entry("0a"), entry("0a")] }),
                    "dev.json",
                ),
            /serial 0a of issuer aa is listed twice/,
        );
        assert.throws(() => parseRevocationFile("{", "dev.json"), /dev\.json: not valid JSON/);
    });
});

describe("parseFlags", () => {
    const specs = {
        out: { type: "string", help: "<dir>" },
        force: { type: "boolean", help: "" },
    } as const;
    test("values in both forms, booleans alone", () => {
        assert.deepEqual(parseFlags(["--out", "a", "--force"], specs), { out: "a", force: true });
        assert.deepEqual(parseFlags(["--out=-"], specs), { out: "-" });
    });
    test("unknown, repeated, valueless and stray arguments are one-line errors", () => {
        assert.throws(
            () => parseFlags(["--outt", "a"], specs),
            /^PkiInputError: unknown flag "--outt"; allowed: --out, --force$/,
        );
        assert.throws(
            () => parseFlags(["--out", "a", "--out", "b"], specs),
            /flag --out given twice/,
        );
        assert.throws(() => parseFlags(["--out", "--force"], specs), /flag --out needs a value/);
        assert.throws(() => parseFlags(["stray"], specs), /unexpected argument "stray"/);
        assert.throws(() => parseFlags(["--force=yes"], specs), /flag --force takes no value/);
    });
});
