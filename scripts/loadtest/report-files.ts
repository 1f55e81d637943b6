/**
 * Writes a run's results into `--out <dir>`: report.json and report.svg. Nothing secret is in
 * either (names, counts and times only; the certificates stay in memory).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LoadtestReport } from "./report.ts";
import { renderReportSvg } from "./report-plot.ts";

/** Creates `outDir` if needed and writes both files; returns their paths. */
export function writeReportFiles(
    outDir: string,
    report: LoadtestReport,
): { json: string; svg: string } {
    mkdirSync(outDir, { recursive: true });
    const json = join(outDir, "report.json");
    const svg = join(outDir, "report.svg");
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(svg, renderReportSvg(report));
    return { json, svg };
}

/**
 * Whether the scenario went as a healthy edge should: every attempt of every connect phase got its
 * CONNACK, and (steady-publish) every message came through. The CLI exits 1 otherwise, with the
 * report written all the same.
 */
export function scenarioPassed(report: LoadtestReport): boolean {
    const phasesOk = Object.values(report.phases).every(
        (phase) => phase.connected === phase.attempted && phase.attempted === report.devices,
    );
    const publishOk =
        report.publish === undefined ||
        (report.publish.sent > 0 && report.publish.received === report.publish.sent);
    return phasesOk && publishOk;
}
