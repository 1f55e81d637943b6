/**
 * One load test: create `loadtest-<id>`, configure and tag it, `up`, run the operator's command
 * with the outputs, and tear the stack down whatever happened - failure, interruption or success.
 */
import { constants } from "node:os";
import { prefixLines } from "./line-prefixer.ts";
import { type OutputsFile, writeOutputsFile } from "./outputs-file.ts";
import { type LoadtestPlan, type LoadtestRequest, planLoadtest } from "./plan.ts";
import type { CommandRunner } from "./shell-command.ts";
import { firstLine, leftBehindLine, tearDown } from "./teardown.ts";
import type { LoadtestStack, LoadtestWorkspace, StackOutput } from "./workspace.ts";

/** What a load test runs on. */
export interface LoadtestDeps {
    /** The project's workspace. */
    readonly workspace: LoadtestWorkspace;
    /** Runs the operator's command. */
    readonly runCommand: CommandRunner;
    /** Progress and status lines (never secrets). */
    readonly log: (line: string) => void;
    /** Aborted on the first SIGINT/SIGTERM, with the signal's name as reason. */
    readonly interrupt: AbortSignal;
    /** The repo root, for the "remove it with" command. */
    readonly projectDir: string;
    /**
     * Checks the stack before the command runs (the CLI passes the smoke checks,
     * scripts/smoke/); logs its own lines and resolves false to stop before the command.
     */
    readonly preflight?: (
        outputs: Readonly<Record<string, StackOutput>>,
        log: (line: string) => void,
    ) => Promise<boolean>;
}

/** Environment variables the command gets, besides this process's own. */
export const ENV_OUTPUTS_FILE = "MQTT_EDGE_OUTPUTS";
export const ENV_STACK = "MQTT_EDGE_STACK";
export const ENV_DEVICE_ENDPOINT = "DEVICE_ENDPOINT";
export const ENV_DEVICE_SERVER_NAME = "DEVICE_SERVER_NAME";

/** Exit code after an interruption: 128 + the signal number, as a shell reports it. */
function interruptedExitCode(signal: AbortSignal): number {
    const reason: unknown = signal.reason;
    const number =
        typeof reason === "string" ? constants.signals[reason as NodeJS.Signals] : undefined;
    return number === undefined ? 1 : 128 + number;
}

/** Plain (non-secret) string outputs the command can use without parsing the file. */
function commandEnv(
    stackName: string,
    outputs: Readonly<Record<string, StackOutput>>,
    file: OutputsFile,
): Record<string, string> {
    const env: Record<string, string> = { [ENV_STACK]: stackName, [ENV_OUTPUTS_FILE]: file.path };
    const plain = (name: string) => {
        const output = outputs[name];
        return output && !output.secret && typeof output.value === "string"
            ? output.value
            : undefined;
    };
    const endpoint = plain("deviceEndpoint");
    if (endpoint !== undefined) env[ENV_DEVICE_ENDPOINT] = endpoint;
    const serverName = plain("deviceServerName");
    if (serverName !== undefined) env[ENV_DEVICE_SERVER_NAME] = serverName;
    return env;
}

/** Runs the load test; resolves to the process exit code. Never leaves a stack without saying so. */
export async function runLoadtest(
    plan: LoadtestPlan,
    command: string,
    deps: LoadtestDeps,
): Promise<number> {
    const { workspace, log, interrupt } = deps;
    const name = plan.stackName;
    if (interrupt.aborted) return interruptedExitCode(interrupt);
    log(`loadtest: creating stack ${name} (target ${plan.target}, expires ${plan.expiresAt})`);
    let stack: LoadtestStack;
    try {
        stack = await workspace.createStack(name);
    } catch (e) {
        // Nothing of ours exists: a stack of that name that was already there is not ours to remove.
        log(`loadtest: could not create stack ${name}: ${firstLine(e)}`);
        return 1;
    }
    let exitCode = 1;
    let step = "configure";
    try {
        await stack.configure(plan.config, plan.tags);
        interrupt.throwIfAborted();
        step = "up";
        log(`loadtest: up ${name}`);
        const out = prefixLines(`[${name} up] `, log);
        try {
            await stack.up({ onOutput: out.write, signal: interrupt });
        } finally {
            out.flush();
        }
        interrupt.throwIfAborted();
        step = "outputs";
        const outputs = await stack.outputs();
        const secretNames = Object.keys(outputs).filter((k) => outputs[k]?.secret);
        log(
            `loadtest: ${name} is up; outputs: ${Object.keys(outputs).join(", ") || "(none)"}${secretNames.length > 0 ? ` (secret: ${secretNames.join(", ")})` : ""}`,
        );
        if (deps.preflight) {
            step = "smoke";
            log(`loadtest: smoke checks on ${name} before the command`);
            if (!(await deps.preflight(outputs, log))) {
                throw new Error("the smoke checks failed; the command was not run");
            }
            interrupt.throwIfAborted();
        }
        step = "command";
        const file = writeOutputsFile(name, outputs);
        try {
            const env = commandEnv(name, outputs, file);
            log(`loadtest: running the command (${Object.keys(env).sort().join(", ")} set)`);
            exitCode = await deps.runCommand(command, env, interrupt);
            log(`loadtest: the command exited with ${exitCode}`);
        } finally {
            file.remove();
        }
        if (interrupt.aborted) exitCode = interruptedExitCode(interrupt);
    } catch (e) {
        if (interrupt.aborted) {
            log(`loadtest: interrupted by ${String(interrupt.reason)} during ${step}`);
            exitCode = interruptedExitCode(interrupt);
        } else {
            log(`loadtest: ${step} failed: ${firstLine(e)}`);
            exitCode = 1;
        }
    } finally {
        const result = await tearDown(stack, workspace, { cancelWhenBusy: true, log });
        if (result.ok) {
            log(`loadtest: ${name} destroyed and removed`);
        } else {
            log(leftBehindLine(name, result, deps.projectDir));
            if (exitCode === 0) exitCode = 1;
        }
    }
    return exitCode;
}

/** The CLI's entry: validate, and only then open the workspace and run. */
export interface LoadtestLaunch extends Omit<LoadtestDeps, "workspace"> {
    /** Opens the Pulumi workspace; called only once the configuration is valid. */
    readonly openWorkspace: () => Promise<LoadtestWorkspace>;
}

/**
 * Plans the stack (throws ConfigError on bad input, before anything is opened or created), then
 * runs the load test.
 */
export async function launchLoadtest(
    request: LoadtestRequest,
    command: string,
    launch: LoadtestLaunch,
): Promise<number> {
    const plan = planLoadtest(request);
    let workspace: LoadtestWorkspace;
    try {
        workspace = await launch.openWorkspace();
    } catch (e) {
        launch.log(
            `loadtest: cannot open the Pulumi workspace in ${launch.projectDir}: ${firstLine(e)}`,
        );
        return 1;
    }
    return runLoadtest(plan, command, { ...launch, workspace });
}
