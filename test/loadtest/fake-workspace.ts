/**
 * An in-memory LoadtestWorkspace that records every call, with hooks to make each step fail,
 * hang until aborted, or run code (such as sending a second signal) while it runs.
 */
import type {
    LoadtestStack,
    LoadtestWorkspace,
    OperationOptions,
    StackConfigMap,
    StackListing,
    StackOutput,
} from "../../scripts/loadtest/workspace.ts";

/** What each step of a fake stack does; a hook that throws makes the step fail. */
export interface FakeHooks {
    /** Runs inside createStack, before the stack exists. */
    create?: (name: string) => void;
    /** Runs inside configure. */
    configure?: () => void;
    /** Runs inside up, after the fake's progress lines. */
    up?: (options: OperationOptions) => Promise<void> | void;
    /** Runs inside destroy, with the 1-based attempt number. */
    destroy?: (attempt: number, options: OperationOptions) => Promise<void> | void;
    /** Runs inside cancel. */
    cancel?: () => void;
    /** Runs inside removeStack, before the stack is forgotten. */
    remove?: (name: string) => void;
    /** What outputs() returns (default: none). */
    outputs?: Record<string, StackOutput>;
}

/** A stack the fake knows, with what was written to it. */
export interface FakeStackState {
    /** The configuration written by configure, if it ran. */
    config?: StackConfigMap;
    /** The stack's tags. */
    tags: Record<string, string>;
}

export class FakeWorkspace implements LoadtestWorkspace {
    /** Every call in order, e.g. "create loadtest-a", "up loadtest-a". */
    readonly calls: string[] = [];
    readonly stacks = new Map<string, FakeStackState>();
    readonly hooks: FakeHooks;

    constructor(hooks: FakeHooks = {}, existing: StackListing[] = []) {
        this.hooks = hooks;
        for (const s of existing) this.stacks.set(s.name, { tags: { ...s.tags } });
    }

    async createStack(name: string): Promise<LoadtestStack> {
        this.calls.push(`create ${name}`);
        this.hooks.create?.(name);
        if (this.stacks.has(name)) throw new Error(`stack '${name}' already exists`);
        this.stacks.set(name, { tags: {} });
        return this.stack(name);
    }

    async selectStack(name: string): Promise<LoadtestStack> {
        this.calls.push(`select ${name}`);
        if (!this.stacks.has(name)) throw new Error(`no stack named '${name}' found`);
        return this.stack(name);
    }

    async listStacks(): Promise<StackListing[]> {
        this.calls.push("list");
        return [...this.stacks].map(([name, s]) => ({ name, tags: { ...s.tags } }));
    }

    async removeStack(name: string): Promise<void> {
        this.calls.push(`remove ${name}`);
        this.hooks.remove?.(name);
        this.stacks.delete(name);
    }

    private stack(name: string): LoadtestStack {
        const hooks = this.hooks;
        const calls = this.calls;
        const state = this.stacks.get(name) as FakeStackState;
        let destroyAttempts = 0;
        return {
            name,
            async configure(config, tags) {
                calls.push(`configure ${name}`);
                hooks.configure?.();
                state.config = config;
                state.tags = { ...tags };
            },
            async up(options) {
                calls.push(`up ${name}`);
                options.onOutput("Updating (fake)\n+ 3 to create\nUpdat");
                options.onOutput("e done\n");
                await hooks.up?.(options);
            },
            async destroy(options) {
                destroyAttempts++;
                calls.push(`destroy ${name}`);
                await hooks.destroy?.(destroyAttempts, options);
                options.onOutput("Destroying (fake)\n- 3 deleted\n");
            },
            async outputs() {
                calls.push(`outputs ${name}`);
                return hooks.outputs ?? {};
            },
            async cancel() {
                calls.push(`cancel ${name}`);
                hooks.cancel?.();
            },
        };
    }
}

/** Resolves when `signal` aborts, then rejects as the Automation API does on an interrupted up. */
export function untilAborted(signal: AbortSignal | undefined): Promise<never> {
    return new Promise((_, reject) => {
        if (!signal) throw new Error("the operation was given no signal");
        const fail = () => reject(new Error("code: 255\n stdout: update canceled\n"));
        if (signal.aborted) fail();
        else signal.addEventListener("abort", fail, { once: true });
    });
}
