/**
 * The slice of the Pulumi Automation API that load tests need, as an interface, so the
 * orchestration (run.ts, janitor.ts) can be exercised with a fake where no Pulumi CLI exists.
 * pulumi-workspace.ts implements it on LocalWorkspace.
 */

/** One configuration value as `pulumi config set` stores it. */
export interface ConfigEntry {
    /** The value; structured values are JSON text, as the program reads them back. */
    readonly value: string;
    /** Stored encrypted by the stack's secrets provider. */
    readonly secret: boolean;
}

/** Fully qualified key (`mqtt-edge:haproxy`, `aws:region`) to value. */
export type StackConfigMap = Readonly<Record<string, ConfigEntry>>;

/** One stack output as the Automation API returns it. */
export interface StackOutput {
    /** The exported value (plain JSON). */
    readonly value: unknown;
    /** The program marked it secret: never print it. */
    readonly secret: boolean;
}

/** Options for a long-running stack operation. */
export interface OperationOptions {
    /** Receives the CLI's progress text, in chunks that need not end at a newline. */
    readonly onOutput: (chunk: string) => void;
    /** Aborting it stops the operation (the Automation API interrupts the CLI). */
    readonly signal?: AbortSignal;
}

/** A stack the load test created or the janitor selected. */
export interface LoadtestStack {
    /** The stack name, e.g. `loadtest-m3x9k2a7`. */
    readonly name: string;
    /** Writes the whole configuration and the tags. */
    configure(config: StackConfigMap, tags: Readonly<Record<string, string>>): Promise<void>;
    /** `pulumi up`. */
    up(options: OperationOptions): Promise<void>;
    /** `pulumi destroy`; throws StackBusyError when another update holds the stack. */
    destroy(options: OperationOptions): Promise<void>;
    /** The outputs of the last update. */
    outputs(): Promise<Readonly<Record<string, StackOutput>>>;
    /** `pulumi cancel`: ends the update that holds the stack's lock. */
    cancel(): Promise<void>;
}

/** A stack as listed by the workspace. */
export interface StackListing {
    /** The stack name. */
    readonly name: string;
    /** Its tags (empty on DIY backends with a CLI older than 3.211). */
    readonly tags: Readonly<Record<string, string>>;
}

/** The project's workspace (the repo root) on whatever backend the operator is logged in to. */
export interface LoadtestWorkspace {
    /** Creates a new stack; throws if one of that name exists (never selects it). */
    createStack(name: string): Promise<LoadtestStack>;
    /** Selects an existing stack. */
    selectStack(name: string): Promise<LoadtestStack>;
    /** The project's stacks with their tags. */
    listStacks(): Promise<StackListing[]>;
    /** Removes a stack that holds no resources (never forced). */
    removeStack(name: string): Promise<void>;
}

/** Another update holds the stack's lock (the Automation API's ConcurrentUpdateError). */
export class StackBusyError extends Error {
    override name = "StackBusyError";
}
