/** How a bench:memory run becomes the capacity model's memory figures. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MEASURED_FIGURES_PATH, parseCapacityFigures } from "../../capacity/figures.ts";
import { mergeFigures } from "../../capacity/figures-file.ts";
import { type MemoryRun, memoryFigureEntries } from "../../scripts/bench/memory-figures.ts";

const run: MemoryRun = {
    stack: "dev",
    caKeyAlgorithm: "rsa-3072",
    levels: [1000, 4000, 8000],
    haproxyKiBPerDevice: 27.1,
    haproxyFitR2: 0.9999,
    kernelKiBPerDeviceWholePath: 19.8,
    kernelFitR2: 0.998,
    date: "2026-12-01T06:00:00.000Z",
};

test("HAProxy's slope as measured, the kernel's halved for the two sockets HAProxy holds", () => {
    const entries = memoryFigureEntries(run, ["--write-figures"]);
    assert.equal(entries.haproxyRssPerIdleDevice?.value, 27.1);
    assert.equal(entries.kernelPerDevice?.value, 9.9);
    assert.equal(entries.kernelPerDevice?.command, "npm run bench:memory -- --write-figures");
    assert.match(entries.haproxyRssPerIdleDevice?.method ?? "", /rsa-3072 CAs .* 1000\/4000\/8000/);
    const merged = JSON.parse(
        mergeFigures(readFileSync(MEASURED_FIGURES_PATH, "utf8"), entries),
    ) as unknown;
    const f = parseCapacityFigures(merged);
    assert.equal(f.haproxyKiBPerDevice, 27.1);
    assert.equal(f.kernelKiBPerDevice, 9.9);
});

test("a loose fit writes nothing and says why", () => {
    assert.throws(
        () => memoryFigureEntries({ ...run, kernelFitR2: 0.93 }, []),
        /^Error: bench:memory: the kernel memory fit has R\^2 0\.93, below 0\.99; not writing figures from this run/,
    );
});
