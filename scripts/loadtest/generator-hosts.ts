/**
 * How many load-generator hosts a cloud scenario gets and of which instance type, sized from the
 * devices and connect rate each one carries (capacity/load-generator-sizing.ts). Without
 * --generators the count grows until every generator fits a type; with it, a plan no type holds
 * is refused with the count that would. An operator's --set loadGenerators.instanceType is
 * checked against the same sizing and refused when too small: a generator short of memory or CPU
 * measures itself instead of the edge, and the run costs a whole cluster. Pure.
 */
import type { LoadGeneratorFigures } from "../../capacity/figures.ts";
import { INSTANCE_TABLE } from "../../capacity/instance-types.ts";
import {
    CONNECT_CORE_SHARE,
    DEFAULT_GENERATOR_FAMILY,
    GENERATOR_FAMILIES,
    type GeneratorFamily,
    type GeneratorInstance,
    type GeneratorLoad,
    generatorInstanceProblem,
    generatorNeeds,
    MEMORY_MARGIN,
    maxConnectRatePerGenerator,
    pickGeneratorInstance,
    SPARE_VCPUS,
} from "../../capacity/load-generator-sizing.ts";
import { ConfigError } from "../../infra/config.ts";
import { fileDescriptorLimit } from "../../templates/cloud-init-kernel-limits.ts";
import { MAX_GENERATORS, type ScenarioPlan } from "./scenario-plan.ts";

/** What the operator said about the generators. */
export interface GeneratorHostsRequest {
    /** --generators was given: the count is the operator's, not to be raised. */
    readonly explicitCount: boolean;
    /** --generator-family, validated with {@link parseGeneratorFamily}. */
    readonly family?: GeneratorFamily;
    /** The value of --set loadGenerators.instanceType, when given. */
    readonly instanceType?: string;
}

/** The generator hosts of a cloud scenario. */
export interface GeneratorHosts {
    /** How many. */
    readonly count: number;
    /** Their instance type. */
    readonly instanceType: string;
    /** Whether the type was sized here or given with --set. */
    readonly chosenBy: "sizing" | "operator";
    /** The busiest generator's share of the plan. */
    readonly load: GeneratorLoad;
    /** The sized choice (also when the operator's type won), with its needs. */
    readonly sized: GeneratorInstance;
    /** LimitNOFILE the generator's user-data sets for that many devices. */
    readonly openFilesLimit: number;
}

/** Validates --generator-family. */
export function parseGeneratorFamily(text: string | undefined): GeneratorFamily | undefined {
    if (text === undefined) return undefined;
    if (!(GENERATOR_FAMILIES as readonly string[]).includes(text)) {
        throw new ConfigError(
            `--generator-family ${JSON.stringify(text)} is not valid: one of ${GENERATOR_FAMILIES.join(", ")} (the generator hosts boot an x86_64 image)`,
        );
    }
    return text as GeneratorFamily;
}

/** The busiest generator's share when `plan` runs on `count` generators (generatorJobs' split). */
export function generatorLoad(plan: ScenarioPlan, count: number): GeneratorLoad {
    const devices = Math.ceil(plan.devices / count);
    return {
        devices,
        ratePerSecond: (plan.ratePerSecond * devices) / plan.devices,
        timedMessages:
            plan.scenario === "steady-publish"
                ? Math.ceil(devices * plan.publishPerSecond * plan.holdSeconds)
                : 0,
    };
}

function fewestCount(
    plan: ScenarioPlan,
    from: number,
    family: GeneratorFamily,
    figures: LoadGeneratorFigures,
): number | undefined {
    for (let count = from; count <= MAX_GENERATORS; count++) {
        if (pickGeneratorInstance(generatorLoad(plan, count), figures, family)) return count;
    }
    return undefined;
}

const family = (instanceType: string) => instanceType.split(".")[0] ?? instanceType;
const thousands = (n: number) => Math.round(n).toLocaleString("en-US");

/** Sizes the generator hosts of `plan`; throws ConfigError (one line) when they cannot be. */
export function planGeneratorHosts(
    plan: ScenarioPlan,
    request: GeneratorHostsRequest,
    figures: LoadGeneratorFigures,
): GeneratorHosts {
    const family = request.family ?? DEFAULT_GENERATOR_FAMILY;
    const enough = fewestCount(plan, plan.generators, family, figures);
    if (enough === undefined) {
        const maxRate = Math.floor(maxConnectRatePerGenerator(figures) * MAX_GENERATORS);
        throw new ConfigError(
            `--devices ${plan.devices} at --rate ${plan.ratePerSecond}: even ${MAX_GENERATORS} load generators cannot carry it (one generator makes at most ${Math.floor(maxConnectRatePerGenerator(figures))} connects/s, so ${MAX_GENERATORS} at most ${maxRate}/s, and its devices must fit a ${family} type); lower --rate or --devices`,
        );
    }
    if (request.explicitCount && enough > plan.generators) {
        const load = generatorLoad(plan, plan.generators);
        const maxRate = maxConnectRatePerGenerator(figures);
        const why =
            load.ratePerSecond > maxRate
                ? `at most ${Math.floor(maxRate)} connects/s per generator, on one core`
                : `${(generatorNeeds(load, figures).memoryMiB / 1024).toFixed(1)} GiB of memory, more than the largest has`;
        throw new ConfigError(
            `--generators ${plan.generators} gives each generator ${thousands(load.devices)} devices at ${thousands(load.ratePerSecond)} connects/s, which no ${family} type carries (${why}); raise --generators to ${enough}`,
        );
    }
    const load = generatorLoad(plan, enough);
    const sized = pickGeneratorInstance(load, figures, family) as GeneratorInstance;
    const openFilesLimit = fileDescriptorLimit({
        maxConnections: load.devices,
        socketsPerConnection: 1,
    });
    const given = request.instanceType;
    if (given === undefined) {
        return {
            count: enough,
            instanceType: sized.instanceType,
            chosenBy: "sizing",
            load,
            sized,
            openFilesLimit,
        };
    }
    const key = `--set loadGenerators.instanceType=${JSON.stringify(given)}`;
    const facts = INSTANCE_TABLE.get(given);
    if (
        facts === undefined ||
        !(GENERATOR_FAMILIES as readonly string[]).includes(given.split(".")[0] ?? "")
    ) {
        throw new ConfigError(
            `${key}: not an x86_64 type of the instance table (${GENERATOR_FAMILIES.join(", ")}; capacity/instance-types.ts), so it cannot be sized; allowed: ${sized.instanceType} or larger`,
        );
    }
    const problem = generatorInstanceProblem(facts, load, figures);
    if (problem !== undefined) {
        throw new ConfigError(
            `${key} is too small for ${thousands(load.devices)} devices at ${thousands(load.ratePerSecond)} connects/s per generator (${problem}); allowed: ${sized.instanceType} or larger, or more --generators`,
        );
    }
    return {
        count: enough,
        instanceType: given,
        chosenBy: "operator",
        load,
        sized,
        openFilesLimit,
    };
}

/** The plan printout's line: the type and why. */
export function generatorHostsLine(hosts: GeneratorHosts, figures: LoadGeneratorFigures): string {
    const { load, sized } = hosts;
    const facts = INSTANCE_TABLE.get(hosts.instanceType) ?? sized.facts;
    const needs = sized.needs;
    const date = figures.entries.generatorRssPerDevice.date;
    return [
        `loadtest: ${hosts.count} load generator${hosts.count === 1 ? "" : "s"} x ${hosts.instanceType}`,
        hosts.chosenBy === "operator"
            ? `(given with --set; the smallest ${family(sized.instanceType)} type that fits is ${sized.instanceType})`
            : `(the smallest ${family(sized.instanceType)} type that fits)`,
        `for ${thousands(load.devices)} devices and ${load.ratePerSecond.toFixed(1)} connects/s each:`,
        `memory ${(needs.memoryMiB / 1024).toFixed(1)} of ${facts.memoryGiB} GiB`,
        `(${Math.round(figures.baseKiB / 1024)} MiB + ${figures.rssKiBPerDevice} KiB per device${load.timedMessages > 0 ? ` + ${thousands(load.timedMessages)} timed messages` : ""}, x${MEMORY_MARGIN}, + ${Math.round(figures.osReserveKiB / 1024)} MiB for the OS),`,
        `CPU ${needs.connectCores.toFixed(2)} of one core for connects at ${figures.cpuUsPerConnect} us each (at most ${CONNECT_CORE_SHARE}) + ${SPARE_VCPUS} spare = ${needs.vcpus} of ${facts.vcpus} vCPUs,`,
        `open files ${thousands(hosts.openFilesLimit)}; generator figures of ${date} (npm run bench:generator)`,
    ].join(" ");
}
