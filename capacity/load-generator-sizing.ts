/**
 * Sizes a load-generator host from what one generator is asked to do: memory for the devices it
 * holds, one core for the connects it makes, descriptors for its sockets. Pure arithmetic on the
 * generator's measured figures (capacity/figures.ts, `npm run bench:generator`) and the instance
 * table (capacity/instance-types.ts).
 */
import type { LoadGeneratorFigures } from "./figures.ts";
import { INSTANCE_TABLE, type InstanceFacts } from "./instance-types.ts";

/** What one generator is asked to do. */
export interface GeneratorLoad {
    /** Devices it opens and holds. */
    readonly devices: number;
    /** Its share of the connect rate, per second. */
    readonly ratePerSecond: number;
    /** steady-publish: messages its subscriber times (each keeps one latency); else 0. */
    readonly timedMessages: number;
}

/**
 * Share of one core the generator's connects may keep busy. Node runs every TLS handshake on its
 * one JavaScript thread (npm run bench:generator measures that thread's share of the process's
 * CPU), so a generator's connect rate is bounded by one core whatever the instance has. At half
 * busy the wait behind other handshakes averages half a handshake (M/D/1 queue: rho / (2 (1 -
 * rho)) service times), so the handshake and CONNACK times it records stay the edge's, not its own.
 */
export const CONNECT_CORE_SHARE = 0.5;
/**
 * Margin on the generator's measured memory: the figures were measured with this machine's Node
 * 22 while the hosts run Debian 12's Node 18, and V8 collects only once its heap has grown.
 */
export const MEMORY_MARGIN = 1.25;
/** A timed steady-publish message keeps one double in the latency array (8 bytes, 2x for growth). */
export const BYTES_PER_TIMED_MESSAGE = 16;
/**
 * vCPUs besides the generator's JavaScript thread: the kernel's network stack, V8's collector and
 * libuv threads, the awscli that fetches the job and uploads the result.
 */
export const SPARE_VCPUS = 1;
/** Generator hosts boot an x86_64 Debian image (components/aws/load-generators.ts). */
export const GENERATOR_FAMILIES = ["c7i", "c6i", "m7i", "r7i"] as const;
export type GeneratorFamily = (typeof GENERATOR_FAMILIES)[number];
/** Compute optimized: the generator is CPU-bound per connect; memory grows with devices. */
export const DEFAULT_GENERATOR_FAMILY: GeneratorFamily = "c7i";

/** What a generator needs of its host. */
export interface GeneratorNeeds {
    /** Memory with the OS's share, MiB. */
    readonly memoryMiB: number;
    /** Memory of the generator process alone, MiB (devices, base, timed messages, margin). */
    readonly processMiB: number;
    /** Share of one core the connects take at the target rate. */
    readonly connectCores: number;
    /** vCPUs: the JavaScript thread and the spare. */
    readonly vcpus: number;
}

/** The most connects per second one generator makes within {@link CONNECT_CORE_SHARE}. */
export function maxConnectRatePerGenerator(figures: LoadGeneratorFigures): number {
    return (CONNECT_CORE_SHARE * 1e6) / figures.cpuUsPerConnect;
}

/** Memory and CPU one generator needs for `load`. */
export function generatorNeeds(load: GeneratorLoad, figures: LoadGeneratorFigures): GeneratorNeeds {
    const processKiB =
        (figures.baseKiB +
            load.devices * figures.rssKiBPerDevice +
            (load.timedMessages * BYTES_PER_TIMED_MESSAGE) / 1024) *
        MEMORY_MARGIN;
    const connectCores = (load.ratePerSecond * figures.cpuUsPerConnect) / 1e6;
    return {
        processMiB: processKiB / 1024,
        memoryMiB: (processKiB + figures.osReserveKiB) / 1024,
        connectCores,
        vcpus: Math.ceil(connectCores) + SPARE_VCPUS,
    };
}

/** Why `facts` cannot hold `load`, or undefined when it can. */
export function generatorInstanceProblem(
    facts: InstanceFacts,
    load: GeneratorLoad,
    figures: LoadGeneratorFigures,
): string | undefined {
    const needs = generatorNeeds(load, figures);
    const problems: string[] = [];
    if (needs.memoryMiB > facts.memoryGiB * 1024) {
        problems.push(`needs ${gib(needs.memoryMiB)} GiB of memory, has ${facts.memoryGiB}`);
    }
    if (needs.vcpus > facts.vcpus) {
        problems.push(`needs ${needs.vcpus} vCPUs, has ${facts.vcpus}`);
    }
    return problems.length === 0 ? undefined : problems.join("; ");
}

/** A chosen instance type and the figures behind the choice. */
export interface GeneratorInstance {
    readonly instanceType: string;
    readonly facts: InstanceFacts;
    readonly needs: GeneratorNeeds;
}

/**
 * The smallest type of `family` (fewest vCPUs, then least memory) that holds `load`, or
 * undefined when none does. The connect rate is not a matter of size (one JavaScript thread):
 * a rate above {@link maxConnectRatePerGenerator} has no type either.
 */
export function pickGeneratorInstance(
    load: GeneratorLoad,
    figures: LoadGeneratorFigures,
    family: GeneratorFamily = DEFAULT_GENERATOR_FAMILY,
    table: ReadonlyMap<string, InstanceFacts> = INSTANCE_TABLE,
): GeneratorInstance | undefined {
    if (load.ratePerSecond > maxConnectRatePerGenerator(figures)) return undefined;
    const candidates = [...table]
        .filter(([type]) => type.startsWith(`${family}.`))
        .sort(([, a], [, b]) => a.vcpus - b.vcpus || a.memoryGiB - b.memoryGiB);
    const needs = generatorNeeds(load, figures);
    for (const [instanceType, facts] of candidates) {
        if (generatorInstanceProblem(facts, load, figures) === undefined) {
            return { instanceType, facts, needs };
        }
    }
    return undefined;
}

function gib(mib: number): string {
    return (Math.ceil((mib / 1024) * 10) / 10).toFixed(1);
}
