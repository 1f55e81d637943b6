/**
 * LoadtestWorkspace on the Pulumi Automation API: the project's own program (workDir = the repo
 * root) on the backend the operator is logged in to. Needs the Pulumi CLI on PATH; stack tags
 * need CLI >= 3.211 on DIY backends (pulumi/pulumi PR #21203), else the janitor cannot see them.
 */
import {
    CommandError,
    ConcurrentUpdateError,
    LocalWorkspace,
    Stack,
    type StackSummary,
} from "@pulumi/pulumi/automation/index.js";
import {
    type LoadtestStack,
    type LoadtestWorkspace,
    type OperationOptions,
    StackBusyError,
} from "./workspace.ts";

/**
 * A CommandError's message is the CLI's whole stdout and stderr, starting with "code: N"; the
 * orchestration prints one line, so keep the line that says what went wrong.
 */
function summarize(e: CommandError): string {
    const text = e.message;
    const err = /\n err\?: (.+)/.exec(text)?.[1]?.trim();
    if (err?.includes("ENOENT")) return "the pulumi CLI is not on PATH";
    if (err && err !== "undefined") return err;
    const stderr = text.split("\n stderr: ")[1]?.split("\n err?: ")[0] ?? "";
    const errorLine = stderr
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /^error:/i.test(l))
        .pop();
    return errorLine ?? `pulumi exited with ${/^code: (-?\d+)/.exec(text)?.[1] ?? "an error"}`;
}

function translated<T>(run: () => Promise<T>): Promise<T> {
    return run().catch((e: unknown) => {
        if (e instanceof ConcurrentUpdateError) throw new StackBusyError(summarize(e));
        if (e instanceof CommandError) throw new Error(summarize(e));
        throw e;
    });
}

function wrap(stack: Stack, log: (line: string) => void): LoadtestStack {
    const operation = (o: OperationOptions) => ({
        onOutput: o.onOutput,
        onError: o.onOutput,
        ...(o.signal ? { signal: o.signal } : {}),
    });
    return {
        name: stack.name,
        configure: (config, tags) =>
            translated(async () => {
                await stack.setAllConfig({ ...config });
                for (const [key, value] of Object.entries(tags)) await stack.setTag(key, value);
                // An old CLI on a DIY backend may not list tags at all: that is a warning, not a
                // reason to give up the load test.
                const stored = await stack.listTags().catch(() => ({}) as Record<string, string>);
                if (Object.entries(tags).some(([key, value]) => stored[key] !== value)) {
                    log(
                        `loadtest: warning: stack tags did not persist (a DIY backend needs Pulumi CLI >= 3.211); the janitor will not find ${stack.name}`,
                    );
                }
            }),
        up: (o) => translated(() => stack.up(operation(o))).then(() => undefined),
        // refresh first: an interrupted up can leave resources the state does not know yet;
        // continueOnError: destroy what can be destroyed even when one resource fails.
        destroy: (o) =>
            translated(() =>
                stack.destroy({ ...operation(o), refresh: true, continueOnError: true }),
            ).then(() => undefined),
        outputs: () => translated(() => stack.outputs()),
        cancel: () => translated(() => stack.cancel()),
    };
}

export async function pulumiWorkspace(
    projectDir: string,
    log: (line: string) => void,
): Promise<LoadtestWorkspace> {
    const workspace = await translated(() => LocalWorkspace.create({ workDir: projectDir }));
    return {
        // Stack.create, not createOrSelect: an --id that is already taken must fail, not adopt
        // (and later destroy) someone else's stack.
        createStack: async (name) =>
            wrap(await translated(() => Stack.create(name, workspace)), log),
        selectStack: async (name) =>
            wrap(await translated(() => Stack.select(name, workspace)), log),
        listStacks: () =>
            translated(async () => {
                const stacks: StackSummary[] = await workspace.listStacks();
                return Promise.all(
                    stacks.map(async (s) => ({
                        name: s.name,
                        tags: await workspace.listTags(s.name),
                    })),
                );
            }),
        removeStack: (name) => translated(() => workspace.removeStack(name)),
    };
}
