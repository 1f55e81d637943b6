/**
 * SIGINT/SIGTERM during a load test: the first stops what is running (up or the command) through
 * an AbortSignal; every later one is only acknowledged, so an impatient Ctrl-C cannot cut the
 * teardown short and leave a cluster running. (SIGKILL still can; nothing can catch it.)
 */

/** Where the signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
    /** Adds a listener (installing one stops Node's default exit on the signal). */
    on(event: "SIGINT" | "SIGTERM", listener: () => void): unknown;
    /** Removes a listener. */
    off(event: "SIGINT" | "SIGTERM", listener: () => void): unknown;
}

/** The interruption as the orchestration sees it. */
export interface Interruption {
    /** Aborted on the first signal; its reason is the signal's name. */
    readonly signal: AbortSignal;
    /** Stops listening (the process then reacts to signals as usual again). */
    readonly dispose: () => void;
}

export function interruptOnSignals(
    source: SignalSource,
    log: (line: string) => void,
): Interruption {
    const controller = new AbortController();
    const listeners = (["SIGINT", "SIGTERM"] as const).map((name) => {
        const listener = () => {
            if (!controller.signal.aborted) {
                log(
                    `loadtest: ${name}: stopping, then tearing down (further signals do not skip the teardown)`,
                );
                controller.abort(name);
            } else {
                log(
                    `loadtest: ${name} again: the teardown continues, or the stack would be left behind`,
                );
            }
        };
        source.on(name, listener);
        return { name, listener };
    });
    return {
        signal: controller.signal,
        dispose: () => {
            for (const { name, listener } of listeners) source.off(name, listener);
        },
    };
}
