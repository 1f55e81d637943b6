/**
 * How fast can we issue device certificates? Issues N ECDSA P-256 device certificates in
 * process, one after another (one signing at a time: one core's worth of work), and prints
 * certificates per minute, CPU time and peak RSS.
 *
 *   npm run bench:cert-device                  # 2000 certs from a throwaway ECDSA P-256 CA
 *   npm run bench:cert-device -- --count 5000 --write
 *   npm run bench:cert-device -- --ca-cert CaIntermediate.pem --ca-key CaIntermediate-key.pem
 *
 * The CA's key type matters: an RSA-2048 CA (the seed's cfssl chain) signs slower than ECDSA.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type IssuingCa, loadIssuingCa } from "../pki/ca.ts";
import {
    cliHelp,
    type FlagSpec,
    integerFlag,
    parseFlags,
    runCli,
    stringFlag,
} from "../pki/cli-flags.ts";
import { PkiInputError } from "../pki/input-error.ts";
import { readInputFile } from "../pki/input-file.ts";
import { issueDeviceCertificate } from "../pki/issue.ts";
import { createThrowawayCa } from "../pki/self-signed-ca.ts";
import { Progress } from "./progress.ts";

// One libuv worker thread: WebCrypto runs key generation and signing on the thread pool, which
// would otherwise spread over 4 threads. libuv sizes the pool when it is first used, which is
// after the imports above ran and before the first crypto call below.
process.env.UV_THREADPOOL_SIZE ??= "1";

const flagSpecs: Record<string, FlagSpec> = {
    count: { type: "string", help: "<n>  certificates to issue (default 2000)" },
    write: {
        type: "boolean",
        help: "also write key/cert/chain files to a temp dir (removed afterwards)",
    },
    "ca-cert": {
        type: "string",
        help: "<pem>  sign with this CA instead of a throwaway ECDSA P-256 one",
    },
    "ca-key": { type: "string", help: "<pem>  its private key" },
    quiet: { type: "boolean", help: "no progress line (it shows only on a terminal, after 2 s)" },
    help: { type: "boolean", help: "show this help" },
};

/** The goal this benchmark guards: a 1000-device batch within a minute. */
const targetPerMinute = 1000;

async function caFrom(
    flags: Record<string, string | boolean>,
): Promise<{ ca: IssuingCa; label: string }> {
    const certPath = stringFlag(flags, "ca-cert");
    const keyPath = stringFlag(flags, "ca-key");
    if ((certPath === undefined) !== (keyPath === undefined)) {
        throw new PkiInputError(
            `CA: ${certPath === undefined ? "--ca-cert" : "--ca-key"} missing; allowed: both or neither`,
        );
    }
    if (certPath !== undefined && keyPath !== undefined) {
        const ca = await loadIssuingCa(
            readInputFile("--ca-cert", certPath),
            readInputFile("--ca-key", keyPath),
            { certificate: `--ca-cert ${certPath}`, privateKey: `--ca-key ${keyPath}` },
            "certificates",
        );
        return { ca, label: `CA ${ca.certificate.subject}` };
    }
    const pem = await createThrowawayCa({ commonName: "bench throwaway CA", validityDays: 2 });
    const ca = await loadIssuingCa(
        pem.certificatePem,
        pem.privateKeyPem,
        { certificate: "throwaway CA", privateKey: "throwaway CA key" },
        "certificates",
    );
    return { ca, label: "throwaway ECDSA P-256 CA" };
}

await runCli("bench:cert-device", async () => {
    const flags = parseFlags(process.argv.slice(2), flagSpecs);
    if (flags.help === true) {
        process.stdout.write(
            cliHelp(
                {
                    usage: "npm run bench:cert-device [-- --count <n> --write --ca-cert <pem> --ca-key <pem>]",
                    summary:
                        "Prints the device-certificate issuance rate on one core and the peak memory; exit 1 below the target rate.",
                    examples: [
                        "npm run bench:cert-device",
                        "npm run bench:cert-device -- --count 5000 --write",
                    ],
                },
                flagSpecs,
            ),
        );
        return 0;
    }
    const count = integerFlag(flags, "count", 2000, 1, 1_000_000);
    const { ca, label } = await caFrom(flags);
    const outDir =
        flags.write === true ? mkdtempSync(join(tmpdir(), "bench-cert-device-")) : undefined;
    try {
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        const progress = new Progress({
            total: count,
            unit: "certificates",
            label: "bench:cert-device",
            quiet: flags.quiet === true,
        });
        for (let index = 1; index <= count; index++) {
            const commonName = `BENCH-${String(index).padStart(7, "0")}`;
            const issued = await issueDeviceCertificate(ca, {
                commonName,
                validityDays: 30,
                keySpec: { algorithm: "ecdsa", curve: "P-256" },
            });
            if (outDir !== undefined) {
                writeFileSync(join(outDir, `${commonName}.key`), issued.privateKeyPem, {
                    mode: 0o600,
                    flag: "wx",
                });
                writeFileSync(join(outDir, `${commonName}.crt`), issued.certificatePem, {
                    flag: "wx",
                });
                writeFileSync(
                    join(outDir, `${commonName}.chain.pem`),
                    issued.certificatePem + ca.certificatePem,
                    { flag: "wx" },
                );
            }
            progress.tick();
        }
        progress.finish();
        const seconds = (performance.now() - started) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        const perMinute = Math.round((count / seconds) * 60);
        const peakRssMb = (process.resourceUsage().maxRSS / 1024).toFixed(1);
        process.stdout.write(
            `issued ${count} ECDSA P-256 device certs (${label}${outDir ? ", written to disk" : ""}) in ${seconds.toFixed(2)} s: ${perMinute} certs/min, CPU ${cpuSeconds.toFixed(2)} s (${(cpuSeconds / seconds).toFixed(2)} cores), peak RSS ${peakRssMb} MB, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE}\n`,
        );
        if (perMinute < targetPerMinute) {
            process.stderr.write(
                `bench:cert-device: below the target of ${targetPerMinute} certs/min\n`,
            );
            return 1;
        }
        return 0;
    } finally {
        if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
    }
});
