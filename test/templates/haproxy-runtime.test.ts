/**
 * Runs the rendered haproxy.cfg in a real HAProxy on loopback and asks the process itself what it
 * understood: the issuer pin is one pattern holding the whole CN (spaces and all, no `$`
 * expansion), the admin socket answers at admin level, the CRL is loaded, and the NLB health
 * endpoint follows the backend. Full device flows are the e2e tests' job (test/e2e).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type HaproxySpec, renderHaproxyCfg } from "../../templates/haproxy.ts";
import { type TestPkiFiles, writeTestPkiFiles } from "../support/test-pki-files.ts";
import { minimalSpec } from "./haproxy-specs.ts";

const issuerWithSpaces = "Test Device Intermediate CA";

let pki: TestPkiFiles;
let haproxy: ChildProcess | undefined;
let haproxyOutput = "";
let node: Server | undefined;
let spec: HaproxySpec;

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.ok(address && typeof address === "object");
    return address.port;
}

/** Polls `probe` until it returns a value other than undefined, or fails at the deadline. */
async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    ms = 5_000,
): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
        const value = await probe().catch(() => undefined);
        if (value !== undefined) return value;
        if (Date.now() > deadline)
            throw new Error(`timed out waiting for ${what}; haproxy said:\n${haproxyOutput}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

/** One runtime API command over the stats socket; resolves with the full answer. */
function runtimeApi(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = createConnection(spec.process.statsSocketPath);
        let answer = "";
        socket.setTimeout(2_000, () => socket.destroy(new Error(`no answer to ${command}`)));
        socket.on("connect", () => socket.write(`${command}\n`));
        socket.on("data", (chunk) => {
            answer += chunk.toString();
        });
        socket.on("end", () => resolve(answer));
        socket.on("error", reject);
    });
}

function healthStatus(): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = request(
            {
                host: spec.health.bind.address,
                port: spec.health.bind.port,
                path: spec.health.uri,
                timeout: 2_000,
            },
            (res) => {
                res.resume();
                resolve(res.statusCode ?? 0);
            },
        );
        req.on("timeout", () => req.destroy(new Error("health request timed out")));
        req.on("error", reject);
        req.end();
    });
}

before(async () => {
    pki = await writeTestPkiFiles();
    spec = minimalSpec(pki);
    spec.mqtts.bind.port = await freePort();
    spec.health.bind.port = await freePort();
    spec.backend.servers = [{ name: "node1", host: "127.0.0.1", port: await freePort() }];
    spec.mqtts.crlPath = pki.crlPath;
    spec.mqtts.deviceIssuerCommonName = issuerWithSpaces;
    const file = join(pki.dir, "haproxy.cfg");
    await writeFile(file, renderHaproxyCfg(spec));
    haproxy = spawn("haproxy", ["-f", file], { stdio: ["ignore", "pipe", "pipe"] });
    haproxy.stdout?.on("data", (chunk) => {
        haproxyOutput += chunk;
    });
    haproxy.stderr?.on("data", (chunk) => {
        haproxyOutput += chunk;
    });
    await waitFor("the stats socket", async () => (await runtimeApi("show info")) || undefined);
});

after(async () => {
    node?.close();
    if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
        const exited = new Promise((resolve) => haproxy?.once("exit", resolve));
        // SIGTERM to the master stops its workers too; SIGKILL if it has not gone in time.
        haproxy.kill("SIGTERM");
        const timer = setTimeout(() => haproxy?.kill("SIGKILL"), 3_000);
        await exited;
        clearTimeout(timer);
    }
    await pki?.remove();
});

test("the issuer pin is a single pattern equal to the whole CN", async () => {
    const acls = await runtimeApi("show acl");
    const pin = /^(\d+) \(\) acl 'ssl_c_i_dn' .*entry_cnt=(\d+)/m.exec(acls);
    assert.ok(pin, acls);
    assert.equal(pin[2], "1", acls);
    const entries = (await runtimeApi(`show acl #${pin[1]}`)).trim().split("\n");
    assert.deepEqual(
        entries.map((line) => line.replace(/^0x[0-9a-f]+ /, "")),
        [issuerWithSpaces],
    );
});

test("the stats socket is at admin level and can replace the CRL at run time", async () => {
    assert.equal((await runtimeApi("show cli level")).trim(), "admin");
    const crls = await runtimeApi("show ssl crl-file");
    assert.ok(crls.includes(pki.crlPath), crls);
    // The revocation path: upload a CRL bundle, then commit it to every bind that uses it.
    const pem = await readFile(pki.crlPath, "utf8");
    const set = await runtimeApi(`set ssl crl-file ${pki.crlPath} <<\n${pem}\n`);
    assert.match(set, /Transaction created|transaction updated/i, set);
    const commit = await runtimeApi(`commit ssl crl-file ${pki.crlPath}`);
    assert.match(commit, /Success!/, commit);
});

test("the NLB health endpoint fails while no node is up and passes once one is", async () => {
    assert.equal(
        await waitFor("503 with no node", async () =>
            (await healthStatus()) === 503 ? 503 : undefined,
        ),
        503,
    );
    const server = spec.backend.servers[0];
    assert.ok(server);
    node = createServer((socket) => socket.on("error", () => {}).resume());
    await new Promise<void>((resolve) => node?.listen(server.port, server.host, resolve));
    assert.equal(
        await waitFor("200 with a node up", async () =>
            (await healthStatus()) === 200 ? 200 : undefined,
        ),
        200,
    );
    await new Promise<void>((resolve) => node?.close(() => resolve()));
    node = undefined;
    assert.equal(
        await waitFor("503 after the node left", async () =>
            (await healthStatus()) === 503 ? 503 : undefined,
        ),
        503,
    );
});
