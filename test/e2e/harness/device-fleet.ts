/**
 * Many devices at once: each gets its own certificate and loopback source address, so the
 * broker stand-ins' records say which broker each one landed on.
 */
import type { MqttClient } from "mqtt";
import type { BrokerConnection } from "../../../local-edge/broker-stand-ins.ts";
import { connectMqttDevice, type MqttDeviceOptions } from "../../../local-edge/mqtt-device.ts";
import { EDGE_SERVER_NAME, type EdgeHarness } from "./edge-harness.ts";
import type { DeviceCredentials } from "./edge-pki.ts";

/** A connected device and where it landed. */
export interface FleetDevice {
    /** Client id and certificate CN. */
    name: string;
    /** Source address. */
    localAddress: string;
    /** The connected client. */
    client: MqttClient;
    /** Options it connected with (to connect it again). */
    options: MqttDeviceOptions;
}

/** Connection options of a device whose certificate files exist. */
export type IssuedDeviceOptions = MqttDeviceOptions & { credentials: DeviceCredentials };

/** Options for one device of `edge`, with a fresh source address and certificate. */
export async function fleetDeviceOptions(
    edge: EdgeHarness,
    name: string,
): Promise<IssuedDeviceOptions> {
    const credentials = await edge.pki.device(name);
    return {
        host: edge.mqttsAddress,
        port: edge.mqttsPort,
        localAddress: edge.addresses.next(),
        caPath: edge.pki.rootCaPath,
        serverIdentity: EDGE_SERVER_NAME,
        credentials,
        clientId: name,
    };
}

/** Connects `count` devices one after another (order matters for roundrobin and leastconn). */
export async function connectFleet(
    edge: EdgeHarness,
    prefix: string,
    count: number,
): Promise<FleetDevice[]> {
    const devices: FleetDevice[] = [];
    for (let index = 1; index <= count; index += 1) {
        const name = `${prefix}-${String(index).padStart(3, "0")}`;
        const options = await fleetDeviceOptions(edge, name);
        devices.push({
            name,
            localAddress: options.localAddress,
            client: await connectMqttDevice(options),
            options,
        });
    }
    return devices;
}

/** The broker that holds the relayed connection of `device` (its newest one). */
export function brokerOf(
    edge: EdgeHarness,
    device: Pick<FleetDevice, "localAddress" | "name">,
): string {
    const records: BrokerConnection[] = edge.brokers.connections.filter(
        (record) => record.sourceAddress === device.localAddress,
    );
    const newest = records.at(-1);
    if (newest === undefined)
        throw new Error(`no broker recorded device ${device.name} (${device.localAddress})`);
    return newest.broker;
}

/** How many of `devices` landed on each broker, every broker listed (zero included). */
export function spreadOf(
    edge: EdgeHarness,
    devices: readonly FleetDevice[],
): Record<string, number> {
    const spread: Record<string, number> = Object.fromEntries(
        edge.brokers.nodes.map((node) => [node.name, 0]),
    );
    for (const device of devices) {
        const broker = brokerOf(edge, device);
        spread[broker] = (spread[broker] ?? 0) + 1;
    }
    return spread;
}
