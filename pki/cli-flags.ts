/**
 * Command-line flag parsing for the PKI scripts, strict in the way operators need: an unknown
 * or repeated flag, a missing value or a stray argument is a one-line {@link PkiInputError}
 * naming it and listing what is allowed (node:util parseArgs reports these in its own words
 * and accepts abbreviations we do not want).
 */
import { PkiInputError, quoteValue } from "./input-error.ts";

/** One flag a script accepts. */
export interface FlagSpec {
    /** `string` takes a value (`--out dir` or `--out=dir`); `boolean` takes none. */
    type: "string" | "boolean";
    /** Value placeholder and meaning, for `--help`. */
    help: string;
}

/** Parsed flags: name (without `--`) to value; absent flags are absent. */
export type ParsedFlags = Record<string, string | boolean>;

/** Parses `argv` (without node and script path) against `specs` (keys are names without `--`). */
export function parseFlags(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedFlags {
    const allowed = Object.keys(specs)
        .map((name) => `--${name}`)
        .join(", ");
    const parsed: ParsedFlags = {};
    for (let index = 0; index < argv.length; index++) {
        const arg = argv[index] ?? "";
        if (!arg.startsWith("--")) {
            throw new PkiInputError(`unexpected argument ${quoteValue(arg)}; allowed: ${allowed}`);
        }
        const equals = arg.indexOf("=");
        const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
        const spec = specs[name];
        if (!spec) {
            throw new PkiInputError(`unknown flag ${quoteValue(`--${name}`)}; allowed: ${allowed}`);
        }
        if (Object.hasOwn(parsed, name)) {
            throw new PkiInputError(`flag --${name} given twice; allowed: once`);
        }
        if (spec.type === "boolean") {
            if (equals !== -1) {
                throw new PkiInputError(
                    `flag --${name} takes no value, got ${quoteValue(arg.slice(equals + 1))}; allowed: --${name} alone`,
                );
            }
            parsed[name] = true;
            continue;
        }
        let value: string | undefined;
        if (equals !== -1) {
            value = arg.slice(equals + 1);
        } else {
            const next = argv[index + 1];
            if (next !== undefined && !next.startsWith("--")) {
                value = next;
                index++;
            }
        }
        if (value === undefined) {
            throw new PkiInputError(
                `flag --${name} needs a value; allowed: --${name} ${spec.help}`,
            );
        }
        parsed[name] = value;
    }
    return parsed;
}

/** What a CLI's `--help` says, besides its flags. */
export interface CliHelp {
    /** The npm command line, e.g. `npm run crl -- --stack <name> --out <crl.pem>`. */
    usage: string;
    /** One or two sentences: what the command does. */
    summary: string;
    /** Whole command lines an operator can copy, at least one. */
    examples: readonly string[];
}

/** `--help` text: usage, summary, every flag, examples (each a full npm command). */
export function cliHelp(help: CliHelp, specs: Record<string, FlagSpec>): string {
    return [
        `usage: ${help.usage}`,
        "",
        help.summary,
        "",
        "flags:",
        flagsHelp(specs),
        "",
        help.examples.length === 1 ? "example:" : "examples:",
        ...help.examples.map((example) => `  ${example}`),
        "",
    ].join("\n");
}

/** `--help` text: one line per flag. */
export function flagsHelp(specs: Record<string, FlagSpec>): string {
    const width = Math.max(...Object.keys(specs).map((name) => name.length)) + 2;
    return Object.entries(specs)
        .map(([name, spec]) => `  --${name.padEnd(width)}${spec.help}`)
        .join("\n");
}

/** The string value of a flag, or `undefined` (boolean flags are never strings). */
export function stringFlag(flags: ParsedFlags, name: string): string | undefined {
    const value = flags[name];
    return typeof value === "string" ? value : undefined;
}

/** Parses a whole number flag within [min, max]. */
export function integerFlag(
    flags: ParsedFlags,
    name: string,
    fallback: number,
    min: number,
    max: number,
): number {
    const raw = stringFlag(flags, name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw new PkiInputError(
            `--${name} ${quoteValue(raw)}: not a whole number in range; allowed: ${min} to ${max}`,
        );
    }
    return value;
}

/**
 * Runs a CLI's main function and turns failures into one stderr line and an exit code:
 * 2 for bad input ({@link PkiInputError}), 1 for anything else. Nothing else is printed (no
 * stack trace) so a secret that ended up in an exception cannot reach CI logs by accident.
 */
export async function runCli(
    scriptName: string,
    main: () => Promise<number | undefined>,
): Promise<void> {
    try {
        process.exitCode = (await main()) ?? 0;
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const oneLine = message.replace(/\r?\n/g, "\\n");
        process.stderr.write(`${scriptName}: error: ${oneLine}\n`);
        process.exitCode = error instanceof PkiInputError ? 2 : 1;
    }
}
