/**
 * `npm run loadtest -- --local --scenario ...`: the generator in this process against a stack's
 * own haproxy.cfg in a real HAProxy on loopback, in front of PROXY-v2 broker stand-ins
 * (local-edge/). Bounded by this machine's descriptor limit, which is checked before anything
 * starts. Measures, besides what the generator records, HAProxy's CPU and peak memory and the
 * distinct certificate CNs that reached the stand-ins.
 */

import { ConfigError } from "../../infra/config.ts";
import { LocalEdge, maxconnThatFits } from "../../local-edge/local-edge.ts";
import { smokeTargetForLocalEdge } from "../smoke/local-target.ts";
import { runSmokeChecks } from "../smoke/smoke-checks.ts";
import { smokeLines, smokePassed, smokeSummary } from "../smoke/smoke-report.ts";
import { issueDeviceBatch } from "./device-batch.ts";
import { maxDevicesForLimit, openFilesLimit } from "./generator/open-files.ts";
import { runScenario } from "./generator/run-scenario.ts";
import { cpuSeconds, peakRssMiB } from "./process-usage.ts";
import { progressLine } from "./progress-line.ts";
import { buildReport, type LoadtestReport } from "./report.ts";
import { scenarioPassed, writeReportFiles } from "./report-files.ts";
import { interruptedExitCode } from "./run.ts";
import { generatorJobs, type ScenarioPlan } from "./scenario-plan.ts";
import { progressText, summaryLines } from "./summary.ts";

/** A local run. */
export interface LocalRunRequest {
    /** Committed stack whose haproxy.cfg runs. */
    stack: string;
    /** The validated scenario. */
    plan: ScenarioPlan;
    /** Names the devices' CNs and topics. */
    runId: string;
    /** Where report.json and report.svg go. */
    outDir: string;
}

/** What the run uses from its surroundings. */
export interface LocalRunDeps {
    /** Status lines (stderr). */
    log: (line: string) => void;
    /** Where the progress line and the summary go. */
    stderr: { isTTY?: boolean; write(text: string): unknown };
    /** Aborted on SIGINT/SIGTERM: the scenario stops, devices and the edge are closed. */
    interrupt: AbortSignal;
    /**
     * Called with the edge after the scenario and before the edge is closed, so a caller can
     * compare the stand-ins' own records with the report (the tests do).
     */
    inspect?: (edge: LocalEdge) => void;
}

/**
 * The most devices one local run can hold: this process has two sockets per device (the device
 * and the stand-in's side) and HAProxy's maxconn is fitted to the hard limit.
 */
export function localDeviceLimit(): number {
    const here = maxDevicesForLimit(openFilesLimit(), 2) ?? Number.POSITIVE_INFINITY;
    // A few connections stay free for health checks and the steady-publish subscriber.
    return Math.min(here, maxconnThatFits() - 20);
}

/** Runs the scenario; resolves with the report and the exit code (0 only if every device got in). */
export async function runLocalScenario(
    request: LocalRunRequest,
    deps: LocalRunDeps,
): Promise<{ report: LoadtestReport | undefined; exitCode: number }> {
    const { plan } = request;
    const { log } = deps;
    const limit = localDeviceLimit();
    if (plan.devices > limit) {
        throw new ConfigError(
            `--devices ${plan.devices} is more than this machine's open-files limit (${openFilesLimit() ?? "unknown"}) lets one local run hold: at most ${limit} (HAProxy needs 2 descriptors per device, and so does this process)`,
        );
    }
    log(`loadtest: starting the local edge (stack ${request.stack})`);
    const edge = await LocalEdge.start({
        stack: request.stack,
        // Every device connection must fit in the frontend and in the backend servers.
        customize: (spec) => {
            spec.mqtts.maxconn = spec.process.maxconn;
            spec.backend.serverDefaults.maxconn = spec.process.maxconn;
        },
    });
    try {
        // As on a fresh load-test stack: an edge that refuses good devices, or admits bad ones,
        // would make the scenario measure nothing useful.
        const smoke = await runSmokeChecks(await smokeTargetForLocalEdge(edge));
        for (const line of smokeLines(smoke)) log(`smoke: ${line}`);
        log(smokeSummary(smoke));
        if (!smokePassed(smoke)) {
            log("loadtest: the smoke checks failed; the scenario was not run");
            return { report: undefined, exitCode: 1 };
        }
        log(
            `loadtest: HAProxy ${edge.host}:${edge.port} (maxconn ${edge.spec.process.maxconn}, ${edge.brokers.nodes.length} broker stand-ins); issuing ${plan.devices} device certificates from the local ${edge.config.pki.caKeyAlgorithm} intermediate`,
        );
        const batch = await issueDeviceBatch(
            edge.pki.deviceIssuingCa,
            request.runId,
            plan.devices,
            plan.scenario === "steady-publish" ? 1 : 0,
            (issued, total) => log(`loadtest: issued ${issued}/${total} certificates`),
        );
        const [job] = generatorJobs(plan, request.runId, edge.config.mqtt.keepaliveSeconds);
        if (job === undefined) throw new Error("no job for the local generator");
        const worker = (await edge.haproxy.currentWorker()).pid;
        const cpuBefore = cpuSeconds(worker);
        const started = performance.now();
        const progress = progressLine(deps.stderr);
        const filesLimit = openFilesLimit();
        const result = await runScenario(job, {
            target: {
                host: edge.host,
                port: edge.port,
                serverName: edge.serverName,
                trustBundlePem: edge.pki.rootCertPem,
            },
            devices: batch.devices,
            ...(batch.subscribers[0] ? { subscriber: batch.subscribers[0] } : {}),
            signal: deps.interrupt,
            ...(filesLimit !== undefined ? { openFilesLimit: filesLimit } : {}),
            onProgress: (p) => progress.show(progressText(p, (performance.now() - started) / 1000)),
            onFdLimit: (open) => {
                progress.done();
                log(
                    `loadtest: out of file descriptors at ${open} open connections (limit ${filesLimit ?? "unknown"}); the rest are counted as fd-limit failures`,
                );
            },
        });
        progress.done();
        const haproxyCpu = cpuSeconds(worker) - cpuBefore;
        const prefix = `lt-${request.runId}-d`;
        const deviceNames = new Set(
            edge.brokers.connections
                .map((c) => c.commonName)
                .filter((cn): cn is string => cn?.startsWith(prefix) === true),
        );
        const report = buildReport([result], "local", {
            haproxyCpuSeconds: Math.round(haproxyCpu * 100) / 100,
            haproxyCpuMsPerConnect:
                result.attempts.length === 0
                    ? 0
                    : Math.round(((haproxyCpu * 1000) / result.attempts.length) * 100) / 100,
            haproxyPeakRssMiB: peakRssMiB(worker),
            distinctCommonNamesAtBrokers: deviceNames.size,
            brokerConnections: edge.brokers.connections.filter((c) =>
                c.commonName?.startsWith(prefix),
            ).length,
        });
        writeReportFiles(request.outDir, report, [result]);
        for (const line of summaryLines(report, request.outDir)) deps.stderr.write(`${line}\n`);
        deps.inspect?.(edge);
        if (deps.interrupt.aborted)
            return { report, exitCode: interruptedExitCode(deps.interrupt) };
        return { report, exitCode: scenarioPassed(report) ? 0 : 1 };
    } finally {
        await edge.close();
    }
}
