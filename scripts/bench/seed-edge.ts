/**
 * The seed's edge running on loopback: its cfssl chain, its frontend and backend
 * (seed-edge-files.ts) in a real HAProxy, in front of PROXY-v2 broker stand-ins. The reference
 * every handshake figure is a ratio to.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerStandIns } from "../../local-edge/broker-stand-ins.ts";
import {
    forgetTemporaryDirectory,
    registerTemporaryDirectory,
} from "../../local-edge/emergency-cleanup.ts";
import { HaproxyProcess } from "../../local-edge/haproxy-process.ts";
import { findFreePort, type LoopbackAddressPool } from "../../local-edge/loopback-endpoints.ts";
import type { DeviceTls } from "./mqtt-connect.ts";
import { makeSeedChain, renderSeedHaproxyCfg } from "./seed-edge-files.ts";

/** A running seed edge. */
export interface SeedEdge {
    readonly host: string;
    readonly port: number;
    readonly haproxy: HaproxyProcess;
    /** The seed's device (RSA-2048, from the seed's intermediate); sends no SNI, as in the seed. */
    readonly device: DeviceTls;
    close(): Promise<void>;
}

/** Starts the seed's edge; ends what started if a step fails. */
export async function startSeedEdge(options: {
    addresses: LoopbackAddressPool;
    brokerCount: number;
    maxconn: number;
    cpu?: number;
}): Promise<SeedEdge> {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-seed-edge-"));
    registerTemporaryDirectory(dir);
    const cleanups: Array<() => Promise<void>> = [
        async () => {
            await rm(dir, { recursive: true, force: true });
            forgetTemporaryDirectory(dir);
        },
    ];
    try {
        const chain = await makeSeedChain(dir);
        const host = options.addresses.next();
        const brokers = await BrokerStandIns.start({
            addresses: Array.from({ length: options.brokerCount }, () => options.addresses.next()),
        });
        cleanups.push(() => brokers.close());
        const port = await findFreePort(host);
        const statsSocketPath = join(dir, "admin.sock");
        const configPath = join(dir, "haproxy.cfg");
        const config = renderSeedHaproxyCfg({
            chain,
            bind: { address: host, port },
            brokers: brokers.nodes.map((node) => ({
                name: node.name,
                address: node.address,
                port: node.mqttPort,
            })),
            statsSocketPath,
            maxconn: options.maxconn,
            // What LocalEdge renders for the stack without a connection log: same cost on both.
            logLine: "log stdout format raw local0 notice",
        });
        await writeFile(configPath, config, { mode: 0o600 });
        const haproxy = await HaproxyProcess.start({
            configPath,
            statsSocketPath,
            masterSocketPath: join(dir, "master.sock"),
            ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
        });
        cleanups.push(() => haproxy.stop());
        await haproxy.waitForServers(
            "emqx-backend",
            Object.fromEntries(brokers.nodes.map((node) => [node.name, true])),
            30_000,
        );
        return {
            host,
            port,
            haproxy,
            device: { ca: chain.rootPem, cert: chain.deviceCertPem, key: chain.deviceKeyPem },
            close: async () => {
                for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
            },
        };
    } catch (error) {
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
        throw error;
    }
}
