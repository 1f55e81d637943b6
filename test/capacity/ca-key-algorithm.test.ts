/**
 * Which CA key algorithm prices a stack's full connects: the configured one, or for a
 * bring-your-own CA the costlier of its certificates' keys, read from the PEMs.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { chainCostAlgorithm, keyAlgorithmOfCertificate } from "../../capacity/ca-key-algorithm.ts";
import { loadCapacityFigures } from "../../capacity/figures.ts";

const work = mkdtempSync(join(tmpdir(), "mqtt-edge-ca-alg-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** A self-signed CA certificate with a key made by `newkey` openssl arguments. */
function caCert(name: string, newkey: string[]): string {
    const out = join(work, `${name}.pem`);
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            ...newkey,
            "-nodes",
            "-keyout",
            join(work, `${name}-key.pem`),
            "-out",
            out,
            "-days",
            "1",
            "-subj",
            `/CN=${name}`,
        ],
        { stdio: "ignore" },
    );
    return readFileSync(out, "utf8");
}

const f = loadCapacityFigures();
const pki = { caKeyAlgorithm: "rsa-3072" } as const;

describe("the CA key algorithm that prices a full connect", () => {
    const rsa2048 = caCert("rsa2048", ["-newkey", "rsa:2048"]);
    const p384 = caCert("p384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]);
    const p521 = caCert("p521", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"]);

    test("read from a certificate's key", () => {
        assert.equal(keyAlgorithmOfCertificate(rsa2048), "rsa-2048");
        assert.equal(keyAlgorithmOfCertificate(p384), "ecdsa-p384");
        assert.equal(keyAlgorithmOfCertificate(p521), undefined, "no figure for P-521");
        assert.equal(keyAlgorithmOfCertificate("not a certificate"), undefined);
    });

    test("a generated chain: pki.caKeyAlgorithm", () => {
        assert.equal(chainCostAlgorithm({ pki }, f), "rsa-3072");
        assert.equal(
            chainCostAlgorithm({ pki: { caKeyAlgorithm: "ecdsa-p384" } }, f),
            "ecdsa-p384",
        );
    });

    test("a bring-your-own CA: its certificates, the costlier one when they differ", () => {
        assert.equal(
            chainCostAlgorithm({ pki, caRootCertPem: rsa2048, caDeviceCertPem: rsa2048 }, f),
            "rsa-2048",
        );
        const mixed = chainCostAlgorithm({ pki, caRootCertPem: p384, caDeviceCertPem: rsa2048 }, f);
        assert.equal(
            mixed,
            f.fullConnectUs["ecdsa-p384"] > f.fullConnectUs["rsa-2048"] ? "ecdsa-p384" : "rsa-2048",
        );
    });

    test("a key without a figure counts as the costliest measured", () => {
        const costliest = Object.entries(f.fullConnectUs).reduce((a, b) =>
            b[1] > a[1] ? b : a,
        )[0];
        assert.equal(
            chainCostAlgorithm({ pki, caRootCertPem: p521, caDeviceCertPem: rsa2048 }, f),
            costliest,
        );
    });
});
