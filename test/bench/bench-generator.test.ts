/**
 * `npm run bench:generator` on a few devices: the figures are benchmark output; what is checked
 * is that the generator runs in its own process against real HAProxy with every device getting
 * its CONNACK (the bench exits 1 otherwise), that the report has its shape, and that bad levels
 * fail in one line.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
    MEASURED_FIGURES_PATH,
    parseCapacityFigures,
    parseLoadGeneratorFigures,
} from "../../capacity/figures.ts";
import { mergeFigures } from "../../capacity/figures-file.ts";
import {
    type GeneratorBenchResult,
    generatorFigureEntries,
} from "../../scripts/bench/generator-figures.ts";
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

test("--write puts the run's three figures in place and leaves every other entry as it was", () => {
    const text = readFileSync(MEASURED_FIGURES_PATH, "utf8");
    const before = JSON.parse(text) as Record<string, unknown>;
    const result: GeneratorBenchResult = {
        stack: "dev",
        levels: [500, 1000, 2000],
        rounds: 3,
        ratePerSecond: 300,
        generatorCpuUsPerConnect: 1234,
        generatorCpuFitR2: 0.999,
        generatorMainThreadShare: 0.93,
        generatorRssKiBPerDevice: 55.5,
        generatorRssFitR2: 0.998,
        generatorBaseRssMiB: 70.1,
        generatorHeapKiBPerDevice: 3.1,
        generatorPeakRssKiBPerDevice: 60.2,
        haproxyCpuUsPerConnect: 2000,
        generatorToHaproxyCpu: 0.62,
        caKeyAlgorithm: "ecdsa-p384",
        node: "v22.0.0",
        loadAverage: 1.5,
        date: "2027-01-02T03:04:05.000Z",
    };
    // What the bench writes: the shared writer's merge of these entries into the committed file.
    const after = JSON.parse(
        mergeFigures(text, generatorFigureEntries(result, "npm run bench:generator -- --write")),
    ) as Record<string, unknown>;
    const figures = parseLoadGeneratorFigures(after);
    assert.equal(figures.rssKiBPerDevice, 55.5);
    assert.equal(figures.baseKiB, 70.1 * 1024);
    assert.equal(figures.cpuUsPerConnect, 1234);
    assert.equal(figures.entries.generatorCpuPerConnect.date, "2027-01-02");
    assert.equal(
        figures.entries.generatorRssPerDevice.command,
        "npm run bench:generator -- --write",
    );
    assert.match(
        figures.entries.generatorCpuPerConnect.method,
        /93 % of it on the JavaScript thread/,
    );
    // Every other entry, in its place; the capacity model still reads the file.
    const others = (o: Record<string, unknown>) =>
        Object.entries(o).filter(([k]) => !k.startsWith("generator"));
    assert.deepEqual(others(after), others(before));
    assert.deepEqual(Object.keys(after), Object.keys(before));
    parseCapacityFigures(after);
});
