/**
 * HAProxy memory per idle established device with a stack's rendered haproxy.cfg.
 *
 *   npm run bench:memory [-- --stack <name>] [--json] [--levels 1000,4000,8000]
 *
 * Real HAProxy on loopback (local-edge/, the stack's haproxy.cfg, a local chain with the CA key
 * algorithm a new stack gets) in front of PROXY-v2 broker stand-ins. Devices connect with
 * mutual TLS, send CONNECT, get CONNACK and stay idle (keepalive 0); at each level the HAProxy
 * worker's VmRSS is read, and the slope of a least-squares line through the levels is the
 * KiB per device (R^2 says how straight the line is). Kernel memory (TCP buffers and slab) is
 * reported separately: it is machine-wide and covers every socket of the loopback path, four per
 * device (device and HAProxy ends, HAProxy and stand-in ends), of which HAProxy holds two.
 * The device sockets and the stand-ins live in this process, which needs two descriptors per
 * device, as HAProxy does: the levels must fit the open-files limit.
 */
import { availableParallelism } from "node:os";
import type { TLSSocket } from "node:tls";
import { writeMeasuredFigures } from "../capacity/figures-file.ts";
import { stackSchema } from "../infra/config-schema.ts";
import { LocalEdge, maxconnThatFits } from "../local-edge/local-edge.ts";
import type { LocalKeyAlgorithm } from "../local-edge/local-pki.ts";
import { type FlagSpec, flagsHelp, parseFlags, runCli, stringFlag } from "../pki/cli-flags.ts";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";
import { memoryFigureEntries } from "./bench/memory-figures.ts";
import { openIdleDevice } from "./bench/mqtt-connect.ts";
import { processGroupMembers } from "./bench/process-cpu.ts";
import { kernelSocketKiB, linearFit, residentKiB } from "./bench/process-memory.ts";

const flagSpecs: Record<string, FlagSpec> = {
    stack: { type: "string", help: "<name>  committed stack whose haproxy.cfg runs (default dev)" },
    json: { type: "boolean", help: "print one JSON object instead of lines" },
    levels: {
        type: "string",
        help: "<n,n,...>  idle devices at each measurement, increasing (default 1000,4000,8000)",
    },
    "write-figures": {
        type: "boolean",
        help: "write the per-device HAProxy and kernel memory into capacity/measured-figures.json (what npm run capacity and the sizing guard read); refused when a fit's R^2 is below 0.99",
    },
    help: { type: "boolean", help: "show this help" },
};

function parseLevels(raw: string | undefined, limit: number): number[] {
    const text = raw ?? "1000,4000,8000";
    const levels = text.split(",").map((part) => (/^\d+$/.test(part) ? Number(part) : Number.NaN));
    const increasing = levels.every((n, i) => i === 0 || n > (levels[i - 1] as number));
    if (levels.length < 2 || levels.some((n) => !(n >= 1 && n <= limit)) || !increasing) {
        throw new PkiInputError(
            `--levels ${quoteValue(text)}: not allowed; allowed: two or more increasing whole numbers from 1 to ${limit}, comma-separated`,
        );
    }
    return levels;
}

/** The current worker: the group member that is not the master. */
function workerPid(edge: LocalEdge): number {
    const worker = processGroupMembers(edge.haproxy.pid).find((pid) => pid !== edge.haproxy.pid);
    if (worker === undefined) throw new Error("no HAProxy worker found");
    return worker;
}

async function main(): Promise<number> {
    const flags = parseFlags(process.argv.slice(2), flagSpecs);
    if (flags.help) {
        process.stdout.write(`usage: npm run bench:memory [-- flags]\n${flagsHelp(flagSpecs)}\n`);
        return 0;
    }
    // HAProxy and this process each need two descriptors per device.
    const limit = Math.floor(maxconnThatFits() * 0.95);
    const levels = parseLevels(stringFlag(flags, "levels"), limit);
    const stack = stringFlag(flags, "stack") ?? "dev";
    const log = (line: string) => {
        if (!flags.json) process.stdout.write(`${line}\n`);
    };
    // The chain a new stack gets (the schema's default CA algorithm), as bench:handshake uses.
    const caKeyAlgorithm = stackSchema.parse({}).pki.caKeyAlgorithm as LocalKeyAlgorithm;
    const edge = await LocalEdge.start({ stack, brokerCount: 1, caKeyAlgorithm });
    const sockets: TLSSocket[] = [];
    try {
        const credentials = await edge.pki.issueDevice("idle-device");
        const tls = {
            ca: edge.pki.rootCertPem,
            cert: credentials.certificatePem,
            key: credentials.privateKeyPem,
        };
        const connectUpTo = async (count: number) => {
            const parallel = Math.max(8, availableParallelism() * 8);
            while (sockets.length < count) {
                const batch = Math.min(parallel, count - sockets.length);
                const opened = await Promise.all(
                    Array.from({ length: batch }, (_, i) =>
                        openIdleDevice(edge.host, edge.port, tls, `idle-${sockets.length + i}`),
                    ),
                );
                sockets.push(...opened);
            }
        };
        // One device first, so the first level pays no one-time costs (pools, buffers).
        await connectUpTo(1);
        const points: Array<[number, number]> = [];
        const kernelPoints: Array<[number, number]> = [];
        for (const level of levels) {
            await connectUpTo(level);
            // Let HAProxy settle (buffers released after the handshake) before reading.
            await new Promise((resolve) => setTimeout(resolve, 1000));
            const rss = residentKiB(workerPid(edge));
            const kernel = kernelSocketKiB();
            points.push([level, rss]);
            kernelPoints.push([level, kernel]);
            log(
                `  ${level} idle devices: HAProxy RSS ${rss} KiB, kernel sockets+slab ${kernel} KiB`,
            );
        }
        const haproxy = linearFit(points);
        const kernel = linearFit(kernelPoints);
        const result = {
            stack,
            levels,
            haproxyKiBPerDevice: Math.round(haproxy.slope * 10) / 10,
            haproxyFitR2: Math.round(haproxy.r2 * 10_000) / 10_000,
            kernelKiBPerDeviceWholePath: Math.round(kernel.slope * 10) / 10,
            kernelFitR2: Math.round(kernel.r2 * 10_000) / 10_000,
            caKeyAlgorithm,
            date: new Date().toISOString(),
        };
        if (flags["write-figures"]) {
            const path = writeMeasuredFigures(memoryFigureEntries(result, process.argv.slice(2)));
            log(`wrote the memory figures into ${path}`);
        }
        if (flags.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
            log(
                `HAProxy: ${result.haproxyKiBPerDevice} KiB RSS per idle device (slope over ${levels.join("/")}, R^2 ${result.haproxyFitR2})`,
            );
            log(
                `kernel: ${result.kernelKiBPerDeviceWholePath} KiB per device for the whole loopback path (4 sockets; HAProxy holds 2), machine-wide (R^2 ${result.kernelFitR2})`,
            );
        }
        return 0;
    } finally {
        for (const socket of sockets) socket.destroy();
        await edge.close();
    }
}

await runCli("bench:memory", main);
