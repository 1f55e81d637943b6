/**
 * What one load generator costs per device on its own host: memory per held device and CPU per
 * connect, the figures `npm run loadtest` sizes the generator instances from
 * (capacity/load-generator-sizing.ts).
 *
 *   npm run bench:generator [-- --stack <name>] [--levels 500,1000,2000] [--rate 300] [--rounds 2] [--json] [--write]
 *
 * Real HAProxy on loopback with the stack's haproxy.cfg in front of PROXY-v2 broker stand-ins
 * (local-edge/, as `npm run loadtest -- --local`). For every level, a fresh generator process
 * (scripts/bench/generator-probe.ts) runs a connect-storm of that many devices, each with its own
 * certificate, from the same job and credential files a generator host reads. The figures are
 * slopes of least-squares lines through (completed CONNACKs, figure) over every level and round:
 * the generator's CPU over the connect phase per CONNACK, and its resident set with every device
 * held per device; the memory line's intercept is the generator's base. Levels run interleaved
 * over the rounds, so a slow minute on a shared machine hits every level alike. HAProxy's own CPU
 * per CONNACK in the same runs is the reference the generator's is compared with.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeMeasuredFigures } from "../capacity/figures-file.ts";
import { LocalEdge, maxconnThatFits } from "../local-edge/local-edge.ts";
import {
    type FlagSpec,
    flagsHelp,
    integerFlag,
    parseFlags,
    runCli,
    stringFlag,
} from "../pki/cli-flags.ts";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";
import { type GeneratorBenchResult, generatorFigureEntries } from "./bench/generator-figures.ts";
import type { ProbeFigures } from "./bench/generator-probe.ts";
import { linearFit } from "./bench/process-memory.ts";
import { issueDeviceBatch } from "./loadtest/device-batch.ts";
import type { HostDevicesFile, HostJobFile } from "./loadtest/generator/host-main.ts";
import { cpuSeconds } from "./loadtest/process-usage.ts";
import { generatorJobs, planScenario } from "./loadtest/scenario-plan.ts";

const flagSpecs: Record<string, FlagSpec> = {
    stack: { type: "string", help: "<name>  committed stack whose haproxy.cfg runs (default dev)" },
    levels: {
        type: "string",
        help: "<n,n,...>  devices per generator run, increasing (default 500,1000,2000)",
    },
    rate: { type: "string", help: "<per s>  connect rate of every run (default 300)" },
    rounds: { type: "string", help: "<n>  interleaved rounds over the levels (default 2)" },
    json: { type: "boolean", help: "print one JSON object instead of lines" },
    write: {
        type: "boolean",
        help: "put the three generator figures into capacity/measured-figures.json (other entries untouched)",
    },
    help: { type: "boolean", help: "show this help" },
};

const probePath = fileURLToPath(new URL("./bench/generator-probe.ts", import.meta.url));
/** Long enough for the probe to read its held figures (it reads them 1 s after the last CONNACK). */
const HOLD_SECONDS = 2;

function parseLevels(raw: string | undefined, limit: number): number[] {
    const text = raw ?? "500,1000,2000";
    const levels = text.split(",").map((part) => (/^\d+$/.test(part) ? Number(part) : Number.NaN));
    const increasing = levels.every((n, i) => i === 0 || n > (levels[i - 1] as number));
    if (levels.length < 2 || levels.some((n) => !(n >= 1 && n <= limit)) || !increasing) {
        throw new PkiInputError(
            `--levels ${quoteValue(text)}: not allowed; allowed: two or more increasing whole numbers from 1 to ${limit}, comma-separated`,
        );
    }
    return levels;
}

/** Runs the probe on one job; rejects with its stderr when it fails or outlives `timeoutMs`. */
function runProbe(jobPath: string, devicesPath: string, timeoutMs: number): Promise<ProbeFigures> {
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            [probePath, jobPath, devicesPath],
            { timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
            (error, stdout, stderr) => {
                if (error) {
                    reject(new Error(`generator probe: ${stderr.trim() || error.message}`));
                    return;
                }
                resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as ProbeFigures);
            },
        );
    });
}

const round1 = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<number> {
    const flags = parseFlags(process.argv.slice(2), flagSpecs);
    if (flags.help) {
        process.stdout.write(
            `usage: npm run bench:generator [-- flags]\n${flagsHelp(flagSpecs)}\n`,
        );
        return 0;
    }
    // HAProxy needs two descriptors per device, and so does this process (the stand-ins' side).
    const levels = parseLevels(stringFlag(flags, "levels"), Math.floor(maxconnThatFits() * 0.9));
    const rate = integerFlag(flags, "rate", 300, 1, 5_000);
    const rounds = integerFlag(flags, "rounds", 2, 1, 10);
    const stack = stringFlag(flags, "stack") ?? "dev";
    const log = (line: string) => {
        if (!flags.json) process.stdout.write(`${line}\n`);
    };
    const edge = await LocalEdge.start({
        stack,
        // Every device connection must fit in the frontend and in the backend servers.
        customize: (spec) => {
            spec.mqtts.maxconn = spec.process.maxconn;
            spec.backend.serverDefaults.maxconn = spec.process.maxconn;
        },
    });
    // Device keys land in these files for the probe to read: private to this user, removed after.
    const workDir = mkdtempSync(join(tmpdir(), "mqtt-edge-bench-generator-"));
    try {
        const most = levels[levels.length - 1] as number;
        log(
            `issuing ${most} device certificates from the local ${edge.config.pki.caKeyAlgorithm} intermediate`,
        );
        const batch = await issueDeviceBatch(edge.pki.deviceIssuingCa, "bench", most, 0);
        const target = {
            host: edge.host,
            port: edge.port,
            serverName: edge.serverName,
            trustBundlePem: edge.pki.rootCertPem,
        };
        const files = new Map<number, { job: string; devices: string; boundMs: number }>();
        for (const level of levels) {
            const plan = planScenario(
                {
                    scenario: "connect-storm",
                    devices: String(level),
                    rate: String(rate),
                    hold: String(HOLD_SECONDS),
                },
                "local",
            );
            const [job] = generatorJobs(plan, "bench", edge.config.mqtt.keepaliveSeconds);
            const jobFile: HostJobFile = { job: job as HostJobFile["job"], target };
            const devicesFile: HostDevicesFile = { devices: batch.devices.slice(0, level) };
            const paths = {
                job: join(workDir, `job-${level}.json`),
                devices: join(workDir, `devices-${level}.json`),
                boundMs: (plan.boundSeconds + 30) * 1000,
            };
            writeFileSync(paths.job, JSON.stringify(jobFile), { mode: 0o600 });
            writeFileSync(paths.devices, JSON.stringify(devicesFile), { mode: 0o600 });
            files.set(level, paths);
        }
        const worker = (await edge.haproxy.currentWorker()).pid;
        const cpuPoints: Array<[number, number]> = [];
        const rssPoints: Array<[number, number]> = [];
        const heapPoints: Array<[number, number]> = [];
        const haproxyPoints: Array<[number, number]> = [];
        let connectCpuUs = 0;
        let mainThreadCpuUs = 0;
        const peakPoints: Array<[number, number]> = [];
        for (let round = 0; round < rounds; round++) {
            const order = levels.map((_, i) => levels[(i + round) % levels.length] as number);
            for (const level of order) {
                const paths = files.get(level);
                if (paths === undefined) throw new Error(`no files for level ${level}`);
                const haproxyBefore = cpuSeconds(worker);
                const figures = await runProbe(paths.job, paths.devices, paths.boundMs);
                const haproxyUs = (cpuSeconds(worker) - haproxyBefore) * 1e6;
                if (figures.failed > 0 || figures.connected !== level) {
                    throw new Error(
                        `round ${round + 1}, ${level} devices: ${figures.connected} CONNACKs, ${figures.failed} failed; a figure needs every device connected (lower --rate on a busy machine)`,
                    );
                }
                cpuPoints.push([figures.connected, figures.connectCpuUs]);
                connectCpuUs += figures.connectCpuUs;
                mainThreadCpuUs += figures.mainThreadCpuUs;
                rssPoints.push([figures.connected, figures.heldRssKiB]);
                heapPoints.push([figures.connected, figures.heldHeapKiB]);
                peakPoints.push([figures.connected, figures.peakRssKiB]);
                haproxyPoints.push([figures.connected, haproxyUs]);
                log(
                    `  round ${round + 1}, ${level} devices: generator ${round1(figures.connectCpuUs / 1000)} ms CPU over the connects (${Math.round(figures.connectCpuUs / figures.connected)} us/CONNACK), RSS held ${Math.round(figures.heldRssKiB / 1024)} MiB (heap ${Math.round(figures.heldHeapKiB / 1024)} MiB, peak ${Math.round(figures.peakRssKiB / 1024)} MiB); HAProxy ${Math.round(haproxyUs / figures.connected)} us/CONNACK`,
                );
            }
        }
        const cpu = linearFit(cpuPoints);
        const rss = linearFit(rssPoints);
        const heap = linearFit(heapPoints);
        const peak = linearFit(peakPoints);
        const haproxy = linearFit(haproxyPoints);
        const result: GeneratorBenchResult = {
            stack,
            levels,
            rounds,
            ratePerSecond: rate,
            generatorCpuUsPerConnect: Math.round(cpu.slope),
            generatorCpuFitR2: Math.round(cpu.r2 * 10_000) / 10_000,
            generatorMainThreadShare: Math.round((mainThreadCpuUs / connectCpuUs) * 100) / 100,
            generatorRssKiBPerDevice: round1(rss.slope),
            generatorRssFitR2: Math.round(rss.r2 * 10_000) / 10_000,
            generatorBaseRssMiB: round1(rss.intercept / 1024),
            generatorHeapKiBPerDevice: round1(heap.slope),
            generatorPeakRssKiBPerDevice: round1(peak.slope),
            haproxyCpuUsPerConnect: Math.round(haproxy.slope),
            generatorToHaproxyCpu: Math.round((cpu.slope / haproxy.slope) * 100) / 100,
            caKeyAlgorithm: edge.config.pki.caKeyAlgorithm,
            node: process.version,
            loadAverage: Math.round((loadavg()[0] ?? 0) * 10) / 10,
            date: new Date().toISOString(),
        };
        if (flags.write) {
            const args = process.argv.slice(2).filter((a) => a !== "--json");
            const path = writeMeasuredFigures(
                generatorFigureEntries(result, `npm run bench:generator -- ${args.join(" ")}`),
            );
            log(`wrote the generator figures into ${path}`);
        }
        if (flags.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
            log(
                `generator CPU: ${result.generatorCpuUsPerConnect} us per CONNACK (slope over ${levels.join("/")} x ${rounds} rounds, R^2 ${result.generatorCpuFitR2}); ${result.generatorToHaproxyCpu}x HAProxy's ${result.haproxyCpuUsPerConnect} us in the same runs`,
            );
            log(
                `generator JavaScript thread: ${Math.round(result.generatorMainThreadShare * 100)} % of its CPU over the connects (the TLS handshakes run there: one core bounds a generator's connect rate)`,
            );
            log(
                `generator memory: ${result.generatorRssKiBPerDevice} KiB RSS per held device (R^2 ${result.generatorRssFitR2}), base ${result.generatorBaseRssMiB} MiB; V8 heap ${result.generatorHeapKiBPerDevice} KiB per device; peak RSS ${result.generatorPeakRssKiBPerDevice} KiB per device`,
            );
            log(`Node ${result.node}, load average ${result.loadAverage}`);
        }
        return 0;
    } finally {
        rmSync(workDir, { recursive: true, force: true });
        await edge.close();
    }
}

await runCli("bench:generator", main);
