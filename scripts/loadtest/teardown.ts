/**
 * destroy + removeStack for a load-test stack, shared by the run's `finally` and the janitor.
 */
import { prefixLines } from "./line-prefixer.ts";
import { type LoadtestStack, type LoadtestWorkspace, StackBusyError } from "./workspace.ts";

/** How a teardown ended. */
export interface TeardownResult {
    /** Resources destroyed and the stack removed. */
    readonly ok: boolean;
    /** The step that failed, when not ok. */
    readonly failedStep?: "destroy" | "remove";
    /** First line of the failure, when not ok. */
    readonly reason?: string;
    /** The failure was another update holding the stack. */
    readonly busy?: boolean;
}

export interface TeardownOptions {
    /**
     * On a busy stack, cancel the update holding it and retry destroy once. Right for our own
     * stack (the lock is our interrupted `up`); wrong for the janitor, which may meet someone
     * else's running update.
     */
    readonly cancelWhenBusy: boolean;
    /** Progress and status lines. */
    readonly log: (line: string) => void;
}

export function firstLine(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return text.split("\n").find((l) => l.trim() !== "") ?? text;
}

export async function tearDown(
    stack: LoadtestStack,
    workspace: LoadtestWorkspace,
    options: TeardownOptions,
): Promise<TeardownResult> {
    const { log } = options;
    const destroy = async () => {
        const out = prefixLines(`[${stack.name} destroy] `, log);
        try {
            await stack.destroy({ onOutput: out.write });
        } finally {
            out.flush();
        }
    };
    log(`loadtest: destroying ${stack.name}`);
    try {
        try {
            await destroy();
        } catch (e) {
            if (!(e instanceof StackBusyError) || !options.cancelWhenBusy) throw e;
            log(
                `loadtest: ${stack.name} is locked by an update; cancelling it and retrying destroy`,
            );
            await stack.cancel().catch((c: unknown) => log(`loadtest: cancel: ${firstLine(c)}`));
            await destroy();
        }
    } catch (e) {
        return {
            ok: false,
            failedStep: "destroy",
            reason: firstLine(e),
            busy: e instanceof StackBusyError,
        };
    }
    try {
        await workspace.removeStack(stack.name);
    } catch (e) {
        return { ok: false, failedStep: "remove", reason: firstLine(e) };
    }
    return { ok: true };
}

/** The one line that says what is left and the command that removes it. */
export function leftBehindLine(
    stackName: string,
    result: TeardownResult,
    projectDir: string,
): string {
    const how =
        result.failedStep === "remove"
            ? `its resources are destroyed; remove it with: pulumi stack rm ${stackName} --yes --cwd ${projectDir}`
            : `with its resources; remove it with: pulumi destroy --stack ${stackName} --yes --remove --cwd ${projectDir}`;
    return `loadtest: teardown failed (${result.failedStep}: ${result.reason}): stack ${stackName} is left behind ${how}`;
}
