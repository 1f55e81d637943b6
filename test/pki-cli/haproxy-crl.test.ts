/**
 * The whole revocation path against a real HAProxy on loopback: devices connect over mutual
 * TLS; one is revoked, the CRL rebuilt and swapped in through the runtime API
 * (`set ssl crl-file` + `commit ssl crl-file`, as docs/revocation.md tells operators), and from
 * then on only that device is refused - without restarting HAProxy.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, connect as netConnect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { formatRevocationFile, parseRevocationFile } from "../../pki/revocations.ts";
import { randomSerialHex } from "../../pki/serial.ts";
import { type CfsslChain, makeCfsslChain } from "../support/cfssl-chain.ts";
import { runScript } from "./run-process.ts";

let work: string;
let chain: CfsslChain;
let haproxy: ChildProcess | undefined;
let haproxyOutput = "";
let backend: Server | undefined;
let frontendPort = 0;
let adminSocket: string;
let crlPath: string;
let configPath: string;
const deadlineMs = 10_000;

/** `npm run crl` for the test's revocation list and chain, into crlPath. */
function buildCrlFile() {
    return runScript("crl", [
        "--stack",
        "edge",
        "--dir",
        join(work, "revocations"),
        ...chainFlags(),
        "--out",
        crlPath,
    ]);
}

function chainFlags(): string[] {
    return [
        "--root-cert",
        chain.rootCert,
        "--root-key",
        chain.rootKey,
        "--intermediate-cert",
        chain.intermediateCert,
        "--intermediate-key",
        chain.intermediateKey,
    ];
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const address = probe.address();
    await new Promise((resolve) => probe.close(resolve));
    assert.ok(address && typeof address === "object");
    return address.port;
}

/** Resolves once something accepts TCP on the port, polling until the deadline. */
async function waitForPort(port: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
        const open = await new Promise<boolean>((resolve) => {
            const socket = netConnect(port, "127.0.0.1");
            socket.once("connect", () => {
                socket.destroy();
                resolve(true);
            });
            socket.once("error", () => resolve(false));
        });
        if (open) return;
        if (haproxy?.exitCode !== null) throw new Error(`haproxy exited: ${haproxyOutput}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`port ${port} not open within ${deadlineMs} ms: ${haproxyOutput}`);
}

/** Connects as a device; resolves with the backend's greeting or the TLS error message. */
function connectAsDevice(name: string): Promise<string> {
    return (async () => {
        const [cert, key, ca] = await Promise.all([
            readFile(join(work, "devices", `${name}.chain.pem`)),
            readFile(join(work, "devices", `${name}.key`)),
            readFile(chain.rootCert),
        ]);
        return new Promise<string>((resolve) => {
            const socket = tlsConnect({
                host: "127.0.0.1",
                port: frontendPort,
                cert,
                key,
                ca,
                // The seed's server cert has no subjectAltName; this test is about the client cert.
                checkServerIdentity: () => undefined,
            });
            const timer = setTimeout(() => {
                socket.destroy();
                resolve("timeout");
            }, deadlineMs);
            let received = "";
            socket.on("data", (chunk) => {
                received += chunk.toString();
                if (received.includes("\n")) {
                    clearTimeout(timer);
                    socket.destroy();
                    resolve(received.trim());
                }
            });
            socket.on("error", (error) => {
                clearTimeout(timer);
                socket.destroy();
                resolve(`error: ${error.message}`);
            });
            socket.on("end", () => {
                clearTimeout(timer);
                resolve(received.trim() || "closed");
            });
        });
    })();
}

/** Sends one command to HAProxy's runtime API and returns its answer. */
function runtimeApi(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = netConnect(adminSocket);
        let answer = "";
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`runtime API timeout: ${command.slice(0, 40)}`));
        }, deadlineMs);
        socket.on("data", (chunk) => {
            answer += chunk.toString();
        });
        socket.on("end", () => {
            clearTimeout(timer);
            resolve(answer);
        });
        socket.on("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        socket.end(command);
    });
}

before(async () => {
    work = await mkdtemp(join(tmpdir(), "pki-cli-haproxy-"));
    await mkdir(join(work, "cfssl"));
    chain = await makeCfsslChain(join(work, "cfssl"));
    const issued = await runScript("cert-device", [
        "--ca-cert",
        chain.intermediateCert,
        "--ca-key",
        chain.intermediateKey,
        "--prefix",
        "DEV-",
        "--count",
        "2",
        "--out",
        join(work, "devices"),
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    await mkdir(join(work, "revocations"));
    crlPath = join(work, "crl.pem");
    const built = await buildCrlFile();
    assert.equal(built.code, 0, built.stderr);

    backend = createServer((socket) => socket.end("hello from backend\n"));
    await new Promise<void>((resolve) => backend?.listen(0, "127.0.0.1", resolve));
    const backendAddress = backend.address();
    assert.ok(backendAddress && typeof backendAddress === "object");

    const serverPem = join(work, "server-allinone.pem");
    await writeFile(
        serverPem,
        (await readFile(chain.serverKey, "utf8")) + (await readFile(chain.serverCert, "utf8")),
    );
    adminSocket = join(work, "admin.sock");
    frontendPort = await freePort();
    const config = join(work, "haproxy.cfg");
    await writeFile(
        config,
        [
            "global",
            `    stats socket ${adminSocket} mode 600 level admin`,
            "defaults",
            "    mode tcp",
            "    timeout connect 5s",
            "    timeout client 30s",
            "    timeout server 30s",
            "frontend mqtt-tls",
            `    bind 127.0.0.1:${frontendPort} ssl crt ${serverPem} ca-file ${chain.intermediateCert} ca-verify-file ${chain.rootCert} verify required crl-file ${crlPath}`,
            "    default_backend greeter",
            "backend greeter",
            `    server greeter 127.0.0.1:${backendAddress.port}`,
            "",
        ].join("\n"),
    );
    configPath = config;
    await startHaproxy();
});

/** Starts HAProxy on the config and waits until it accepts devices. */
async function startHaproxy(): Promise<void> {
    haproxyOutput = "";
    haproxy = spawn("haproxy", ["-db", "-f", configPath], { stdio: ["ignore", "pipe", "pipe"] });
    haproxy.stdout?.on("data", (chunk) => {
        haproxyOutput += chunk;
    });
    haproxy.stderr?.on("data", (chunk) => {
        haproxyOutput += chunk;
    });
    await waitForPort(frontendPort);
}

async function stopHaproxy(): Promise<void> {
    if (haproxy && haproxy.exitCode === null) {
        const exited = new Promise((resolve) => haproxy?.once("exit", resolve));
        haproxy.kill("SIGKILL");
        await exited;
    }
}

after(async () => {
    await stopHaproxy();
    await new Promise((resolve) => (backend ? backend.close(resolve) : resolve(undefined)));
    await rm(work, { recursive: true, force: true });
});

test("both devices connect while nothing is revoked", async () => {
    assert.equal(await connectAsDevice("DEV-0001"), "hello from backend");
    assert.equal(await connectAsDevice("DEV-0002"), "hello from backend");
});

test("after revoke + crl + set/commit ssl crl-file, only the revoked device is refused", async () => {
    const revoked = await runScript("revoke", [
        "--stack",
        "edge",
        "--dir",
        join(work, "revocations"),
        "--cert",
        join(work, "devices", "DEV-0001.crt"),
        "--reason",
        "keyCompromise",
    ]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const built = await buildCrlFile();
    assert.equal(built.code, 0, built.stderr);

    const crl = (await readFile(crlPath, "utf8")).trimEnd();
    const set = await runtimeApi(`set ssl crl-file ${crlPath} <<\n${crl}\n\n`);
    assert.match(set, /transaction created for CRL/i, set);
    const commit = await runtimeApi(`commit ssl crl-file ${crlPath}\n`);
    assert.match(commit, /Success/, commit);

    const refused = await connectAsDevice("DEV-0001");
    // OpenSSL's TLS alert 44, certificate_revoked, as seen by the device.
    assert.match(refused, /alert certificate revoked/, refused);
    assert.notEqual(refused, "hello from backend");
    assert.equal(await connectAsDevice("DEV-0002"), "hello from backend");
    assert.equal(haproxy?.exitCode, null, "the same HAProxy process, never restarted");
});

test("100,000 revocations: npm run crl builds them, crl --check reads them, HAProxy loads them on a restart and refuses the one device among them", async () => {
    const listPath = join(work, "revocations", "edge.json");
    const list = parseRevocationFile(await readFile(listPath, "utf8"), listPath);
    const device = list.revoked[0];
    assert.ok(device, "DEV-0001 revoked by the test before");
    const revokedAt = device.revokedAt;
    const others = Array.from({ length: 99_999 }, (_, i) => ({
        serial: randomSerialHex(),
        commonName: `BULK-${i}`,
        reason: "keyCompromise" as const,
        revokedAt,
        issuerKeyId: device.issuerKeyId,
    }));
    await writeFile(listPath, formatRevocationFile({ revoked: [...list.revoked, ...others] }));
    const built = await buildCrlFile();
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /100000 revoked/);
    const checked = await runScript("crl", ["--check", crlPath]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^ok .*, 100000 revoked$/m);
    assert.match(checked.stdout, /^ok .*, 0 revoked$/m, "the root's CRL, empty");

    // Far past tune.bufsize: the runtime API cannot carry it, which is why the apply script
    // falls back to a reload for a CRL this size (docs/revocation.md).
    const crl = (await readFile(crlPath, "utf8")).trimEnd();
    const set = await runtimeApi(`set ssl crl-file ${crlPath} <<\n${crl}\n\n`).catch(
        (error: Error) => `no answer: ${error.message}`,
    );
    assert.doesNotMatch(set, /transaction created/i, set.slice(0, 200));

    await stopHaproxy();
    await startHaproxy();
    const refused = await connectAsDevice("DEV-0001");
    assert.match(refused, /alert certificate revoked/, refused);
    assert.equal(await connectAsDevice("DEV-0002"), "hello from backend");
});
