/**
 * `npm run smoke -- --stack <name> [--stack-outputs <file|->] [--json]`
 * `npm run smoke -- --local [--stack <name>] [--json]`
 *
 * Checks a deployed edge the way a device meets it: mutual TLS against the stack's trust bundle,
 * CONNACK, a QoS 1 round trip, then three devices that must be refused (no certificate, a
 * throwaway CA, a root-issued leaf). One line per check; exit 1 when any check fails, 2 on bad
 * input. Without --stack-outputs it asks the Pulumi CLI for the outputs; with --local it starts
 * real HAProxy with the stack's rendered haproxy.cfg on loopback in front of broker stand-ins
 * and checks that instead (no cloud, no Pulumi CLI).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { flagsHelp, parseFlags, runCli, stringFlag } from "../pki/cli-flags.ts";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";
import { readInputFile } from "../pki/input-file.ts";
import { parseStackOutputs } from "../pki/stack-outputs.ts";
import type { SmokeCheckResult } from "./smoke/smoke-checks.ts";
import { smokeJson, smokeLines, smokePassed, smokeSummary } from "./smoke/smoke-report.ts";

const flags = {
    stack: { type: "string", help: "<name>  the stack to check (default dev with --local)" },
    "stack-outputs": {
        type: "string",
        help: "<file|->  pulumi stack output --show-secrets --json (default: ask the Pulumi CLI)",
    },
    local: {
        type: "boolean",
        help: "run the checks against the stack's haproxy.cfg in a local HAProxy",
    },
    json: { type: "boolean", help: "print one JSON document instead of lines" },
    help: { type: "boolean", help: "print this help" },
} as const;

/** A stack name, optionally fully qualified (`org/project/stack`); passed to pulumi without a shell. */
const STACK_NAME = /^[A-Za-z0-9._-]{1,100}(\/[A-Za-z0-9._-]{1,100}){0,2}$/;

async function pulumiStackOutputs(stack: string): Promise<string> {
    try {
        const { stdout } = await promisify(execFile)(
            "pulumi",
            ["stack", "output", "--stack", stack, "--show-secrets", "--json"],
            { maxBuffer: 64 * 1024 * 1024 },
        );
        return stdout;
    } catch (error) {
        // stderr only: stdout would hold the secrets.
        const detail =
            (error as { stderr?: string; code?: string }).stderr?.trim() ||
            String((error as { code?: string }).code);
        throw new PkiInputError(
            `--stack ${quoteValue(stack)}: pulumi stack output failed (${detail.split("\n")[0]}); allowed: a stack the Pulumi CLI can read, or --stack-outputs <file|->`,
        );
    }
}

async function main(): Promise<number> {
    const parsed = parseFlags(process.argv.slice(2), flags);
    if (parsed.help) {
        process.stdout.write(
            `usage: npm run smoke -- --stack <name> [--stack-outputs <file|->] [--json]\n       npm run smoke -- --local [--stack <name>] [--json]\n${flagsHelp(flags)}\n`,
        );
        return 0;
    }
    const stack = stringFlag(parsed, "stack");
    if (stack !== undefined && !STACK_NAME.test(stack)) {
        throw new PkiInputError(
            `--stack ${quoteValue(stack)}: not a stack name; allowed: letters, digits, '.', '_', '-', as <stack> or <org>/<project>/<stack>`,
        );
    }
    const outputsFile = stringFlag(parsed, "stack-outputs");
    let where: string;
    let results: SmokeCheckResult[];
    if (parsed.local) {
        if (outputsFile !== undefined) {
            throw new PkiInputError(
                "--stack-outputs with --local: the local edge makes its own certificates; allowed: one of --local or --stack-outputs",
            );
        }
        const { runLocalSmoke } = await import("./smoke/local-target.ts");
        ({ where, results } = await runLocalSmoke(stack ?? "dev"));
    } else {
        if (stack === undefined && outputsFile === undefined) {
            throw new PkiInputError(
                "no target; allowed: --stack <name>, --stack-outputs <file|->, or --local",
            );
        }
        const source = outputsFile ?? `pulumi stack output --stack ${stack}`;
        const text =
            outputsFile !== undefined
                ? readInputFile("--stack-outputs", outputsFile, true)
                : await pulumiStackOutputs(stack as string);
        const outputs = parseStackOutputs(text, source);
        // The MQTT client and the X.509 library load only once the input is known to be good.
        const { smokeTargetFromOutputs } = await import("./smoke/stack-target.ts");
        const { runSmokeChecks } = await import("./smoke/smoke-checks.ts");
        const target = await smokeTargetFromOutputs(outputs, source);
        where = `${stack ?? "stack"} at ${target.host}:${target.port}`;
        results = await runSmokeChecks(target);
    }
    if (parsed.json) {
        process.stdout.write(smokeJson(where, results));
    } else {
        process.stdout.write(`smoke: ${where}\n`);
        for (const line of smokeLines(results)) process.stdout.write(`${line}\n`);
        process.stdout.write(`${smokeSummary(results)}\n`);
    }
    return smokePassed(results) ? 0 : 1;
}

await runCli("smoke", main);
