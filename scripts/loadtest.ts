/**
 * npm run loadtest -- --base <stack> [--id <id>] [--ttl <hours>] [--set <key.path>=<json> ...] --run "<command>"
 * npm run loadtest -- --base <stack> --scenario <name> [scenario flags] [--generators <k>] [--generator-family <family>] [--out <dir>] [--id/--ttl/--set ...] [--dry-run]
 * npm run loadtest -- --local [--base <stack>] --scenario <name> [scenario flags] [--out <dir>]
 * npm run loadtest -- --janitor [--now <ISO time>]
 *
 * Raises a load-test cluster `loadtest-<id>` with the base stack's configuration plus the
 * overrides, runs the command or a built-in scenario on load-generator hosts against it, and
 * always destroys and removes it afterwards. --local runs the scenario against the stack's
 * haproxy.cfg on this machine instead. The janitor removes load-test stacks whose expiry has
 * passed. A cloud scenario's generator hosts are sized from the devices and connect rate each
 * carries (scripts/loadtest/generator-hosts.ts). --dry-run prints the plan and creates nothing.
 * See docs/loadtest.md.
 * Bad flags or configuration exit 2 with one line, before any stack exists.
 */
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadLoadGeneratorFigures } from "../capacity/figures.ts";
import { ConfigError } from "../infra/config.ts";
import { readStackFile } from "../infra/stack-file.ts";
import {
    loadtestHelp,
    loadtestOptions,
    scenarioFlagNames,
    loadtestUsage as usage,
} from "./loadtest/flags.ts";
import {
    type GeneratorHosts,
    generatorHostsLine,
    parseGeneratorFamily,
    planGeneratorHosts,
} from "./loadtest/generator-hosts.ts";
import { runJanitor } from "./loadtest/janitor.ts";
import {
    type ConfigOverride,
    DEFAULT_TTL_HOURS,
    defaultId,
    type LoadtestRequest,
    parseOverride,
    parseTtlHours,
    planLoadtest,
    validateId,
} from "./loadtest/plan.ts";
import { type LoadtestWorkload, launchLoadtest } from "./loadtest/run.ts";
import { planScenario, type ScenarioFlags, type ScenarioPlan } from "./loadtest/scenario-plan.ts";
import { runShellCommand } from "./loadtest/shell-command.ts";
import { interruptOnSignals } from "./loadtest/signals.ts";
import { firstLine } from "./loadtest/teardown.ts";
import type { LoadtestWorkspace } from "./loadtest/workspace.ts";

class UsageError extends Error {}

const projectDir = resolve(dirname(new URL(import.meta.url).pathname), "..");
// Progress goes to stderr, so the load-test command's stdout stays its own; the janitor's lines
// are its result and go to stdout.
const log = (line: string) => console.error(line);
const janitorLog = (line: string) => console.log(line);

/** A built-in scenario and where its report goes. */
interface ScenarioRun {
    plan: ScenarioPlan;
    outDir: string;
}

type Mode =
    | { kind: "help" }
    | { kind: "janitor"; now: Date }
    | { kind: "local"; stack: string; runId: string; scenario: ScenarioRun }
    | { kind: "run"; request: LoadtestRequest; command: string; dryRun: boolean }
    | {
          kind: "cloud-scenario";
          request: LoadtestRequest;
          scenario: ScenarioRun;
          generatorHosts: GeneratorHosts;
          dryRun: boolean;
      };

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
        local?: boolean;
        out?: string;
        "dry-run"?: boolean;
    } & ScenarioFlags;
    try {
        ({ values } = parseArgs({
            args: argv,
            options: loadtestOptions,
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        throw new UsageError(firstLine(e));
    }
    if (values.help) return { kind: "help" };
    const scenarioFlags = scenarioFlagNames.filter((k) => values[k] !== undefined);
    if (values.janitor) {
        const extra = (
            [
                "base",
                "id",
                "ttl",
                "set",
                "run",
                "local",
                "out",
                "dry-run",
                ...scenarioFlagNames,
            ] as const
        ).filter((k) => values[k]);
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
    if (values.run !== undefined && scenarioFlags.length > 0) {
        throw new UsageError(
            `--run and --${scenarioFlags.join(", --")} do not go together: give a command or a scenario`,
        );
    }
    if (values.out !== undefined && values.scenario === undefined) {
        throw new UsageError("--out is only for --scenario runs");
    }
    const now = new Date();
    const runId = values.id ?? defaultId(now);
    const outDir = (id: string) => resolve(values.out ?? join("loadtest-results", id));
    if (values.local) {
        const extra = (["ttl", "set", "run", "dry-run"] as const).filter(
            (k) => values[k] !== undefined,
        );
        if (extra.length > 0) {
            throw new UsageError(
                `--local runs on this machine with no stack to raise; drop --${extra.join(", --")}`,
            );
        }
        if (values.scenario === undefined) throw new UsageError("--local needs --scenario <name>");
        const stack = values.base ?? "dev";
        // Read now, so an unknown stack is refused before the edge starts.
        readStackFile(projectDir, stack);
        return {
            kind: "local",
            stack,
            runId: validateId(runId),
            scenario: { plan: planScenario(values, "local"), outDir: outDir(runId) },
        };
    }
    if (!values.base) throw new UsageError("--base <stack> is required");
    if (values.scenario === undefined && !values.run?.trim())
        throw new UsageError(
            '--run "<command>" is required (or --scenario <name>) and must not be empty',
        );
    const overrides: ConfigOverride[] = (values.set ?? []).map(parseOverride);
    const base = readStackFile(projectDir, values.base);
    const ttlHours = values.ttl === undefined ? DEFAULT_TTL_HOURS : parseTtlHours(values.ttl);
    if (values.scenario !== undefined) {
        const family = parseGeneratorFamily(values["generator-family"]);
        const plan = planScenario(values, "cloud");
        const generatorHosts = planGeneratorHosts(
            plan,
            {
                explicitCount: values.generators !== undefined,
                ...(family !== undefined ? { family } : {}),
                ...operatorInstanceType(overrides),
            },
            loadLoadGeneratorFigures(),
        );
        plan.generators = generatorHosts.count;
        // The generators go first; an operator's --set loadGenerators.instanceType=... was
        // checked against the sizing above and, set later, wins.
        const generators: ConfigOverride = {
            namespace: "mqtt-edge",
            path: ["loadGenerators"],
            value: {
                count: plan.generators,
                instanceType: generatorHosts.instanceType,
                devicesPerGenerator: generatorHosts.load.devices,
            },
        };
        return {
            kind: "cloud-scenario",
            request: { base, id: runId, ttlHours, overrides: [generators, ...overrides], now },
            scenario: { plan, outDir: outDir(runId) },
            generatorHosts,
            dryRun: values["dry-run"] === true,
        };
    }
    if (values["generator-family"] !== undefined) {
        throw new UsageError("--generator-family is only for --scenario runs");
    }
    const request: LoadtestRequest = { base, id: runId, ttlHours, overrides, now };
    return { kind: "run", request, command: values.run ?? "", dryRun: values["dry-run"] === true };
}

/** The instance type an operator gave with --set loadGenerators.instanceType (or a whole loadGenerators map). */
function operatorInstanceType(overrides: readonly ConfigOverride[]): { instanceType?: string } {
    let instanceType: unknown;
    for (const { namespace, path, value } of overrides) {
        if (namespace !== "mqtt-edge" || path[0] !== "loadGenerators") continue;
        if (path.length === 2 && path[1] === "instanceType") instanceType = value;
        if (path.length === 1 && typeof value === "object" && value !== null) {
            instanceType = (value as Record<string, unknown>).instanceType;
        }
    }
    // Anything but a string is the stack schema's to refuse.
    return typeof instanceType === "string" ? { instanceType } : {};
}

/** --dry-run: what would be created, without secrets (config values marked secret are hidden). */
function dryRunLines(mode: Extract<Mode, { kind: "run" | "cloud-scenario" }>): string[] {
    const plan = planLoadtest(mode.request);
    const lines = [
        `loadtest: dry run: would create stack ${plan.stackName} (target ${plan.target}, expires ${plan.expiresAt}) and destroy it afterwards`,
    ];
    if (mode.kind === "cloud-scenario") {
        const { plan: scenario } = mode.scenario;
        lines.push(
            `loadtest: ${scenario.scenario}: ${scenario.devices} devices at ${scenario.ratePerSecond}/s, hold ${scenario.holdSeconds} s, on ${scenario.generators} generators; report to ${mode.scenario.outDir}`,
            generatorHostsLine(mode.generatorHosts, loadLoadGeneratorFigures()),
        );
        const generators = plan.config["mqtt-edge:loadGenerators"];
        if (generators) lines.push(`loadtest: mqtt-edge:loadGenerators = ${generators.value}`);
    } else {
        lines.push(`loadtest: would run: ${mode.command}`);
    }
    return lines;
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
        process.stdout.write(loadtestHelp());
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
        if (mode.kind === "local") {
            const { runLocalScenario } = await import("./loadtest/local-run.ts");
            const { exitCode } = await runLocalScenario(
                {
                    stack: mode.stack,
                    plan: mode.scenario.plan,
                    runId: mode.runId,
                    outDir: mode.scenario.outDir,
                },
                { log, stderr: process.stderr, interrupt: interruption.signal },
            );
            return exitCode;
        }
        if (mode.dryRun) {
            for (const line of dryRunLines(mode)) console.log(line);
            return 0;
        }
        let workload: LoadtestWorkload;
        if (mode.kind === "cloud-scenario") {
            // Validated first: the sizing line is only worth reading for a stack that can exist.
            const stackPlan = planLoadtest(mode.request);
            log(generatorHostsLine(mode.generatorHosts, loadLoadGeneratorFigures()));
            workload = (await import("./loadtest/cloud-run.ts")).cloudScenarioWorkload(
                mode.scenario.plan,
                mode.scenario.outDir,
                stackPlan,
                mode.request.id,
                { log, stderr: process.stderr, interrupt: interruption.signal },
            );
        } else {
            workload = mode.command;
        }
        return await launchLoadtest(mode.request, workload, {
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
