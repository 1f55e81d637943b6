/**
 * HAProxy CPU per device connect with a stack's rendered haproxy.cfg, against the seed's edge
 * measured in the same run.
 *
 *   npm run bench:handshake [-- --stack <name>] [--json] [--rounds 3] [--seconds 5]
 *       [--concurrency 8] [--ca-key-algorithm <alg>|stack] [--matrix]
 *
 * Real HAProxy (local-edge/: the stack's haproxy.cfg with only paths, addresses, ports, log and
 * maxconn rewritten) and the seed's frontend/backend with the seed's cfssl chain
 * (scripts/bench/seed-edge-files.ts) run side by side, pinned to core 0 when there are two cores;
 * this process drives devices from core 1: mutual TLS, MQTT CONNECT, CONNACK through PROXY v2 to
 * broker stand-ins, close. The figure is HAProxy's CPU time (schedstat, every thread) divided by
 * completed CONNACKs, the median of interleaved rounds; the ratio to the seed's full connect is
 * the median of the per-round ratios.
 * CPU time, not wall time: other work on a shared machine slows a round but does not bill it to
 * HAProxy. Still, caches and frequency are shared: compare ratios, not absolute figures.
 *
 * The chain is the one a new stack gets (the schema's default CA key algorithm) unless
 * `--ca-key-algorithm` names another or `stack` (the stack's own); when the stack pins another
 * algorithm, its chain is measured too, as `full-ecdsa-ca-<alg>`. `--matrix` adds every CA key
 * algorithm and the stack's chain without CRLs.
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeMeasuredFigures } from "../capacity/figures-file.ts";
import { parseEdgeConfig } from "../infra/config.ts";
import { stackSchema } from "../infra/config-schema.ts";
import { readStackFile } from "../infra/stack-file.ts";
import { type LocalKeyAlgorithm, localKeyAlgorithms } from "../local-edge/local-pki.ts";
import {
    type FlagSpec,
    flagsHelp,
    integerFlag,
    parseFlags,
    runCli,
    stringFlag,
} from "../pki/cli-flags.ts";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";
import { capacityFigureEntries } from "./bench/handshake-figures.ts";
import { SEED_VARIANT, startBenchEdges } from "./bench/handshake-variants.ts";
import { measureRounds, median, type RoundFigures } from "./bench/measure-rounds.ts";

const flagSpecs: Record<string, FlagSpec> = {
    stack: { type: "string", help: "<name>  committed stack whose haproxy.cfg runs (default dev)" },
    json: { type: "boolean", help: "print one JSON object instead of the table" },
    rounds: { type: "string", help: "<n>  interleaved rounds, median reported (default 3)" },
    seconds: { type: "string", help: "<s>  connect time per variant per round (default 5)" },
    concurrency: { type: "string", help: "<n>  parallel devices (default 8)" },
    "ca-key-algorithm": {
        type: "string",
        help: `<alg>|stack  chain of the stack's edge: ${localKeyAlgorithms.join(", ")}, or stack (default: what a new stack gets)`,
    },
    matrix: {
        type: "boolean",
        help: "also measure full connects for every CA key algorithm and without CRLs",
    },
    "write-figures": {
        type: "boolean",
        help: "with --matrix: write the full-connect CPU per CA key algorithm, the resumed connect and the seed's into capacity/measured-figures.json (what npm run capacity and the sizing guard read)",
    },
    help: { type: "boolean", help: "show this help" },
};

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** One variant in the report. */
export interface VariantReport {
    name: string;
    usPerConnect: number;
    ratioToSeed: number;
    resumedFraction: number;
    connects: number;
    /** Attempts without a CONNACK (0 on a healthy run). */
    failures: number;
}

/**
 * Per variant: the median of its rounds, and the median of its per-round ratios to the seed's
 * figure of the same round, so a round the machine was busier in shifts both alike.
 */
function report(figures: RoundFigures): VariantReport[] {
    const seedRounds = figures.get(SEED_VARIANT) ?? [];
    return [...figures.entries()]
        .filter(([name]) => name !== SEED_VARIANT)
        .map(([name, rounds]) => {
            const usPerConnect = median(rounds.map((r) => r.usPerConnect));
            const ratio = median(
                rounds.map((r, i) => r.usPerConnect / (seedRounds[i]?.usPerConnect ?? Number.NaN)),
            );
            const connects = rounds.reduce((sum, r) => sum + r.connects, 0);
            const resumed = rounds.reduce((sum, r) => sum + r.resumed, 0);
            const failures = rounds.reduce((sum, r) => sum + r.failures, 0);
            return {
                name,
                usPerConnect: Math.round(usPerConnect),
                ratioToSeed: Math.round(ratio * 100) / 100,
                resumedFraction: Math.round((resumed / connects) * 10_000) / 10_000,
                connects,
                failures,
            };
        });
}

function chooseCaAlgorithm(flag: string | undefined, stackAlgorithm: string): LocalKeyAlgorithm {
    const defaultAlgorithm = stackSchema.parse({}).pki.caKeyAlgorithm;
    const chosen = flag === undefined ? defaultAlgorithm : flag === "stack" ? stackAlgorithm : flag;
    if (!(localKeyAlgorithms as readonly string[]).includes(chosen)) {
        throw new PkiInputError(
            `--ca-key-algorithm ${quoteValue(chosen)}: unknown; allowed: ${localKeyAlgorithms.join(", ")}, stack`,
        );
    }
    return chosen as LocalKeyAlgorithm;
}

async function main(): Promise<number> {
    const flags = parseFlags(process.argv.slice(2), flagSpecs);
    if (flags.help) {
        process.stdout.write(
            `usage: npm run bench:handshake [-- flags]\n${flagsHelp(flagSpecs)}\n`,
        );
        return 0;
    }
    const stack = stringFlag(flags, "stack") ?? "dev";
    const stackFile = readStackFile(projectDir, stack);
    const config = parseEdgeConfig(stackFile.raw, { encryptedSecrets: stackFile.secrets });
    const caKeyAlgorithm = chooseCaAlgorithm(
        stringFlag(flags, "ca-key-algorithm"),
        config.pki.caKeyAlgorithm,
    );
    if (flags["write-figures"] && !flags.matrix) {
        throw new PkiInputError(
            "--write-figures needs --matrix: the capacity model needs a figure for every CA key algorithm",
        );
    }
    const rounds = integerFlag(flags, "rounds", 3, 1, 99);
    const seconds = integerFlag(flags, "seconds", 5, 1, 600);
    const concurrency = integerFlag(flags, "concurrency", 8, 1, 256);
    const stackCa = config.pki.caKeyAlgorithm as LocalKeyAlgorithm;
    const matrixAlgorithms = flags.matrix
        ? localKeyAlgorithms.filter((a) => a !== caKeyAlgorithm)
        : stackCa !== caKeyAlgorithm
          ? [stackCa]
          : [];

    // Two cores: HAProxy on core 0, this process (devices, stand-ins) on core 1.
    const pinned = availableParallelism() >= 2;
    if (pinned) execFileSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)]);
    const log = (line: string) => {
        if (!flags.json) process.stdout.write(`${line}\n`);
    };
    log(
        `bench:handshake: stack ${stack}, CA ${caKeyAlgorithm}, ${rounds} rounds x ${seconds} s, ${concurrency} devices${pinned ? ", HAProxy pinned to core 0, devices on core 1" : ", NOT pinned (one core)"}`,
    );
    const edges = await startBenchEdges({
        stack,
        caKeyAlgorithm,
        matrix: { caKeyAlgorithms: matrixAlgorithms, noCrl: Boolean(flags.matrix) },
        ...(pinned ? { cpu: 0 } : {}),
        concurrency,
        durationMs: seconds * 1000,
    });
    try {
        const figures = await measureRounds(edges.variants, rounds, (round, name, figure) =>
            log(
                `  round ${round} ${name.padEnd(28)} ${Math.round(figure.usPerConnect)
                    .toString()
                    .padStart(
                        6,
                    )} us/connect  ${figure.connects} connects, ${figure.resumed} resumed, ${figure.failures} failed`,
            ),
        );
        const seedUs = median((figures.get(SEED_VARIANT) ?? []).map((r) => r.usPerConnect));
        const variants = report(figures);
        const result = {
            seedUsPerConnect: Math.round(seedUs),
            variants,
            stack,
            caKeyAlgorithm,
            rounds,
            secondsPerRound: seconds,
            concurrency,
            pinned,
            date: new Date().toISOString(),
            haproxy:
                execFileSync("haproxy", ["-v"], { encoding: "utf8" }).split("\n")[0] ?? "haproxy",
        };
        if (flags["write-figures"]) {
            const path = writeMeasuredFigures(
                capacityFigureEntries(result, caKeyAlgorithm, process.argv.slice(2)),
            );
            log(`wrote the connect figures into ${path}`);
        }
        if (flags.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
            log("");
            log(
                `${"variant".padEnd(28)} ${"us/connect".padStart(10)} ${"x seed".padStart(7)} ${"resumed".padStart(8)} ${"connects".padStart(9)}`,
            );
            log(
                `${`${SEED_VARIANT} (reference)`.padEnd(28)} ${String(result.seedUsPerConnect).padStart(10)} ${"1.00".padStart(7)}`,
            );
            for (const v of variants) {
                log(
                    `${v.name.padEnd(28)} ${String(v.usPerConnect).padStart(10)} ${v.ratioToSeed.toFixed(2).padStart(7)} ${`${(v.resumedFraction * 100).toFixed(1)} %`.padStart(8)} ${String(v.connects).padStart(9)} ${String(v.failures).padStart(7)}`,
                );
            }
            log(
                `medians of ${rounds} interleaved rounds (x seed: median of per-round ratios); HAProxy CPU per completed CONNACK`,
            );
        }
        return 0;
    } finally {
        await edges.close();
    }
}

await runCli("bench:handshake", main);
