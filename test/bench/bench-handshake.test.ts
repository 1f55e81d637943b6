/**
 * `npm run bench:handshake` end to end, briefly: the figures are benchmark output, not a verdict
 * here. What is checked is that every variant the issue names completes connects through real
 * HAProxy, that full handshakes are full and resumed ones resumed (on another instance and after
 * a reload too), and that the JSON has the promised shape. Bad flags fail in one line.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { median } from "../../scripts/bench/measure-rounds.ts";
import { repoRoot, runProcess } from "../pki-cli/run-process.ts";

interface Report {
    seedUsPerConnect: number;
    variants: Array<{
        name: string;
        usPerConnect: number;
        ratioToSeed: number;
        resumedFraction: number;
        connects: number;
    }>;
}

/**
 * Runs the benchmark with a deadline sized for a busy CI machine (three HAProxy processes, the
 * seed's cfssl chain and a local one are made first). SIGTERM, not SIGKILL: the script's
 * emergency cleanup then ends its HAProxy process groups and deletes its temp dirs.
 */
function runBench(
    args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            ["scripts/bench-handshake.ts", ...args],
            { cwd: repoRoot, timeout: 180_000, killSignal: "SIGTERM", encoding: "utf8" },
            (error, stdout, stderr) => {
                const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
                resolve({ code: Number.isInteger(code) ? code : 1, stdout, stderr });
            },
        );
    });
}

test("bench:handshake --json measures every variant against the seed in the same run", async () => {
    // The stack's own chain (dev pins P-384): quick to make, and no extra edge for it.
    const result = await runBench([
        "--json",
        "--rounds",
        "1",
        "--seconds",
        "1",
        "--concurrency",
        "2",
        "--ca-key-algorithm",
        "stack",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.ok(report.seedUsPerConnect > 0, "the seed's connects cost HAProxy CPU");
    assert.deepEqual(
        report.variants.map((v) => v.name),
        [
            "full-ecdsa",
            "full-rsa-sni",
            "resume-tls13",
            "resume-tls12",
            "resume-other-instance",
            "resume-after-reload",
        ],
    );
    for (const v of report.variants) {
        assert.ok(v.connects > 0, `${v.name} completed connects`);
        assert.ok(v.usPerConnect > 0, `${v.name} cost HAProxy CPU`);
        // One round: the ratio is that round's figure over the seed's (both rounded for JSON).
        const ratio = v.usPerConnect / report.seedUsPerConnect;
        assert.ok(Math.abs(v.ratioToSeed - ratio) < 0.02, `${v.name} ratio is to the seed`);
        if (v.name.startsWith("full-")) assert.equal(v.resumedFraction, 0, v.name);
        else assert.ok(v.resumedFraction >= 0.99, `${v.name} resumed ${v.resumedFraction}`);
    }
});

test("bench:handshake refuses a bad flag value in one line", async () => {
    const result = await runProcess(process.execPath, [
        "scripts/bench-handshake.ts",
        "--ca-key-algorithm",
        "dsa-1024",
    ]);
    assert.equal(result.code, 2);
    assert.equal(
        result.stderr,
        'bench:handshake: error: --ca-key-algorithm "dsa-1024": unknown; allowed: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, stack\n',
    );
});

test("medians of odd and even counts", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
});
