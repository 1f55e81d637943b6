/**
 * Which CA key algorithm a stack's devices chain to, for the connect cost: `pki.caKeyAlgorithm`
 * for a generated chain, or read from the certificates of a bring-your-own CA. HAProxy verifies
 * the intermediate's signature (device certificate, intermediate CRL) and the root's (the
 * intermediate, root CRL) at every full handshake; when the two differ, the costlier one counts.
 */
import { X509Certificate } from "node:crypto";
import { CA_KEY_ALGORITHMS, type CaKeyAlgorithm, type CapacityFigures } from "./figures.ts";

/** The algorithm of a certificate's key, if it is one the figures cover. */
export function keyAlgorithmOfCertificate(pem: string): CaKeyAlgorithm | undefined {
    let key: X509Certificate["publicKey"];
    try {
        key = new X509Certificate(pem).publicKey;
    } catch {
        return undefined;
    }
    const details = key.asymmetricKeyDetails;
    if (key.asymmetricKeyType === "rsa") {
        const name = `rsa-${details?.modulusLength}`;
        return (CA_KEY_ALGORITHMS as readonly string[]).includes(name)
            ? (name as CaKeyAlgorithm)
            : undefined;
    }
    if (key.asymmetricKeyType === "ec") {
        // node:crypto names curves as OpenSSL does.
        const curve = details?.namedCurve;
        if (curve === "prime256v1") return "ecdsa-p256";
        if (curve === "secp384r1") return "ecdsa-p384";
    }
    return undefined;
}

/** What the capacity model needs to know of the chain. */
export interface ChainConfig {
    readonly pki: { readonly caKeyAlgorithm: CaKeyAlgorithm };
    readonly caRootCertPem?: string | undefined;
    readonly caDeviceCertPem?: string | undefined;
}

/**
 * The CA key algorithm whose connect cost applies: the configured one, or for a bring-your-own
 * CA the costlier of its two certificates' algorithms. A key the figures do not cover (RSA-8192,
 * P-521, Ed25519) counts as the costliest measured one.
 */
export function chainCostAlgorithm(config: ChainConfig, f: CapacityFigures): CaKeyAlgorithm {
    const supplied = [config.caRootCertPem, config.caDeviceCertPem].filter(
        (pem): pem is string => typeof pem === "string",
    );
    if (supplied.length === 0) return config.pki.caKeyAlgorithm;
    const costliest = CA_KEY_ALGORITHMS.reduce((a, b) =>
        f.fullConnectUs[b] > f.fullConnectUs[a] ? b : a,
    );
    return supplied
        .map((pem) => keyAlgorithmOfCertificate(pem) ?? costliest)
        .reduce((a, b) => (f.fullConnectUs[b] > f.fullConnectUs[a] ? b : a));
}
