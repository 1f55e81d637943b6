/**
 * A bring-your-own CA without its root key keeps revocation with `mqtt-edge:caRootCrlPem`: a CRL
 * the root's owner issued (here with cfssl, as the seed's operator would). A good one passes, each
 * wrong one is refused with one line naming the key before anything is rendered or declared, and
 * a chain with neither the root key nor a root CRL must still say `pki.crl: false`.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ParseOptions, parseEdgeConfig } from "../../infra/config.ts";
import { renderStackFiles } from "../../infra/stack-files.ts";
import { makeCfsslChain } from "../support/cfssl-chain.ts";
import { type CfsslRootCrls, makeCfsslRootCrls } from "../support/cfssl-root-crls.ts";
import { aboutTheCa, refuses as refusesConfig } from "./ca-config-checks.ts";

const plaintext: ParseOptions = { plaintextSecrets: ["caDeviceKeyPem"] };

function refuses(raw: Record<string, unknown>, key: string, pattern: RegExp, options = plaintext) {
    refusesConfig(raw, key, pattern, options);
}

describe("a supplied root CRL (mqtt-edge:caRootCrlPem) with the seed's cfssl chain", () => {
    let dir: string;
    let crls: CfsslRootCrls;
    /** BYO CA without the root key, with the valid root CRL. */
    let byo: Record<string, unknown>;

    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mqtt-edge-root-crl-config-"));
        const chain = await makeCfsslChain(dir);
        crls = await makeCfsslRootCrls(chain, dir);
        byo = {
            caRootCertPem: await readFile(chain.rootCert, "utf8"),
            caDeviceCertPem: await readFile(chain.intermediateCert, "utf8"),
            caDeviceKeyPem: await readFile(chain.intermediateKey, "utf8"),
            caRootCrlPem: crls.valid,
            pki: { allowPlaintextKeys: true },
        };
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    test("a current CRL from the root passes, and HAProxy gets a crl-file", () => {
        const warnings: string[] = [];
        const config = parseEdgeConfig(byo, {
            ...plaintext,
            onWarning: (line) => aboutTheCa(line) && warnings.push(line),
        });
        assert.equal(config.pki.crl, true);
        assert.deepEqual(warnings, []);
        const cfg = renderStackFiles(config, { stack: "dev" }).get("haproxy/haproxy.cfg") ?? "";
        assert.match(cfg, /crl-file \/etc\/haproxy\/ca\/crl\.pem/);
    });

    test("a CRL of another issuer (the intermediate's) is refused naming the key", () => {
        refuses(
            { ...byo, caRootCrlPem: crls.otherIssuer },
            "caRootCrlPem",
            /^mqtt-edge:caRootCrlPem = \[PEM X509 CRL\]: is not issued by mqtt-edge:caRootCertPem \(CN=emqx\.com.*\); allowed: a CRL of that root/,
        );
    });

    test("a CRL that names the root but another key signed is refused: signature", () => {
        refuses(
            { ...byo, caRootCrlPem: crls.forged },
            "caRootCrlPem",
            /its signature does not verify against that root's key; allowed: a CRL signed by that root/,
        );
    });

    test("a corrupted CRL is refused naming the key", () => {
        // One body line dropped: the DER no longer holds together.
        const lines = crls.valid.split("\n");
        const truncated = [...lines.slice(0, 3), ...lines.slice(4)].join("\n");
        refuses(
            { ...byo, caRootCrlPem: truncated },
            "caRootCrlPem",
            /is not a parseable CRL .*; allowed: the CRL file as the CA tool wrote it/,
        );
        // One character changed inside the signed part: still DER, no longer the root's signature.
        const body = lines[2] ?? "";
        const flipped = body.slice(0, 30) + (body[30] === "A" ? "B" : "A") + body.slice(31);
        refuses(
            { ...byo, caRootCrlPem: [...lines.slice(0, 2), flipped, ...lines.slice(3)].join("\n") },
            "caRootCrlPem",
            /is not a parseable CRL|does not verify against that root's key|is not issued by/,
        );
        refuses(
            {
                ...byo,
                caRootCrlPem: "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----",
            },
            "caRootCrlPem",
            /is not a parseable CRL/,
        );
    });

    test("an expired CRL is refused; one inside the 10-day refresh window passes with a warning", () => {
        const in31Days = new Date(Date.now() + 31 * 86_400_000);
        refuses({ ...byo }, "caRootCrlPem", /expired at its nextUpdate .*HAProxy would refuse/, {
            ...plaintext,
            now: in31Days,
        });
        const warnings: string[] = [];
        parseEdgeConfig(
            { ...byo, caRootCrlPem: crls.dueSoon },
            { ...plaintext, onWarning: (line) => aboutTheCa(line) && warnings.push(line) },
        );
        assert.equal(warnings.length, 1, warnings.join("\n"));
        assert.match(
            warnings[0] ?? "",
            /^mqtt-edge:caRootCrlPem reaches its nextUpdate in [67]\.\d days .*replace it with a newer CRL/,
        );
    });

    test("a CRL that revokes the device intermediate is refused", () => {
        refuses(
            { ...byo, caRootCrlPem: crls.revokesIntermediate },
            "caRootCrlPem",
            /revokes mqtt-edge:caDeviceCertPem \(CN=intermediate\.emqx\.com.*serial [0-9a-f]+\), so HAProxy would refuse every device/,
        );
    });

    test("it goes only with a BYO chain without root key, with CRLs on", () => {
        refuses(
            { caRootCrlPem: crls.valid },
            "caRootCrlPem",
            /only goes with a bring-your-own CA/,
            {},
        );
        refuses(
            { ...byo, pki: { allowPlaintextKeys: true, crl: false } },
            "caRootCrlPem",
            /not used with pki\.crl: false/,
        );
        refuses(
            { ...byo, caRootKeyPem: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----" },
            "caRootCrlPem",
            /not used with caRootKeyPem, which signs the root's CRL here/,
            { plaintextSecrets: ["caDeviceKeyPem", "caRootKeyPem"] },
        );
        refuses(
            { ...byo, caRootCrlPem: "not a CRL" },
            "caRootCrlPem",
            /must be a PEM CRL \(-----BEGIN X509 CRL-----\)/,
        );
    });

    test("without root key, root CRL and pki.crl: false, it is still refused", () => {
        refuses(
            { ...byo, caRootCrlPem: undefined },
            "pki.crl",
            /needs the root's CRL.*allowed: caRootCrlPem .*caRootKeyPem .*or pki\.crl: false/,
        );
        const off = parseEdgeConfig(
            { ...byo, caRootCrlPem: undefined, pki: { allowPlaintextKeys: true, crl: false } },
            plaintext,
        );
        const cfg = renderStackFiles(off, { stack: "dev" }).get("haproxy/haproxy.cfg") ?? "";
        assert.doesNotMatch(cfg, /crl-file/);
    });
});
