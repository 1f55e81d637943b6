/**
 * The trust chain of the edge, on the Pulumi tls provider:
 *
 *   Root CA (self-signed, pathlen:1)
 *     ├── Device CA (intermediate): signs device certificates (client_auth) - HAProxy's ca-file
 *     └── Server certificate(s) for HAProxy (server_auth only), RSA and/or ECDSA
 *
 * or the same from an existing chain (existingCa), e.g. one made with cfssl as the seed does.
 * Key material only leaves as Pulumi secrets. Renewal and what a rotation replaces: docs/pki.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import {
    checkDnsName,
    type KeyAlgorithm,
    type PkiArgs,
    privateKeyArgs,
    type ResolvedPkiArgs,
    resolvePkiArgs,
} from "./pki-args.ts";
import { checkExistingCa, subjectCommonName } from "./pki-existing-ca.ts";

export type {
    ExistingCa,
    KeyAlgorithm,
    PkiArgs,
    PkiRotation,
    PkiValidityHours,
} from "./pki-args.ts";

/** One server certificate for HAProxy's `crt`. */
export interface ServerCertificate {
    /** Key algorithm of this certificate ("existing" for existingCa.serverCertPem). */
    readonly keyAlgorithm: KeyAlgorithm | "existing";
    /** The certificate alone, PEM. */
    readonly certPem: pulumi.Output<string>;
    /** The certificate followed by the CA certificates between it and the root (root excluded). */
    readonly fullChainPem: pulumi.Output<string>;
    /** Private key, PEM. SECRET. */
    readonly keyPem: pulumi.Output<string>;
    /** What HAProxy's `crt` loads: full chain then key, PEM. SECRET. */
    readonly haproxyPem: pulumi.Output<string>;
}

/** One test device identity. */
export interface TestDeviceCertificate {
    /** Its common name, which EMQX sees as the device identity. */
    readonly commonName: string;
    /** Device certificate, PEM, issued by the device CA. */
    readonly certPem: pulumi.Output<string>;
    /** Device private key, PEM. SECRET. */
    readonly keyPem: pulumi.Output<string>;
}

// Provider values are snake_case (the SDK's camelCase doc list is pulumi/pulumi-tls#151).
const caUses = ["cert_signing", "crl_signing"];
const rootUses = [...caUses, "digital_signature"];
const deviceUses = ["digital_signature", "client_auth"];
/**
 * server_auth and never client_auth: HAProxy verifies clients with the root in its store, so a
 * server certificate with client_auth (or no EKU) would log in as a device. key_encipherment
 * matters only for RSA key exchange.
 */
function serverUses(algorithm: KeyAlgorithm): string[] {
    return algorithm.startsWith("rsa-")
        ? ["digital_signature", "key_encipherment", "server_auth"]
        : ["digital_signature", "server_auth"];
}

/** An issuer: certificate plus key. */
interface Issuer {
    readonly certPem: pulumi.Input<string>;
    readonly keyPem: pulumi.Input<string>;
}

/** Ensures a PEM ends with exactly one newline, so concatenated PEMs stay well-formed. */
function pemWithNewline(pem: string): string {
    return `${pem.replace(/\s+$/, "")}\n`;
}

/** Root CA, device CA, HAProxy server certificate(s) and test device certificates. */
export class Pki extends pulumi.ComponentResource {
    /** Root CA certificate, PEM. HAProxy's `ca-verify-file`. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** What devices trust to verify the server: the root CA certificate, PEM. */
    public readonly deviceTrustBundlePem: pulumi.Output<string>;
    /** Device CA certificate, PEM. HAProxy's `ca-file` (its CN is what HAProxy pins). */
    public readonly deviceCaCertPem: pulumi.Output<string>;
    /** Common name of the device CA, for HAProxy's issuer pin. */
    public readonly deviceCaCommonName: pulumi.Output<string>;
    /** Device CA private key, PEM, for CLI issuance and CRLs. SECRET. */
    public readonly deviceCaKeyPem: pulumi.Output<string>;
    /**
     * Root CA private key, PEM. SECRET. Undefined for an existing CA given without its root key.
     * The stack signs the root's CRL with it (HAProxy needs a CRL for every CA in the chain).
     */
    public readonly rootKeyPem: pulumi.Output<string> | undefined;
    /** Server certificates, one per key algorithm. */
    public readonly serverCertificates: readonly ServerCertificate[];
    /** Test device certificates. */
    public readonly testDevices: readonly TestDeviceCertificate[];

    constructor(name: string, args: PkiArgs, opts?: pulumi.ComponentResourceOptions) {
        // Checked before super(): a bad argument must stop before anything is registered.
        const resolved = resolvePkiArgs(name, args);
        const existing = resolved.existingCa;
        if (existing) checkPlainExistingCa(name, existing);
        super("mqtt-edge:pki:Pki", name, {}, opts);

        let root: Issuer;
        let deviceCa: Issuer;
        let deviceCaCommonName: pulumi.Output<string>;
        if (existing) {
            const checked = pulumi
                .all([
                    existing.rootCertPem,
                    existing.deviceCaCertPem,
                    existing.deviceCaKeyPem,
                    existing.rootKeyPem,
                    existing.serverCertPem,
                    existing.serverKeyPem,
                ])
                .apply(
                    ([
                        rootCertPem,
                        deviceCaCertPem,
                        deviceCaKeyPem,
                        rootKey,
                        server,
                        serverKey,
                    ]) => {
                        checkExistingCa(name, {
                            rootCertPem,
                            deviceCaCertPem,
                            deviceCaKeyPem,
                            rootKeyPem: rootKey,
                            serverCertPem: server,
                            serverKeyPem: serverKey,
                        });
                        return true;
                    },
                );
            // Everything issued from the existing chain waits for (and fails with) its check.
            const afterCheck = (value: pulumi.Input<string>) =>
                pulumi.all([checked, value]).apply(([, v]) => v);
            root = {
                certPem: afterCheck(existing.rootCertPem),
                keyPem: pulumi.secret(afterCheck(existing.rootKeyPem ?? "")),
            };
            deviceCa = {
                certPem: afterCheck(existing.deviceCaCertPem),
                keyPem: pulumi.secret(afterCheck(existing.deviceCaKeyPem)),
            };
            deviceCaCommonName = pulumi.output(deviceCa.certPem).apply(subjectCommonName);
        } else {
            root = this.createRoot(name, resolved);
            deviceCa = this.createDeviceCa(name, resolved, root);
            deviceCaCommonName = pulumi.output(resolved.deviceCaCommonName);
        }

        this.rootCertPem = pulumi.output(root.certPem);
        this.deviceTrustBundlePem = this.rootCertPem;
        this.deviceCaCertPem = pulumi.output(deviceCa.certPem);
        this.deviceCaCommonName = deviceCaCommonName;
        this.deviceCaKeyPem = pulumi.secret(pulumi.output(deviceCa.keyPem));
        this.rootKeyPem =
            existing && existing.rootKeyPem === undefined
                ? undefined
                : pulumi.secret(pulumi.output(root.keyPem));

        if (existing?.serverCertPem !== undefined) {
            const certPem = pulumi.output(existing.serverCertPem);
            const fullChainPem = pulumi
                .all([certPem, existing.serverChainPem ?? ""])
                .apply(
                    ([cert, chain]) => pemWithNewline(cert) + (chain ? pemWithNewline(chain) : ""),
                );
            const keyPem = pulumi.secret(pulumi.output(existing.serverKeyPem ?? ""));
            this.serverCertificates = [
                {
                    keyAlgorithm: "existing",
                    certPem,
                    fullChainPem,
                    keyPem,
                    haproxyPem: pulumi.secret(
                        pulumi.all([fullChainPem, keyPem]).apply(([c, k]) => c + pemWithNewline(k)),
                    ),
                },
            ];
        } else {
            const issuer = resolved.serverIssuer === "root" ? root : deviceCa;
            this.serverCertificates = resolved.serverKeyAlgorithms.map((algorithm) =>
                this.createServerCertificate(name, resolved, algorithm, issuer, deviceCa),
            );
        }

        this.testDevices = Array.from({ length: resolved.testDeviceCount }, (_, i) =>
            this.createTestDevice(name, resolved, i + 1, deviceCa),
        );

        this.registerOutputs({
            rootCertPem: this.rootCertPem,
            deviceTrustBundlePem: this.deviceTrustBundlePem,
            deviceCaCertPem: this.deviceCaCertPem,
            deviceCaCommonName: this.deviceCaCommonName,
            deviceCaKeyPem: this.deviceCaKeyPem,
            rootKeyPem: this.rootKeyPem,
            serverCertificates: this.serverCertificates,
            testDevices: this.testDevices,
        });
    }

    private newKey(
        resourceName: string,
        algorithm: KeyAlgorithm,
        rotation: string | undefined,
    ): tls.PrivateKey {
        return new tls.PrivateKey(resourceName, privateKeyArgs(algorithm), {
            parent: this,
            ...(rotation === undefined ? {} : { replacementTrigger: rotation }),
        });
    }

    private createRoot(name: string, resolved: ResolvedPkiArgs): Issuer {
        const key = this.newKey(
            `${name}-root-key`,
            resolved.rootKeyAlgorithm,
            resolved.rotation.root,
        );
        const cert = new tls.SelfSignedCert(
            `${name}-root`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: {
                    commonName: resolved.rootCommonName,
                    organization: resolved.organization,
                },
                isCaCertificate: true,
                // pathlen:1 - at most one CA (the device CA) below the root. This is the
                // constraint that holds; see createDeviceCa for why the device CA has none.
                maxPathLength: 1,
                validityPeriodHours: resolved.validityHours.root,
                allowedUses: rootUses,
            },
            { parent: this },
        );
        return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
    }

    private createDeviceCa(name: string, resolved: ResolvedPkiArgs, root: Issuer): Issuer {
        const key = this.newKey(
            `${name}-device-ca-key`,
            resolved.deviceCaKeyAlgorithm,
            resolved.rotation.deviceCaKey,
        );
        const csr = new tls.CertRequest(
            `${name}-device-ca-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: {
                    commonName: resolved.deviceCaCommonName,
                    organization: resolved.organization,
                },
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${name}-device-ca`,
            {
                certRequestPem: csr.certRequestPem,
                caCertPem: root.certPem,
                caPrivateKeyPem: root.keyPem,
                isCaCertificate: true,
                // No maxPathLength: the provider sets Go's MaxPathLen but never MaxPathLenZero, so
                // 0 would come out as "no limit", not pathlen:0 (docs/pki.md). The root's
                // pathlen:1 already forbids a CA below this one.
                validityPeriodHours: resolved.validityHours.deviceCa,
                allowedUses: caUses,
            },
            { parent: this, replacementTrigger: resolved.rotation.deviceCaCert },
        );
        return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
    }

    private createServerCertificate(
        name: string,
        resolved: ResolvedPkiArgs,
        algorithm: KeyAlgorithm,
        issuer: Issuer,
        deviceCa: Issuer,
    ): ServerCertificate {
        const base = `${name}-server-${algorithm}`;
        const key = this.newKey(`${base}-key`, algorithm, resolved.rotation.server);
        const dnsNames = resolved.dnsNames.map((dnsName, i) =>
            pulumi.output(dnsName).apply((value) => checkDnsName(name, `dnsNames[${i}]`, value)),
        );
        const csr = new tls.CertRequest(
            `${base}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: dnsNames[0], organization: resolved.organization },
                dnsNames,
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${base}-cert`,
            {
                certRequestPem: csr.certRequestPem,
                caCertPem: issuer.certPem,
                caPrivateKeyPem: issuer.keyPem,
                validityPeriodHours: resolved.validityHours.server,
                allowedUses: serverUses(algorithm),
            },
            { parent: this },
        );
        const chain =
            resolved.serverIssuer === "deviceCa"
                ? [cert.certPem, deviceCa.certPem]
                : [cert.certPem];
        const fullChainPem = pulumi.all(chain).apply((pems) => pems.map(pemWithNewline).join(""));
        const keyPem = pulumi.secret(key.privateKeyPem);
        return {
            keyAlgorithm: algorithm,
            certPem: cert.certPem,
            fullChainPem,
            keyPem,
            haproxyPem: pulumi.secret(
                pulumi.all([fullChainPem, keyPem]).apply(([c, k]) => c + pemWithNewline(k)),
            ),
        };
    }

    private createTestDevice(
        name: string,
        resolved: ResolvedPkiArgs,
        index: number,
        deviceCa: Issuer,
    ): TestDeviceCertificate {
        const base = `${name}-test-device-${index}`;
        const commonName = `${resolved.testDeviceCommonNamePrefix}-${index}`;
        const key = this.newKey(`${base}-key`, resolved.testDeviceKeyAlgorithm, undefined);
        const csr = new tls.CertRequest(
            `${base}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName, organization: resolved.organization },
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${base}-cert`,
            {
                certRequestPem: csr.certRequestPem,
                caCertPem: deviceCa.certPem,
                caPrivateKeyPem: deviceCa.keyPem,
                validityPeriodHours: resolved.validityHours.testDevice,
                allowedUses: deviceUses,
            },
            { parent: this },
        );
        return { commonName, certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
    }
}

/** Checks an existing chain right away when it is given as plain strings (e.g. from files). */
function checkPlainExistingCa(name: string, existing: NonNullable<ResolvedPkiArgs["existingCa"]>) {
    const values = [
        existing.rootCertPem,
        existing.deviceCaCertPem,
        existing.deviceCaKeyPem,
        existing.rootKeyPem,
        existing.serverCertPem,
        existing.serverKeyPem,
    ];
    if (!values.every((v) => v === undefined || typeof v === "string")) return;
    checkExistingCa(name, {
        rootCertPem: existing.rootCertPem as string,
        deviceCaCertPem: existing.deviceCaCertPem as string,
        deviceCaKeyPem: existing.deviceCaKeyPem as string,
        rootKeyPem: existing.rootKeyPem as string | undefined,
        serverCertPem: existing.serverCertPem as string | undefined,
        serverKeyPem: existing.serverKeyPem as string | undefined,
    });
}
