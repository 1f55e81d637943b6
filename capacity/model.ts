/**
 * The capacity model: what one HAProxy host and one EMQX node hold, from measured per-device
 * figures (capacity/figures.ts) and instance facts (capacity/instance-types.ts). Pure arithmetic,
 * no I/O: the configuration checks, `npm run capacity` and the tests share it.
 *
 * Per HAProxy host:
 *   memory   = OS reserve + HAProxy base + maxconn x per-slot + devices x (HAProxy + kernel per device)
 *   backend  = EMQX nodes x listener ports per node x source addresses x local port range
 *   storm    = devices / storm seconds x CPU per full connect (by CA key algorithm) / vCPUs
 * Per EMQX node:
 *   memory   = OS reserve + max_connections x per-connection memory
 */
import {
    backendConnectionCeiling,
    listenersNeeded,
    MAX_EMQX_MQTT_LISTENERS,
} from "./backend-ports.ts";
import type { CaKeyAlgorithm, CapacityFigures } from "./figures.ts";
import type { InstanceFacts } from "./instance-types.ts";

const KIB_PER_GIB = 1024 * 1024;

/** One HAProxy host as configured. */
export interface HaproxyHostInput {
    readonly instanceType: string;
    readonly facts: InstanceFacts;
    readonly maxconn: number;
    readonly serverMaxconn: number;
    readonly emqxNodes: number;
    /** EMQX nodes that may be down while the rest take maxconn. */
    readonly spareNodes: number;
    /** Devices this host takes in a reconnect storm. */
    readonly stormDevices: number;
    readonly stormSeconds: number;
    /** Key algorithm of the CAs devices chain to: it sets the CPU of a full connect. */
    readonly caKeyAlgorithm: CaKeyAlgorithm;
}

/** What the model says about one HAProxy host. */
export interface HaproxyHostCapacity {
    readonly instanceType: string;
    readonly vcpus: number;
    readonly memoryGiB: number;
    readonly maxconn: number;
    /** Memory a host at maxconn devices needs, KiB. */
    readonly memoryNeededKiB: number;
    /** Memory the host has, KiB (before the OS reserve). */
    readonly memoryKiB: number;
    /** Most devices that fit in memory when maxconn equals that number. */
    readonly memoryDeviceLimit: number;
    /** EMQX listener ports per node the host's backend needs. */
    readonly listenersPerNode: number;
    /** Backend connections the host can hold with every EMQX node up. */
    readonly backendConnectionCeiling: number;
    /** Backend connections with `spareNodes` EMQX nodes down. */
    readonly backendCeilingWithSpareDown: number;
    /** Handshake CPU of the reconnect storm. */
    readonly storm: StormLoad;
    /** The lowest of maxconn, memory limit and backend ceiling: the devices the host holds. */
    readonly devices: number;
    /** Which limit sets `devices`. */
    readonly bindingLimit: "maxconn" | "memory" | "backend ports";
}

/** Handshake CPU of a reconnect storm on one host. */
export interface StormLoad {
    readonly devices: number;
    readonly seconds: number;
    readonly connectsPerSecond: number;
    /** vCPUs the handshakes keep busy. */
    readonly vcpusNeeded: number;
    /** vcpusNeeded / vCPUs: above 1 the storm takes longer than `seconds`. */
    readonly utilisation: number;
    /** How long the host needs to reconnect every device at full CPU. */
    readonly secondsAtFullCpu: number;
}

/** Devices (and maxconn slots) that fit in memory, rounded down. */
export function haproxyMemoryDeviceLimit(facts: InstanceFacts, f: CapacityFigures): number {
    const free = facts.memoryGiB * KIB_PER_GIB - f.osReserveKiB - f.haproxyBaseKiB;
    const perDevice = f.haproxyKiBPerDevice + f.kernelKiBPerDevice + f.haproxyKiBPerMaxconnSlot;
    return Math.max(0, Math.floor(free / perDevice));
}

/** Memory an HAProxy host needs for maxconn devices, KiB. */
export function haproxyMemoryNeededKiB(maxconn: number, f: CapacityFigures): number {
    const perDevice = f.haproxyKiBPerDevice + f.kernelKiBPerDevice + f.haproxyKiBPerMaxconnSlot;
    return f.osReserveKiB + f.haproxyBaseKiB + maxconn * perDevice;
}

/** Handshake CPU for `devices` reconnecting within `seconds` on `vcpus`. */
export function stormLoad(
    devices: number,
    seconds: number,
    vcpus: number,
    usPerConnect: number,
): StormLoad {
    const connectsPerSecond = devices / seconds;
    const vcpusNeeded = (connectsPerSecond * usPerConnect) / 1e6;
    return {
        devices,
        seconds,
        connectsPerSecond,
        vcpusNeeded,
        utilisation: vcpusNeeded / vcpus,
        secondsAtFullCpu: (devices * usPerConnect) / 1e6 / vcpus,
    };
}

export function haproxyHostCapacity(h: HaproxyHostInput, f: CapacityFigures): HaproxyHostCapacity {
    const ports = {
        maxconn: h.maxconn,
        serverMaxconn: h.serverMaxconn,
        emqxNodes: h.emqxNodes,
        spareNodes: h.spareNodes,
    };
    const listenersPerNode = Math.min(listenersNeeded(ports), MAX_EMQX_MQTT_LISTENERS);
    const ceiling = backendConnectionCeiling(ports, listenersPerNode);
    const ceilingSpareDown = backendConnectionCeiling(
        ports,
        listenersPerNode,
        Math.max(1, h.emqxNodes - h.spareNodes),
    );
    const memoryDeviceLimit = haproxyMemoryDeviceLimit(h.facts, f);
    const limits = [
        ["maxconn", h.maxconn],
        ["memory", memoryDeviceLimit],
        ["backend ports", ceilingSpareDown],
    ] as const;
    const [bindingLimit, devices] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));
    return {
        instanceType: h.instanceType,
        vcpus: h.facts.vcpus,
        memoryGiB: h.facts.memoryGiB,
        maxconn: h.maxconn,
        memoryNeededKiB: haproxyMemoryNeededKiB(h.maxconn, f),
        memoryKiB: h.facts.memoryGiB * KIB_PER_GIB,
        memoryDeviceLimit,
        listenersPerNode,
        backendConnectionCeiling: ceiling,
        backendCeilingWithSpareDown: ceilingSpareDown,
        storm: stormLoad(
            h.stormDevices,
            h.stormSeconds,
            h.facts.vcpus,
            f.fullConnectUs[h.caKeyAlgorithm],
        ),
        devices,
        bindingLimit,
    };
}

/** What the model says about one EMQX node. */
export interface EmqxNodeCapacity {
    readonly instanceType: string;
    readonly vcpus: number;
    readonly memoryGiB: number;
    readonly maxConnections: number;
    readonly memoryNeededKiB: number;
    readonly memoryKiB: number;
    /** Most connections that fit in memory. */
    readonly memoryConnectionLimit: number;
    /** min(maxConnections, memory limit). */
    readonly connections: number;
    readonly bindingLimit: "max_connections" | "memory";
}

export function emqxMemoryConnectionLimit(facts: InstanceFacts, f: CapacityFigures): number {
    const free = facts.memoryGiB * KIB_PER_GIB - f.osReserveKiB;
    return Math.max(0, Math.floor(free / f.emqxKiBPerConnection));
}

export function emqxNodeCapacity(
    instanceType: string,
    facts: InstanceFacts,
    maxConnections: number,
    f: CapacityFigures,
): EmqxNodeCapacity {
    const limit = emqxMemoryConnectionLimit(facts, f);
    return {
        instanceType,
        vcpus: facts.vcpus,
        memoryGiB: facts.memoryGiB,
        maxConnections,
        memoryNeededKiB: f.osReserveKiB + maxConnections * f.emqxKiBPerConnection,
        memoryKiB: facts.memoryGiB * KIB_PER_GIB,
        memoryConnectionLimit: limit,
        connections: Math.min(maxConnections, limit),
        bindingLimit: limit < maxConnections ? "memory" : "max_connections",
    };
}

/** A fleet of one instance type: count x type. */
export interface FleetChoice {
    readonly instanceType: string;
    readonly count: number;
    readonly vcpus: number;
    readonly memoryGiB: number;
    /** maxconn (HAProxy) or max_connections (EMQX) per host to set for it. */
    readonly perHost: number;
}

/** What a fleet must meet. */
export interface FleetTarget {
    readonly devices: number;
    readonly stormSeconds: number;
    /** CA key algorithm of the stack: the storm's CPU per connect follows it. */
    readonly caKeyAlgorithm: CaKeyAlgorithm;
    /** Hosts that may be lost while the rest hold every device and the storm. */
    readonly spareHosts: number;
}

/** Fewest total vCPUs, then least memory, then fewest hosts. */
function smaller(a: FleetChoice, b: FleetChoice): number {
    return (
        a.count * a.vcpus - b.count * b.vcpus ||
        a.count * a.memoryGiB - b.count * b.memoryGiB ||
        a.count - b.count
    );
}

/**
 * The smallest HAProxy fleet of each instance type that holds `devices` in memory and reconnects
 * them within the storm, with `spareHosts` lost; sorted smallest first. Types that would need more
 * than `maxHosts` are left out.
 */
export function haproxyFleetOptions(
    target: FleetTarget,
    table: ReadonlyMap<string, InstanceFacts>,
    f: CapacityFigures,
    maxHosts: number,
): FleetChoice[] {
    const choices: FleetChoice[] = [];
    for (const [instanceType, facts] of table) {
        const perHostMemory = haproxyMemoryDeviceLimit(facts, f);
        if (perHostMemory < 1) continue;
        const usPerConnect = f.fullConnectUs[target.caKeyAlgorithm];
        const stormVcpus = (target.devices * usPerConnect) / 1e6 / target.stormSeconds;
        const working = Math.max(
            1,
            Math.ceil(target.devices / perHostMemory),
            Math.ceil(stormVcpus / facts.vcpus),
        );
        const count = working + target.spareHosts;
        if (count > maxHosts) continue;
        choices.push({
            instanceType,
            count,
            vcpus: facts.vcpus,
            memoryGiB: facts.memoryGiB,
            perHost: Math.ceil(target.devices / working),
        });
    }
    return choices.sort(smaller);
}

/** The smallest EMQX cluster of each instance type that holds `devices`, `spareHosts` lost. */
export function emqxFleetOptions(
    target: Omit<FleetTarget, "stormSeconds" | "caKeyAlgorithm">,
    table: ReadonlyMap<string, InstanceFacts>,
    f: CapacityFigures,
    maxNodes: number,
): FleetChoice[] {
    const choices: FleetChoice[] = [];
    for (const [instanceType, facts] of table) {
        const perNode = emqxMemoryConnectionLimit(facts, f);
        if (perNode < 1) continue;
        const working = Math.max(1, Math.ceil(target.devices / perNode));
        const count = working + target.spareHosts;
        if (count > maxNodes) continue;
        choices.push({
            instanceType,
            count,
            vcpus: facts.vcpus,
            memoryGiB: facts.memoryGiB,
            perHost: Math.ceil(target.devices / working),
        });
    }
    return choices.sort(smaller);
}
