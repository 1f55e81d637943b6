/**
 * Certificate revocation lists for HAProxy's `crl-file`.
 *
 * HAProxy turns on CRL checking for the WHOLE chain once a crl-file is set
 * (X509_V_FLAG_CRL_CHECK|CRL_CHECK_ALL, haproxy src/ssl_sock.c@v2.6.0:4820-4830; doc "You need
 * to provide a certificate revocation list for every certificate of your certificate authority
 * chain", configuration.txt@v2.6 "crl-file"), so every CA - root and intermediate - needs a
 * current CRL, even an empty one, or every client is rejected
 * (shared/reference/facts-emqx-haproxy.md §10). An expired CRL is as bad: OpenSSL fails the
 * chain with "CRL has expired", so CRLs are reissued well before nextUpdate.
 *
 * Refresh policy: a CRL is valid `validityDays` (30) and a new one is issued once fewer than
 * `refreshBeforeDays` (10) remain. Issue times are snapped to a fixed grid of
 * `validityDays - refreshBeforeDays` (20-day) windows counted from the Unix epoch, so that
 * every run inside one window - on any machine - produces the same thisUpdate/nextUpdate and
 * CRL number, and a cron job that rebuilds daily changes nothing until the window turns.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs a Reflect polyfill loaded
// first (the library's README, "Reflect Polyfill Required").
import "reflect-metadata";
import { AuthorityKeyIdentifierExtension, Extension, X509CrlGenerator } from "@peculiar/x509";
import type { IssuingCa } from "./ca.ts";
import { type CrlSummary, readCrlSummary, withEntries } from "./crl-der.ts";
import { type CrlPolicy, defaultCrlPolicy } from "./crl-policy.ts";
import { PkiInputError } from "./input-error.ts";
import { pemBlocks, toPem } from "./pem.ts";
import { type RevocationEntry, revocationReasonCodes } from "./revocations.ts";

const dayMs = 24 * 60 * 60 * 1000;

export { type CrlPolicy, defaultCrlPolicy } from "./crl-policy.ts";

/** Throws a one-line {@link PkiInputError} unless 0 <= refreshBeforeDays < validityDays (integers). */
export function checkCrlPolicy(policy: CrlPolicy): void {
    const { validityDays, refreshBeforeDays } = policy;
    if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 366) {
        throw new PkiInputError(
            `--valid-days ${validityDays}: out of range; allowed: an integer from 1 to 366`,
        );
    }
    if (
        !Number.isInteger(refreshBeforeDays) ||
        refreshBeforeDays < 0 ||
        refreshBeforeDays >= validityDays
    ) {
        throw new PkiInputError(
            `--refresh-days ${refreshBeforeDays}: out of range; allowed: an integer from 0 to ${validityDays - 1} (below --valid-days)`,
        );
    }
}

/** The dates of the CRL window `now` falls in. */
export interface CrlWindow {
    /** Start of the window: thisUpdate of a CRL issued in it (unless a later revocation moves it). */
    thisUpdate: Date;
    /** thisUpdate + validityDays. */
    nextUpdate: Date;
    /** End of the window = nextUpdate - refreshBeforeDays: from here on a new CRL is due. */
    reissueAfter: Date;
}

/**
 * The window `now` falls in. Deterministic: windows are `validityDays - refreshBeforeDays`
 * long and start at multiples of that length from 1970-01-01T00:00:00Z, so at any `now` the
 * CRL issued has at least `refreshBeforeDays` to run.
 */
export function crlWindow(now: Date, policy: CrlPolicy = defaultCrlPolicy): CrlWindow {
    checkCrlPolicy(policy);
    const periodMs = (policy.validityDays - policy.refreshBeforeDays) * dayMs;
    const start = Math.floor(now.getTime() / periodMs) * periodMs;
    return {
        thisUpdate: new Date(start),
        nextUpdate: new Date(start + policy.validityDays * dayMs),
        reissueAfter: new Date(start + periodMs),
    };
}

/**
 * thisUpdate for a CRL built at `now` with `entries`: the window start, or the latest
 * revocation in the window if that is later, so that a CRL published right after an
 * emergency revocation is dated after the one it replaces (and gets a higher CRL number)
 * while rebuilding it again still gives the same bytes' dates. Throws when an entry is dated
 * in the future.
 */
export function crlThisUpdate(
    window: CrlWindow,
    entries: readonly RevocationEntry[],
    now: Date,
): Date {
    let latest = window.thisUpdate.getTime();
    for (const entry of entries) {
        const revokedAt = Date.parse(entry.revokedAt);
        if (revokedAt > now.getTime()) {
            throw new PkiInputError(
                `revokedAt ${JSON.stringify(entry.revokedAt)} of serial ${entry.serial}: in the future (now ${now.toISOString()}); allowed: a time not after now`,
            );
        }
        latest = Math.max(latest, revokedAt);
    }
    // CRL times are encoded to the second (UTCTime/GeneralizedTime, RFC 5280 §5.1.2.4).
    return new Date(Math.floor(latest / 1000) * 1000);
}

/**
 * CRL number (RFC 5280 §5.2.3, must increase with each CRL of an issuer): thisUpdate in Unix
 * seconds. It grows from window to window and with each later revocation, needs no counter
 * stored anywhere, and two builds of the same CRL agree.
 */
export function crlNumberFor(thisUpdate: Date): bigint {
    return BigInt(Math.floor(thisUpdate.getTime() / 1000));
}

/** DER INTEGER for a non-negative number (X.690 §8.3: two's complement, minimal length). */
function derInteger(value: bigint): Uint8Array {
    let hex = value.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
    const body = Buffer.from(hex, "hex");
    return new Uint8Array([0x02, body.length, ...body]);
}

/** id-ce-cRLNumber (RFC 5280 §5.2.3). */
const crlNumberOid = "2.5.29.20";

/** What goes into one CRL. */
export interface CrlRequest {
    /** The CA whose CRL this is (must be allowed to sign CRLs). */
    ca: IssuingCa;
    /** Revocations issued by that CA (entries of other issuers must be filtered out first). */
    entries: readonly RevocationEntry[];
    /** thisUpdate, see {@link crlThisUpdate}. */
    thisUpdate: Date;
    /** nextUpdate, see {@link crlWindow}. */
    nextUpdate: Date;
    /** CRL number, see {@link crlNumberFor}. */
    crlNumber: bigint;
}

/** A signed CRL. */
export interface BuiltCrl {
    /** The CRL, DER. */
    der: Uint8Array;
    /** The CRL as PEM (`-----BEGIN X509 CRL-----`). */
    pem: string;
}

/**
 * Builds and signs a v2 CRL with the AuthorityKeyIdentifier (required, RFC 5280 §5.2.1) and CRL
 * number extensions, one entry per revocation with its date and reason (no reasonCode for
 * `unspecified`, RFC 5280 §5.3.1 says it SHOULD be absent).
 */
export async function buildCrl(request: CrlRequest): Promise<BuiltCrl> {
    const frame = await X509CrlGenerator.create({
        issuer: request.ca.certificate.subjectName,
        thisUpdate: request.thisUpdate,
        nextUpdate: request.nextUpdate,
        signingKey: request.ca.signingKey.privateKey,
        signingAlgorithm: request.ca.signingKey.signingAlgorithm,
        entries: [],
        extensions: [
            new AuthorityKeyIdentifierExtension(request.ca.keyId),
            new Extension(crlNumberOid, false, derInteger(request.crlNumber)),
        ],
    });
    // The entries go in by hand: the library's encoder is far from linear (crl-der.ts).
    const der = await withEntries(
        new Uint8Array(frame.rawData),
        request.entries.map((entry) => {
            const code = revocationReasonCodes[entry.reason];
            return {
                serial: entry.serial,
                revocationDate: new Date(entry.revokedAt),
                ...(code === 0 ? {} : { reasonCode: code }),
            };
        }),
        request.ca.signingKey,
    );
    return { der, pem: toPem(der, "X509 CRL") };
}

/** Every CRL in a PEM file (HAProxy's crl-file holds several, one per CA), summarised. */
export function parseCrlPems(text: string, source: string): CrlSummary[] {
    const blocks = pemBlocks(text).filter((block) => block.label === "X509 CRL");
    if (blocks.length === 0) {
        throw new PkiInputError(
            `${source}: no "-----BEGIN X509 CRL-----" block found; allowed: a PEM file with one or more CRLs`,
        );
    }
    return blocks.map((block, index) => {
        const summary = readCrlSummary(new Uint8Array(block.der));
        if (summary === undefined) {
            throw new PkiInputError(
                `${source}: CRL ${index + 1} is not a DER CertificateList; allowed: CRLs as npm run crl or openssl ca -gencrl write them`,
            );
        }
        return summary;
    });
}

/** Days (fractional) from `now` until the CRL's nextUpdate; a CRL without nextUpdate counts as 0. */
export function crlDaysLeft(crl: CrlSummary, now: Date): number {
    const nextUpdate = crl.nextUpdate;
    if (!nextUpdate) return 0;
    return (nextUpdate.getTime() - now.getTime()) / dayMs;
}
