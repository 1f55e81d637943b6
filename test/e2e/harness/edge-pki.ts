/**
 * The edge's certificate files on disk for one test run, made by the project's own code:
 *
 * - root CA, device CA and HAProxy's server certificate: the Pki component (components/pki.ts)
 *   under Pulumi mocks with the tls fake, see pki-component-chain.ts;
 * - device certificates: pki/issue.ts (what `scripts/cert-device.ts` runs), or the CLI itself;
 * - CRLs (root + device CA in one file, HAProxy checks both): pki/crl.ts (what `scripts/crl.ts`
 *   runs);
 * - certificates the project refuses to make (expired, serverAuth-only, root-issued devices, ...):
 *   test-certificate-authority.ts, signed with the component's CA keys.
 *
 * Keys are written 0600 into a private temp dir that {@link EdgePki.remove} deletes (and
 * emergency-cleanup.ts, if the process is killed); nothing here is ever logged.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
    forgetTemporaryDirectory,
    registerTemporaryDirectory,
} from "../../../local-edge/emergency-cleanup.ts";
import { type IssuingCa, loadIssuingCa } from "../../../pki/ca.ts";
import { buildCrl, crlNumberFor, crlThisUpdate, crlWindow } from "../../../pki/crl.ts";
import { issueDeviceCertificate } from "../../../pki/issue.ts";
import { defaultDeviceKeySpec } from "../../../pki/keys.ts";
import type { RevocationEntry } from "../../../pki/revocations.ts";
import { pkiComponentChain } from "./pki-component-chain.ts";
import {
    type IssuedCertificate,
    type LeafRequest,
    TestCertificateAuthority,
} from "./test-certificate-authority.ts";

const run = promisify(execFile);
/** Validity of test device certificates: any value works, the CLI's default is longer. */
const DEVICE_VALIDITY_DAYS = 30;

/** A device certificate and key as files. */
export interface DeviceCredentials {
    /** Subject CN (what HAProxy forwards as PP2_SUBTYPE_SSL_CN). */
    commonName: string;
    /** Certificate PEM file. */
    certPath: string;
    /** PKCS#8 key PEM file (0600). */
    keyPath: string;
    /** Certificate PEM text. */
    certificatePem: string;
    /** Key PEM text. Secret: never print it. */
    privateKeyPem: string;
    /** Serial, lower-case hex. */
    serialNumber: string;
}

interface ChainCas {
    rootForCertificates: IssuingCa;
    rootForCrls: IssuingCa;
    deviceCaForCertificates: IssuingCa;
    deviceCaForCrls: IssuingCa;
}

/** The chain and its files. */
export class EdgePki {
    /** Private temp dir holding every file. */
    readonly dir: string;
    /** The root CA, for minting certificates it should never sign for devices. */
    readonly root: TestCertificateAuthority;
    /** The device CA, for minting odd device certificates (expired, serverAuth-only, ...). */
    readonly deviceIntermediate: TestCertificateAuthority;
    /** Device CA subject CN, as the Pki component reports it (the issuer HAProxy pins). */
    readonly deviceCaCommonName: string;
    /** Root CA PEM file (clients trust it; HAProxy `ca-verify-file`). */
    readonly rootCaPath: string;
    /** Device CA PEM file (HAProxy `ca-file`). */
    readonly intermediateCaPath: string;
    /** Device CA key PEM file (for the device-certificate CLI). Secret. */
    readonly intermediateKeyPath: string;
    /** Server certificate chain + key PEM (HAProxy `crt`). */
    readonly serverPemPath: string;
    /** Root CRL + device CA CRL (HAProxy `crl-file`). */
    readonly crlPath: string;
    readonly #cas: ChainCas;
    readonly #revoked: RevocationEntry[] = [];
    #fileCounter = 0;

    private constructor(dir: string, cas: ChainCas, deviceCaCommonName: string) {
        this.dir = dir;
        this.#cas = cas;
        this.deviceCaCommonName = deviceCaCommonName;
        this.root = TestCertificateAuthority.fromIssuingCa(cas.rootForCertificates);
        this.deviceIntermediate = TestCertificateAuthority.fromIssuingCa(
            cas.deviceCaForCertificates,
        );
        this.rootCaPath = join(dir, "root-ca.pem");
        this.intermediateCaPath = join(dir, "device-ca.pem");
        this.intermediateKeyPath = join(dir, "device-ca.key.pem");
        this.serverPemPath = join(dir, "haproxy-server.pem");
        this.crlPath = join(dir, "crls.pem");
    }

    /**
     * Runs the Pki component for a server certificate valid for `serverAddresses` (as DNS SANs:
     * the component takes DNS names only, and libmosquitto matches `-h` against them as text)
     * and `serverDnsName`, and writes every file HAProxy needs.
     */
    static async create(
        serverAddresses: readonly string[],
        serverDnsName: string,
    ): Promise<EdgePki> {
        const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-e2e-pki-"));
        registerTemporaryDirectory(dir);
        const chain = await pkiComponentChain("e2e", [...serverAddresses, serverDnsName]);
        const rootSources = { certificate: "Pki rootCertPem", privateKey: "Pki rootKeyPem" };
        const deviceSources = {
            certificate: "Pki deviceCaCertPem",
            privateKey: "Pki deviceCaKeyPem",
        };
        const cas: ChainCas = {
            rootForCertificates: await loadIssuingCa(
                chain.rootCertPem,
                chain.rootKeyPem,
                rootSources,
                "certificates",
            ),
            rootForCrls: await loadIssuingCa(
                chain.rootCertPem,
                chain.rootKeyPem,
                rootSources,
                "crls",
            ),
            deviceCaForCertificates: await loadIssuingCa(
                chain.deviceCaCertPem,
                chain.deviceCaKeyPem,
                deviceSources,
                "certificates",
            ),
            deviceCaForCrls: await loadIssuingCa(
                chain.deviceCaCertPem,
                chain.deviceCaKeyPem,
                deviceSources,
                "crls",
            ),
        };
        const pki = new EdgePki(dir, cas, chain.deviceCaCommonName);
        await writeFile(pki.rootCaPath, chain.rootCertPem);
        await writeFile(pki.intermediateCaPath, chain.deviceCaCertPem);
        await writeFile(pki.intermediateKeyPath, chain.deviceCaKeyPem, { mode: 0o600 });
        await writeFile(pki.serverPemPath, chain.serverHaproxyPem, { mode: 0o600 });
        await writeFile(pki.crlPath, await pki.crlBundlePem());
        return pki;
    }

    /** Serials the device CA's CRL currently lists. */
    get revokedSerials(): string[] {
        return this.#revoked.map((entry) => entry.serial);
    }

    /** Root + device CA CRLs for the current revocations, as one PEM text (pki/crl.ts). */
    async crlBundlePem(): Promise<string> {
        const now = new Date();
        const window = crlWindow(now);
        const pems: string[] = [];
        for (const [ca, entries] of [
            [this.#cas.rootForCrls, []],
            [this.#cas.deviceCaForCrls, this.#revoked],
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
        return pems.join("");
    }

    /** Revokes a device CA-issued `serial`, rewrites the CRL file and returns the new PEM. */
    async revoke(serial: string, commonName = "device"): Promise<string> {
        this.#revoked.push({
            serial,
            commonName,
            reason: "keyCompromise",
            // CRL times have whole seconds and thisUpdate follows the newest revocation.
            revokedAt: new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString(),
            issuerKeyId: this.#cas.deviceCaForCrls.keyId,
        });
        const pem = await this.crlBundlePem();
        await writeFile(this.crlPath, pem);
        return pem;
    }

    /** A good device certificate from the device CA, issued by pki/issue.ts. */
    async device(commonName: string): Promise<DeviceCredentials> {
        const issued = await issueDeviceCertificate(this.#cas.deviceCaForCertificates, {
            commonName,
            validityDays: DEVICE_VALIDITY_DAYS,
            keySpec: defaultDeviceKeySpec,
        });
        return this.writeCredentials({
            commonName,
            certificatePem: issued.certificatePem,
            privateKeyPem: issued.privateKeyPem,
            serialNumber: issued.serialHex,
        });
    }

    /**
     * Good device certificates made by the operator CLI itself (`scripts/cert-device.ts`, run
     * with node as `npm run cert:device` does), one per common name.
     */
    async devicesFromCli(commonNames: readonly string[]): Promise<DeviceCredentials[]> {
        this.#fileCounter += 1;
        const outDir = join(this.dir, `cli-${this.#fileCounter}`);
        const cnFile = join(this.dir, `cli-${this.#fileCounter}-names.txt`);
        await writeFile(cnFile, `${commonNames.join("\n")}\n`);
        const script = new URL("../../../scripts/cert-device.ts", import.meta.url).pathname;
        await run(process.execPath, [
            script,
            "--ca-cert",
            this.intermediateCaPath,
            "--ca-key",
            this.intermediateKeyPath,
            "--cn-file",
            cnFile,
            "--out",
            outDir,
        ]);
        return Promise.all(
            commonNames.map(async (commonName) => {
                const certPath = join(outDir, `${commonName}.crt`);
                const keyPath = join(outDir, `${commonName}.key`);
                const certificatePem = await readFile(certPath, "utf8");
                return {
                    commonName,
                    certPath,
                    keyPath,
                    certificatePem,
                    privateKeyPem: await readFile(keyPath, "utf8"),
                    serialNumber: new X509Certificate(certificatePem).serialNumber.toLowerCase(),
                };
            }),
        );
    }

    /** Any leaf from `issuer` (a CA of this chain or a foreign one), written to files. */
    async issueFrom(
        issuer: TestCertificateAuthority,
        request: LeafRequest,
    ): Promise<DeviceCredentials> {
        return this.writeCredentials(await issuer.issueLeaf(request));
    }

    /** Writes an already issued certificate and key to files. */
    async writeCredentials(issued: IssuedCertificate): Promise<DeviceCredentials> {
        this.#fileCounter += 1;
        const base = join(
            this.dir,
            `${this.#fileCounter}-${issued.commonName.replace(/[^A-Za-z0-9_.-]/g, "_")}`,
        );
        const certPath = `${base}.crt.pem`;
        const keyPath = `${base}.key.pem`;
        await writeFile(certPath, issued.certificatePem);
        await writeFile(keyPath, issued.privateKeyPem, { mode: 0o600 });
        return {
            commonName: issued.commonName,
            certPath,
            keyPath,
            certificatePem: issued.certificatePem,
            privateKeyPem: issued.privateKeyPem,
            serialNumber: issued.serialNumber,
        };
    }

    /** Deletes every file. */
    async remove(): Promise<void> {
        await rm(this.dir, { recursive: true, force: true });
        forgetTemporaryDirectory(this.dir);
    }
}
