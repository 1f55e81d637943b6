/**
 * The production privilege arrangement for a HAProxy on this machine (tests, `--local` runs): the
 * master starts as root, the workers drop to the `haproxy` account inside a chroot
 * (templates/haproxy-spec.ts, runAs). Only root can switch user, so a run by anyone else keeps the
 * starting user; CI runs as root (`sudo bash .ci/run`), so there every e2e test runs with the drop.
 */
import { mkdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { HaproxyWorkerPrivileges } from "../templates/haproxy-spec.ts";

/** The account the Debian package and the official image create for HAProxy's workers. */
export const HAPROXY_ACCOUNT = "haproxy";

/** A system account as /etc/passwd and /etc/group define it. */
export interface SystemAccount {
    /** User name. */
    user: string;
    /** Numeric user id. */
    uid: number;
    /** Group name. */
    group: string;
    /** Numeric group id. */
    gid: number;
}

/** Whether this process may switch user, i.e. runs as root. */
export function canDropPrivileges(): boolean {
    return process.getuid?.() === 0;
}

/** The `haproxy` user and group of this machine; one-line error naming what is missing. */
export async function haproxyAccount(): Promise<SystemAccount> {
    const field = (file: string, name: string, index: number): number | undefined => {
        const row = file.split("\n").find((line) => line.split(":")[0] === name);
        const value = row?.split(":")[index];
        return value === undefined ? undefined : Number(value);
    };
    const passwd = await readFile("/etc/passwd", "utf8");
    const groups = await readFile("/etc/group", "utf8");
    const uid = field(passwd, HAPROXY_ACCOUNT, 2);
    const gid = field(groups, HAPROXY_ACCOUNT, 2);
    if (uid === undefined || gid === undefined) {
        throw new Error(
            `no ${HAPROXY_ACCOUNT} user or group on this machine: install Debian's haproxy package (bash .ci/run does) or add a system account named ${HAPROXY_ACCOUNT}`,
        );
    }
    return { user: HAPROXY_ACCOUNT, uid, group: HAPROXY_ACCOUNT, gid };
}

/**
 * What a local spec's `process.runAs` should be: the drop into `<workDir>/chroot` (created empty
 * and root-owned, like Debian's /var/lib/haproxy) when running as root, else the starting user.
 */
export async function localWorkerPrivileges(
    workDir: string,
): Promise<HaproxyWorkerPrivileges | "starting-user"> {
    if (!canDropPrivileges()) return "starting-user";
    const account = await haproxyAccount();
    const chroot = join(workDir, "chroot");
    await mkdir(chroot, { mode: 0o755 });
    return { user: account.user, group: account.group, chroot };
}

/** Uid, gid and root directory of a running process, from /proc. */
export async function processIdentity(
    pid: number,
): Promise<{ uid: number; gid: number; root: string }> {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    // "Uid:\treal\teffective\tsaved\tfs" (proc(5)); the effective id decides file access.
    const effective = (label: string): number =>
        Number(new RegExp(`^${label}:\\s+\\d+\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN);
    return {
        uid: effective("Uid"),
        gid: effective("Gid"),
        root: await readlink(`/proc/${pid}/root`),
    };
}
