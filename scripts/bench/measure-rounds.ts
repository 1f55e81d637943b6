/**
 * Interleaved rounds: every variant runs once per round, in a rotated order, so a slow minute
 * on a shared machine hits every variant alike; each variant's figure is the median of its
 * rounds. The figure is HAProxy CPU time (all its processes) divided by completed connects.
 */
import { type ConnectLoopSpec, runConnectLoops } from "./connect-loop.ts";
import { cpuNanoseconds, processGroupMembers } from "./process-cpu.ts";

/** One thing to measure. */
export interface Variant {
    /** Name in the report. */
    readonly name: string;
    /** Master pid of the HAProxy whose CPU counts (master and workers share its group). */
    haproxyPid(): number;
    /** Runs before each round's window (fetch tickets elsewhere, reload, ...); returns the loop spec. */
    prepare(): Promise<ConnectLoopSpec>;
}

/** One round of one variant. */
export interface RoundFigure {
    readonly usPerConnect: number;
    readonly connects: number;
    readonly resumed: number;
    readonly failures: number;
}

/** Every round of every variant. */
export type RoundFigures = Map<string, RoundFigure[]>;

export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    if (sorted.length === 0) return Number.NaN;
    return sorted.length % 2 === 1
        ? (sorted[middle] as number)
        : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function measureOnce(variant: Variant): Promise<RoundFigure> {
    const spec = await variant.prepare();
    let pids: number[] = [];
    let before = 0;
    let after = 0;
    const result = await runConnectLoops(
        spec,
        () => {
            pids = processGroupMembers(variant.haproxyPid());
            before = cpuNanoseconds(pids);
        },
        () => {
            after = cpuNanoseconds(pids);
        },
    );
    if (result.connects === 0) throw new Error(`${variant.name}: no connect completed`);
    return {
        usPerConnect: (after - before) / 1000 / result.connects,
        connects: result.connects,
        resumed: result.resumed,
        failures: result.failures,
    };
}

/** Runs `rounds` interleaved rounds; `report` hears each figure as it comes. */
export async function measureRounds(
    variants: readonly Variant[],
    rounds: number,
    report: (round: number, name: string, figure: RoundFigure) => void = () => undefined,
): Promise<RoundFigures> {
    const figures: RoundFigures = new Map(variants.map((v) => [v.name, []]));
    for (let round = 0; round < rounds; round++) {
        const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
        for (const variant of order) {
            const figure = await measureOnce(variant);
            figures.get(variant.name)?.push(figure);
            report(round + 1, variant.name, figure);
        }
    }
    return figures;
}
