/**
 * Writes a run's results into `--out <dir>`: report.json, report.svg and attempts.csv (one row
 * per connection attempt). Nothing secret is in any (names, counts and times only; the
 * certificates stay in memory).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GeneratorResult } from "./generator/scenario-job.ts";
import type { LoadtestReport } from "./report.ts";
import { renderReportSvg } from "./report-plot.ts";

/** attempts.csv: every attempt of every generator, times in ms on the generator's own clock. */
export function attemptsCsv(results: readonly GeneratorResult[]): string {
    const rows = [
        "generator,device,phase,start_ms,handshake_ms,connack_ms,resumed,failure,closed_ms",
    ];
    for (const r of results) {
        for (const a of r.attempts) {
            rows.push(
                [
                    r.job.generator,
                    a.device,
                    a.phase,
                    a.startMs,
                    a.handshakeMs ?? "",
                    a.connackMs ?? "",
                    a.resumed === undefined ? "" : String(a.resumed),
                    a.failure ?? "",
                    a.closedMs ?? "",
                ].join(","),
            );
        }
    }
    return `${rows.join("\n")}\n`;
}

/** Creates `outDir` if needed and writes the files; returns their paths. */
export function writeReportFiles(
    outDir: string,
    report: LoadtestReport,
    results: readonly GeneratorResult[],
): { json: string; svg: string; csv: string } {
    mkdirSync(outDir, { recursive: true });
    const json = join(outDir, "report.json");
    const svg = join(outDir, "report.svg");
    const csv = join(outDir, "attempts.csv");
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(svg, renderReportSvg(report));
    writeFileSync(csv, attemptsCsv(results));
    return { json, svg, csv };
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
