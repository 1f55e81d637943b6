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
import { dirname, resolve } from "node:path";
import { loadLoadGeneratorFigures } from "../capacity/figures.ts";
import { ConfigError } from "../infra/config.ts";
import { dryRunLines, type Mode, parseMode, refusalLine } from "./loadtest/cli-mode.ts";
import { loadtestHelp } from "./loadtest/flags.ts";
import { generatorHostsLine } from "./loadtest/generator-hosts.ts";
import { runJanitor } from "./loadtest/janitor.ts";
import { planLoadtest } from "./loadtest/plan.ts";
import { type LoadtestWorkload, launchLoadtest } from "./loadtest/run.ts";
import { runShellCommand } from "./loadtest/shell-command.ts";
import { interruptOnSignals } from "./loadtest/signals.ts";
import { firstLine } from "./loadtest/teardown.ts";
import type { LoadtestWorkspace } from "./loadtest/workspace.ts";

const projectDir = resolve(dirname(new URL(import.meta.url).pathname), "..");
// Progress goes to stderr, so the load-test command's stdout stays its own; the janitor's lines
// are its result and go to stdout.
const log = (line: string) => console.error(line);
const janitorLog = (line: string) => console.log(line);

async function openWorkspace(): Promise<LoadtestWorkspace> {
    // Loaded only now, so flag and configuration errors need neither the SDK nor the CLI.
    const { pulumiWorkspace } = await import("./loadtest/pulumi-workspace.ts");
    return pulumiWorkspace(projectDir, log);
}

async function main(argv: string[]): Promise<number> {
    let mode: Mode;
    try {
        mode = parseMode(argv, projectDir);
    } catch (e) {
        const refusal = refusalLine(e);
        if (refusal === undefined) throw e;
        console.error(refusal);
        return 2;
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
