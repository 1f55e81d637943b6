/**
 * Which device common names (CNs) we issue certificates for.
 *
 * The CN is the device's identity all the way to EMQX: HAProxy forwards it in the PROXY v2 SSL
 * TLV and EMQX turns it into the MQTT username and/or client id (`peer_cert_as_username` /
 * `peer_cert_as_clientid = cn`, shared/reference/facts-emqx-haproxy.md §3). So a CN must be a
 * value EMQX accepts and that stays harmless wherever EMQX and operators reuse it:
 *
 * - No control characters: EMQX rejects a PP2 CN with control characters since the PP2
 *   sanitisation fix (emqx/emqx@master apps/emqx/src/emqx_channel.erl:342-381, test
 *   `t_peercert_pp2_cn_with_crlf_rejected`; in 5.8.11/5.10.4/6.0.3+), and older versions let a
 *   CR/LF reach logs and client info unfiltered.
 * - At most 64 characters: X.520 upper bound `ub-common-name INTEGER ::= 64` (RFC 5280
 *   Appendix A.1). EMQX's `mqtt.max_clientid_len` is configurable in 23..65535, default 65535
 *   (emqx/emqx apps/emqx/src/emqx_schema.erl, fields("mqtt")), so 64 fits the default; a CN of
 *   at most 23 characters fits every setting.
 * - Only `A-Z a-z 0-9 . _ -`, starting with a letter or digit: the MQTT spec guarantees only
 *   `0-9a-zA-Z` client ids of 1-23 bytes everywhere ([MQTT-3.1.3-5],
 *   https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901059); we add
 *   `. _ -` for readable ids. `/ + #` are refused because the CN is substituted into topic
 *   filters (`${clientid}`, `${cert_common_name}` in EMQX ACL rules) where they are level
 *   separators and wildcards; `, = + " \ < > ;` need escaping in DN strings (RFC 4514 §2.4);
 *   spaces and non-ASCII make ids ambiguous in logs. The first-character rule keeps a CN from
 *   looking like a CLI flag (`-x`) or a hidden/relative file name (`.`, `..`), since the CLI
 *   names files after it.
 */

/** X.520 `ub-common-name` (RFC 5280 Appendix A.1). */
export const maxCommonNameLength = 64;

/** The rule as operators read it in error messages. */
export const commonNameRule = `1-${maxCommonNameLength} characters from A-Z a-z 0-9 . _ - starting with a letter or digit`;

const allowedCommonName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Index of the first C0 control, DEL or C1 control character, or -1. */
function controlCharacterIndex(text: string): number {
    for (let index = 0; index < text.length; index++) {
        const code = text.charCodeAt(index);
        if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return index;
    }
    return -1;
}

/** Unicode code point in `U+XXXX` form, for messages. */
function codePoint(char: string): string {
    return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Why `commonName` is not acceptable, as a short phrase (e.g. `contains control character
 * U+000A at position 7`), or `undefined` when it is fine.
 */
export function commonNameProblem(commonName: string): string | undefined {
    if (commonName.length === 0) return "is empty";
    const control = controlCharacterIndex(commonName);
    if (control !== -1) {
        return `contains control character ${codePoint(commonName[control] ?? "")} at position ${control + 1}`;
    }
    if (commonName.length > maxCommonNameLength) {
        return `is ${commonName.length} characters long`;
    }
    if (allowedCommonName.test(commonName)) return undefined;
    const first = commonName[0] ?? "";
    if (!/[A-Za-z0-9]/.test(first)) return `starts with ${JSON.stringify(first)}`;
    const bad = /[^A-Za-z0-9._-]/.exec(commonName);
    const badChar = bad?.[0] ?? "";
    const shown = /^[\x21-\x7e]$/.test(badChar) ? JSON.stringify(badChar) : codePoint(badChar);
    return `contains ${shown} at position ${(bad?.index ?? 0) + 1}`;
}

/**
 * The first CN in `commonNames` that repeats an earlier one, compared case-insensitively
 * (two devices `ab` and `AB` would overwrite each other's files on a case-insensitive file
 * system), or `undefined`.
 */
export function firstDuplicateCommonName(commonNames: readonly string[]): string | undefined {
    const seen = new Set<string>();
    for (const commonName of commonNames) {
        const key = commonName.toLowerCase();
        if (seen.has(key)) return commonName;
        seen.add(key);
    }
    return undefined;
}

/** `<prefix>0001`, `<prefix>0002`, ...: numbers zero-padded to at least 4 digits. */
export function numberedCommonNames(prefix: string, count: number): string[] {
    const width = Math.max(4, String(count).length);
    return Array.from(
        { length: count },
        (_, index) => `${prefix}${String(index + 1).padStart(width, "0")}`,
    );
}
