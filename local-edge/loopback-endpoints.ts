/**
 * Addresses and ports on 127.0.0.0/8 for one test run. Every run draws its own random /24 inside
 * 127.0.0.0/8 so that e2e files running in parallel (and other test files binding 127.0.0.1) do
 * not fight over ports, and so that each device and broker has an address of its own that the
 * broker stand-ins can assert on. Linux answers on all of 127/8 without any interface setup.
 */
import { randomInt } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";

/** Hands out distinct loopback addresses from one random 127.x.y.0/24. */
export class LoopbackAddressPool {
    /** The /24 prefix, e.g. "127.83.17". */
    readonly prefix: string;
    #nextHost = 1;

    constructor() {
        // 127.0.x.x is left alone: that is where everything else on the machine listens.
        this.prefix = `127.${randomInt(1, 255)}.${randomInt(0, 256)}`;
    }

    /** A loopback address nobody else in this run has been given. */
    next(): string {
        if (this.#nextHost > 254)
            throw new Error(`loopback pool ${this.prefix}.0/24 is exhausted (254 addresses)`);
        const address = `${this.prefix}.${this.#nextHost}`;
        this.#nextHost += 1;
        return address;
    }
}

/** Asks the kernel for a port that is free on `address` right now (bind port 0, read, close). */
export async function findFreePort(address: string): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: address, port: 0, exclusive: true }, resolve);
    });
    const bound = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (bound === null || typeof bound === "string")
        throw new Error(`no TCP port was bound on ${address}`);
    return bound.port;
}

/**
 * Connections waiting in the accept queue of the TCP listener on `address`:`port`, read from
 * /proc/net/tcp (for a LISTEN socket, rx_queue is the accept backlog; proc(5) "/proc/net/tcp").
 * A process that stopped accepting (HAProxy at its maxconn) leaves new connections there.
 */
export async function acceptQueueLength(address: string, port: number): Promise<number> {
    const table = await readFile("/proc/net/tcp", "utf8");
    // Addresses are the 32-bit value in host byte order (little-endian here), ports big-endian.
    const addressHex = address
        .split(".")
        .reverse()
        .map((part) => Number(part).toString(16).padStart(2, "0"))
        .join("")
        .toUpperCase();
    const local = `${addressHex}:${port.toString(16).padStart(4, "0").toUpperCase()}`;
    const LISTEN_STATE = "0A";
    for (const line of table.split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[1] === local && fields[3] === LISTEN_STATE) {
            const rxQueue = (fields[4] ?? "0:0").split(":")[1] ?? "0";
            return Number.parseInt(rxQueue, 16);
        }
    }
    throw new Error(`no listening socket ${address}:${port} in /proc/net/tcp`);
}
