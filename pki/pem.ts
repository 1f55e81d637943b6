/**
 * PEM framing (RFC 7468): the text form every tool in this project exchanges keys, certificates
 * and CRLs in.
 */

/** One `-----BEGIN <label>-----` ... `-----END <label>-----` block. */
export interface PemBlock {
    /** The label between BEGIN and END, e.g. `CERTIFICATE`, `EC PRIVATE KEY`, `X509 CRL`. */
    label: string;
    /** The decoded DER bytes. */
    der: Uint8Array;
    /** The block as it appeared in the input, from BEGIN to END line inclusive. */
    text: string;
}

const pemBlockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** All PEM blocks in `text`, in order. Text outside blocks (comments, `Bag Attributes`) is ignored. */
export function pemBlocks(text: string): PemBlock[] {
    const blocks: PemBlock[] = [];
    for (const match of text.matchAll(pemBlockPattern)) {
        const label = match[1] ?? "";
        const body = (match[2] ?? "").replace(/\s+/g, "");
        blocks.push({ label, der: new Uint8Array(Buffer.from(body, "base64")), text: match[0] });
    }
    return blocks;
}

/** Encodes DER bytes as PEM with 64-character lines and a trailing newline (RFC 7468 §2). */
export function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
    const base64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString(
        "base64",
    );
    const lines = base64.match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
