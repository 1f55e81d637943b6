/**
 * npm run loadtest -- --base <stack> [--id <id>] [--ttl <hours>] [--set <key.path>=<json> ...] --run "<command>"
 * npm run loadtest -- --janitor [--now <ISO time>]
 *
 * Raises a load-test cluster `loadtest-<id>` with the base stack's configuration plus the
 * overrides, runs the command against it, and always destroys and removes it afterwards. The
 * janitor removes load-test stacks whose expiry has passed. See docs/loadtest.md.
 * Bad flags or configuration exit 2 with one line, before any stack exists.
 */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../infra/config.ts";
import { readStackFile } from "../infra/stack-file.ts";
import { runJanitor } from "./loadtest/janitor.ts";
import {
    type ConfigOverride,
    DEFAULT_TTL_HOURS,
    defaultId,
    type LoadtestRequest,
    parseOverride,
    parseTtlHours,
} from "./loadtest/plan.ts";
import { launchLoadtest } from "./loadtest/run.ts";
import { runShellCommand } from "./loadtest/shell-command.ts";
import { interruptOnSignals } from "./loadtest/signals.ts";
import { firstLine } from "./loadtest/teardown.ts";
import type { LoadtestWorkspace } from "./loadtest/workspace.ts";

const usage =
    'usage: npm run loadtest -- --base <stack> [--id <id>] [--ttl <hours>] [--set <key.path>=<json> ...] --run "<command>" | --janitor [--now <ISO time>]';

class UsageError extends Error {}

const projectDir = resolve(dirname(new URL(import.meta.url).pathname), "..");
// Progress goes to stderr, so the load-test command's stdout stays its own; the janitor's lines
// are its result and go to stdout.
const log = (line: string) => console.error(line);
const janitorLog = (line: string) => console.log(line);

type Mode =
    | { kind: "help" }
    | { kind: "janitor"; now: Date }
    | { kind: "run"; request: LoadtestRequest; command: string };

function parseMode(argv: string[]): Mode {
    let values: {
        base?: string;
        id?: string;
        ttl?: string;
        set?: string[];
        run?: string;
        janitor?: boolean;
        now?: string;
        help?: boolean;
    };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                base: { type: "string" },
                id: { type: "string" },
                ttl: { type: "string" },
                set: { type: "string", multiple: true },
                run: { type: "string" },
                janitor: { type: "boolean" },
                now: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        throw new UsageError(firstLine(e));
    }
    if (values.help) return { kind: "help" };
    if (values.janitor) {
        const extra = (["base", "id", "ttl", "set", "run"] as const).filter((k) => values[k]);
        if (extra.length > 0) {
            throw new UsageError(`--janitor takes only --now; drop --${extra.join(", --")}`);
        }
        const now = values.now === undefined ? new Date() : new Date(values.now);
        if (
            Number.isNaN(now.getTime()) ||
            (values.now !== undefined && !/^\d{4}-\d\d-\d\dT/.test(values.now))
        ) {
            throw new UsageError(
                `--now ${JSON.stringify(values.now)} is not valid: an ISO 8601 time such as 2026-01-31T12:00:00Z`,
            );
        }
        return { kind: "janitor", now };
    }
    if (values.now !== undefined) throw new UsageError("--now is only for --janitor");
    if (!values.base) throw new UsageError("--base <stack> is required");
    if (!values.run?.trim())
        throw new UsageError('--run "<command>" is required and must not be empty');
    const now = new Date();
    const overrides: ConfigOverride[] = (values.set ?? []).map(parseOverride);
    const request: LoadtestRequest = {
        base: readStackFile(projectDir, values.base),
        id: values.id ?? defaultId(now),
        ttlHours: values.ttl === undefined ? DEFAULT_TTL_HOURS : parseTtlHours(values.ttl),
        overrides,
        now,
    };
    return { kind: "run", request, command: values.run };
}

async function openWorkspace(): Promise<LoadtestWorkspace> {
    // Loaded only now, so flag and configuration errors need neither the SDK nor the CLI.
    const { pulumiWorkspace } = await import("./loadtest/pulumi-workspace.ts");
    return pulumiWorkspace(projectDir, log);
}

async function main(argv: string[]): Promise<number> {
    let mode: Mode;
    try {
        mode = parseMode(argv);
    } catch (e) {
        if (e instanceof UsageError) {
            console.error(`loadtest: ${e.message}; ${usage}`);
            return 2;
        }
        if (e instanceof ConfigError) {
            console.error(`loadtest: ${firstLine(e)}`);
            return 2;
        }
        throw e;
    }
    if (mode.kind === "help") {
        console.log(usage);
        return 0;
    }
    const interruption = interruptOnSignals(process, log);
    try {
        if (mode.kind === "janitor") {
            let workspace: LoadtestWorkspace;
            try {
                workspace = await openWorkspace();
            } catch (e) {
                console.error(
                    `janitor: cannot open the Pulumi workspace in ${projectDir}: ${firstLine(e)}`,
                );
                return 1;
            }
            return await runJanitor(mode.now, {
                workspace,
                log: janitorLog,
                projectDir,
                interrupt: interruption.signal,
            });
        }
        return await launchLoadtest(mode.request, mode.command, {
            openWorkspace,
            runCommand: runShellCommand,
            log,
            interrupt: interruption.signal,
            projectDir,
            // Loaded only once a stack is up: the MQTT client and X.509 library are not needed before.
            preflight: async (outputs, write) =>
                (await import("./smoke/loadtest-preflight.ts")).smokePreflight(outputs, write),
        });
    } catch (e) {
        if (e instanceof ConfigError) {
            console.error(`loadtest: ${firstLine(e)}`);
            return 2;
        }
        throw e;
    } finally {
        interruption.dispose();
    }
}

process.exitCode = await main(process.argv.slice(2));
