/**
 * Builds the seed document's CA chain with Debian's cfssl, exactly as the seed does it
 * (shared/seed, section 3: root, intermediate, device-a, emqx-server), so tests can prove that a
 * bring-your-own CA made that way works with our tools and configs.
 *
 * What cfssl 1.2.0 (Debian golang-cfssl) does with the seed's files, seen when writing this:
 * - every `gencert -ca=...` prints `[WARNING] This certificate lacks a "hosts" field`; harmless for
 *   the CA and device certs, but the emqx-server cert really has no subjectAltName, so a client
 *   that checks the host name against SANs (every modern TLS stack) rejects it as a server cert;
 * - the root comes from `-initca` with cfssl's default CA expiry (5 years) and no pathlen, while
 *   the `intermediate` profile gives 700800h (80 years): the intermediate outlives its root;
 * - the `device` profile puts BOTH clientAuth and serverAuth in the EKU of device certs, and the
 *   server cert (signed by the root) can therefore also act as a client cert;
 * - NotBefore is backdated by about 5 minutes; keys are RSA-2048, key files are mode 0600.
 * The warnings are returned in `warnings` so a test can show them.
 */
import { execFile } from "node:child_process";
import { copyFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Folder holding the seed's cfssl JSON files, byte for byte as the seed writes them. */
export const cfsslSeedFixtureDir = join(
    dirname(fileURLToPath(import.meta.url)),
    "..",
    "fixtures",
    "cfssl-seed",
);

/** The seed's JSON inputs, in the order the seed creates them. */
export const cfsslSeedJsonFiles = [
    "config.json",
    "root.json",
    "intermediate.json",
    "device-a-csr.json",
    "emqx-server-csr.json",
] as const;

/** The seed's commands (shared/seed section 3.1-3.4), verbatim, run in order with `sh -c`. */
export const cfsslSeedCommands = [
    "cfssl gencert -initca root.json | cfssljson -bare CaRoot",
    "cfssl gencert -ca=./CaRoot.pem -ca-key=./CaRoot-key.pem -config=./config.json -profile=intermediate ./intermediate.json | cfssljson -bare CaIntermediate",
    "cfssl gencert -ca=./CaIntermediate.pem -ca-key=./CaIntermediate-key.pem -config=./config.json -profile=device ./device-a-csr.json | cfssljson -bare device-a",
    "cfssl gencert -ca=./CaRoot.pem -ca-key=./CaRoot-key.pem -config=./config.json -profile=device ./emqx-server-csr.json | cfssljson -bare emqx-server",
] as const;

/** Absolute paths of everything the seed's commands produce. */
export interface CfsslChain {
    /** The folder the chain was written to (the caller's temp dir). */
    dir: string;
    /** Self-signed root CA certificate, PEM (`CaRoot.pem`). */
    rootCert: string;
    /** Root CA private key, PEM, RSA-2048 (`CaRoot-key.pem`). */
    rootKey: string;
    /** Intermediate CA certificate signed by the root, PEM (`CaIntermediate.pem`). */
    intermediateCert: string;
    /** Intermediate CA private key, PEM (`CaIntermediate-key.pem`). */
    intermediateKey: string;
    /** Device certificate `CN=DEVICEAXXXXXXXX` signed by the intermediate (`device-a.pem`). */
    deviceCert: string;
    /** Device private key (`device-a-key.pem`). */
    deviceKey: string;
    /** EMQX server certificate `CN=emqx.xxx.com` signed by the ROOT, as the seed does (`emqx-server.pem`). */
    serverCert: string;
    /** EMQX server private key (`emqx-server-key.pem`). */
    serverKey: string;
    /** `[WARNING] ...` lines cfssl printed on stderr (first line of each warning). */
    warnings: string[];
}

/** Generous per-command limit: each command takes well under a second on a 2-core CI box. */
const commandTimeoutMs = 30_000;

function runSeedCommand(command: string, cwd: string): Promise<string> {
    return new Promise((resolve, reject) => {
        // No pipefail in POSIX sh, but a failing cfssl leaves cfssljson with empty input, and
        // cfssljson then exits 1 ("Failed to parse input"), so the pipeline status is enough.
        execFile(
            "/bin/sh",
            ["-c", command],
            { cwd, timeout: commandTimeoutMs, killSignal: "SIGKILL" },
            (error, _stdout, stderr) => {
                if (error) {
                    reject(new Error(`cfssl seed command failed: ${command}\n${stderr}`));
                    return;
                }
                resolve(stderr);
            },
        );
    });
}

/**
 * Writes the seed's cfssl JSON files into `dir` and runs the seed's four commands there.
 * `dir` must exist and should be empty (a fresh `mkdtemp`).
 */
export async function makeCfsslChain(dir: string): Promise<CfsslChain> {
    for (const name of cfsslSeedJsonFiles) {
        await copyFile(join(cfsslSeedFixtureDir, name), join(dir, name));
    }
    const warnings: string[] = [];
    for (const command of cfsslSeedCommands) {
        const stderr = await runSeedCommand(command, dir);
        for (const line of stderr.split("\n")) {
            if (line.includes("[WARNING]")) warnings.push(line.replace(/^.*\[WARNING\]\s*/, ""));
        }
    }
    return {
        dir,
        rootCert: join(dir, "CaRoot.pem"),
        rootKey: join(dir, "CaRoot-key.pem"),
        intermediateCert: join(dir, "CaIntermediate.pem"),
        intermediateKey: join(dir, "CaIntermediate-key.pem"),
        deviceCert: join(dir, "device-a.pem"),
        deviceKey: join(dir, "device-a-key.pem"),
        serverCert: join(dir, "emqx-server.pem"),
        serverKey: join(dir, "emqx-server-key.pem"),
        warnings,
    };
}
