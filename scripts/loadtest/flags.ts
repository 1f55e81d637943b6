/**
 * The load-test CLI's flags: one table feeds node:util parseArgs (which ignores `help`) and
 * `--help`, so a flag cannot be added without its line of help.
 */
import {
    DEFAULT_GENERATOR_FAMILY,
    GENERATOR_FAMILIES,
} from "../../capacity/load-generator-sizing.ts";
import { DEFAULT_TTL_HOURS } from "./plan.ts";
import {
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_DEVICES_PER_GENERATOR,
    DEFAULT_MAX_PENDING,
} from "./scenario-plan.ts";

export const loadtestUsage =
    'usage: npm run loadtest -- --base <stack> [--id <id>] [--ttl <hours>] [--set <key.path>=<json> ...] (--run "<command>" | --scenario <name> [--devices <n>] [--rate <per s>] [--ramp <s>] [--hold <s>] [--publish-rate <per s>] [--payload-bytes <n>] [--connect-timeout <s>] [--max-pending <n>] [--generators <k>] [--generator-family <family>] [--out <dir>]) [--dry-run] | --local [--base <stack>] --scenario <name> [scenario flags] [--out <dir>] | --janitor [--now <ISO time>]';

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
    local: {
        type: "boolean",
        help: "run the scenario on this machine: the stack's haproxy.cfg in a real HAProxy on loopback",
    },
    scenario: {
        type: "string",
        help: "<name>  connect-storm, reconnect-storm or steady-publish (docs/loadtest.md)",
    },
    devices: { type: "string", help: "<n>  simulated devices, each with its own certificate" },
    rate: { type: "string", help: "<per s>  target connect rate" },
    ramp: {
        type: "string",
        help: "<s>  linear ramp up to the rate (default min(5, duration / 4))",
    },
    hold: { type: "string", help: "<s>  how long every device stays connected" },
    "publish-rate": { type: "string", help: "<per s>  messages per device (steady-publish)" },
    "payload-bytes": { type: "string", help: "<n>  message size (steady-publish)" },
    "connect-timeout": {
        type: "string",
        help: `<s>  a device gives up without a CONNACK after this (default ${DEFAULT_CONNECT_TIMEOUT_SECONDS})`,
    },
    "max-pending": {
        type: "string",
        help: `<n>  connects in flight at once per generator (default ${DEFAULT_MAX_PENDING})`,
    },
    generators: {
        type: "string",
        help: `<k>  load-generator instances in the cloud (default: enough that each one's devices and connect rate fit a host, at least one per ${DEFAULT_DEVICES_PER_GENERATOR} devices)`,
    },
    "generator-family": {
        type: "string",
        help: `<family>  instance family the generators are sized in: ${GENERATOR_FAMILIES.join(", ")} (default ${DEFAULT_GENERATOR_FAMILY})`,
    },
    out: { type: "string", help: "<dir>  where report.json, report.svg and attempts.csv go" },
    "dry-run": {
        type: "boolean",
        help: "print the load-test stack's plan (and the generators' sizing) and stop: nothing is created",
    },
    help: { type: "boolean", short: "h", help: "show this help" },
} as const;

/** The flags that shape a scenario (they need --scenario). */
export const scenarioFlagNames = [
    "scenario",
    "devices",
    "rate",
    "ramp",
    "hold",
    "publish-rate",
    "payload-bytes",
    "connect-timeout",
    "max-pending",
    "generators",
    "generator-family",
] as const;

/** `--help`: usage, what it does, every flag, examples. */
export function loadtestHelp(): string {
    const width = Math.max(...Object.keys(loadtestOptions).map((name) => name.length)) + 2;
    const flags = Object.entries(loadtestOptions).map(
        ([name, spec]) => `  --${name.padEnd(width)}${spec.help}`,
    );
    return [
        loadtestUsage,
        "",
        "Raises a load-test cluster loadtest-<id> from a base stack, runs the command or a scenario against it and always destroys it; --local runs a scenario on this machine; --janitor removes expired ones (docs/loadtest.md).",
        "",
        "flags:",
        ...flags,
        "",
        "examples:",
        '  npm run loadtest -- --base dev --set haproxy.instances=4 --run "npm run bench:cert-device"',
        "  npm run loadtest -- --local --scenario connect-storm --devices 2000 --rate 400 --out ./lt",
        "  npm run loadtest -- --base dev --scenario connect-storm --devices 100000 --rate 2000",
        "  npm run loadtest -- --base dev --scenario connect-storm --devices 100000 --rate 2000 --dry-run",
        "  npm run loadtest -- --janitor",
        "",
    ].join("\n");
}
