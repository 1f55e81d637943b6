/**
 * How do CRLs grow, and can HAProxy swap a large one in? For each size (revoked entries under the
 * device intermediate), against an empty list measured in the same run:
 *
 *   1. `npm run crl` (scripts/crl.ts, the same command the program's Crls component runs): wall
 *      time and the size of the PEM it writes;
 *   2. a real HAProxy (Debian 2.6) with that file as `crl-file`: `haproxy -c` (what the apply
 *      script runs before a reload), a start until the admin socket answers, and the runtime swap
 *      (`set ssl crl-file` with the file as payload, then `commit ssl crl-file`) as the apply
 *      script does it for a CRL-only change, with HAProxy's answer.
 *
 *   npm run bench:crl                              # sizes 0, 10000, 100000
 *   npm run bench:crl -- --sizes 0,1000,10000
 *
 * Throwaway ECDSA P-256 CAs; nothing is written outside a temp dir, which is removed.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadIssuingCa } from "../pki/ca.ts";
import { type FlagSpec, flagsHelp, parseFlags, runCli, stringFlag } from "../pki/cli-flags.ts";
import { PkiInputError } from "../pki/input-error.ts";
import { issueDeviceCertificate } from "../pki/issue.ts";
import { formatRevocationFile, type RevocationEntry } from "../pki/revocations.ts";
import { createThrowawayCa } from "../pki/self-signed-ca.ts";
import { randomSerialHex } from "../pki/serial.ts";

const flagSpecs: Record<string, FlagSpec> = {
    sizes: { type: "string", help: "<n,n,...>  revoked entries per run (default 0,10000,100000)" },
};
const crlScript = fileURLToPath(new URL("./crl.ts", import.meta.url));

/** One size's figures. */
interface Figures {
    readonly entries: number;
    readonly buildSeconds: number;
    readonly bytes: number;
    readonly checkSeconds: number;
    readonly startSeconds: number;
    readonly setSeconds: number;
    readonly commitSeconds: number;
    readonly answer: string;
}

async function main(argv: string[]): Promise<number | undefined> {
    const flags = parseFlags(argv, flagSpecs);
    if (flags.help) {
        process.stdout.write(`npm run bench:crl -- [flags]\n${flagsHelp(flagSpecs)}\n`);
        return 0;
    }
    const sizesText = stringFlag(flags, "sizes") ?? "0,10000,100000";
    const sizes = sizesText.split(",").map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 0 || n > 1_000_000)) {
        throw new PkiInputError(
            `--sizes ${JSON.stringify(sizesText)} is not allowed; give whole numbers from 0 to 1000000, comma-separated`,
        );
    }
    const dir = mkdtempSync(join(tmpdir(), "mqtt-edge-bench-crl-"));
    try {
        const figures: Figures[] = [];
        const ca = await throwawayChain(dir);
        // One row per size as soon as it is measured: a large size can take minutes.
        process.stdout.write(`${HEADER}\n`);
        for (const entries of sizes) {
            const measured = await measure(dir, ca, entries);
            figures.push(measured);
            process.stdout.write(`${row(measured, figures[0])}\n`);
        }
        return 0;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

interface Chain {
    readonly rootCert: string;
    readonly rootKey: string;
    readonly intermediateCert: string;
    readonly intermediateKey: string;
    readonly intermediateKeyId: string;
    readonly serverPem: string;
}

async function throwawayChain(dir: string): Promise<Chain> {
    const root = await createThrowawayCa({ commonName: "bench root", validityDays: 2 });
    const rootCa = await loadIssuingCa(
        root.certificatePem,
        root.privateKeyPem,
        { certificate: "bench root", privateKey: "bench root key" },
        "certificates",
    );
    const intermediate = await createThrowawayCa({
        commonName: "bench intermediate",
        validityDays: 2,
        issuer: rootCa,
    });
    const intermediateCa = await loadIssuingCa(
        intermediate.certificatePem,
        intermediate.privateKeyPem,
        { certificate: "bench intermediate", privateKey: "bench intermediate key" },
        "certificates",
    );
    const server = await issueDeviceCertificate(intermediateCa, {
        commonName: "bench-haproxy",
        validityDays: 2,
        keySpec: { algorithm: "ecdsa", curve: "P-256" },
    });
    const file = (name: string, text: string) => {
        const path = join(dir, name);
        writeFileSync(path, text, { mode: 0o600 });
        return path;
    };
    return {
        rootCert: file("root.pem", root.certificatePem),
        rootKey: file("root-key.pem", root.privateKeyPem),
        intermediateCert: file("intermediate.pem", intermediate.certificatePem),
        intermediateKey: file("intermediate-key.pem", intermediate.privateKeyPem),
        intermediateKeyId: intermediateCa.keyId,
        serverPem: file("server.pem", server.certificatePem + server.privateKeyPem),
    };
}

async function measure(dir: string, ca: Chain, entries: number): Promise<Figures> {
    const revokedAt = new Date(Date.now() - 3_600_000).toISOString();
    const revoked: RevocationEntry[] = Array.from({ length: entries }, (_, i) => ({
        serial: randomSerialHex(),
        commonName: `DEVICE-${i}`,
        reason: "keyCompromise",
        revokedAt,
        issuerKeyId: ca.intermediateKeyId,
    }));
    const revocations = join(dir, `revocations-${entries}.json`);
    writeFileSync(revocations, formatRevocationFile({ revoked }));
    const crl = join(dir, `crl-${entries}.pem`);
    const started = process.hrtime.bigint();
    const build = spawnSync(
        process.execPath,
        [
            crlScript,
            ...["--revocations", revocations, "--out", crl],
            ...["--root-cert", ca.rootCert, "--root-key", ca.rootKey],
            ...[
                "--intermediate-cert",
                ca.intermediateCert,
                "--intermediate-key",
                ca.intermediateKey,
            ],
        ],
        { encoding: "utf8" },
    );
    const buildSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (build.status !== 0) throw new Error(`npm run crl failed: ${build.stderr.trim()}`);
    const swap = await loadIntoHaproxy(dir, ca, crl, entries);
    return { entries, buildSeconds, bytes: statSync(crl).size, ...swap };
}

/**
 * `haproxy -c` with `crl` as `crl-file` (what the apply script runs before a reload), a start
 * with it (until the admin socket answers), then the runtime swap of the same file as the apply
 * script does it for a CRL-only change.
 */
async function loadIntoHaproxy(
    dir: string,
    ca: Chain,
    crl: string,
    entries: number,
): Promise<
    Pick<Figures, "checkSeconds" | "startSeconds" | "setSeconds" | "commitSeconds" | "answer">
> {
    const socket = join(dir, `admin-${entries}.sock`);
    const chain = join(dir, "ca-chain.pem");
    writeFileSync(
        chain,
        readFileSync(ca.intermediateCert, "utf8") + readFileSync(ca.rootCert, "utf8"),
    );
    const port = await freePort();
    const cfg = join(dir, `haproxy-${entries}.cfg`);
    writeFileSync(
        cfg,
        [
            "global",
            `    stats socket ${socket} mode 600 level admin`,
            "defaults",
            "    mode tcp",
            "    timeout connect 2s",
            "    timeout client 2s",
            "    timeout server 2s",
            "frontend devices",
            `    bind 127.0.0.1:${port} ssl crt ${ca.serverPem} ca-file ${chain} verify required crl-file ${crl}`,
            "    tcp-request session reject",
            "",
        ].join("\n"),
    );
    const checkStarted = process.hrtime.bigint();
    const check = spawnSync("haproxy", ["-c", "-q", "-f", cfg], { encoding: "utf8" });
    const checkSeconds = seconds(checkStarted);
    if (check.status !== 0) throw new Error(`haproxy -c refused the CRL: ${check.stderr.trim()}`);

    const startStarted = process.hrtime.bigint();
    const haproxy = spawn("haproxy", ["-db", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    haproxy.stderr.on("data", (chunk) => {
        stderr += String(chunk);
    });
    try {
        await waitFor(
            () => existsSync(socket),
            120_000,
            () => `haproxy did not open ${socket}: ${stderr}`,
        );
        await runtime(socket, "show ssl crl-file\n");
        const startSeconds = seconds(startStarted);
        const payload = readFileSync(crl, "utf8");
        const setStarted = process.hrtime.bigint();
        const setAnswer = await runtime(socket, `set ssl crl-file ${crl} <<\n${payload}\n`).catch(
            (error: Error) => `no answer (${error.message})`,
        );
        const setSeconds = seconds(setStarted);
        const commitStarted = process.hrtime.bigint();
        const commitAnswer = setAnswer.includes("transaction created")
            ? await runtime(socket, `commit ssl crl-file ${crl}\n`)
            : "";
        const commitSeconds = seconds(commitStarted);
        const answer = commitAnswer.includes("Success")
            ? "committed"
            : `refused: ${(setAnswer + commitAnswer).trim().split("\n")[0]?.slice(0, 80)}`;
        return { checkSeconds, startSeconds, setSeconds, commitSeconds, answer };
    } finally {
        haproxy.kill("SIGTERM");
        await new Promise((resolve) => {
            if (haproxy.exitCode !== null) resolve(undefined);
            else haproxy.once("exit", resolve);
        });
    }
}

function seconds(since: bigint): number {
    return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Sends one command to the admin socket and returns everything HAProxy answers. */
function runtime(socket: string, command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const connection = createConnection(socket);
        let answer = "";
        connection.setTimeout(300_000, () => connection.destroy(new Error("runtime API timeout")));
        connection.on("data", (chunk) => {
            answer += String(chunk);
        });
        // HAProxy closes once it has answered; a reset after an answer is still that answer.
        connection.on("close", () => resolve(answer));
        connection.on("error", (error) => {
            if (answer === "") reject(error);
        });
        // Not end(): HAProxy answers one command, then closes; a half-close first resets it.
        connection.write(command);
    });
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() =>
                typeof address === "object" && address ? resolve(address.port) : reject(),
            );
        });
    });
}

async function waitFor(done: () => boolean, timeoutMs: number, why: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
        if (Date.now() > deadline) throw new Error(why());
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

const HEADER =
    "entries  crl build s (x first)  PEM bytes (B/entry)  haproxy -c s (x first)  start s (x first)  set s   commit s  runtime swap";

/** One size's row; ratios against the first size measured in the same run (0 by default). */
function row(f: Figures, reference: Figures | undefined): string {
    const ratio = (value: number, ref: number | undefined) =>
        ref ? `${(value / ref).toFixed(1)}x` : "-";
    const perEntry =
        f.entries > 0 && reference && reference.entries === 0
            ? ((f.bytes - reference.bytes) / f.entries).toFixed(1)
            : "-";
    return [
        String(f.entries).padStart(7),
        `${f.buildSeconds.toFixed(2)} (${ratio(f.buildSeconds, reference?.buildSeconds)})`.padStart(
            23,
        ),
        `${f.bytes} (${perEntry})`.padStart(21),
        `${f.checkSeconds.toFixed(2)} (${ratio(f.checkSeconds, reference?.checkSeconds)})`.padStart(
            24,
        ),
        `${f.startSeconds.toFixed(2)} (${ratio(f.startSeconds, reference?.startSeconds)})`.padStart(
            19,
        ),
        f.setSeconds.toFixed(3).padStart(7),
        f.commitSeconds.toFixed(3).padStart(10),
        `  ${f.answer}`,
    ].join("");
}

await runCli("bench-crl", () => main(process.argv.slice(2)));
