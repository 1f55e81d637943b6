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
import { PkiInputError } from "../pki/input-error.ts";
import { makeOutputDir } from "./output-path.ts";
import { parseRenderRequest, renderHelp } from "./render-flags.ts";

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
    const request = parseRenderRequest(argv, projectDir);
    if (request.kind === "refused") {
        io.stderr(`${request.line}\n`);
        return request.code;
    }
    if (request.kind === "help") {
        io.stdout(renderHelp);
        return 0;
    }
    const { stack, out } = request;
    try {
        const stackFile = readStackFile(projectDir, stack);
        // Said once the files are written: a refusal stays the one line it is.
        const warnings: string[] = [];
        const config = parseEdgeConfig(stackFile.raw, {
            encryptedSecrets: stackFile.secrets,
            plaintextSecrets: stackFile.plaintextSecrets,
            awsRegion: stackFile.providerConfig["aws:region"],
            onWarning: (line) => warnings.push(line),
        });
        const files = renderStackFiles(config, { stack });
        warnings.push(...capacityWarnings(config));
        makeOutputDir("--out", out);
        for (const [path, text] of files) {
            const target = join(out, path);
            makeOutputDir("--out", dirname(target));
            writeFileSync(target, text);
        }
        for (const warning of warnings) io.stderr(`render: warning: ${warning}\n`);
        if (!request.quiet) {
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
