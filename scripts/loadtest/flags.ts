/**
 * The load-test CLI's flags: one table feeds node:util parseArgs (which ignores `help`) and
 * `--help`, so a flag cannot be added without its line of help.
 */
import { DEFAULT_TTL_HOURS } from "./plan.ts";

export const loadtestUsage =
    'usage: npm run loadtest -- --base <stack> [--id <id>] [--ttl <hours>] [--set <key.path>=<json> ...] --run "<command>" | --janitor [--now <ISO time>]';

/** The flags, for node:util parseArgs (which ignores `help`) and for --help. */
export const loadtestOptions = {
    base: {
        type: "string",
        help: "<stack>  stack file whose configuration the cluster starts from",
    },
    id: { type: "string", help: "<id>  names the stack loadtest-<id> (default: time-based)" },
    ttl: {
        type: "string",
        help: `<hours>  after this the janitor may remove it (default ${DEFAULT_TTL_HOURS})`,
    },
    set: {
        type: "string",
        multiple: true,
        help: "<key.path>=<json>  override a key, repeatable (e.g. haproxy.instances=4)",
    },
    run: { type: "string", help: '"<command>"  the load test to run against the cluster' },
    janitor: { type: "boolean", help: "remove load-test stacks whose expiry has passed" },
    now: { type: "string", help: "<ISO time>  with --janitor: pretend it is this time" },
    help: { type: "boolean", short: "h", help: "show this help" },
} as const;

/** `--help`: usage, what it does, every flag, examples. */
export function loadtestHelp(): string {
    const width = Math.max(...Object.keys(loadtestOptions).map((name) => name.length)) + 2;
    const flags = Object.entries(loadtestOptions).map(
        ([name, spec]) => `  --${name.padEnd(width)}${spec.help}`,
    );
    return [
        loadtestUsage,
        "",
        "Raises a load-test cluster loadtest-<id> from a base stack, runs the command against it and always destroys it; --janitor removes expired ones (docs/loadtest.md).",
        "",
        "flags:",
        ...flags,
        "",
        "examples:",
        '  npm run loadtest -- --base dev --set haproxy.instances=4 --run "npm run bench:cert-device"',
        "  npm run loadtest -- --janitor",
        "",
    ].join("\n");
}
