/**
 * Key pairs for devices and the CA keys that sign them, on Node's WebCrypto (what
 * @peculiar/x509 signs with).
 */
import { createPrivateKey, createPublicKey, type KeyObject, webcrypto } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
type EcdsaParams = webcrypto.EcdsaParams;

import { PkiInputError } from "./input-error.ts";
import { toPem } from "./pem.ts";

const subtle = webcrypto.subtle;

/** ECDSA curves we issue device keys on (both are in every TLS stack we care about). */
export const deviceCurves = ["P-256", "P-384"] as const;
/** RSA modulus sizes we issue device keys with. */
export const deviceRsaBits = [2048, 3072, 4096] as const;

/** How to make a device key. */
export type DeviceKeySpec =
    | {
          /** Elliptic-curve key: small, fast to make and to use on a TLS handshake. */
          algorithm: "ecdsa";
          /** The named curve. */
          curve: (typeof deviceCurves)[number];
      }
    | {
          /** RSA key, for devices whose TLS stack has no ECDSA. Key generation is slow. */
          algorithm: "rsa";
          /** Modulus size in bits. */
          bits: (typeof deviceRsaBits)[number];
      };

/** The default device key: ECDSA P-256 (cheapest to sign and verify, shared/reference §13). */
export const defaultDeviceKeySpec: DeviceKeySpec = { algorithm: "ecdsa", curve: "P-256" };

/** Makes a device key pair; the private key is extractable so it can be written out once. */
export async function generateDeviceKeyPair(spec: DeviceKeySpec): Promise<CryptoKeyPair> {
    if (spec.algorithm === "ecdsa") {
        return subtle.generateKey({ name: "ECDSA", namedCurve: spec.curve }, true, [
            "sign",
            "verify",
        ]);
    }
    return subtle.generateKey(
        {
            name: "RSASSA-PKCS1-v1_5",
            modulusLength: spec.bits,
            publicExponent: new Uint8Array([1, 0, 1]),
            hash: "SHA-256",
        },
        true,
        ["sign", "verify"],
    );
}

/** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), readable by openssl, mosquitto and mqtt.js. */
export async function exportPrivateKeyPem(privateKey: CryptoKey): Promise<string> {
    return toPem(await subtle.exportKey("pkcs8", privateKey), "PRIVATE KEY");
}

/** A CA private key ready to sign certificates and CRLs. */
export interface SigningKey {
    /** The key in WebCrypto form. */
    privateKey: CryptoKey;
    /** The signature algorithm used with it: RSA PKCS#1 v1.5 or ECDSA, hash sized to the key. */
    signingAlgorithm: RsaHashedImportParams | EcdsaParams;
    /** DER SubjectPublicKeyInfo of the matching public key, to compare with a certificate's. */
    publicKeySpki: Uint8Array;
}

/** Hash per curve as in RFC 5480 §4 (strength matched to the curve). */
const hashForCurve: Record<string, string> = {
    prime256v1: "SHA-256",
    secp384r1: "SHA-384",
    secp521r1: "SHA-512",
};
const webCryptoCurve: Record<string, string> = {
    prime256v1: "P-256",
    secp384r1: "P-384",
    secp521r1: "P-521",
};

/**
 * Reads a CA private key in any PEM form cfssl, openssl or the tls provider write (PKCS#1
 * `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PKCS#8 `PRIVATE KEY`). `source` names where it came
 * from in error messages. Encrypted keys are refused (we run unattended).
 */
export async function importSigningKey(pem: string, source: string): Promise<SigningKey> {
    let keyObject: KeyObject;
    try {
        keyObject = createPrivateKey({ key: pem, format: "pem" });
    } catch (error) {
        const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
        throw new PkiInputError(
            `${source}: not a readable private key (${reason}); allowed: an unencrypted PEM RSA or EC private key`,
        );
    }
    const pkcs8 = keyObject.export({ type: "pkcs8", format: "der" });
    const publicKeySpki = new Uint8Array(
        createPublicKey(keyObject).export({ type: "spki", format: "der" }),
    );
    const type = keyObject.asymmetricKeyType;
    if (type === "rsa") {
        const signingAlgorithm: RsaHashedImportParams = {
            name: "RSASSA-PKCS1-v1_5",
            hash: "SHA-256",
        };
        const privateKey = await subtle.importKey("pkcs8", pkcs8, signingAlgorithm, false, [
            "sign",
        ]);
        return { privateKey, signingAlgorithm, publicKeySpki };
    }
    const curve = keyObject.asymmetricKeyDetails?.namedCurve ?? "";
    const namedCurve = webCryptoCurve[curve];
    const hash = hashForCurve[curve];
    if (type === "ec" && namedCurve && hash) {
        const privateKey = await subtle.importKey(
            "pkcs8",
            pkcs8,
            { name: "ECDSA", namedCurve },
            false,
            ["sign"],
        );
        return { privateKey, signingAlgorithm: { name: "ECDSA", hash }, publicKeySpki };
    }
    throw new PkiInputError(
        `${source}: unsupported key type ${JSON.stringify(curve ? `${type} ${curve}` : type)}; allowed: RSA, or EC on P-256, P-384 or P-521`,
    );
}
