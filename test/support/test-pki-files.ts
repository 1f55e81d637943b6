/**
 * Writes a throw-away PKI with `openssl` into a fresh temp dir, so `haproxy -c` can load every
 * file a rendered haproxy.cfg names and a loopback HAProxy can run mutual TLS for real:
 *
 *   root CA ─┬─ device intermediate CA ─┬─ device certificate (clientAuth)
 *            │                          └─ revoked device certificate (listed in the CRL)
 *            ├─ server certificates, ECDSA P-256 and RSA-2048 (serverAuth, SAN localhost, 127.0.0.1)
 *            └─ a device-like certificate signed by the root itself (must be refused by issuer pinning)
 *
 * CA and leaf keys are ECDSA P-256 (fast to make) except the RSA server certificate. Nothing here
 * is a secret: the keys live and die with the temp dir, which `remove()` deletes.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Common names the throw-away PKI uses, so tests can pin and assert them. */
export const testPkiNames = {
    /** Subject CN of the root CA. */
    root: "Test Root CA",
    /** Subject CN of the device intermediate CA (what HAProxy pins as issuer). */
    intermediate: "Test Device Intermediate CA",
    /** Subject CN of the good device certificate. */
    device: "device-0001",
    /** Subject CN of the revoked device certificate. */
    revokedDevice: "device-revoked",
    /** Subject CN of the device-like certificate signed directly by the root. */
    rootIssuedDevice: "device-root-issued",
    /** Subject CN of both server certificates. */
    server: "localhost",
} as const;

/** Absolute paths of the files written by {@link writeTestPkiFiles}. */
export interface TestPkiFiles {
    /** The temp dir holding everything. */
    dir: string;
    /** Root CA certificate, PEM (HAProxy `ca-verify-file`; clients trust it for the server cert). */
    rootCaPath: string;
    /** Device intermediate CA certificate, PEM (HAProxy `ca-file`). */
    intermediateCaPath: string;
    /** ECDSA server certificate followed by its key, PEM (HAProxy `crt`). */
    serverEcdsaPemPath: string;
    /** RSA server certificate followed by its key, PEM (HAProxy `crt`). */
    serverRsaPemPath: string;
    /** Root CRL followed by intermediate CRL, PEM (HAProxy `crl-file`); revokes the revoked device. */
    crlPath: string;
    /** Device certificate issued by the intermediate, PEM. */
    deviceCertPath: string;
    /** Its key, PEM. */
    deviceKeyPath: string;
    /** Device certificate issued by the intermediate and revoked in the CRL, PEM. */
    revokedDeviceCertPath: string;
    /** Its key, PEM. */
    revokedDeviceKeyPath: string;
    /** clientAuth certificate issued directly by the root, PEM. */
    rootIssuedDeviceCertPath: string;
    /** Its key, PEM. */
    rootIssuedDeviceKeyPath: string;
    /** Deletes the temp dir. */
    remove(): Promise<void>;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
    try {
        await run("openssl", args, { cwd });
    } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? "";
        throw new Error(`openssl ${args[0]} failed: ${stderr.trim().split("\n").join(" | ")}`);
    }
}

// The [req] section only satisfies `openssl req`; subjects come from -subj.
const caExtensions = `
[req]
distinguished_name = req_dn
[req_dn]
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[intermediate_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
`;

// A minimal `openssl ca` setup per CA: only used to revoke and to issue CRLs.
function caConfig(name: string): string {
    return `
[ca]
default_ca = this_ca
[this_ca]
database = ${name}.index
certificate = ${name}.pem
private_key = ${name}.key
default_md = sha256
default_crl_days = 30
crlnumber = ${name}.crlnumber
`;
}

async function newKey(dir: string, name: string, kind: "ec" | "rsa"): Promise<void> {
    const algorithm =
        kind === "ec"
            ? ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            : ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
    await openssl(dir, ["genpkey", ...algorithm, "-out", `${name}.key`]);
}

async function issue(
    dir: string,
    name: string,
    commonName: string,
    issuer: string,
    extension: string,
    kind: "ec" | "rsa" = "ec",
): Promise<void> {
    await newKey(dir, name, kind);
    await openssl(dir, [
        "req",
        "-new",
        "-key",
        `${name}.key`,
        "-subj",
        `/CN=${commonName}`,
        "-out",
        `${name}.csr`,
    ]);
    await openssl(dir, [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        `${issuer}.pem`,
        "-CAkey",
        `${issuer}.key`,
        // Random serials: certificates are issued in parallel, so no shared serial file.
        "-set_serial",
        `0x${randomBytes(16).toString("hex")}`,
        "-days",
        "30",
        "-extfile",
        "extensions.cnf",
        "-extensions",
        extension,
        "-out",
        `${name}.pem`,
    ]);
}

/** Creates the PKI in a new temp dir; the caller must `remove()` it (e.g. in `after`). */
export async function writeTestPkiFiles(): Promise<TestPkiFiles> {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-pki-"));
    try {
        await writeFile(join(dir, "extensions.cnf"), caExtensions);
        await newKey(dir, "root", "ec");
        await openssl(dir, [
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-subj",
            `/CN=${testPkiNames.root}`,
            "-days",
            "30",
            "-config",
            "extensions.cnf",
            "-extensions",
            "ca_ext",
            "-out",
            "root.pem",
        ]);
        await issue(dir, "intermediate", testPkiNames.intermediate, "root", "intermediate_ext");
        await Promise.all([
            issue(dir, "device", testPkiNames.device, "intermediate", "client_ext"),
            issue(dir, "revoked", testPkiNames.revokedDevice, "intermediate", "client_ext"),
            issue(dir, "root-issued", testPkiNames.rootIssuedDevice, "root", "client_ext"),
            issue(dir, "server-ecdsa", testPkiNames.server, "root", "server_ext"),
            issue(dir, "server-rsa", testPkiNames.server, "root", "server_ext", "rsa"),
        ]);
        for (const ca of ["root", "intermediate"]) {
            await writeFile(join(dir, `${ca}.cnf`), caConfig(ca));
            await writeFile(join(dir, `${ca}.index`), "");
            await writeFile(join(dir, `${ca}.crlnumber`), "01\n");
        }
        await openssl(dir, ["ca", "-config", "intermediate.cnf", "-revoke", "revoked.pem"]);
        await openssl(dir, ["ca", "-config", "root.cnf", "-gencrl", "-out", "root.crl"]);
        await openssl(dir, [
            "ca",
            "-config",
            "intermediate.cnf",
            "-gencrl",
            "-out",
            "intermediate.crl",
        ]);
        const pems = async (...names: string[]): Promise<string> =>
            (await Promise.all(names.map((name) => readFile(join(dir, name), "utf8")))).join("");
        await writeFile(join(dir, "crls.pem"), await pems("root.crl", "intermediate.crl"));
        await writeFile(
            join(dir, "server-ecdsa.bundle.pem"),
            await pems("server-ecdsa.pem", "server-ecdsa.key"),
        );
        await writeFile(
            join(dir, "server-rsa.bundle.pem"),
            await pems("server-rsa.pem", "server-rsa.key"),
        );
    } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw error;
    }
    const at = (name: string): string => join(dir, name);
    return {
        dir,
        rootCaPath: at("root.pem"),
        intermediateCaPath: at("intermediate.pem"),
        serverEcdsaPemPath: at("server-ecdsa.bundle.pem"),
        serverRsaPemPath: at("server-rsa.bundle.pem"),
        crlPath: at("crls.pem"),
        deviceCertPath: at("device.pem"),
        deviceKeyPath: at("device.key"),
        revokedDeviceCertPath: at("revoked.pem"),
        revokedDeviceKeyPath: at("revoked.key"),
        rootIssuedDeviceCertPath: at("root-issued.pem"),
        rootIssuedDeviceKeyPath: at("root-issued.key"),
        remove: () => rm(dir, { recursive: true, force: true }),
    };
}
