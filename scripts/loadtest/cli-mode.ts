/**
 * The load-test command line turned into what to do (scripts/loadtest.ts runs it): flags checked,
 * the base stack read, a scenario planned and its generator hosts sized, all before anything is
 * created. Also the --dry-run printout and the one line a refusal prints.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadLoadGeneratorFigures } from "../../capacity/figures.ts";
import { ConfigError } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { loadtestOptions, scenarioFlagNames, loadtestUsage as usage } from "./flags.ts";
import {
    type GeneratorHosts,
    generatorHostsLine,
    parseGeneratorFamily,
    planGeneratorHosts,
} from "./generator-hosts.ts";
import {
    type ConfigOverride,
    DEFAULT_TTL_HOURS,
    defaultId,
    type LoadtestRequest,
    parseOverride,
    parseTtlHours,
    planLoadtest,
    validateId,
} from "./plan.ts";
import { planScenario, type ScenarioFlags, type ScenarioPlan } from "./scenario-plan.ts";
import { firstLine } from "./teardown.ts";

/** A flag problem: the one line gets the usage after it. */
export class UsageError extends Error {}

/** A built-in scenario and where its report goes. */
export interface ScenarioRun {
    plan: ScenarioPlan;
    outDir: string;
}

/** What the command line asks for, validated. */
export type Mode =
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

/**
 * Parses and validates the command line; throws UsageError or ConfigError (one line) before
 * anything is created. `projectDir` holds the stack files.
 */
export function parseMode(argv: string[], projectDir: string): Mode {
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
    const request: LoadtestRequest = { base, id: runId, ttlHours, overrides, now };
    return { kind: "run", request, command: values.run ?? "", dryRun: values["dry-run"] === true };
}

/**
 * The instance type an operator gave with --set loadGenerators.instanceType (or inside a whole
 * loadGenerators map). The count and the devices per generator come from the scenario flags: a
 * --set of either would make the stack's generators disagree with the jobs handed out.
 */
function operatorInstanceType(overrides: readonly ConfigOverride[]): { instanceType?: string } {
    let instanceType: unknown;
    for (const { namespace, path, value } of overrides) {
        if (namespace !== "mqtt-edge" || path[0] !== "loadGenerators") continue;
        const given =
            path.length === 1 && typeof value === "object" && value !== null
                ? (value as Record<string, unknown>)
                : path.length === 2
                  ? { [path[1] as string]: value }
                  : {};
        for (const key of ["count", "devicesPerGenerator"]) {
            if (key in given) {
                throw new UsageError(
                    `--set loadGenerators.${key} is not allowed with --scenario: the scenario sets it (use --generators <k>)`,
                );
            }
        }
        if ("instanceType" in given) instanceType = given.instanceType;
    }
    // Anything but a string is the stack schema's to refuse.
    return typeof instanceType === "string" ? { instanceType } : {};
}

/**
 * --dry-run: what would be created. Of the configuration only the generators' map is shown, so no
 * secret can show.
 */
export function dryRunLines(mode: Extract<Mode, { kind: "run" | "cloud-scenario" }>): string[] {
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

/** The one line a refusal prints (exit 2), or undefined when `error` is not a refusal. */
export function refusalLine(error: unknown): string | undefined {
    if (error instanceof UsageError) return `loadtest: ${error.message}; ${usage}`;
    if (error instanceof ConfigError) return `loadtest: ${firstLine(error)}`;
    return undefined;
}
