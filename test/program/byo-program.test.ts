/**
 * A bring-your-own CA set in the stack configuration, through the whole program under mocks, with
 * the seed's cfssl chain: without the root key (and `pki.crl: false`) the server certificate comes
 * from the device CA and no CRL is declared; with it, the root issues it and the CRLs are built;
 * without it but with a root CRL from cfssl (`caRootCrlPem`), the hosts get the device CA's CRL and
 * that one, and replacing the root CRL changes the CRL content and nothing that replaces a host;
 * a plaintext key without `pki.allowPlaintextKeys` stops the program before anything is declared.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makeCfsslChain } from "../support/cfssl-chain.ts";
import { makeCfsslRootCrls } from "../support/cfssl-root-crls.ts";
import { runOpenssl } from "../support/openssl.ts";
import type { ProgramRun, RecordedResource } from "./run-program.ts";

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
        pem.device = chain.deviceCert;
        const crls = await makeCfsslRootCrls(chain, join(dir, "cfssl"));
        pem.rootCrl = crls.valid;
        // Another current CRL of the same root, as its owner would issue the next one.
        pem.nextRootCrl = crls.dueSoon;
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

    /** The BYO stack without root key and with CRLs off (started once, two tests read it). */
    let crlOffRun: Promise<ProgramRun> | undefined;
    const withCrlOff = (): Promise<ProgramRun> => {
        crlOffRun ??= runProgram([...chainOverrides(), set("pki.crl", false)]).then((result) => {
            assert.equal(result.code, 0, result.stderr.slice(-2000));
            return JSON.parse(result.stdout) as ProgramRun;
        });
        crlOffRun.catch(() => {});
        return crlOffRun;
    };

    test("without caRootKeyPem and with pki.crl: false: device-CA-issued server cert, no CRL", async () => {
        const run = await withCrlOff();
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

    /** Runs of the same BYO stack without root key, each with one root CRL (started once). */
    const rootCrlRuns = new Map<string, Promise<ProgramRun>>();
    const withRootCrl = (crl: string): Promise<ProgramRun> => {
        if (!rootCrlRuns.has(crl)) {
            const run = runProgram([...chainOverrides(), set("caRootCrlPem", crl)]).then(
                (result) => {
                    assert.equal(result.code, 0, result.stderr.slice(-2000));
                    return JSON.parse(result.stdout) as ProgramRun;
                },
            );
            // A failed run is reported by the test that awaits it.
            run.catch(() => {});
            rootCrlRuns.set(crl, run);
        }
        return rootCrlRuns.get(crl) as Promise<ProgramRun>;
    };
    const crlObject = (run: ProgramRun) => {
        const found = run.resources.filter(
            (r) =>
                r.type === "aws:s3/bucketObjectv2:BucketObjectv2" &&
                String(r.inputs.key).endsWith("/haproxy/crl.pem"),
        );
        assert.equal(found.length, 1);
        return found[0] as RecordedResource;
    };

    test("without caRootKeyPem, with caRootCrlPem: the hosts get the device CA's CRL and the root's as supplied", async () => {
        const run = await withRootCrl(pem.rootCrl as string);
        assert.equal(run.resources.filter((r) => r.type === "mqtt-edge:pki:Crls").length, 1);
        for (const server of serverCerts(run)) assert.equal(server.inputs.caCertPem, pem.int);
        const all = JSON.stringify(run.resources);
        assert.match(all, /crl-file \/etc\/haproxy\/ca\/crl\.pem/);
        const content = String(crlObject(run).inputs.content);
        const blocks = content.match(/-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----\n/g);
        assert.equal(blocks?.length, 2);
        assert.equal(blocks?.[1], pem.rootCrl);
        assert.deepEqual(run.outputs.rootCrlPem, { value: pem.rootCrl, secret: false });
        assert.equal(run.outputs.rootKeyPem, undefined);
        // What HAProxy's crl-file makes OpenSSL do: check every level of the device's chain.
        const crlFile = join(dir, "program-crl.pem");
        const caFile = join(dir, "program-ca.pem");
        await writeFile(crlFile, content);
        await writeFile(caFile, `${pem.root}${pem.int}`);
        const verified = await runOpenssl([
            "verify",
            "-crl_check_all",
            "-CRLfile",
            crlFile,
            "-CAfile",
            caFile,
            pem.device as string,
        ]);
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    });

    test("replacing the root CRL changes the CRL content in place and replaces no host", async () => {
        const [before, after] = await Promise.all([
            withRootCrl(pem.rootCrl as string),
            withRootCrl(pem.nextRootCrl as string),
        ]);
        const key = (r: RecordedResource) => `${r.type} ${r.name}`;
        assert.deepEqual(after.resources.map(key).sort(), before.resources.map(key).sort());
        const old = new Map(before.resources.map((r) => [key(r), r]));
        const changed = after.resources
            // Every run makes fresh server and test device keys: what holds them differs anyway.
            .filter((r) => !r.type.startsWith("tls:"))
            .filter((r) => !JSON.stringify(r.inputs).includes("PRIVATE KEY"))
            .filter((r) => JSON.stringify(old.get(key(r))?.inputs) !== JSON.stringify(r.inputs))
            .map(key)
            .sort();
        assert.deepEqual(changed, [
            "aws:s3/bucketObjectv2:BucketObjectv2 haproxy-files-crl.pem",
            // State Manager's association re-runs the apply script, which swaps the CRL in
            // through the runtime API (its parameters hash every file, fresh server keys too).
            "aws:ssm/association:Association haproxy-sync-apply",
        ]);
        assert.ok(String(crlObject(after).inputs.content).endsWith(pem.nextRootCrl as string));
        // The CRL build re-runs because its input hash covers the root CRL (not only stdin).
        const build = (r: ProgramRun) =>
            r.resources.find((x) => x.type === "command:local:Command" && x.name === "crls-build");
        assert.notEqual(build(after)?.inputs.environment, build(before)?.inputs.environment);
        // Hosts: the launch template (user-data), the group and the EMQX instances are the same.
        for (const type of [
            "aws:ec2/launchTemplate:LaunchTemplate",
            "aws:autoscaling/group:Group",
            "aws:ec2/instance:Instance",
        ]) {
            const of = (r: ProgramRun) =>
                JSON.stringify(r.resources.filter((x) => x.type === type).map((x) => x.inputs));
            assert.ok(of(before).length > 2, type);
            assert.equal(of(after), of(before), type);
        }
    });

    test("turning revocation on (pki.crl: false to caRootCrlPem) rolls the HAProxy group, not EMQX", async () => {
        const [off, on] = await Promise.all([withCrlOff(), withRootCrl(pem.rootCrl as string)]);
        const key = (r: RecordedResource) => `${r.type} ${r.name}`;
        const before = new Map(off.resources.map((r) => [key(r), r]));
        const added = on.resources.map(key).filter((k) => !before.has(k));
        for (const expected of [
            "mqtt-edge:pki:Crls crls",
            "aws:s3/bucketObjectv2:BucketObjectv2 haproxy-files-crl.pem",
            "aws:cloudwatch/metricAlarm:MetricAlarm alarms-crl-next-update",
        ]) {
            assert.ok(added.includes(expected), `${expected} added: ${added.join(", ")}`);
        }
        const inputsOf = (run: ProgramRun, k: string) =>
            JSON.stringify(run.resources.find((r) => key(r) === k)?.inputs);
        // The hosts fetch the CRL at boot: new user-data, so the group's instance refresh rolls
        // the HAProxy hosts one by one (docs/aws.md); the EMQX nodes never see a CRL.
        const launch = "aws:ec2/launchTemplate:LaunchTemplate haproxy-launch";
        assert.notEqual(inputsOf(on, launch), inputsOf(off, launch));
        const emqx = (run: ProgramRun) =>
            JSON.stringify(
                run.resources
                    .filter((r) => r.type === "aws:ec2/instance:Instance")
                    .map((r) => r.inputs),
            );
        assert.equal(emqx(on), emqx(off));
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
