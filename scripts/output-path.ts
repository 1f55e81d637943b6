/**
 * Checking and creating the `--out` of a CLI before any work is done, so a bad path is one line
 * naming the flag and nothing is half-written.
 *
 * Not `mkdirSync(dir, { recursive: true })`: on a path under /proc it never returns. procfs
 * answers ENOENT to mkdir (not EACCES), and Node's recursive mkdir takes ENOENT to mean "create
 * the parent first", finds the parent there, and tries the child again, forever (seen with
 * Node 22.23 on Linux 6.x: `render --out /proc/nope` spun for over 10 minutes). Creating one level
 * at a time turns that into an error at once.
 */
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";

function problem(flag: string, path: string, what: string): PkiInputError {
    return new PkiInputError(
        `${flag} ${quoteValue(path)}: ${what}; allowed: a folder you can write to, or a new path inside one`,
    );
}

/** The nearest existing ancestor of `path` (itself if it exists) and the missing parts below it. */
function existingAncestor(path: string): { existing: string; missing: string[] } {
    const missing: string[] = [];
    let current = path;
    for (;;) {
        try {
            statSync(current);
            return { existing: current, missing };
        } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            // ENOTDIR: a file stands where a folder should be; the walk up finds and names it.
            if (code !== "ENOENT" && code !== "ENOTDIR") return { existing: current, missing };
            const parent = dirname(current);
            if (parent === current) return { existing: current, missing };
            missing.unshift(current);
            current = parent;
        }
    }
}

/**
 * Checks that `path` is, or can become, a writable folder, without creating anything. Throws a
 * one-line {@link PkiInputError} naming `flag` otherwise. Returns the absolute path.
 */
export function checkOutputDir(flag: string, path: string): string {
    const absolute = resolve(path);
    const { existing } = existingAncestor(absolute);
    let stats: ReturnType<typeof statSync>;
    try {
        stats = statSync(existing);
    } catch (error) {
        throw problem(
            flag,
            path,
            `${existing} cannot be read (${(error as NodeJS.ErrnoException).code})`,
        );
    }
    if (!stats.isDirectory()) {
        throw problem(flag, path, `${existing} exists and is not a folder`);
    }
    try {
        accessSync(existing, constants.W_OK | constants.X_OK);
    } catch {
        throw problem(flag, path, `${existing} is not writable`);
    }
    return absolute;
}

/**
 * Creates `path` and missing parents one level at a time (each with `mode`), after
 * {@link checkOutputDir}. Throws a one-line {@link PkiInputError} naming `flag` on failure.
 */
export function makeOutputDir(flag: string, path: string, mode = 0o755): string {
    const absolute = checkOutputDir(flag, path);
    for (const dir of existingAncestor(absolute).missing) {
        try {
            mkdirSync(dir, { mode });
        } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === "EEXIST" && statSync(dir).isDirectory()) continue;
            throw problem(flag, path, `cannot create ${dir} (${code})`);
        }
    }
    return absolute;
}

/**
 * Checks that a file can be written at `path`: its folder exists and is writable, and `path`
 * itself is not a folder. Returns the absolute path.
 */
export function checkOutputFile(flag: string, path: string): string {
    const absolute = resolve(path);
    const folder = dirname(absolute);
    let stats: ReturnType<typeof statSync>;
    try {
        stats = statSync(folder);
    } catch (error) {
        throw problem(
            flag,
            path,
            `folder ${folder} does not exist (${(error as NodeJS.ErrnoException).code})`,
        );
    }
    if (!stats.isDirectory()) throw problem(flag, path, `${folder} is not a folder`);
    try {
        accessSync(folder, constants.W_OK | constants.X_OK);
    } catch {
        throw problem(flag, path, `folder ${folder} is not writable`);
    }
    try {
        if (statSync(absolute).isDirectory()) throw problem(flag, path, "is a folder, not a file");
    } catch (error) {
        if (error instanceof PkiInputError) throw error;
    }
    return absolute;
}
