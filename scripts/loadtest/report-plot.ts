/**
 * report.svg: two panels drawn from report.json alone - devices connected over time, and CONNACK
 * latency percentiles per second of attempt start. Hand-written SVG 1.1, so the plot needs no
 * dependency and opens in any browser or image viewer. Pure.
 */
import type { LoadtestReport } from "./report.ts";

const WIDTH = 900;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 80, right: 150, top: 50, bottom: 45 };
const GAP = 40;
const COLORS = {
    connected: "#1f77b4",
    attempted: "#9aa5b1",
    p50: "#2ca02c",
    p90: "#ff7f0e",
    p99: "#d62728",
};

interface Series {
    label: string;
    color: string;
    dashed?: boolean;
    points: readonly [number, number][];
}

/** A "nice" axis maximum and step: 1, 2 or 5 times a power of ten, about 5 ticks. */
export function niceScale(max: number): { max: number; step: number } {
    if (!(max > 0)) return { max: 1, step: 0.2 };
    const rough = max / 5;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
    return { max: Math.ceil(max / step) * step, step };
}

function escapeXml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function formatTick(value: number): string {
    return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function panel(
    top: number,
    title: string,
    yLabel: string,
    xMax: number,
    series: readonly Series[],
): string {
    const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    const plotHeight = PANEL_HEIGHT - MARGIN.bottom - 30;
    const x0 = MARGIN.left;
    const y0 = top + 30;
    const yMaxRaw = Math.max(0, ...series.flatMap((s) => s.points.map(([, y]) => y)));
    const xs = niceScale(xMax);
    const ys = niceScale(yMaxRaw);
    const px = (x: number) => x0 + (x / xs.max) * plotWidth;
    const py = (y: number) => y0 + plotHeight - (y / ys.max) * plotHeight;
    const parts: string[] = [
        `<text x="${x0}" y="${top + 18}" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
        `<rect x="${x0}" y="${y0}" width="${plotWidth}" height="${plotHeight}" fill="#ffffff" stroke="#444444"/>`,
    ];
    for (let y = 0; y <= ys.max + ys.step / 2; y += ys.step) {
        const yy = py(y).toFixed(1);
        parts.push(
            `<line x1="${x0}" y1="${yy}" x2="${x0 + plotWidth}" y2="${yy}" stroke="#e3e3e3"/>`,
            `<text x="${x0 - 8}" y="${yy}" font-size="12" text-anchor="end" dominant-baseline="middle">${formatTick(y)}</text>`,
        );
    }
    for (let x = 0; x <= xs.max + xs.step / 2; x += xs.step) {
        const xx = px(x).toFixed(1);
        parts.push(
            `<line x1="${xx}" y1="${y0 + plotHeight}" x2="${xx}" y2="${y0 + plotHeight + 5}" stroke="#444444"/>`,
            `<text x="${xx}" y="${y0 + plotHeight + 19}" font-size="12" text-anchor="middle">${formatTick(x)}</text>`,
        );
    }
    parts.push(
        `<text x="${x0 + plotWidth / 2}" y="${y0 + plotHeight + 38}" font-size="12" text-anchor="middle">seconds since the run started</text>`,
        `<text transform="translate(${x0 - 58} ${y0 + plotHeight / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escapeXml(yLabel)}</text>`,
    );
    series.forEach((s, index) => {
        if (s.points.length > 0) {
            const d = s.points
                .map(([x, y], i) => `${i === 0 ? "M" : "L"}${px(x).toFixed(1)} ${py(y).toFixed(1)}`)
                .join(" ");
            parts.push(
                `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
            );
        }
        const ly = y0 + 12 + index * 20;
        const lx = x0 + plotWidth + 15;
        parts.push(
            `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
            `<text x="${lx + 30}" y="${ly}" font-size="12" dominant-baseline="middle">${escapeXml(s.label)}</text>`,
        );
    });
    return parts.join("\n");
}

/** The whole SVG document. */
export function renderReportSvg(report: LoadtestReport): string {
    const xMax = Math.max(
        1,
        ...report.connectionsOverTime.map((r) => r.tSeconds),
        ...report.latencyOverTime.map((r) => r.tSeconds + 1),
    );
    const height = MARGIN.top + 2 * PANEL_HEIGHT + GAP;
    const heading = `${report.scenario}: ${report.connected} of ${report.devices} devices connected (${report.mode}, ${report.startedAt})`;
    const connections = panel(MARGIN.top, "Devices connected", "devices", xMax, [
        {
            label: "connected",
            color: COLORS.connected,
            points: report.connectionsOverTime.map((r) => [r.tSeconds, r.connected]),
        },
        {
            label: "attempts started",
            color: COLORS.attempted,
            dashed: true,
            points: report.connectionsOverTime.map((r) => [r.tSeconds, r.attempted]),
        },
    ]);
    // Each second's percentile is drawn at the middle of that second.
    const at = (key: "p50" | "p90" | "p99") =>
        report.latencyOverTime.map((r): [number, number] => [r.tSeconds + 0.5, r[key]]);
    const latency = panel(
        MARGIN.top + PANEL_HEIGHT + GAP,
        "CONNACK latency by second of attempt start",
        "ms",
        xMax,
        [
            { label: "p50", color: COLORS.p50, points: at("p50") },
            { label: "p90", color: COLORS.p90, points: at("p90") },
            { label: "p99", color: COLORS.p99, points: at("p99") },
        ],
    );
    return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<title>${escapeXml(heading)}</title>
<rect width="${WIDTH}" height="${height}" fill="#fafafa"/>
<text x="${MARGIN.left}" y="28" font-size="16">${escapeXml(heading)}</text>
${connections}
${latency}
</svg>
`;
}
