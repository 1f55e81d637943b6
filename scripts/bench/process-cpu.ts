/**
 * CPU time of a process tree from /proc, in nanoseconds: the sum of every thread's run time in
 * /proc/<pid>/task/<tid>/schedstat (first field, ns on the CPU; Documentation/scheduler/
 * sched-stats.rst), for a set of processes. Nanoseconds rather than /proc/<pid>/stat's 10 ms
 * clock ticks: a round of a few seconds spends only tens of ticks in HAProxy.
 */
import { readdirSync, readFileSync } from "node:fs";

function threadsOf(pid: number): number[] {
    try {
        return readdirSync(`/proc/${pid}/task`).map(Number);
    } catch {
        return []; // The process ended: its time is no longer readable, and no longer grows.
    }
}

function threadRunNs(pid: number, tid: number): number {
    try {
        const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ");
        return Number(fields[0] ?? 0);
    } catch {
        return 0;
    }
}

/** Total CPU nanoseconds the given processes' threads have run so far. */
export function cpuNanoseconds(pids: readonly number[]): number {
    let total = 0;
    for (const pid of pids) for (const tid of threadsOf(pid)) total += threadRunNs(pid, tid);
    return total;
}

/** The pids of a process group (HAProxy's master and its workers share the master's group). */
export function processGroupMembers(pgid: number): number[] {
    const members: number[] = [];
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
            // Fields after the parenthesised command name: state ppid pgrp ...
            const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            if (Number(after[2]) === pgid) members.push(Number(entry));
        } catch {
            // Gone between readdir and read.
        }
    }
    return members;
}
