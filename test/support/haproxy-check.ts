/**
 * Runs the real HAProxy's configuration check (`haproxy -c`) on rendered text. The check loads
 * every certificate, CA and CRL file the config names and resolves server names (unless init-addr
 * allows `none`), but binds nothing and starts no worker (hap-2.6 doc/management.txt, "-c").
 *
 * One thing in a rendered config depends on the machine rather than on us: `parse-resolv-conf`
 * makes the check connect a UDP socket to each nameserver of /etc/resolv.conf, and where that
 * nameserver is unreachable (a build box whose only network is loopback, `unshare -n`) the
 * check warns "can't connect socket for nameserver" and -dW fails it. So the check gets a
 * resolver of its own: that one line becomes a nameserver on a loopback UDP port this helper
 * holds for the duration of the check. Every other line is checked as rendered.
 */
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Outcome of one `haproxy -c` run. */
export interface HaproxyCheckResult {
    /** Exit status: 0 valid, non-zero invalid (or, with warningsAreErrors, a warning was found). */
    exitCode: number;
    /** stdout and stderr together: HAProxy prints its notices, warnings and alerts there. */
    output: string;
}

/** Options of {@link checkHaproxyConfig}. */
export interface HaproxyCheckOptions {
    /** Adds `-dW` ("zero-warning"): any warning makes the check fail. Default true. */
    warningsAreErrors?: boolean;
    /** Kill haproxy if it has not finished by then. Default 10 s. */
    timeoutMs?: number;
}

/** Writes `config` to a temp file and runs `haproxy -c [-dW] -f <file>` on it. */
export async function checkHaproxyConfig(
    config: string,
    options: HaproxyCheckOptions = {},
): Promise<HaproxyCheckResult> {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-haproxy-check-"));
    const resolver = createSocket("udp4");
    try {
        const file = join(dir, "haproxy.cfg");
        await new Promise<void>((resolve, reject) => {
            resolver.once("error", reject);
            resolver.bind(0, "127.0.0.1", () => resolve());
        });
        await writeFile(file, withOwnResolver(config, resolver.address().port));
        const args = ["-c", ...(options.warningsAreErrors === false ? [] : ["-dW"]), "-f", file];
        return await new Promise<HaproxyCheckResult>((resolve, reject) => {
            // execFile's timeout kills the child with SIGKILL, so a hung check cannot outlive the test.
            execFile(
                "haproxy",
                args,
                { timeout: options.timeoutMs ?? 10_000, killSignal: "SIGKILL" },
                (error, stdout, stderr) => {
                    const output = `${stdout}${stderr}`;
                    if (error === null) {
                        resolve({ exitCode: 0, output });
                    } else if (typeof error.code === "number") {
                        resolve({ exitCode: error.code, output });
                    } else {
                        reject(new Error(`haproxy -c did not run: ${error.message}`));
                    }
                },
            );
        });
    } finally {
        resolver.close();
        await rm(dir, { recursive: true, force: true });
    }
}

/** The config with `parse-resolv-conf` replaced by a nameserver on loopback `port`. */
export function withOwnResolver(config: string, port: number): string {
    return config.replace(
        /^(\s*)parse-resolv-conf\s*$/gm,
        `$1nameserver check-owned 127.0.0.1:${port}`,
    );
}
