/** Polling with a deadline, instead of fixed sleeps. */
import { setTimeout as delay } from "node:timers/promises";

/** Interval between two polls: short, since the conditions are local and cheap to check. */
const POLL_INTERVAL_MS = 25;

/**
 * Calls `condition` until it returns true, and throws naming `what` if it has not by the deadline.
 * Errors thrown by `condition` end the wait at once (it is for "this can never become true").
 */
export async function waitFor(
    what: string,
    deadlineMs: number,
    condition: () => boolean | Promise<boolean>,
): Promise<void> {
    const giveUpAt = Date.now() + deadlineMs;
    for (;;) {
        if (await condition()) return;
        if (Date.now() > giveUpAt)
            throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
        await delay(POLL_INTERVAL_MS);
    }
}
