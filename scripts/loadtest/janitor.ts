/**
 * Removes load-test stacks whose time is up: the safety net for a run whose teardown could not
 * finish (killed with SIGKILL, machine lost, destroy failed). Meant for a schedule.
 */
import { EXPIRES_AT_TAG, LOADTEST_TAG, STACK_PREFIX } from "./plan.ts";
import { firstLine, leftBehindLine, tearDown } from "./teardown.ts";
import type { LoadtestStack, LoadtestWorkspace } from "./workspace.ts";

/** What the janitor works on. */
export interface JanitorDeps {
    /** The project's workspace. */
    readonly workspace: LoadtestWorkspace;
    /** One line per stack acted on. */
    readonly log: (line: string) => void;
    /** The repo root, for the "remove it with" command. */
    readonly projectDir: string;
    /** Once aborted, the janitor finishes the stack in hand and stops. */
    readonly interrupt?: AbortSignal;
}

/** Resolves to the exit code: 0 when every expired load-test stack is gone, else 1. */
export async function runJanitor(now: Date, deps: JanitorDeps): Promise<number> {
    const { workspace, log } = deps;
    let failures = 0;
    let removed = 0;
    for (const listed of await workspace.listStacks()) {
        // Both marks are required, so a production stack tagged by mistake is never destroyed.
        if (listed.tags[LOADTEST_TAG] !== "true" || !listed.name.startsWith(STACK_PREFIX)) continue;
        const expiresText = listed.tags[EXPIRES_AT_TAG];
        const expires = expiresText === undefined ? Number.NaN : Date.parse(expiresText);
        if (Number.isNaN(expires)) {
            log(
                `janitor: ${listed.name}: skipped: tag ${EXPIRES_AT_TAG} = ${JSON.stringify(expiresText ?? null)} is not an ISO 8601 time`,
            );
            failures++;
            continue;
        }
        if (expires > now.getTime()) continue;
        if (deps.interrupt?.aborted) {
            log(
                `janitor: interrupted; ${listed.name} and any later expired stacks are left for the next run`,
            );
            failures++;
            break;
        }
        let stack: LoadtestStack;
        try {
            stack = await workspace.selectStack(listed.name);
        } catch (e) {
            log(`janitor: ${listed.name}: could not select it: ${firstLine(e)}`);
            failures++;
            continue;
        }
        const result = await tearDown(stack, workspace, { cancelWhenBusy: false, log });
        if (result.ok) {
            log(`janitor: removed ${listed.name} (expired ${expiresText})`);
            removed++;
        } else if (result.busy) {
            log(`janitor: ${listed.name}: an update is running on it; left for the next run`);
            failures++;
        } else {
            log(
                leftBehindLine(listed.name, result, deps.projectDir).replace(
                    /^loadtest:/,
                    "janitor:",
                ),
            );
            failures++;
        }
    }
    log(`janitor: ${removed} expired load-test stack(s) removed, ${failures} not`);
    return failures > 0 ? 1 : 0;
}
