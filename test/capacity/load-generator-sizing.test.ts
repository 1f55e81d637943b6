/**
 * Load-generator sizing: the generator's figures as the committed file states them, and the
 * smallest instance type that holds a generator's devices and connect rate. Every boundary is
 * computed from the committed figures, so a re-measurement moves the cases with it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
    type LoadGeneratorFigures,
    loadLoadGeneratorFigures,
    MEASURED_FIGURES_PATH,
    parseLoadGeneratorFigures,
} from "../../capacity/figures.ts";
import { INSTANCE_TABLE } from "../../capacity/instance-types.ts";
import {
    BYTES_PER_TIMED_MESSAGE,
    CONNECT_CORE_SHARE,
    generatorInstanceProblem,
    generatorNeeds,
    MEMORY_MARGIN,
    maxConnectRatePerGenerator,
    pickGeneratorInstance,
} from "../../capacity/load-generator-sizing.ts";

const committed = JSON.parse(readFileSync(MEASURED_FIGURES_PATH, "utf8")) as Record<
    string,
    Record<string, unknown>
>;
const figures = loadLoadGeneratorFigures();

/** The most devices whose memory fits `memoryGiB`, from the sizing rule stated in the module. */
function devicesThatFit(f: LoadGeneratorFigures, memoryGiB: number): number {
    const processKiB = (memoryGiB * 1024 * 1024 - f.osReserveKiB) / MEMORY_MARGIN;
    return Math.floor((processKiB - f.baseKiB) / f.rssKiBPerDevice);
}

const gib = (type: string) => INSTANCE_TABLE.get(type)?.memoryGiB ?? Number.NaN;

describe("the load generator's figures", () => {
    test("are read from the committed file, MiB converted to KiB", () => {
        assert.equal(figures.rssKiBPerDevice, committed.generatorRssPerDevice?.value);
        assert.equal(figures.baseKiB, Number(committed.generatorBaseRss?.value) * 1024);
        assert.equal(figures.cpuUsPerConnect, committed.generatorCpuPerConnect?.value);
        assert.equal(figures.osReserveKiB, Number(committed.osReserve?.value) * 1024);
        assert.equal(
            figures.entries.generatorCpuPerConnect.command,
            "npm run bench:generator -- --rounds 3",
        );
    });

    test("a missing or mis-stated figure is refused in one line naming it", () => {
        const { generatorCpuPerConnect: _, ...missing } = committed;
        assert.throws(
            () => parseLoadGeneratorFigures(missing),
            /^Error: measured-figures\.json: generatorCpuPerConnect is missing; load-generator sizing needs it \(in us\)$/,
        );
        assert.throws(
            () =>
                parseLoadGeneratorFigures({
                    ...committed,
                    generatorRssPerDevice: { ...committed.generatorRssPerDevice, unit: "MiB" },
                }),
            /^Error: measured-figures\.json: generatorRssPerDevice\.unit = "MiB": must be KiB$/,
        );
    });
});

describe("pickGeneratorInstance", () => {
    const slowRate = 1;

    test("takes the smallest c7i type whose memory holds the devices", () => {
        const onLarge = devicesThatFit(figures, gib("c7i.large"));
        assert.ok(onLarge > 0, "a c7i.large holds some devices");
        const at = (devices: number) =>
            pickGeneratorInstance({ devices, ratePerSecond: slowRate, timedMessages: 0 }, figures)
                ?.instanceType;
        assert.equal(at(onLarge), "c7i.large");
        assert.equal(at(onLarge + 1), "c7i.xlarge");
        assert.equal(at(devicesThatFit(figures, gib("c7i.xlarge")) + 1), "c7i.2xlarge");
    });

    test("another family is taken when asked for: m7i has twice the memory per vCPU", () => {
        const devices = devicesThatFit(figures, gib("c7i.large")) + 1;
        const load = { devices, ratePerSecond: slowRate, timedMessages: 0 };
        assert.equal(pickGeneratorInstance(load, figures, "m7i")?.instanceType, "m7i.large");
    });

    test("the connect rate is bounded by one core, whatever the size", () => {
        const limit = maxConnectRatePerGenerator(figures);
        assert.equal(limit, (CONNECT_CORE_SHARE * 1e6) / figures.cpuUsPerConnect);
        const load = (ratePerSecond: number) => ({ devices: 100, ratePerSecond, timedMessages: 0 });
        assert.equal(pickGeneratorInstance(load(limit), figures)?.instanceType, "c7i.large");
        assert.equal(pickGeneratorInstance(load(limit * 1.01), figures), undefined);
    });

    test("steady-publish's timed messages count against memory", () => {
        const devices = devicesThatFit(figures, gib("c7i.large"));
        const spareKiB =
            (gib("c7i.large") * 1024 * 1024 - figures.osReserveKiB) / MEMORY_MARGIN -
            figures.baseKiB -
            devices * figures.rssKiBPerDevice;
        const messagesThatFit = Math.floor((spareKiB * 1024) / BYTES_PER_TIMED_MESSAGE);
        const pick = (timedMessages: number) =>
            pickGeneratorInstance({ devices, ratePerSecond: slowRate, timedMessages }, figures)
                ?.instanceType;
        assert.equal(pick(messagesThatFit), "c7i.large");
        assert.equal(pick(messagesThatFit + 1024), "c7i.xlarge");
    });

    test("nothing fits when the devices outgrow the largest type", () => {
        const beyond = devicesThatFit(figures, gib("c7i.16xlarge")) + 1;
        const load = { devices: beyond, ratePerSecond: slowRate, timedMessages: 0 };
        assert.equal(pickGeneratorInstance(load, figures), undefined);
    });

    test("a type with one vCPU is refused: the JavaScript thread and the rest need two", () => {
        const load = { devices: 10, ratePerSecond: slowRate, timedMessages: 0 };
        assert.equal(generatorNeeds(load, figures).vcpus, 2);
        assert.equal(
            generatorInstanceProblem({ vcpus: 1, memoryGiB: 64 }, load, figures),
            "needs 2 vCPUs, has 1",
        );
    });
});
