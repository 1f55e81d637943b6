/**
 * The per-stack revocation list, `revocations/<stack>.json`: a small JSON file reviewed in pull
 * requests, from which scripts/crl.ts builds the CRLs HAProxy loads.
 *
 * Shape: `{ "revoked": [ { serial, commonName, reason, revokedAt, issuerKeyId }, ... ] }`,
 * entries sorted by serial so that diffs stay small and two people revoking at once merge.
 */
import { PkiInputError, quoteValue } from "./input-error.ts";
import { normalizeSerialHex } from "./serial.ts";

/**
 * CRLReason names and codes (RFC 5280 §5.3.1). `removeFromCRL` (8) is left out: it only has a
 * meaning in delta CRLs, which we do not issue; to un-revoke a `certificateHold`, delete the
 * entry instead.
 */
export const revocationReasonCodes = {
    unspecified: 0,
    keyCompromise: 1,
    cACompromise: 2,
    affiliationChanged: 3,
    superseded: 4,
    cessationOfOperation: 5,
    certificateHold: 6,
    privilegeWithdrawn: 9,
    aACompromise: 10,
} as const;

/** A reason name from {@link revocationReasonCodes}. */
export type RevocationReason = keyof typeof revocationReasonCodes;

/** The reason names, in code order, for messages and `--help`. */
export const revocationReasons = Object.keys(revocationReasonCodes) as RevocationReason[];

/** One revoked certificate. */
export interface RevocationEntry {
    /** Serial number, lowercase hex without leading zero bytes (`normalizeSerialHex`). */
    serial: string;
    /** Subject CN of the revoked certificate, for people reading the file (not used to match). */
    commonName: string;
    /** Why it was revoked, an RFC 5280 CRLReason name. */
    reason: RevocationReason;
    /** When it was revoked, ISO 8601 UTC (`2026-11-29T00:00:00.000Z`); becomes the CRL entry's revocationDate. */
    revokedAt: string;
    /**
     * Lowercase hex key id of the CA that issued the certificate (its AuthorityKeyIdentifier);
     * picks which CA's CRL lists the entry, since serials are only unique per issuer.
     */
    issuerKeyId: string;
}

/** The contents of `revocations/<stack>.json`. */
export interface RevocationFile {
    /** Revoked certificates, sorted by serial then issuer. */
    revoked: RevocationEntry[];
}

/** An empty list, what a stack starts with. */
export function emptyRevocationFile(): RevocationFile {
    return { revoked: [] };
}

function isReason(value: unknown): value is RevocationReason {
    return typeof value === "string" && Object.hasOwn(revocationReasonCodes, value);
}

const isoUtc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const entryKeys = ["serial", "commonName", "reason", "revokedAt", "issuerKeyId"];

/**
 * Parses and validates a revocation file. `source` (usually the path) prefixes errors, which
 * name the entry index and field: `revocations/dev.json: revoked[2].reason "lost": unknown
 * reason; allowed: unspecified, keyCompromise, ...`.
 */
export function parseRevocationFile(text: string, source: string): RevocationFile {
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new PkiInputError(
            `${source}: not valid JSON (${reason}); allowed: {"revoked": [...]}`,
        );
    }
    if (
        typeof data !== "object" ||
        data === null ||
        !Array.isArray((data as { revoked?: unknown }).revoked)
    ) {
        throw new PkiInputError(
            `${source}: top level must be an object with a "revoked" array; allowed: {"revoked": [...]}`,
        );
    }
    const extraTop = Object.keys(data).filter((key) => key !== "revoked");
    if (extraTop.length > 0) {
        throw new PkiInputError(
            `${source}: unknown key ${quoteValue(extraTop[0] ?? "")}; allowed: "revoked"`,
        );
    }
    const revoked: RevocationEntry[] = [];
    const raw = (data as { revoked: unknown[] }).revoked;
    raw.forEach((item, index) => {
        const where = `${source}: revoked[${index}]`;
        if (typeof item !== "object" || item === null || Array.isArray(item)) {
            throw new PkiInputError(`${where}: not an object; allowed: {${entryKeys.join(", ")}}`);
        }
        const entry = item as Record<string, unknown>;
        const extra = Object.keys(entry).find((key) => !entryKeys.includes(key));
        if (extra !== undefined) {
            throw new PkiInputError(
                `${where}: unknown key ${quoteValue(extra)}; allowed: ${entryKeys.join(", ")}`,
            );
        }
        const serial =
            typeof entry.serial === "string" ? normalizeSerialHex(entry.serial) : undefined;
        if (serial === undefined || serial !== entry.serial) {
            throw new PkiInputError(
                `${where}.serial ${quoteValue(String(entry.serial))}: not a canonical serial; allowed: lowercase hex, even length, no leading 00 bytes${serial ? ` (here: "${serial}")` : ""}`,
            );
        }
        if (typeof entry.commonName !== "string") {
            throw new PkiInputError(
                `${where}.commonName ${quoteValue(String(entry.commonName))}: not a string; allowed: the certificate's subject CN`,
            );
        }
        if (!isReason(entry.reason)) {
            throw new PkiInputError(
                `${where}.reason ${quoteValue(String(entry.reason))}: unknown reason; allowed: ${revocationReasons.join(", ")}`,
            );
        }
        const revokedAt = entry.revokedAt;
        if (
            typeof revokedAt !== "string" ||
            !isoUtc.test(revokedAt) ||
            Number.isNaN(Date.parse(revokedAt))
        ) {
            throw new PkiInputError(
                `${where}.revokedAt ${quoteValue(String(revokedAt))}: not an ISO 8601 UTC time; allowed: e.g. "2026-11-29T00:00:00.000Z"`,
            );
        }
        const issuerKeyId = entry.issuerKeyId;
        if (typeof issuerKeyId !== "string" || !/^([0-9a-f]{2})+$/.test(issuerKeyId)) {
            throw new PkiInputError(
                `${where}.issuerKeyId ${quoteValue(String(issuerKeyId))}: not a key id; allowed: lowercase hex (the revoked certificate's authorityKeyIdentifier)`,
            );
        }
        revoked.push({
            serial,
            commonName: entry.commonName,
            reason: entry.reason,
            revokedAt,
            issuerKeyId,
        });
    });
    const seen = new Set<string>();
    for (const entry of revoked) {
        const key = `${entry.issuerKeyId}/${entry.serial}`;
        if (seen.has(key)) {
            throw new PkiInputError(
                `${source}: serial ${entry.serial} of issuer ${entry.issuerKeyId} is listed twice; allowed: one entry per certificate`,
            );
        }
        seen.add(key);
    }
    return { revoked: sortEntries(revoked) };
}

function compareEntries(a: RevocationEntry, b: RevocationEntry): number {
    // Serials are hex without leading zeros: shorter is smaller, then lexical order.
    if (a.serial.length !== b.serial.length) return a.serial.length - b.serial.length;
    if (a.serial !== b.serial) return a.serial < b.serial ? -1 : 1;
    return a.issuerKeyId < b.issuerKeyId ? -1 : a.issuerKeyId > b.issuerKeyId ? 1 : 0;
}

function sortEntries(entries: RevocationEntry[]): RevocationEntry[] {
    return [...entries].sort(compareEntries);
}

/** What {@link addRevocation} did. */
export interface AddRevocationResult {
    /** The file after the change (a new object; the input is not modified). */
    file: RevocationFile;
    /** False when the certificate was already listed (the file is then unchanged). */
    added: boolean;
    /** The entry now in the file for that certificate (the earlier one when not added). */
    entry: RevocationEntry;
}

/**
 * Adds `entry` unless the same certificate (issuer + serial) is already listed: revoking twice
 * is not an error and keeps the first reason and date, so re-running a revocation in CI is
 * safe. Use a different reason by editing the file in review.
 */
export function addRevocation(file: RevocationFile, entry: RevocationEntry): AddRevocationResult {
    const existing = file.revoked.find(
        (candidate) =>
            candidate.serial === entry.serial && candidate.issuerKeyId === entry.issuerKeyId,
    );
    if (existing)
        return { file: { revoked: sortEntries(file.revoked) }, added: false, entry: existing };
    return { file: { revoked: sortEntries([...file.revoked, entry]) }, added: true, entry };
}

/** The file's text: 4-space JSON (the repository's Biome style) with a trailing newline. */
export function formatRevocationFile(file: RevocationFile): string {
    const ordered = {
        revoked: sortEntries(file.revoked).map((entry) => ({
            serial: entry.serial,
            commonName: entry.commonName,
            reason: entry.reason,
            revokedAt: entry.revokedAt,
            issuerKeyId: entry.issuerKeyId,
        })),
    };
    return `${JSON.stringify(ordered, null, 4)}\n`;
}
