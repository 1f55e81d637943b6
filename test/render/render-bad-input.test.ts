/**
 * `npm run render` refusing bad input: each case is one stderr line naming the key or flag, exit
 * 2, no stack trace, and nothing written. The bring-your-own CA cases use the seed's own cfssl
 * chain, as an operator following the seed would have it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runRender } from "../../scripts/render-command.ts";
import { type CfsslChain, makeCfsslChain } from "../support/cfssl-chain.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const renderScript = join(projectDir, "scripts/render.ts");

interface Result {
    code: number | null;
    stdout: string;
    stderr: string;
    ms: number;
}

/** Runs the render command in this process (most cases: no Node start per case). */
async function render(args: string[]): Promise<Result> {
    const started = Date.now();
    let stdout = "";
    let stderr = "";
    const code = runRender(args, {
        stdout: (text) => {
            stdout += text;
        },
        stderr: (text) => {
            stderr += text;
        },
    });
    return { code, stdout, stderr, ms: Date.now() - started };
}

/** Runs scripts/render.ts as a child process: what an operator sees, stack traces included. */
function renderProcess(args: string[]): Promise<Result> {
    const started = Date.now();
    return new Promise((resolve) => {
        // A hung render (the /proc mkdir loop) is killed, and then fails on its exit code.
        execFile(
            process.execPath,
            [renderScript, ...args],
            { timeout: 20_000, killSignal: "SIGKILL" },
            (error, stdout, stderr) => {
                const code =
                    error === null ? 0 : typeof error.code === "number" ? error.code : null;
                resolve({ code, stdout, stderr, ms: Date.now() - started });
            },
        );
    });
}

async function listFiles(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** One line on stderr, exit 2, no stack trace. */
function assertOneLine(result: Result, pattern: RegExp): void {
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? "", pattern);
    assert.doesNotMatch(result.stderr, /^\s+at |node:internal|PRIVATE KEY/m);
}

const indent = (pem: string) =>
    pem
        .trim()
        .split("\n")
        .map((l) => `      ${l}`)
        .join("\n");

describe("npm run render: bad input", () => {
    let work: string;
    let chain: CfsslChain;
    let pem: Record<"root" | "rootKey" | "int" | "intKey" | "device", string>;
    let counter = 0;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "mqtt-edge-render-bad-"));
        await mkdir(join(work, "cfssl"));
        chain = await makeCfsslChain(join(work, "cfssl"));
        pem = {
            root: await readFile(chain.rootCert, "utf8"),
            rootKey: await readFile(chain.rootKey, "utf8"),
            int: await readFile(chain.intermediateCert, "utf8"),
            intKey: await readFile(chain.intermediateKey, "utf8"),
            device: await readFile(chain.deviceCert, "utf8"),
        };
    });
    after(async () => {
        await rm(work, { recursive: true, force: true });
    });

    /** Renders a throwaway stack file with `text`; returns the result and what was written. */
    async function renderStack(text: string): Promise<Result & { written: string[] }> {
        const stack = `test-bad-input-${process.pid}-${++counter}`;
        const stackFile = join(projectDir, `Pulumi.${stack}.yaml`);
        await writeFile(stackFile, text);
        try {
            const out = join(work, stack);
            const result = await render(["--stack", stack, "--out", out]);
            return { ...result, written: await listFiles(out) };
        } finally {
            await rm(stackFile, { force: true });
        }
    }

    /** A stack file with the seed's chain as a bring-your-own CA, keys in plaintext. */
    function byoStack(parts: {
        root?: string;
        deviceCa?: string;
        deviceKey?: string;
        rootKey?: string | null;
        pki?: string[];
    }): string {
        const lines = [
            "config:",
            "  mqtt-edge:caRootCertPem: |",
            indent(parts.root ?? pem.root),
            "  mqtt-edge:caDeviceCertPem: |",
            indent(parts.deviceCa ?? pem.int),
            "  mqtt-edge:caDeviceKeyPem: |",
            indent(parts.deviceKey ?? pem.intKey),
        ];
        if (parts.rootKey !== null) {
            lines.push("  mqtt-edge:caRootKeyPem: |", indent(parts.rootKey ?? pem.rootKey));
        }
        lines.push("  mqtt-edge:pki:", ...(parts.pki ?? ["    allowPlaintextKeys: true"]), "");
        return lines.join("\n");
    }

    test("the seed's chain with allowPlaintextKeys renders, pinning its intermediate, with CRLs", async () => {
        const result = await renderStack(byoStack({}));
        assert.equal(result.code, 0, result.stderr);
        const cfg = result.written.find((f) => f.endsWith("haproxy.cfg")) ?? "";
        const haproxy = await readFile(cfg, "utf8");
        assert.match(haproxy, /ssl_c_i_dn\(CN\) -m str 'intermediate\.emqx\.com'/);
        assert.match(haproxy, /crl-file/);
        for (const file of result.written) {
            assert.doesNotMatch(await readFile(file, "utf8"), /PRIVATE KEY/, file);
        }
    });

    test("a device certificate as caDeviceCertPem is refused naming it; nothing written", async () => {
        const result = await renderStack(byoStack({ deviceCa: pem.device }));
        assertOneLine(result, /^render: mqtt-edge:caDeviceCertPem = \[PEM .*\]: .*is not a CA/);
        assert.deepEqual(result.written, []);
    });

    test("a caDeviceKeyPem of another certificate is refused naming it; nothing written", async () => {
        const result = await renderStack(byoStack({ deviceKey: pem.rootKey }));
        assertOneLine(result, /^render: mqtt-edge:caDeviceKeyPem = \[secret\]: does not belong/);
        assert.deepEqual(result.written, []);
    });

    test("an unrelated root is refused; nothing written", async () => {
        const result = await renderStack(byoStack({ root: pem.int, rootKey: pem.intKey }));
        assertOneLine(
            result,
            /mqtt-edge:caDeviceCertPem = .*is not signed by mqtt-edge:caRootCertPem/,
        );
        assert.deepEqual(result.written, []);
    });

    test("plaintext keys without allowPlaintextKeys are refused with the secret command", async () => {
        const result = await renderStack(byoStack({ pki: ["    testDevices: 2"] }));
        assertOneLine(
            result,
            /mqtt-edge:caDeviceKeyPem = \[secret\]: is in plaintext .*pulumi config set --secret mqtt-edge:caDeviceKeyPem </,
        );
        assert.deepEqual(result.written, []);
    });

    test("no caRootKeyPem, no caRootCrlPem and no pki.crl: false is refused naming pki.crl", async () => {
        const result = await renderStack(byoStack({ rootKey: null }));
        assertOneLine(
            result,
            /^render: mqtt-edge:pki\.crl = true: needs the root.s CRL.*allowed: caRootCrlPem/,
        );
        assert.deepEqual(result.written, []);
    });

    test("mqtt-egde:haproxy is refused naming it; nothing written", async () => {
        const result = await renderStack("config:\n  mqtt-egde:haproxy:\n    maxconn: 1000\n");
        assertOneLine(result, /^render: mqtt-egde:haproxy: unknown namespace "mqtt-egde"/);
        assert.deepEqual(result.written, []);
    });

    test("conf: instead of config: is refused naming it", async () => {
        const result = await renderStack("conf:\n  mqtt-edge:haproxy:\n    maxconn: 1000\n");
        assertOneLine(result, /conf: unknown top-level key; allowed: .*config/);
        assert.deepEqual(result.written, []);
    });

    test("zones of another region than aws:region are refused", async () => {
        const result = await renderStack(
            "config:\n  aws:region: us-east-1\n  mqtt-edge:network:\n    availabilityZones: [eu-west-1a, eu-west-1b]\n",
        );
        assertOneLine(
            result,
            /mqtt-edge:network\.availabilityZones = .*not in aws:region us-east-1/,
        );
        assert.deepEqual(result.written, []);
    });

    test("--out /proc/nope exits 2 within 5 s: one line, no stack trace, nothing written", async () => {
        // Before, this never returned (Node's recursive mkdir loops on procfs's ENOENT). The
        // issue's check is a flat 5 s. scripts/render.ts refuses --out before it loads the
        // schema and templates, so the refusal costs a Node start and four small modules:
        // 0.7-0.8 s wall measured at load average 8 on the 2-core CI machine (2026-12-01),
        // against 0.8-1.5 s when it came after the full load.
        const result = await renderProcess(["--stack", "dev", "--out", "/proc/nope"]);
        assertOneLine(result, /^render: --out "\/proc\/nope": cannot create \/proc\/nope/);
        assert.ok(result.ms <= 5000, `took ${result.ms} ms`);
        assert.equal(result.stdout, "");
        assert.equal(existsSync("/proc/nope"), false, "nothing created");
    });

    test("--out below a file ends with one line naming the file", async () => {
        const file = join(work, "a-file");
        await writeFile(file, "x");
        const result = await renderProcess(["--stack", "dev", "--out", join(file, "x")]);
        assertOneLine(result, /--out ".*a-file\/x": .*a-file exists and is not a folder/);
        assert.equal(await readFile(file, "utf8"), "x");
    });

    test("--help lists every flag and an example; --quiet prints nothing on success", async () => {
        const help = await render(["--help"]);
        assert.equal(help.code, 0);
        for (const flag of ["--stack", "--out", "--quiet", "--help"]) {
            assert.match(help.stdout, new RegExp(`^  ${flag} `, "m"), flag);
        }
        assert.match(help.stdout, /^example(s)?:\n {2}npm run render -- --stack dev/m);
        const quiet = await render(["--stack", "dev", "--out", join(work, "quiet"), "--quiet"]);
        assert.equal(quiet.code, 0, quiet.stderr);
        assert.equal(quiet.stdout, "");
        assert.ok((await listFiles(join(work, "quiet"))).length > 0);
    });
});
