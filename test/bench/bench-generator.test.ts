/**
 * `npm run bench:generator` on a few devices: the figures are benchmark output; what is checked
 * is that the generator runs in its own process against real HAProxy with every device getting
 * its CONNACK (the bench exits 1 otherwise), that the report has its shape, and that bad levels
 * fail in one line.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runProcess } from "../pki-cli/run-process.ts";

test("bench:generator --json reports the generator's CPU per CONNACK and RSS per held device", async () => {
    const result = await runProcess(process.execPath, [
        "scripts/bench-generator.ts",
        "--json",
        "--levels",
        "20,120",
        "--rounds",
        "1",
        "--rate",
        "200",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual(report.levels, [20, 120]);
    // 100 more handshakes cost the generator CPU, whatever else the machine does.
    assert.ok(Number(report.generatorCpuUsPerConnect) > 0, result.stdout);
    const share = Number(report.generatorMainThreadShare);
    assert.ok(share > 0 && share <= 1, `JavaScript thread's share ${share}`);
    for (const field of [
        "generatorRssKiBPerDevice",
        "generatorBaseRssMiB",
        "haproxyCpuUsPerConnect",
    ]) {
        assert.equal(typeof report[field], "number", field);
    }
});

test("bench:generator refuses levels that do not increase, in one line", async () => {
    const result = await runProcess(process.execPath, [
        "scripts/bench-generator.ts",
        "--levels",
        "300,100",
    ]);
    assert.equal(result.code, 2);
    assert.match(
        result.stderr,
        /^bench:generator: error: --levels "300,100": not allowed; allowed: two or more increasing whole numbers from 1 to \d+, comma-separated\n$/,
    );
});
