/**
 * The render command itself (scripts/render.ts runs it), callable in-process so the tests of its
 * many refusals do not each pay for a Node start.
 */
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError, parseEdgeConfig } from "../infra/config.ts";
import { capacityWarnings } from "../infra/config-capacity-checks.ts";
import { readStackFile } from "../infra/stack-file.ts";
import { renderStackFiles } from "../infra/stack-files.ts";
import { cliHelp, type FlagSpec, parseFlags, stringFlag } from "../pki/cli-flags.ts";
import { PkiInputError } from "../pki/input-error.ts";
import { checkOutputDir, makeOutputDir } from "./output-path.ts";

const usage = "npm run render -- --stack <name> [--out <dir>] [--quiet]";

const flagSpecs: Record<string, FlagSpec> = {
    stack: { type: "string", help: "<name>  read Pulumi.<name>.yaml (e.g. dev, local)" },
    out: { type: "string", help: "<dir>  where to write (default: out/<stack>)" },
    quiet: { type: "boolean", help: "print only errors and warnings" },
    help: { type: "boolean", help: "show this help" },
};

const help = cliHelp(
    {
        usage,
        summary:
            "Writes the haproxy.cfg, emqx.conf and cloud-init files the stack puts on its hosts, from the same schema and templates as `pulumi up`; nothing secret is rendered.",
        examples: [
            "npm run render -- --stack dev",
            "npm run render -- --stack local --out /tmp/edge",
        ],
    },
    flagSpecs,
);

/** Where the command's output lines go (the process's streams, or a test's buffers). */
export interface RenderIo {
    /** Progress and the list of written files. */
    readonly stdout: (text: string) => void;
    /** The one error line, and warnings. */
    readonly stderr: (text: string) => void;
}

/** Runs `npm run render` with `argv` (flags only) and returns the exit code. */
export function runRender(argv: readonly string[], io: RenderIo): number {
    const projectDir = resolve(dirname(new URL(import.meta.url).pathname), "..");
    let flags: ReturnType<typeof parseFlags>;
    try {
        flags = parseFlags(argv, flagSpecs);
        if (flags.help !== true && stringFlag(flags, "stack") === undefined) {
            throw new PkiInputError("--stack is required");
        }
    } catch (e) {
        const line = (e as Error).message.split("\n")[0];
        io.stderr(`render: ${line}; usage: ${usage} (--help for more)\n`);
        return 2;
    }
    if (flags.help === true) {
        io.stdout(help);
        return 0;
    }
    const stack = stringFlag(flags, "stack") ?? "";
    try {
        const outFlag = stringFlag(flags, "out");
        const out = checkOutputDir("--out", outFlag ?? join(projectDir, "out", stack));
        const stackFile = readStackFile(projectDir, stack);
        const config = parseEdgeConfig(stackFile.raw, {
            encryptedSecrets: stackFile.secrets,
            plaintextSecrets: stackFile.plaintextSecrets,
            awsRegion: stackFile.providerConfig["aws:region"],
            onWarning: (line) => io.stderr(`render: warning: ${line}\n`),
        });
        const files = renderStackFiles(config, { stack });
        for (const warning of capacityWarnings(config)) io.stderr(`render: warning: ${warning}\n`);
        makeOutputDir("--out", out);
        for (const [path, text] of files) {
            const target = join(out, path);
            makeOutputDir("--out", dirname(target));
            writeFileSync(target, text);
        }
        if (flags.quiet !== true) {
            io.stdout(`render: ${stack}: wrote ${files.size} files to ${out}\n`);
            for (const path of files.keys()) io.stdout(`  ${path}\n`);
        }
        return 0;
    } catch (e) {
        const line = (e as Error).message.split("\n")[0];
        if (e instanceof PkiInputError || e instanceof ConfigError) {
            io.stderr(`render: ${line}\n`);
            return 2;
        }
        // An I/O failure while writing: one line, no stack trace.
        io.stderr(`render: error: ${line}\n`);
        return 1;
    }
}
