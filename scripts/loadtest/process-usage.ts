/**
 * CPU time and peak memory of another process on this machine (the local HAProxy worker), from
 * /proc: proc(5) `stat` fields 14/15 (utime, stime in clock ticks, all threads) and `status`
 * VmHWM (peak resident set).
 */
import { readFileSync } from "node:fs";

/** Linux's USER_HZ, what /proc/<pid>/stat counts in on every architecture we run on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * User + system CPU seconds the process has used so far, or with `thread` (a task id of the
 * process; the main thread's is the pid) that thread alone (proc(5) /proc/<pid>/task/<tid>/stat).
 */
export function cpuSeconds(pid: number, thread?: number): number {
    const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
    const stat = readFileSync(path, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Peak resident set size, MiB (VmHWM). */
export function peakRssMiB(pid: number): number {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
    return Math.round((kib / 1024) * 10) / 10;
}
