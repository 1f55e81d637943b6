/**
 * `npm run bench:memory` on a few devices: the figure is benchmark output; what is checked is
 * that idle devices really stay connected through real HAProxy and that the report has its
 * shape. Bad levels fail in one line.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { linearFit } from "../../scripts/bench/process-memory.ts";
import { runProcess } from "../pki-cli/run-process.ts";

test("bench:memory --json reports HAProxy KiB per idle device from a line through the levels", async () => {
    const result = await runProcess(process.execPath, [
        "scripts/bench-memory.ts",
        "--json",
        "--levels",
        "20,80",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(report.levels, [20, 80]);
    assert.ok(Number(report.haproxyKiBPerDevice) > 0, "HAProxy grows with idle devices");
    assert.equal(typeof report.kernelKiBPerDeviceWholePath, "number");
});

test("bench:memory refuses levels that do not increase, in one line", async () => {
    const result = await runProcess(process.execPath, [
        "scripts/bench-memory.ts",
        "--levels",
        "400,100",
    ]);
    assert.equal(result.code, 2);
    assert.match(
        result.stderr,
        /^bench:memory: error: --levels "400,100": not allowed; allowed: two or more increasing whole numbers from 1 to \d+, comma-separated\n$/,
    );
});

test("a least-squares line through exact points has their slope and R^2 1", () => {
    const fit = linearFit([
        [1000, 30_000],
        [4000, 102_000],
        [8000, 198_000],
    ]);
    assert.ok(Math.abs(fit.slope - 24) < 1e-9, String(fit.slope));
    assert.ok(Math.abs(fit.intercept - 6000) < 1e-6, String(fit.intercept));
    assert.ok(Math.abs(fit.r2 - 1) < 1e-12, String(fit.r2));
});
