/**
 * One load generator under measurement, in a process of its own so its memory and CPU are its
 * alone (npm run bench:generator starts it):
 *
 *   node scripts/bench/generator-probe.ts <job.json> <devices.json>
 *
 * Reads the same job and credential files a generator host reads and runs the job with the same
 * runScenario (scripts/loadtest/generator/host-main.ts), then prints one JSON line: CONNACKs,
 * failures, the process's CPU time from the first attempt to the last decided one, and its
 * resident set and V8 heap one second into the hold, when every device is connected and idle.
 */
import { readFileSync } from "node:fs";
import type { HostDevicesFile, HostJobFile } from "../loadtest/generator/host-main.ts";
import { runScenario } from "../loadtest/generator/run-scenario.ts";
import { cpuSeconds } from "../loadtest/process-usage.ts";

/** What the probe prints. */
export interface ProbeFigures {
    /** Attempts that got their CONNACK. */
    connected: number;
    /** Attempts that failed, any kind. */
    failed: number;
    /** User + system CPU of this process over the connect phase, microseconds. */
    connectCpuUs: number;
    /**
     * The JavaScript thread's part of connectCpuUs, microseconds (10 ms resolution): Node does
     * every TLS handshake there, so this share bounds the connect rate of one generator.
     */
    mainThreadCpuUs: number;
    /** VmRSS with every device held, KiB. */
    heldRssKiB: number;
    /** V8 heap in use with every device held, KiB. */
    heldHeapKiB: number;
    /** Peak resident set of the whole run (getrusage maxrss), KiB. */
    peakRssKiB: number;
}

/** How long after the last CONNACK the held figures are read: the handshakes' buffers are gone. */
const SETTLE_MS = 1_000;

async function main(argv: string[]): Promise<number> {
    const [jobPath, devicesPath] = argv;
    if (!jobPath || !devicesPath) {
        console.error("usage: node scripts/bench/generator-probe.ts <job.json> <devices.json>");
        return 2;
    }
    const { job, target } = JSON.parse(readFileSync(jobPath, "utf8")) as HostJobFile;
    const credentials = JSON.parse(readFileSync(devicesPath, "utf8")) as HostDevicesFile;
    let connectCpuUs: number | undefined;
    let mainThreadCpuUs = 0;
    // The main thread's task id is the process id.
    const mainThreadAtStart = cpuSeconds(process.pid, process.pid);
    let held: { rss: number; heap: number } | undefined;
    let settle: NodeJS.Timeout | undefined;
    const cpuAtStart = process.cpuUsage();
    const result = await runScenario(job, {
        target,
        devices: credentials.devices,
        onProgress: (p) => {
            // runScenario reports once more, forced, when every attempt of the wave is decided.
            if (
                connectCpuUs !== undefined ||
                p.phase !== "connect" ||
                p.attempted !== p.devices ||
                p.connected + p.failed !== p.devices
            ) {
                return;
            }
            const cpu = process.cpuUsage(cpuAtStart);
            connectCpuUs = cpu.user + cpu.system;
            mainThreadCpuUs = (cpuSeconds(process.pid, process.pid) - mainThreadAtStart) * 1e6;
            settle = setTimeout(() => {
                const memory = process.memoryUsage();
                held = { rss: memory.rss / 1024, heap: memory.heapUsed / 1024 };
            }, SETTLE_MS);
        },
    });
    clearTimeout(settle);
    if (connectCpuUs === undefined || held === undefined) {
        console.error(
            `generator-probe: the hold (${job.holdSeconds} s) ended before the figures were read; hold at least ${(SETTLE_MS / 1000) * 2} s`,
        );
        return 1;
    }
    const figures: ProbeFigures = {
        connected: result.attempts.filter((a) => a.connackMs !== undefined).length,
        failed: result.attempts.filter((a) => a.failure !== undefined).length,
        connectCpuUs,
        mainThreadCpuUs,
        heldRssKiB: Math.round(held.rss),
        heldHeapKiB: Math.round(held.heap),
        // Linux reports ru_maxrss in KiB.
        peakRssKiB: process.resourceUsage().maxRSS,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    return 0;
}

process.exitCode = await main(process.argv.slice(2));
