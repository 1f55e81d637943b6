/**
 * Memory figures from /proc: a process's resident set (VmRSS) and the kernel's socket and slab
 * memory, machine-wide (/proc/net/sockstat "TCP ... mem" counts pages of TCP buffers;
 * /proc/meminfo Slab holds socket structures). Machine-wide means other work on the machine
 * shows up too: the benchmark reports it separately and says so.
 */
import { readFileSync } from "node:fs";

/** VmRSS of `pid` in KiB. */
export function residentKiB(pid: number): number {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!match) throw new Error(`no VmRSS for pid ${pid}`);
    return Number(match[1]);
}

/** Kernel memory that grows with sockets, KiB: TCP buffer pages plus slab. */
export function kernelSocketKiB(): number {
    const sockstat = readFileSync("/proc/net/sockstat", "utf8");
    const pages = Number(/^TCP:.* mem (\d+)/m.exec(sockstat)?.[1] ?? 0);
    const meminfo = readFileSync("/proc/meminfo", "utf8");
    const slab = Number(/^Slab:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? 0);
    return pages * 4 + slab;
}

/** Least-squares line through (x, y) points: slope, intercept and R^2. */
export function linearFit(points: ReadonlyArray<readonly [number, number]>): {
    slope: number;
    intercept: number;
    r2: number;
} {
    const n = points.length;
    const mx = points.reduce((s, [x]) => s + x, 0) / n;
    const my = points.reduce((s, [, y]) => s + y, 0) / n;
    const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
    const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
    const syy = points.reduce((s, [, y]) => s + (y - my) ** 2, 0);
    const slope = sxy / sxx;
    return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
