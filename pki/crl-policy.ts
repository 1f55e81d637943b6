/**
 * How long CRLs live and when they are replaced: shared by the CRL builder (pki/crl.ts) and the
 * checks that read a CRL without building one (a supplied root CRL in the stack configuration),
 * which must not load the X.509 library the builder needs.
 */

/** How long CRLs live and when they are replaced. */
export interface CrlPolicy {
    /** Days from thisUpdate to nextUpdate. */
    validityDays: number;
    /** A CRL with fewer days than this left is due for reissue (and `--check` fails). */
    refreshBeforeDays: number;
}

/** 30 days valid, reissued with 10 days to spare: a missed daily cron run has 10 chances to recover. */
export const defaultCrlPolicy: CrlPolicy = { validityDays: 30, refreshBeforeDays: 10 };
