/**
 * The progress line on a real terminal: `cert:device --prefix D --count <n>` under a pseudo-
 * terminal from util-linux `script`, the way an operator runs it. There the line shows count,
 * rate and time left, redrawn in place; through a plain pipe, or with --quiet, it does not.
 * MQTT_EDGE_PROGRESS_AFTER_MS=0 draws from the first certificate, so a batch of a few dozen shows
 * it on any machine, however fast.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createThrowawayCa } from "../../pki/self-signed-ca.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const count = 24;

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a command with a deadline; a hung one is killed, then fails on its exit code. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
    return new Promise((resolve) => {
        execFile(
            file,
            args,
            { cwd: projectDir, env, timeout: 60_000, killSignal: "SIGKILL" },
            (error, stdout, stderr) => {
                const code =
                    error === null ? 0 : typeof error.code === "number" ? error.code : null;
                resolve({ code, stdout, stderr });
            },
        );
    });
}

/** The progress lines drawn, e.g. `cert:device: 3/24 certificates (12%), 40/s, about 1 s left`. */
function progressLines(output: string): string[] {
    // Each redraw starts with \r and ECMA-48 erase-line (CSI 2K): split there.
    const draws = output.replaceAll("\u001b[2K", "\n").replaceAll("\r", "\n");
    return [...draws.matchAll(/cert:device: \d+\/\d+ certificates \(\d+%\), [\d.]+\/s, .*/g)].map(
        (m) => m[0],
    );
}

describe("cert:device progress on a real terminal", { concurrency: 3 }, () => {
    let dir: string;
    let caCert: string;
    let caKey: string;
    const env = { ...process.env, MQTT_EDGE_PROGRESS_AFTER_MS: "0" };

    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mqtt-edge-progress-tty-"));
        const ca = await createThrowawayCa({ commonName: "progress test CA", validityDays: 30 });
        caCert = join(dir, "ca.pem");
        caKey = join(dir, "ca-key.pem");
        await writeFile(caCert, ca.certificatePem);
        await writeFile(caKey, ca.privateKeyPem, { mode: 0o600 });
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    const certDeviceArgs = (out: string, extra: string[] = []) => [
        "scripts/cert-device.ts",
        "--ca-cert",
        caCert,
        "--ca-key",
        caKey,
        "--prefix",
        "D",
        "--count",
        String(count),
        "--out",
        out,
        ...extra,
    ];
    /** `script -qec "<command>" /dev/null`: the command's stdin, stdout and stderr are a pty. */
    const underTerminal = (args: string[]) =>
        run("script", ["-qec", [process.execPath, ...args].join(" "), "/dev/null"], env);

    test("on a terminal: count, rate and time left, redrawn in place, then the summary", async () => {
        const out = join(dir, "tty");
        const result = await underTerminal(certDeviceArgs(out));
        assert.equal(result.code, 0, result.stdout + result.stderr);
        const lines = progressLines(result.stdout);
        assert.ok(lines.length >= 2, result.stdout);
        // The first draw comes after one certificate: an estimate of the time left.
        assert.match(
            lines[0] ?? "",
            // A loaded machine may make that first estimate minutes ("about 1 min 9 s left").
            /^cert:device: 1\/24 certificates \(4%\), [\d.]+\/s, about (\d+ (h|min) )?\d+ (s|min) left$/,
        );
        assert.match(
            lines.at(-1) ?? "",
            /^cert:device: 24\/24 certificates \(100%\), [\d.]+\/s, done$/,
        );
        // Redrawn in place (carriage return, erase line), and ended before the summary line.
        assert.ok(result.stdout.includes("\r\u001b[2Kcert:device: 1/24"), result.stdout);
        assert.match(result.stdout, /done\r?\nwrote 24 device certificates to /);
        assert.equal((await readdir(out)).length, count * 3);
    });

    test("through a pipe: no progress line, only the summary", async () => {
        const result = await run(process.execPath, certDeviceArgs(join(dir, "pipe")), env);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(progressLines(result.stdout + result.stderr), []);
        assert.equal(result.stderr, "");
        assert.match(result.stdout, /^wrote 24 device certificates to /);
    });

    test("on a terminal with --quiet: no progress line", async () => {
        const result = await underTerminal(certDeviceArgs(join(dir, "quiet"), ["--quiet"]));
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.deepEqual(progressLines(result.stdout), []);
        assert.match(result.stdout, /wrote 24 device certificates to /);
    });

    test("a bad MQTT_EDGE_PROGRESS_AFTER_MS is one line, exit 2, nothing written", async () => {
        const out = join(dir, "bad-env");
        const result = await run(process.execPath, certDeviceArgs(out), {
            ...env,
            MQTT_EDGE_PROGRESS_AFTER_MS: "soon",
        });
        assert.equal(result.code, 2, result.stderr);
        assert.match(
            result.stderr,
            /^cert:device: error: MQTT_EDGE_PROGRESS_AFTER_MS="soon": not a number of milliseconds; allowed: an integer/,
        );
        assert.equal(result.stderr.trim().split("\n").length, 1);
        assert.equal(existsSync(out), false);
    });
});
