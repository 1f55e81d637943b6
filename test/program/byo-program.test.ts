/**
 * A bring-your-own CA set in the stack configuration, through the whole program under mocks, with
 * the seed's cfssl chain: without the root key (and `pki.crl: false`) the server certificate comes
 * from the device CA and no CRL is declared; with it, the root issues it and the CRLs are built;
 * a plaintext key without `pki.allowPlaintextKeys` stops the program before anything is declared.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeCfsslChain } from "../support/cfssl-chain.ts";
import type { ProgramRun } from "./run-program.ts";

const projectDir = new URL("../../", import.meta.url).pathname;

function runProgram(
    overrides: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            [join(projectDir, "test/program/run-program.ts"), "dev", ...overrides],
            { maxBuffer: 256 * 1024 * 1024, timeout: 120_000, killSignal: "SIGKILL" },
            (error, stdout, stderr) => {
                const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
                resolve({ code, stdout, stderr });
            },
        );
    });
}

describe("bring-your-own CA in a stack, whole program under mocks", { concurrency: 3 }, () => {
    let dir: string;
    const pem: Record<string, string> = {};
    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mqtt-edge-byo-program-"));
        await mkdir(join(dir, "cfssl"));
        const chain = await makeCfsslChain(join(dir, "cfssl"));
        pem.root = await readFile(chain.rootCert, "utf8");
        pem.rootKey = await readFile(chain.rootKey, "utf8");
        pem.int = await readFile(chain.intermediateCert, "utf8");
        pem.intKey = await readFile(chain.intermediateKey, "utf8");
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });
    const set = (key: string, value: unknown) => `${key}=${JSON.stringify(value)}`;
    const chainOverrides = () => [
        set("caRootCertPem", pem.root),
        set("caDeviceCertPem", pem.int),
        set("caDeviceKeyPem", pem.intKey),
        set("pki.allowPlaintextKeys", true),
    ];
    /** The server certificates the program asked the tls provider to sign, with their CA. */
    const serverCerts = (run: ProgramRun) =>
        run.resources.filter(
            (r) =>
                r.type === "tls:index/locallySignedCert:LocallySignedCert" &&
                r.name.includes("server"),
        );

    test("without caRootKeyPem and with pki.crl: false: device-CA-issued server cert, no CRL", async () => {
        const result = await runProgram([...chainOverrides(), set("pki.crl", false)]);
        assert.equal(result.code, 0, result.stderr.slice(-2000));
        const run = JSON.parse(result.stdout) as ProgramRun;
        assert.equal(run.resources.filter((r) => r.type === "mqtt-edge:pki:Crls").length, 0);
        const servers = serverCerts(run);
        assert.ok(servers.length > 0);
        for (const server of servers) assert.equal(server.inputs.caCertPem, pem.int);
        const all = JSON.stringify(run.resources);
        assert.match(all, /ssl_c_i_dn\(CN\) -m str 'intermediate\.emqx\.com'/);
        assert.doesNotMatch(all, /crl\.pem/);
    });

    test("with caRootKeyPem: root-issued server cert and the CRLs", async () => {
        const result = await runProgram([...chainOverrides(), set("caRootKeyPem", pem.rootKey)]);
        assert.equal(result.code, 0, result.stderr.slice(-2000));
        const run = JSON.parse(result.stdout) as ProgramRun;
        assert.equal(run.resources.filter((r) => r.type === "mqtt-edge:pki:Crls").length, 1);
        for (const server of serverCerts(run)) assert.equal(server.inputs.caCertPem, pem.root);
    });

    test("a plaintext key without allowPlaintextKeys stops the program with one line naming it", async () => {
        const result = await runProgram([
            set("caRootCertPem", pem.root),
            set("caDeviceCertPem", pem.int),
            set("caDeviceKeyPem", pem.intKey),
            set("pki.crl", false),
        ]);
        assert.notEqual(result.code, 0);
        assert.match(
            result.stderr,
            /ConfigError: mqtt-edge:caDeviceKeyPem = \[secret\]: is in plaintext in the stack file; allowed: a Pulumi secret - run `pulumi config set --secret mqtt-edge:caDeviceKeyPem < CaIntermediate-key\.pem`/,
        );
        assert.equal(result.stdout, "", "nothing declared");
        assert.doesNotMatch(result.stderr, /BEGIN [A-Z ]*PRIVATE KEY/);
    });
});
