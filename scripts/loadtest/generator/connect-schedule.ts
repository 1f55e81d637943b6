/**
 * When the k-th connection of a storm starts: the rate climbs linearly from 0 to the target over
 * the ramp, then holds. Open loop, like a real fleet coming back after an outage: a slow edge
 * does not slow the arrivals down, it shows up as latency and failures.
 * Host code: Node built-ins only, erasable TypeScript only.
 */

/** Seconds after the phase start at which attempt `k` (0-based) is due. */
export function attemptDueSeconds(k: number, ratePerSecond: number, rampSeconds: number): number {
    // Attempts started by the end of the ramp: the area under the rising rate line.
    const duringRamp = (ratePerSecond * rampSeconds) / 2;
    if (rampSeconds > 0 && k <= duringRamp) {
        return Math.sqrt((2 * rampSeconds * k) / ratePerSecond);
    }
    return rampSeconds + (k - duringRamp) / ratePerSecond;
}

/** How long a phase of `count` attempts takes to start them all. */
export function phaseSeconds(count: number, ratePerSecond: number, rampSeconds: number): number {
    return count === 0 ? 0 : attemptDueSeconds(count - 1, ratePerSecond, rampSeconds);
}
