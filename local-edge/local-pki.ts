/**
 * A trust chain of the stack's shape, made in process for a local edge: root CA, device
 * intermediate, one HAProxy server certificate per key algorithm (issued by the root, DNS SANs),
 * root and intermediate CRLs, and device certificates on demand. The key algorithms are chosen
 * by the caller, so benchmarks can compare them; the Pulumi PKI component stays the production
 * path (components/pki.ts), this is its stand-in where no Pulumi engine runs.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs a Reflect polyfill first.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    ExtendedKeyUsage,
    ExtendedKeyUsageExtension,
    KeyUsageFlags,
    KeyUsagesExtension,
    SubjectAlternativeNameExtension,
    SubjectKeyIdentifierExtension,
    X509CertificateGenerator,
} from "@peculiar/x509";
import { type IssuingCa, loadIssuingCa } from "../pki/ca.ts";
import { buildCrl, crlNumberFor, crlThisUpdate, crlWindow } from "../pki/crl.ts";
import { issueDeviceCertificate } from "../pki/issue.ts";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "../pki/key-algorithms.ts";
import { type DeviceKeySpec, defaultDeviceKeySpec, exportPrivateKeyPem } from "../pki/keys.ts";
import { toPem } from "../pki/pem.ts";
import type { RevocationEntry } from "../pki/revocations.ts";
import { randomSerialHex } from "../pki/serial.ts";
import { forgetTemporaryDirectory, registerTemporaryDirectory } from "./emergency-cleanup.ts";

type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Key algorithms the stack offers for CAs and server certificates (pki/key-algorithms.ts). */
export const localKeyAlgorithms = KEY_ALGORITHMS;
/** One of {@link localKeyAlgorithms}. */
export type LocalKeyAlgorithm = KeyAlgorithm;

/** What chain to make. */
export interface LocalPkiOptions {
    /** Root and intermediate key algorithm. */
    caKeyAlgorithm: LocalKeyAlgorithm;
    /** One server certificate per algorithm, in this order. */
    serverKeyAlgorithms: readonly LocalKeyAlgorithm[];
    /** DNS names in every server certificate's SANs. */
    serverNames: readonly string[];
    /** Root CA subject CN. */
    rootCommonName: string;
    /** Device intermediate subject CN (the issuer HAProxy pins). */
    deviceCaCommonName: string;
}

/** A device certificate and key, as text and as files. */
export interface LocalDevice {
    /** Subject CN. */
    commonName: string;
    /** Certificate PEM. */
    certificatePem: string;
    /** Private key PEM. Secret: never print it. */
    privateKeyPem: string;
    /** Serial, lower-case hex. */
    serialNumber: string;
}

const dayMs = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 30;

/** The chain and the files HAProxy reads. */
export class LocalPki {
    /** Private temp dir with every file. */
    readonly dir: string;
    /** Root CA certificate PEM: what devices trust to check HAProxy's certificate. */
    readonly rootCertPem: string;
    /** Device intermediate certificate PEM. */
    readonly intermediateCertPem: string;
    /** Device intermediate CN (HAProxy admits only certificates issued under it). */
    readonly deviceCaCommonName: string;
    /** HAProxy `ca-verify-file`: the root. */
    readonly rootCaPath: string;
    /** HAProxy `ca-file`: the device intermediate. */
    readonly intermediateCaPath: string;
    /** HAProxy `crt` files, one per server key algorithm, in the requested order. */
    readonly serverPemPaths: readonly string[];
    /** HAProxy `crl-file`: root CRL + intermediate CRL. */
    readonly crlPath: string;
    readonly #root: IssuingCa;
    readonly #deviceCa: IssuingCa;
    readonly #revoked: RevocationEntry[] = [];

    private constructor(
        dir: string,
        root: IssuingCa,
        deviceCa: IssuingCa,
        deviceCaCommonName: string,
        serverCount: number,
    ) {
        this.dir = dir;
        this.#root = root;
        this.#deviceCa = deviceCa;
        this.rootCertPem = root.certificatePem;
        this.intermediateCertPem = deviceCa.certificatePem;
        this.deviceCaCommonName = deviceCaCommonName;
        this.rootCaPath = join(dir, "root-ca.pem");
        this.intermediateCaPath = join(dir, "device-ca.pem");
        this.serverPemPaths = Array.from({ length: serverCount }, (_, i) =>
            join(dir, `server-${i + 1}.pem`),
        );
        this.crlPath = join(dir, "crls.pem");
    }

    /** Makes the chain and writes HAProxy's files (keys 0600) into a new temp dir. */
    static async create(options: LocalPkiOptions): Promise<LocalPki> {
        const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-local-pki-"));
        registerTemporaryDirectory(dir);
        try {
            const root = await makeCa(options.caKeyAlgorithm, options.rootCommonName);
            const deviceCa = await makeCa(options.caKeyAlgorithm, options.deviceCaCommonName, root);
            const pki = new LocalPki(
                dir,
                root,
                deviceCa,
                options.deviceCaCommonName,
                options.serverKeyAlgorithms.length,
            );
            await writeFile(pki.rootCaPath, root.certificatePem);
            await writeFile(pki.intermediateCaPath, deviceCa.certificatePem);
            for (const [index, algorithm] of options.serverKeyAlgorithms.entries()) {
                const server = await makeServerCertificate(algorithm, options.serverNames, root);
                await writeFile(pki.serverPemPaths[index] as string, server, { mode: 0o600 });
            }
            await pki.#writeCrls();
            return pki;
        } catch (error) {
            await rm(dir, { recursive: true, force: true });
            forgetTemporaryDirectory(dir);
            throw error;
        }
    }

    /** A device certificate from the device intermediate (what HAProxy admits). */
    issueDevice(commonName: string, keySpec: DeviceKeySpec = defaultDeviceKeySpec) {
        return issueLeaf(this.#deviceCa, commonName, keySpec);
    }

    /**
     * The device intermediate as a CA that signs, for batch issuance with pki/issue.ts (the load
     * generator issues thousands at once, its own way). Holds the key: keep it in process.
     */
    get deviceIssuingCa(): IssuingCa {
        return this.#deviceCa;
    }

    /** A client certificate issued by the root itself: chains, but the issuer pin refuses it. */
    issueRootLeaf(commonName: string): Promise<LocalDevice> {
        return issueLeaf(this.#root, commonName, defaultDeviceKeySpec);
    }

    /** Revokes a device serial and rewrites the CRL file; returns the new CRL bundle PEM. */
    async revoke(serialNumber: string, commonName = "device"): Promise<string> {
        this.#revoked.push({
            serial: serialNumber,
            commonName,
            reason: "keyCompromise",
            // CRL times have whole seconds and thisUpdate follows the newest revocation.
            revokedAt: new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString(),
            issuerKeyId: this.#deviceCa.keyId,
        });
        return this.#writeCrls();
    }

    /** Deletes every file. */
    async remove(): Promise<void> {
        await rm(this.dir, { recursive: true, force: true });
        forgetTemporaryDirectory(this.dir);
    }

    async #writeCrls(): Promise<string> {
        const now = new Date();
        const window = crlWindow(now);
        const pems: string[] = [];
        for (const [ca, entries] of [
            [this.#root, []],
            [this.#deviceCa, this.#revoked],
        ] as const) {
            const thisUpdate = crlThisUpdate(window, entries, now);
            const built = await buildCrl({
                ca,
                entries,
                thisUpdate,
                nextUpdate: window.nextUpdate,
                crlNumber: crlNumberFor(thisUpdate),
            });
            pems.push(built.pem.endsWith("\n") ? built.pem : `${built.pem}\n`);
        }
        const bundle = pems.join("");
        await writeFile(this.crlPath, bundle);
        return bundle;
    }
}

async function issueLeaf(
    ca: IssuingCa,
    commonName: string,
    keySpec: DeviceKeySpec,
): Promise<LocalDevice> {
    const issued = await issueDeviceCertificate(ca, {
        commonName,
        validityDays: LEAF_VALIDITY_DAYS,
        keySpec,
    });
    return {
        commonName,
        certificatePem: issued.certificatePem,
        privateKeyPem: issued.privateKeyPem,
        serialNumber: issued.serialHex,
    };
}

/** WebCrypto key generation and signature parameters per algorithm (hash sized to the key). */
function keyParameters(algorithm: LocalKeyAlgorithm) {
    if (algorithm.startsWith("ecdsa")) {
        const curve = algorithm === "ecdsa-p384" ? "P-384" : "P-256";
        return {
            generate: { name: "ECDSA", namedCurve: curve },
            sign: { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" },
        };
    }
    const rsa = {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: Number(algorithm.slice("rsa-".length)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
    };
    return { generate: rsa, sign: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } };
}

function generateKeys(algorithm: LocalKeyAlgorithm): Promise<CryptoKeyPair> {
    return webcrypto.subtle.generateKey(keyParameters(algorithm).generate, true, [
        "sign",
        "verify",
    ]) as Promise<CryptoKeyPair>;
}

/**
 * A CA certificate: basicConstraints CA:TRUE critical (pathlen 0 under an issuer, 1 for the
 * root, as the PKI component makes them), keyCertSign + cRLSign critical, SKI and AKI.
 */
async function makeCa(
    algorithm: LocalKeyAlgorithm,
    commonName: string,
    issuer?: IssuingCa,
): Promise<IssuingCa> {
    const keys = await generateKeys(algorithm);
    const ski = await SubjectKeyIdentifierExtension.create(keys.publicKey);
    const now = Date.now();
    const certificate = await X509CertificateGenerator.create({
        serialNumber: randomSerialHex(),
        subject: [{ CN: [commonName] }],
        issuer: issuer ? issuer.certificate.subjectName : [{ CN: [commonName] }],
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + CA_VALIDITY_DAYS * dayMs),
        publicKey: keys.publicKey,
        signingKey: issuer ? issuer.signingKey.privateKey : keys.privateKey,
        signingAlgorithm: issuer
            ? issuer.signingKey.signingAlgorithm
            : keyParameters(algorithm).sign,
        extensions: [
            new BasicConstraintsExtension(true, issuer ? 0 : 1, true),
            new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
            ski,
            new AuthorityKeyIdentifierExtension(issuer ? issuer.keyId : ski.keyId),
        ],
    });
    const sources = { certificate: `local ${commonName}`, privateKey: `local ${commonName} key` };
    return loadIssuingCa(
        toPem(certificate.rawData, "CERTIFICATE"),
        await exportPrivateKeyPem(keys.privateKey),
        sources,
        "certificates",
    );
}

/** HAProxy `crt` file text: the server certificate (serverAuth only, DNS SANs) and its key. */
async function makeServerCertificate(
    algorithm: LocalKeyAlgorithm,
    serverNames: readonly string[],
    root: IssuingCa,
): Promise<string> {
    const keys = await generateKeys(algorithm);
    const now = Date.now();
    const keyUsage = algorithm.startsWith("rsa")
        ? KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment
        : KeyUsageFlags.digitalSignature;
    const certificate = await X509CertificateGenerator.create({
        serialNumber: randomSerialHex(),
        subject: [{ CN: [serverNames[0] ?? "localhost"] }],
        issuer: root.certificate.subjectName,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + LEAF_VALIDITY_DAYS * dayMs),
        publicKey: keys.publicKey,
        signingKey: root.signingKey.privateKey,
        signingAlgorithm: root.signingKey.signingAlgorithm,
        extensions: [
            new BasicConstraintsExtension(false, undefined, true),
            new KeyUsagesExtension(keyUsage, true),
            new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth], false),
            new SubjectAlternativeNameExtension(
                serverNames.map((name) => ({ type: "dns" as const, value: name })),
            ),
            await SubjectKeyIdentifierExtension.create(keys.publicKey),
            new AuthorityKeyIdentifierExtension(root.keyId),
        ],
    });
    return `${toPem(certificate.rawData, "CERTIFICATE")}${await exportPrivateKeyPem(keys.privateKey)}`;
}
