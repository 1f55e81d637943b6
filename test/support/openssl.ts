/**
 * Small wrappers around the `openssl` command line (Debian's OpenSSL 3), so tests judge our
 * certificates with the same library HAProxy verifies device certificates with, not with our own
 * parser: `openssl verify` for chains and purposes, `openssl x509 -text` for what is inside.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What one openssl run printed and how it ended. */
export interface OpensslResult {
    /** Exit code (0 = success). */
    code: number;
    /** Standard output. */
    stdout: string;
    /** Standard error. */
    stderr: string;
}

/** Generous limit for one openssl run; each takes a few milliseconds. */
const opensslTimeoutMs = 20_000;

/** Runs `openssl <args>` with `stdin` as input; resolves with the result even when it fails. */
export function runOpenssl(args: readonly string[], stdin = ""): Promise<OpensslResult> {
    return new Promise((resolve, reject) => {
        const child = execFile(
            "openssl",
            [...args],
            { timeout: opensslTimeoutMs, killSignal: "SIGKILL" },
            (error, stdout, stderr) => {
                if (error && typeof error.code !== "number") {
                    reject(new Error(`openssl ${args.join(" ")} did not run: ${error.message}`));
                    return;
                }
                resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
            },
        );
        // openssl may exit without reading stdin (verify never does); the write then fails with
        // EPIPE, which says nothing about the result - the exit code and output do.
        child.stdin?.on("error", () => {});
        if (stdin === "") child.stdin?.end();
        else child.stdin?.end(stdin);
    });
}

/** Writes PEM texts into a fresh temp dir, runs `use` with their paths, then removes the dir. */
async function withPemFiles<T>(
    files: Readonly<Record<string, string>>,
    use: (paths: Record<string, string>) => Promise<T>,
): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-openssl-"));
    try {
        const paths: Record<string, string> = {};
        for (const [name, text] of Object.entries(files)) {
            paths[name] = join(dir, `${name}.pem`);
            await writeFile(paths[name], text, { mode: 0o600 });
        }
        return await use(paths);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

/** What to verify with {@link opensslVerify}. */
export interface VerifyRequest {
    /** The certificate to verify, PEM. */
    certPem: string;
    /** Trust anchors (`-CAfile`), PEM; usually the root CA. */
    trustedPem: string;
    /** Intermediates the verifier may use but does not trust (`-untrusted`), PEM. */
    untrustedPem?: string;
    /** `-purpose`: `sslclient` checks what a TLS server (HAProxy) checks of a client certificate. */
    purpose?: "sslclient" | "sslserver";
    /** `-verify_hostname`: the DNS name the certificate must match. */
    hostname?: string;
}

/** Outcome of `openssl verify`. */
export interface VerifyResult {
    /** True when openssl printed OK and exited 0. */
    ok: boolean;
    /** stdout and stderr together, for assertion messages. */
    output: string;
}

/** `openssl verify -CAfile <trusted> [-untrusted <chain>] [-purpose <p>] <cert>`. */
export function opensslVerify(request: VerifyRequest): Promise<VerifyResult> {
    const files: Record<string, string> = { cert: request.certPem, trusted: request.trustedPem };
    if (request.untrustedPem !== undefined) files.untrusted = request.untrustedPem;
    return withPemFiles(files, async (paths) => {
        const args = ["verify", "-CAfile", paths.trusted ?? ""];
        if (paths.untrusted !== undefined) args.push("-untrusted", paths.untrusted);
        if (request.purpose !== undefined) args.push("-purpose", request.purpose);
        if (request.hostname !== undefined) args.push("-verify_hostname", request.hostname);
        args.push(paths.cert ?? "");
        const result = await runOpenssl(args);
        const output = `${result.stdout}${result.stderr}`.trim();
        return { ok: result.code === 0 && /: OK$/m.test(result.stdout), output };
    });
}

/** One X.509v3 extension as `openssl x509 -text` shows it. */
export interface ShownExtension {
    /** Whether openssl marked it `critical`. */
    critical: boolean;
    /** Its value lines, trimmed and joined with a space. */
    value: string;
}

/** BasicConstraints as openssl reads it. */
export interface ShownBasicConstraints {
    /** Whether openssl marked it `critical`. */
    critical: boolean;
    /** `CA:TRUE` */
    ca: boolean;
    /** `pathlen:N`, undefined when there is no path length constraint. */
    pathLength: number | undefined;
}

/** What `openssl x509` shows of one certificate. */
export interface CertificateDescription {
    /** Subject DN in RFC 2253 form (most specific first), e.g. `CN=dev-1,O=mqtt-edge`. */
    subject: string;
    /** Issuer DN in RFC 2253 form. */
    issuer: string;
    /** Serial number, lowercase hex without leading zeros. */
    serialHex: string;
    /** Start of validity. */
    notBefore: Date;
    /** End of validity. */
    notAfter: Date;
    /** Public key algorithm as openssl names it: `id-ecPublicKey`, `rsaEncryption`. */
    publicKeyAlgorithm: string;
    /** Key size in bits (RSA modulus or curve size). */
    publicKeyBits: number;
    /** Named curve (`prime256v1`, `secp384r1`) for EC keys. */
    curve: string | undefined;
    /** Signature algorithm, e.g. `ecdsa-with-SHA384`, `sha256WithRSAEncryption`. */
    signatureAlgorithm: string;
    /** Basic constraints, undefined when absent. */
    basicConstraints: ShownBasicConstraints | undefined;
    /** Key usage names (`Digital Signature`, `Certificate Sign`, ...), undefined when absent. */
    keyUsage: { critical: boolean; usages: string[] } | undefined;
    /** EKU names (`TLS Web Server Authentication`, ...), undefined when absent. */
    extendedKeyUsage: { critical: boolean; usages: string[] } | undefined;
    /** SAN entries as openssl prints them (`DNS:a.example`, `IP Address:127.0.0.1`). */
    subjectAltNames: string[];
    /** Subject key identifier, lowercase hex without colons. */
    subjectKeyId: string | undefined;
    /** Authority key identifier (key id part), lowercase hex without colons. */
    authorityKeyId: string | undefined;
    /** Every extension by openssl's display name. */
    extensions: Record<string, ShownExtension>;
    /** The full `-text` output, for assertion messages. */
    text: string;
}

function parseExtensions(text: string): Record<string, ShownExtension> {
    const extensions: Record<string, ShownExtension> = {};
    const section = text.split(/^\s*X509v3 extensions:\s*$/m)[1];
    if (section === undefined) return extensions;
    let current: ShownExtension | undefined;
    for (const line of section.split("\n")) {
        // Headers are indented 12 spaces, values 16; the section ends at "Signature Algorithm".
        const header = /^ {12}(\S[^:]*):( critical)?\s*$/.exec(line);
        if (header) {
            current = { critical: header[2] !== undefined, value: "" };
            extensions[header[1] ?? ""] = current;
        } else if (/^ {16}/.test(line) && current) {
            current.value = `${current.value} ${line.trim()}`.trim();
        } else if (/^ {0,8}\S/.test(line)) {
            break;
        }
    }
    return extensions;
}

function hexId(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    return value
        .replace(/^keyid:/, "")
        .split(/\s/)[0]
        ?.replace(/:/g, "")
        .toLowerCase();
}

function nameList(extension: ShownExtension | undefined) {
    if (extension === undefined) return undefined;
    return { critical: extension.critical, usages: extension.value.split(/,\s*/) };
}

function field(pattern: RegExp, text: string): string | undefined {
    return pattern.exec(text)?.[1]?.trim();
}

/** Reads a certificate with `openssl x509 -text` and picks out what tests assert on. */
export async function describeCertificate(certPem: string): Promise<CertificateDescription> {
    const summary = await runOpenssl(
        ["x509", "-noout", "-subject", "-issuer", "-serial", "-startdate", "-enddate"].concat([
            "-nameopt",
            "RFC2253",
        ]),
        certPem,
    );
    const full = await runOpenssl(["x509", "-noout", "-text"], certPem);
    if (summary.code !== 0 || full.code !== 0) {
        throw new Error(`openssl x509 could not read the certificate: ${summary.stderr}`);
    }
    const s = summary.stdout;
    const text = full.stdout;
    const extensions = parseExtensions(text);
    const bc = extensions["X509v3 Basic Constraints"];
    const san = extensions["X509v3 Subject Alternative Name"];
    return {
        subject: field(/^subject=(.*)$/m, s) ?? "",
        issuer: field(/^issuer=(.*)$/m, s) ?? "",
        serialHex: (field(/^serial=(.*)$/m, s) ?? "").toLowerCase().replace(/^0+(?=.)/, ""),
        notBefore: new Date(field(/^notBefore=(.*)$/m, s) ?? ""),
        notAfter: new Date(field(/^notAfter=(.*)$/m, s) ?? ""),
        publicKeyAlgorithm: field(/Public Key Algorithm: (.*)$/m, text) ?? "",
        publicKeyBits: Number(field(/Public-Key: \((\d+) bit\)/m, text) ?? Number.NaN),
        curve: field(/ASN1 OID: (.*)$/m, text),
        signatureAlgorithm: field(/Signature Algorithm: (.*)$/m, text) ?? "",
        basicConstraints: bc && {
            critical: bc.critical,
            ca: /CA:TRUE/.test(bc.value),
            pathLength: /pathlen:(\d+)/.test(bc.value)
                ? Number(/pathlen:(\d+)/.exec(bc.value)?.[1])
                : undefined,
        },
        keyUsage: nameList(extensions["X509v3 Key Usage"]),
        extendedKeyUsage: nameList(extensions["X509v3 Extended Key Usage"]),
        subjectAltNames: san ? san.value.split(/,\s*/) : [],
        subjectKeyId: hexId(extensions["X509v3 Subject Key Identifier"]?.value),
        authorityKeyId: hexId(extensions["X509v3 Authority Key Identifier"]?.value),
        extensions,
        text,
    };
}

/** Every `-----BEGIN <label>-----` label in a PEM text, in order. */
export function pemLabels(pem: string): string[] {
    return [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1] ?? "");
}
