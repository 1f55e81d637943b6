/**
 * The one-screen summary printed at the end of a scenario, and the progress line while it runs.
 * Pure text from the report (and the generator's progress).
 */
import type { GeneratorProgress } from "./generator/run-scenario.ts";
import { failedTotal, type LoadtestReport, type Percentiles } from "./report.ts";

function ms(p: Percentiles | null): string {
    return p === null
        ? "-"
        : `p50 ${p.p50.toFixed(1)}  p90 ${p.p90.toFixed(1)}  p99 ${p.p99.toFixed(1)}  max ${p.max.toFixed(1)} ms`;
}

function kinds(failed: Record<string, number>): string {
    const entries = Object.entries(failed);
    return entries.length === 0 ? "none" : entries.map(([k, n]) => `${k} ${n}`).join(", ");
}

/** The summary lines. */
export function summaryLines(report: LoadtestReport, outDir: string): string[] {
    const lines = [
        `${report.scenario} (${report.mode}, run ${report.runId}, ${report.generators} generator${report.generators === 1 ? "" : "s"}, ${report.durationSeconds} s)`,
        `  devices     ${report.devices}   attempted ${report.attempted}   connected ${report.connected}   failed ${failedTotal(report)} (${kinds(report.failed)})`,
        `  rate        ${report.connectRatePerSecond} CONNACK/s achieved (target ${report.targetRatePerSecond}/s${report.heldBackByPendingCap > 0 ? `; ${report.heldBackByPendingCap} attempts waited for the pending cap: the edge did not keep up` : ""})`,
        `  handshake   ${ms(report.handshakeMs)}`,
        `  CONNACK     ${ms(report.connackMs)}`,
    ];
    const reconnect = report.phases.reconnect;
    if (reconnect !== undefined) {
        lines.push(
            `  reconnect   connected ${reconnect.connected}/${reconnect.attempted}, failed ${kinds(reconnect.failed)}, resumed ${(reconnect.resumedFraction * 100).toFixed(1)}%`,
            `              CONNACK ${ms(reconnect.connackMs)}`,
        );
    }
    if (report.publish !== undefined) {
        lines.push(
            `  publish     sent ${report.publish.sent}, received ${report.publish.received}; end to end ${ms(report.publish.latencyMs)}`,
        );
    }
    if (report.local !== undefined) {
        const l = report.local;
        lines.push(
            `  haproxy     CPU ${l.haproxyCpuSeconds.toFixed(2)} s (${l.haproxyCpuMsPerConnect.toFixed(2)} ms per attempt), peak RSS ${l.haproxyPeakRssMiB.toFixed(1)} MiB`,
            `  brokers     ${l.brokerConnections} connections, ${l.distinctCommonNamesAtBrokers} distinct CNs in PROXY v2`,
        );
    }
    lines.push(`  report      ${outDir}/report.json, report.svg, attempts.csv`);
    return lines;
}

/** One progress line, e.g. `[connect] 1200/2000 attempted, 1180 connected, 0 failed`. */
export function progressText(progress: GeneratorProgress, elapsedSeconds: number): string {
    return `loadtest: ${elapsedSeconds.toFixed(0)} s [${progress.phase}] ${progress.attempted}/${progress.devices} attempted, ${progress.connected} connected, ${progress.failed} failed`;
}
