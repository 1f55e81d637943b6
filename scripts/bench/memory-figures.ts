/**
 * The capacity model's memory figures from one `npm run bench:memory` run: HAProxy's RSS per idle
 * device, and the kernel's share for the two sockets HAProxy holds (half of the whole loopback
 * path's four). Pure: the bench writes them (capacity/figures-file.ts).
 */
import type { MeasuredEntry } from "../../capacity/figures-file.ts";

/** What the bench reports, as far as the figures need it. */
export interface MemoryRun {
    readonly stack: string;
    readonly caKeyAlgorithm: string;
    readonly levels: readonly number[];
    readonly haproxyKiBPerDevice: number;
    readonly haproxyFitR2: number;
    readonly kernelKiBPerDeviceWholePath: number;
    readonly kernelFitR2: number;
    readonly date: string;
}

/** Below this R^2 the levels do not lie on a line: the slope is not a per-device cost. */
export const MIN_FIT_R2 = 0.99;

/** The entries to write; throws one line when either fit is too loose to be a per-device figure. */
export function memoryFigureEntries(
    run: MemoryRun,
    argv: readonly string[],
): Record<string, MeasuredEntry> {
    for (const [what, r2] of [
        ["HAProxy RSS", run.haproxyFitR2],
        ["kernel memory", run.kernelFitR2],
    ] as const) {
        if (r2 < MIN_FIT_R2) {
            throw new Error(
                `bench:memory: the ${what} fit has R^2 ${r2}, below ${MIN_FIT_R2}; not writing figures from this run (a busy machine moves memory too: run it again)`,
            );
        }
    }
    const date = run.date.slice(0, 10);
    const command = ["npm run bench:memory --", ...argv].join(" ");
    const rig = `the ${run.stack} stack's rendered haproxy.cfg in real HAProxy on loopback, ${run.caKeyAlgorithm} CAs and ECDSA P-256 devices, idle established mutual-TLS devices (keepalive 0) at ${run.levels.join("/")}`;
    return {
        haproxyRssPerIdleDevice: {
            value: run.haproxyKiBPerDevice,
            unit: "KiB",
            date,
            kind: "measured",
            method: `HAProxy worker VmRSS, ${rig}; least-squares slope (R^2 ${run.haproxyFitR2})`,
            command,
        },
        kernelPerDevice: {
            value: Math.round((run.kernelKiBPerDeviceWholePath / 2) * 10) / 10,
            unit: "KiB",
            date,
            kind: "measured",
            method: `machine-wide TCP buffer pages (/proc/net/sockstat) plus Slab (/proc/meminfo), ${rig}: ${run.kernelKiBPerDeviceWholePath} KiB for the 4 loopback sockets per device, halved for the 2 HAProxy holds (R^2 ${run.kernelFitR2})`,
            command,
        },
    };
}
