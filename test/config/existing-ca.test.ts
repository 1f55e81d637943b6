/**
 * Bring-your-own CA keys in the stack configuration, with the seed's own cfssl chain (as an
 * operator following the seed would have it): a valid chain passes, and each wrong file is one
 * line naming the stack key, never echoing key material.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type ParseOptions, parseEdgeConfig } from "../../infra/config.ts";
import { deviceIssuerCommonName } from "../../infra/stack-files.ts";
import { makeCfsslChain } from "../support/cfssl-chain.ts";
import { aboutTheCa, refuses } from "./ca-config-checks.ts";

const run = promisify(execFile);

interface Pems {
    root: string;
    rootKey: string;
    intermediate: string;
    intermediateKey: string;
    device: string;
    otherRoot: string;
    crlOnly: string;
}

describe("bring-your-own CA in the stack configuration (seed cfssl chain)", () => {
    let dir: string;
    let pems: Pems;
    /** A complete, valid BYO configuration with plaintext keys allowed (a throwaway stack). */
    let valid: Record<string, unknown>;
    const plaintext: ParseOptions = { plaintextSecrets: ["caDeviceKeyPem", "caRootKeyPem"] };

    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mqtt-edge-byo-config-"));
        const chain = await makeCfsslChain(dir);
        // An unrelated CA: self-signed, CA:TRUE, keyCertSign - everything but the right one.
        await run("openssl", [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            join(dir, "other-key.pem"),
            "-out",
            join(dir, "other.pem"),
            "-subj",
            "/CN=unrelated root",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        // A CA that may sign CRLs but not certificates.
        await run("openssl", [
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            join(dir, "crl-only-key.pem"),
            "-out",
            join(dir, "crl-only.pem"),
            "-subj",
            "/CN=crl only",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,cRLSign",
        ]);
        pems = {
            root: await readFile(chain.rootCert, "utf8"),
            rootKey: await readFile(chain.rootKey, "utf8"),
            intermediate: await readFile(chain.intermediateCert, "utf8"),
            intermediateKey: await readFile(chain.intermediateKey, "utf8"),
            device: await readFile(chain.deviceCert, "utf8"),
            otherRoot: await readFile(join(dir, "other.pem"), "utf8"),
            crlOnly: await readFile(join(dir, "crl-only.pem"), "utf8"),
        };
        valid = {
            caRootCertPem: pems.root,
            caDeviceCertPem: pems.intermediate,
            caDeviceKeyPem: pems.intermediateKey,
            caRootKeyPem: pems.rootKey,
            pki: { allowPlaintextKeys: true },
        };
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    test("the seed's chain passes and the issuer pin is the verified intermediate's CN", () => {
        const config = parseEdgeConfig(valid, plaintext);
        assert.equal(deviceIssuerCommonName(config), "intermediate.emqx.com");
        assert.equal(config.pki.crl, true);
    });

    test("an unrelated root is refused: the device CA does not verify against it", () => {
        refuses(
            {
                ...valid,
                caRootCertPem: pems.otherRoot,
                caRootKeyPem: undefined,
                pki: { allowPlaintextKeys: true, crl: false },
            },
            "caDeviceCertPem",
            /= \[PEM .*intermediate\.emqx\.com.*\]: .*is not signed by mqtt-edge:caRootCertPem \(CN=unrelated root\)/,
            plaintext,
        );
    });

    test("a device certificate given as the device CA is refused naming caDeviceCertPem", () => {
        refuses(
            { ...valid, caDeviceCertPem: pems.device },
            "caDeviceCertPem",
            /is not a CA certificate \(basicConstraints CA:TRUE missing\)/,
            plaintext,
        );
    });

    test("a CA whose keyUsage lacks keyCertSign is refused naming the key", () => {
        refuses(
            { ...valid, caRootCertPem: pems.crlOnly },
            "caRootCertPem",
            /= \[PEM CN=crl only\]: \(CN=crl only\) may not sign certificates \(keyUsage lacks keyCertSign\)/,
            plaintext,
        );
    });

    test("a device CA key of another certificate is refused naming caDeviceKeyPem, shown as [secret]", () => {
        refuses(
            { ...valid, caDeviceKeyPem: pems.rootKey },
            "caDeviceKeyPem",
            /^mqtt-edge:caDeviceKeyPem = \[secret\]: does not belong to mqtt-edge:caDeviceCertPem/,
            plaintext,
        );
    });

    test("a root key of another certificate is refused naming caRootKeyPem", () => {
        refuses(
            { ...valid, caRootKeyPem: pems.intermediateKey },
            "caRootKeyPem",
            /does not belong to mqtt-edge:caRootCertPem/,
            plaintext,
        );
    });

    test("a PEM whose base64 body is corrupted is refused naming the key", () => {
        const lines = pems.root.split("\n");
        // Flip characters in the middle of the body: still base64, no longer a certificate.
        lines[5] = (lines[5] ?? "").replace(/[A-Za-z]/g, (c) => (c === "A" ? "B" : "A"));
        refuses(
            { ...valid, caRootCertPem: lines.join("\n") },
            "caRootCertPem",
            /is not a parseable certificate/,
            plaintext,
        );
    });

    test("plaintext private keys are refused with the pulumi config set --secret command", () => {
        refuses(
            { ...valid, pki: {} },
            "caDeviceKeyPem",
            /^mqtt-edge:caDeviceKeyPem = \[secret\]: is in plaintext .*`pulumi config set --secret mqtt-edge:caDeviceKeyPem < CaIntermediate-key\.pem`/,
            plaintext,
        );
        refuses(
            { ...valid, pki: {} },
            "caRootKeyPem",
            /pulumi config set --secret mqtt-edge:caRootKeyPem < CaRoot-key\.pem/,
            { plaintextSecrets: ["caRootKeyPem"] },
        );
    });

    test("a root or device CA key rotation label is refused: that CA rotates where it lives", () => {
        refuses(
            { ...valid, pki: { allowPlaintextKeys: true, rotation: { root: "2027" } } },
            "pki.rotation.root",
            /= "2027": must stay unset with a bring-your-own CA/,
            plaintext,
        );
        const config = parseEdgeConfig(
            { ...valid, pki: { allowPlaintextKeys: true, rotation: { server: "2027" } } },
            plaintext,
        );
        assert.equal(config.pki.rotation.server, "2027");
    });

    test("keys given as secrets need no allowPlaintextKeys", () => {
        const config = parseEdgeConfig({ ...valid, pki: {} }, { plaintextSecrets: [] });
        assert.equal(config.pki.allowPlaintextKeys, false);
    });

    test("without caRootKeyPem (and no caRootCrlPem), pki.crl must be false, and then no CRL is configured", () => {
        const withoutRootKey = { ...valid, caRootKeyPem: undefined };
        refuses(withoutRootKey, "pki.crl", /needs the root.s CRL.*or pki\.crl: false/, plaintext);
        const config = parseEdgeConfig(
            { ...withoutRootKey, pki: { allowPlaintextKeys: true, crl: false } },
            plaintext,
        );
        assert.equal(config.pki.crl, false);
    });

    test("an encrypted key is not checked here (the program checks it), the certificates are", () => {
        const encrypted: ParseOptions = { encryptedSecrets: ["caDeviceKeyPem", "caRootKeyPem"] };
        const config = parseEdgeConfig(
            { caRootCertPem: pems.root, caDeviceCertPem: pems.intermediate },
            encrypted,
        );
        assert.equal(deviceIssuerCommonName(config), "intermediate.emqx.com");
        refuses(
            { caRootCertPem: pems.root, caDeviceCertPem: pems.device },
            "caDeviceCertPem",
            /is not a CA certificate/,
            encrypted,
        );
    });

    test("a CA outside its validity is refused; within 30 days of expiry it is a warning", () => {
        const rootNotAfter = new Date(new X509Certificate(pems.root).validTo);
        const afterExpiry = new Date(rootNotAfter.getTime() + 86_400_000);
        refuses(valid, "caRootCertPem", /is not valid now/, { ...plaintext, now: afterExpiry });
        const warnings: string[] = [];
        const tenDaysBefore = new Date(rootNotAfter.getTime() - 10 * 86_400_000);
        parseEdgeConfig(valid, {
            ...plaintext,
            now: tenDaysBefore,
            onWarning: (line) => aboutTheCa(line) && warnings.push(line),
        });
        assert.equal(warnings.length, 1, warnings.join("\n"));
        assert.match(warnings[0] ?? "", /^mqtt-edge:caRootCertPem \(.*\) expires in (9|10) days/);
        const fresh: string[] = [];
        parseEdgeConfig(valid, {
            ...plaintext,
            onWarning: (line) => aboutTheCa(line) && fresh.push(line),
        });
        assert.deepEqual(fresh, [], "a fresh chain has no warning");
    });
});
