/**
 * The open-files limit this process runs under. Every device holds one socket, so the limit
 * bounds the devices one generator process can open; Node raises its soft limit to the hard
 * limit at start-up, so the soft limit read here is what the process really has.
 * Host code: Node built-ins only, erasable TypeScript only.
 */
import { readFileSync } from "node:fs";

/** The soft RLIMIT_NOFILE from /proc/self/limits; undefined where there is no /proc. */
export function openFilesLimit(): number | undefined {
    let text: string;
    try {
        text = readFileSync("/proc/self/limits", "utf8");
    } catch {
        return undefined;
    }
    // "Max open files            20000                20000                files"
    const match = /^Max open files\s+(\d+|unlimited)\s+/m.exec(text);
    if (match === null || match[1] === "unlimited") return undefined;
    return Number(match[1]);
}

/** Descriptors kept free for everything that is not a device socket (files, pipes, the loop). */
export const RESERVED_FILES = 200;

/**
 * The most devices a process may open when each costs `filesPerDevice` descriptors in it, or
 * undefined when the limit is unknown.
 */
export function maxDevicesForLimit(
    limit: number | undefined,
    filesPerDevice: number,
): number | undefined {
    if (limit === undefined) return undefined;
    return Math.max(0, Math.floor((limit - RESERVED_FILES) / filesPerDevice));
}
