/**
 * The generator as it runs on a load-generator host:
 *
 *   node host-main.mjs <job.json> <devices.json> <result.json>
 *
 * job.json is `{ job, target }` (scenario-job.ts, device-session.ts); devices.json is
 * `{ devices, subscriber? }` with this generator's credentials. Waits for the job's start time,
 * runs it, writes the result and prints a progress line every few seconds (the bootstrap log).
 * Exit 0 when the result is written, whatever the scenario measured; 1 when it could not run.
 * Host code: Node built-ins only, erasable TypeScript only (stripped to .mjs for the hosts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { DeviceCredential, EdgeTarget } from "./device-session.ts";
import { openFilesLimit } from "./open-files.ts";
import { runScenario } from "./run-scenario.ts";
import type { ScenarioJob } from "./scenario-job.ts";

/** job.json. */
export interface HostJobFile {
    job: ScenarioJob;
    target: EdgeTarget;
}

/** devices.json. */
export interface HostDevicesFile {
    devices: DeviceCredential[];
    subscriber?: DeviceCredential;
}

async function main(argv: string[]): Promise<number> {
    const [jobPath, devicesPath, resultPath] = argv;
    if (!jobPath || !devicesPath || !resultPath) {
        console.error("usage: node host-main.mjs <job.json> <devices.json> <result.json>");
        return 2;
    }
    const { job, target } = JSON.parse(readFileSync(jobPath, "utf8")) as HostJobFile;
    const credentials = JSON.parse(readFileSync(devicesPath, "utf8")) as HostDevicesFile;
    const limit = openFilesLimit();
    console.log(
        `generator ${job.generator}: ${job.scenario}, ${job.devices} devices at ${job.ratePerSecond.toFixed(1)}/s against ${target.host}:${target.port}, open-files limit ${limit ?? "unknown"}`,
    );
    const started = Date.now();
    const result = await runScenario(job, {
        target,
        devices: credentials.devices,
        ...(credentials.subscriber ? { subscriber: credentials.subscriber } : {}),
        ...(limit !== undefined ? { openFilesLimit: limit } : {}),
        onProgress: (p) =>
            console.log(
                `generator ${job.generator}: ${Math.round((Date.now() - started) / 1000)} s [${p.phase}] ${p.attempted}/${p.devices} attempted, ${p.connected} connected, ${p.failed} failed`,
            ),
        onFdLimit: (open) =>
            console.log(
                `generator ${job.generator}: out of file descriptors at ${open} open connections (limit ${limit ?? "unknown"})`,
            ),
    });
    const usage = process.resourceUsage();
    result.hostUsage = {
        cpuSeconds: Math.round((usage.userCPUTime + usage.systemCPUTime) / 10_000) / 100,
        // Linux reports ru_maxrss in KiB.
        peakRssMiB: Math.round((usage.maxRSS / 1024) * 10) / 10,
    };
    writeFileSync(resultPath, JSON.stringify(result));
    console.log(`generator ${job.generator}: result written to ${resultPath}`);
    return 0;
}

process.exitCode = await main(process.argv.slice(2));
