/**
 * `npm run render` end to end: the CLI as a child process, its files checked by the programs
 * that will read them (haproxy -c -dW, a HOCON parser plus the EMQX key allow-list).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { parseEdgeConfig } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { auditEmqxConfig } from "../../templates/emqx-schema-keys.ts";
import { renderTicketKeysFile, TICKET_SEED_BYTES } from "../../templates/tls-ticket-keys.ts";
import { makeCfsslChain } from "../support/cfssl-chain.ts";
import { committedStacks } from "../support/committed-stacks.ts";
import { checkHaproxyConfig } from "../support/haproxy-check.ts";
import { parseHocon } from "../support/hocon.ts";
import { type TestPkiFiles, writeTestPkiFiles } from "../support/test-pki-files.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;
const renderScript = join(projectDir, "scripts/render.ts");

async function render(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const { stdout, stderr } = await run(process.execPath, [renderScript, ...args]);
        return { code: 0, stdout, stderr };
    } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
}

async function listFiles(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * The files a rendered haproxy.cfg names on a host, created under `root` with a throw-away PKI,
 * and the config rewritten to point there (only file paths differ from what the hosts get).
 */
async function materialise(config: string, root: string, pki: TestPkiFiles): Promise<string> {
    const rewritten = config
        .replaceAll(" /etc/haproxy/", ` ${root}/etc/haproxy/`)
        .replaceAll(" /run/haproxy-tls/", ` ${root}/run/haproxy-tls/`);
    // The shared session ticket keys, as the host's ticket key script derives them.
    const ticketKeys = / tls-ticket-keys (\/\S+)/.exec(rewritten)?.[1];
    if (ticketKeys) {
        await mkdir(join(ticketKeys, ".."), { recursive: true });
        const seed = "ab".repeat(TICKET_SEED_BYTES);
        await writeFile(ticketKeys, renderTicketKeysFile(seed, Date.now() / 1000, 3600));
    }
    for (const [, path] of rewritten.matchAll(/ (\/\S+\.pem)/g)) {
        if (!path) continue;
        await mkdir(join(path, ".."), { recursive: true });
        const source = path.endsWith("crl.pem")
            ? pki.crlPath
            : path.includes("device-intermediate")
              ? pki.intermediateCaPath
              : path.endsWith("root.pem")
                ? pki.rootCaPath
                : path.includes("rsa")
                  ? pki.serverRsaPemPath
                  : pki.serverEcdsaPemPath;
        await copyFile(source, path);
    }
    return rewritten;
}

describe("npm run render", () => {
    let work: string;
    let pki: TestPkiFiles;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "mqtt-edge-render-"));
        pki = await writeTestPkiFiles();
    });
    after(async () => {
        await rm(work, { recursive: true, force: true });
        await pki?.remove();
    });

    for (const stack of committedStacks(projectDir)) {
        describe(`stack ${stack}`, () => {
            let out: string;
            before(async () => {
                out = join(work, stack);
                const result = await render(["--stack", stack, "--out", out]);
                assert.equal(result.code, 0, result.stderr);
            });

            test("haproxy.cfg passes haproxy -c -dW once the files it names exist", async () => {
                const config = await readFile(join(out, "haproxy/haproxy.cfg"), "utf8");
                const local = await materialise(config, join(work, `${stack}-root`), pki);
                const result = await checkHaproxyConfig(local);
                assert.equal(result.exitCode, 0, result.output);
            });

            test("every emqx.conf parses as HOCON and writes only EMQX 5.8 keys", async () => {
                const confs = (await listFiles(join(out, "emqx"))).filter((f) =>
                    f.endsWith(".conf"),
                );
                assert.ok(confs.length >= 1);
                for (const file of confs) {
                    const parsed = await parseHocon(await readFile(file, "utf8"));
                    assert.deepEqual(auditEmqxConfig(parsed), [], file);
                }
            });
        });
    }

    test("dev: verify required, issuer pinning, CN to EMQX, its maxconn; 2 listener ports per EMQX node", async () => {
        const out = join(work, "dev");
        const config = parseEdgeConfig(readStackFile(projectDir, "dev").raw);
        const haproxy = await readFile(join(out, "haproxy/haproxy.cfg"), "utf8");
        assert.match(haproxy, /^ {4}bind .* ssl .* verify required/m);
        assert.match(
            haproxy,
            /tcp-request session reject unless \{ ssl_c_i_dn\(CN\) -m str 'mqtt-edge Device Intermediate CA' \}/,
        );
        const servers = haproxy.split("\n").filter((l) => l.trim().startsWith("server "));
        // maxconn 250000 with one of 3 nodes spare: 2 x 64512 ports per node is the first that
        // covers it, so one line per node and port
        assert.equal(servers.length, config.emqx.nodes * 2);
        for (const port of [1883, 1884]) {
            assert.equal(servers.filter((l) => l.includes(`:${port} `)).length, config.emqx.nodes);
        }
        for (const line of servers) assert.match(line, / send-proxy-v2-ssl-cn check /);
        const maxconn = config.haproxy.maxconn;
        assert.match(haproxy, new RegExp(`^global\\n(?: {4}.*\\n)* {4}maxconn ${maxconn}$`, "m"));
        assert.match(
            haproxy,
            new RegExp(`^frontend mqtts\\n(?: {4}.*\\n)* {4}maxconn ${maxconn}$`, "m"),
        );
        // The exporter and stats page have no authentication: loopback only on the hosts.
        assert.match(haproxy, /^frontend admin\n {4}bind 127\.0\.0\.1:8405$/m);
        const confs = (await listFiles(join(out, "emqx"))).filter((f) => f.endsWith(".conf"));
        assert.equal(confs.length, config.emqx.nodes);
        for (const file of confs) {
            const text = await readFile(file, "utf8");
            assert.equal(text.match(/proxy_protocol = true/g)?.length, 2);
            assert.equal(
                text.match(
                    new RegExp(`max_connections = ${config.emqx.maxConnections / 2}\\b`, "g"),
                )?.length,
                2,
            );
            assert.match(text, /bind = "0\.0\.0\.0:1884"/);
        }
    });

    test("an unknown stack exits non-zero with one line and writes nothing", async () => {
        const out = join(work, "nosuch");
        const result = await render(["--stack", "nosuch", "--out", out]);
        assert.notEqual(result.code, 0);
        assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
        assert.match(result.stderr, /unknown stack "nosuch"/);
        assert.deepEqual(await listFiles(out), []);
    });

    test("a stack file with maxconn -1 exits non-zero naming the key and writes nothing", async () => {
        const stackName = `test-bad-${process.pid}`;
        const stackFile = join(projectDir, `Pulumi.${stackName}.yaml`);
        await writeFile(stackFile, "config:\n  mqtt-edge:haproxy:\n    maxconn: -1\n");
        try {
            const out = join(work, stackName);
            const result = await render(["--stack", stackName, "--out", out]);
            assert.notEqual(result.code, 0);
            assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
            assert.match(result.stderr, /mqtt-edge:haproxy\.maxconn = -1: must be an integer/);
            assert.deepEqual(await listFiles(out), []);
        } finally {
            await rm(stackFile, { force: true });
        }
    });

    test("an existing CA: the pin is the intermediate's own CN; encrypted secrets are never rendered", async () => {
        const chainDir = join(work, "cfssl");
        await mkdir(chainDir);
        const chain = await makeCfsslChain(chainDir);
        const stackName = `test-byo-${process.pid}`;
        const stackFile = join(projectDir, `Pulumi.${stackName}.yaml`);
        const indent = (pem: string) =>
            pem
                .trim()
                .split("\n")
                .map((l) => `      ${l}`)
                .join("\n");
        await writeFile(
            stackFile,
            [
                "config:",
                "  mqtt-edge:caRootCertPem: |",
                indent(await readFile(chain.rootCert, "utf8")),
                "  mqtt-edge:caDeviceCertPem: |",
                indent(await readFile(chain.intermediateCert, "utf8")),
                "  mqtt-edge:caDeviceKeyPem:",
                "    secure: v1:AAAAencryptedAAAA",
                "  mqtt-edge:emqxLicenseKey:",
                "    secure: v1:BBBBencryptedBBBB",
                "  mqtt-edge:emqx:",
                "    version: 5.9.1",
                "  mqtt-edge:pki:",
                "    crl: false",
                "",
            ].join("\n"),
        );
        try {
            const out = join(work, stackName);
            const result = await render(["--stack", stackName, "--out", out]);
            assert.equal(result.code, 0, result.stderr);
            const haproxy = await readFile(join(out, "haproxy/haproxy.cfg"), "utf8");
            // The seed's intermediate (cfssl) is named intermediate.emqx.com.
            assert.match(haproxy, /ssl_c_i_dn\(CN\) -m str 'intermediate\.emqx\.com'/);
            assert.doesNotMatch(haproxy, /crl-file/, "no root key, so pki.crl: false");
            for (const file of await listFiles(out)) {
                const text = await readFile(file, "utf8");
                assert.doesNotMatch(text, /\[encrypted|^\s*license\s*[{.=]|BBBB/m, file);
            }
        } finally {
            await rm(stackFile, { force: true });
        }
    });

    test("a missing --stack or an unknown flag is one line of usage", async () => {
        for (const args of [[], ["--stack", "dev", "--bogus"]]) {
            const result = await render(args);
            assert.equal(result.code, 2);
            assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
            assert.match(result.stderr, /usage: npm run render/);
        }
    });
});
