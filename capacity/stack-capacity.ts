/**
 * The capacity model applied to a validated stack configuration: per-host figures against the
 * configured sizes, what the fleet holds, and the smallest fleets for a target. Pure once the
 * figures are given (capacity/figures.ts reads them; fleetDeviceCapacity does so by default).
 */
import type { EdgeConfig } from "../infra/config.ts";
import { chainCostAlgorithm } from "./ca-key-algorithm.ts";
import { type CaKeyAlgorithm, type CapacityFigures, loadCapacityFigures } from "./figures.ts";
import { type InstanceFacts, instanceTable } from "./instance-types.ts";
import {
    type EmqxNodeCapacity,
    emqxFleetOptions,
    emqxNodeCapacity,
    type FleetChoice,
    type HaproxyHostCapacity,
    haproxyFleetOptions,
    haproxyHostCapacity,
} from "./model.ts";

/** What the model needs from a stack's configuration. */
export type CapacityConfig = Pick<
    EdgeConfig,
    "haproxy" | "emqx" | "capacity" | "pki" | "caRootCertPem" | "caDeviceCertPem"
>;

/** Most HAProxy instances and EMQX nodes the schema allows (config-schema.ts). */
export const MAX_HAPROXY_INSTANCES = 50;
export const MAX_EMQX_NODES = 32;

/** Instance facts for a type from the built-in table and the stack's additions, or undefined. */
export function instanceFacts(config: CapacityConfig, type: string): InstanceFacts | undefined {
    return instanceTable(config.capacity.instanceTypes).get(type);
}

export interface StackCapacityOptions {
    /** Devices to size for; default capacity.targetDevices, else what the fleet holds. */
    readonly devices?: number;
    /** Reconnect storm length; default capacity.stormSeconds. */
    readonly stormSeconds?: number;
}

export interface StackCapacity {
    /** Devices the figures below are for. */
    readonly devices: number;
    /** CA key algorithm whose full-connect CPU the storm figures use. */
    readonly caKeyAlgorithm: CaKeyAlgorithm;
    /** That CPU per full connect, microseconds. */
    readonly usPerFullConnect: number;
    readonly stormSeconds: number;
    readonly spareHosts: number;
    /** One entry per HAProxy instance (they are alike). */
    readonly haproxyHosts: HaproxyHostCapacity[];
    /** One entry per EMQX node. */
    readonly emqxNodes: EmqxNodeCapacity[];
    /** Devices the HAProxy fleet holds with every host up, and with spareHosts lost. */
    readonly haproxyFleetDevices: number;
    readonly haproxyFleetDevicesSpareDown: number;
    /** Connections the EMQX cluster holds with every node up, and with spareHosts lost. */
    readonly emqxClusterConnections: number;
    readonly emqxClusterConnectionsSpareDown: number;
    /** min of the two, every host up. */
    readonly fleetDevices: number;
    /** Which tier and limit bind the fleet. */
    readonly bindingLimit: string;
    /** Smallest fleets for `devices` and the storm, smallest first. */
    readonly haproxyFleetOptions: FleetChoice[];
    readonly emqxFleetOptions: FleetChoice[];
    /** Warnings (the storm outruns the CPU); empty when none. */
    readonly warnings: string[];
}

function requireFacts(config: CapacityConfig, key: "haproxy" | "emqx"): InstanceFacts {
    const type = config[key].instanceType;
    const facts = instanceFacts(config, type);
    if (facts === undefined) {
        throw new Error(
            `${key}.instanceType = ${JSON.stringify(type)}: not in the capacity table; add it under capacity.instanceTypes`,
        );
    }
    return facts;
}

/** The HAProxy host as configured, taking `devices` spread over the surviving hosts in a storm. */
function haproxyHost(
    config: CapacityConfig,
    f: CapacityFigures,
    stormDevices: number,
    stormSeconds: number,
): HaproxyHostCapacity {
    return haproxyHostCapacity(
        {
            instanceType: config.haproxy.instanceType,
            facts: requireFacts(config, "haproxy"),
            maxconn: config.haproxy.maxconn,
            serverMaxconn: config.haproxy.serverMaxconn,
            emqxNodes: config.emqx.nodes,
            spareNodes: config.capacity.spareHosts,
            stormDevices,
            stormSeconds,
            caKeyAlgorithm: chainCostAlgorithm(config, f),
        },
        f,
    );
}

function emqxNode(config: CapacityConfig, f: CapacityFigures): EmqxNodeCapacity {
    return emqxNodeCapacity(
        config.emqx.instanceType,
        requireFacts(config, "emqx"),
        config.emqx.maxConnections,
        f,
    );
}

/**
 * Devices the fleet holds with every host up: the lower of the HAProxy fleet (each host limited by
 * maxconn, memory and backend ports) and the EMQX cluster (each node by max_connections and
 * memory). For alarms: a connection count near this is a fleet near its limit. Reads the
 * committed figures unless given others.
 */
export function fleetDeviceCapacity(
    config: CapacityConfig,
    f: CapacityFigures = loadCapacityFigures(),
): number {
    const host = haproxyHost(config, f, 0, config.capacity.stormSeconds);
    const node = emqxNode(config, f);
    return Math.min(config.haproxy.instances * host.devices, config.emqx.nodes * node.connections);
}

export function stackCapacity(
    config: CapacityConfig,
    f: CapacityFigures,
    options: StackCapacityOptions = {},
): StackCapacity {
    const spare = config.capacity.spareHosts;
    const stormSeconds = options.stormSeconds ?? config.capacity.stormSeconds;
    const haproxyWorking = Math.max(1, config.haproxy.instances - spare);
    const emqxWorking = Math.max(1, config.emqx.nodes - spare);
    const probe = haproxyHost(config, f, 0, stormSeconds);
    const node = emqxNode(config, f);
    const haproxyFleetDevices = config.haproxy.instances * probe.devices;
    const emqxClusterConnections = config.emqx.nodes * node.connections;
    const fleetDevices = Math.min(haproxyFleetDevices, emqxClusterConnections);
    const devices = options.devices ?? config.capacity.targetDevices ?? fleetDevices;
    // In a storm the devices spread over the hosts that are left.
    const host = haproxyHost(config, f, Math.ceil(devices / haproxyWorking), stormSeconds);
    const warnings: string[] = [];
    if (host.storm.utilisation > 1) {
        warnings.push(
            `reconnecting ${devices} devices over ${haproxyWorking} ${config.haproxy.instanceType} hosts takes about ${Math.ceil(host.storm.secondsAtFullCpu)} s of full handshake CPU (${f.fullConnectUs[chainCostAlgorithm(config, f)]} us per connect with ${chainCostAlgorithm(config, f)} CAs), more than capacity.stormSeconds (${stormSeconds}): add HAProxy hosts or vCPUs`,
        );
    }
    const table = instanceTable(config.capacity.instanceTypes);
    const caKeyAlgorithm = chainCostAlgorithm(config, f);
    const target = { devices, stormSeconds, spareHosts: spare, caKeyAlgorithm };
    return {
        devices,
        caKeyAlgorithm,
        usPerFullConnect: f.fullConnectUs[caKeyAlgorithm],
        stormSeconds,
        spareHosts: spare,
        haproxyHosts: Array.from({ length: config.haproxy.instances }, () => host),
        emqxNodes: Array.from({ length: config.emqx.nodes }, () => node),
        haproxyFleetDevices,
        haproxyFleetDevicesSpareDown: haproxyWorking * probe.devices,
        emqxClusterConnections,
        emqxClusterConnectionsSpareDown: emqxWorking * node.connections,
        fleetDevices,
        bindingLimit:
            haproxyFleetDevices <= emqxClusterConnections
                ? `HAProxy ${probe.bindingLimit}`
                : `EMQX ${node.bindingLimit}`,
        haproxyFleetOptions: haproxyFleetOptions(target, table, f, MAX_HAPROXY_INSTANCES),
        emqxFleetOptions: emqxFleetOptions(target, table, f, MAX_EMQX_NODES),
        warnings,
    };
}
