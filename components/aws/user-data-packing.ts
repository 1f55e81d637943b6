/**
 * User-data as EC2 takes it: gzip-compressed, then base64. EC2 refuses user-data over 16 KB
 * before base64 ("User data is limited to 16 KB, in raw form, before it is base64-encoded",
 * EC2 User Guide, "Run commands when you launch an EC2 instance with user data input"); the
 * rendered HAProxy bootstrap alone is over 20 KB. cloud-init recognises gzip by its magic bytes
 * and decompresses before it runs the script (cloud-init docs, "User-data formats",
 * "Gzip compressed content"), so hosts run the same text, and the size check below holds the
 * compressed form to EC2's limit.
 *
 * zlib writes no file name and a zero mtime in the gzip header, so the same script packs to the
 * same bytes on every run and machine: no spurious diff, no unplanned roll.
 */
import { gunzipSync, gzipSync } from "node:zlib";

/** EC2's limit on user-data before base64, bytes. */
export const USER_DATA_LIMIT_BYTES = 16_384;

/**
 * `script` gzip-compressed and base64-encoded; throws one line naming `what`, the size and the
 * limit when EC2 would refuse it.
 */
export function packUserData(script: string, what: string): string {
    const packed = gzipSync(Buffer.from(script, "utf8"), { level: 9 });
    if (packed.length > USER_DATA_LIMIT_BYTES) {
        throw new Error(
            `${what}: user-data is ${packed.length} bytes gzip-compressed (${Buffer.byteLength(script)} plain); EC2 takes at most ${USER_DATA_LIMIT_BYTES}`,
        );
    }
    return packed.toString("base64");
}

/** The script back from {@link packUserData}'s output (for tests and the policy pack's view). */
export function unpackUserData(base64: string): string {
    return gunzipSync(Buffer.from(base64, "base64")).toString("utf8");
}
