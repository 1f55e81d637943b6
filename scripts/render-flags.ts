/**
 * The render command's flags, its help, and the checks that need nothing but the flags (a
 * missing --stack, an --out that can never be written). Kept apart from the renderer so
 * scripts/render.ts can refuse those before it loads the schema and the templates: a bad --out
 * then ends in a fraction of a second however loaded the machine is (issue 12: "a bad --out
 * ends within 2 s").
 */
import { join } from "node:path";
import { cliHelp, type FlagSpec, parseFlags, stringFlag } from "../pki/cli-flags.ts";
import { PkiInputError } from "../pki/input-error.ts";
import { checkOutputDir } from "./output-path.ts";

export const renderUsage = "npm run render -- --stack <name> [--out <dir>] [--quiet]";

const flagSpecs: Record<string, FlagSpec> = {
    stack: { type: "string", help: "<name>  read Pulumi.<name>.yaml (e.g. dev, local)" },
    out: { type: "string", help: "<dir>  where to write (default: out/<stack>)" },
    quiet: { type: "boolean", help: "print only errors and warnings" },
    help: { type: "boolean", help: "show this help" },
};

export const renderHelp = cliHelp(
    {
        usage: renderUsage,
        summary:
            "Writes the haproxy.cfg, emqx.conf and cloud-init files the stack puts on its hosts, from the same schema and templates as `pulumi up`; nothing secret is rendered.",
        examples: [
            "npm run render -- --stack dev",
            "npm run render -- --stack local --out /tmp/edge",
        ],
    },
    flagSpecs,
);

/** What the flags ask for, or the one line (and exit code) that refuses them. */
export type RenderRequest =
    | { readonly kind: "help" }
    | {
          readonly kind: "render";
          readonly stack: string;
          readonly out: string;
          readonly quiet: boolean;
      }
    | { readonly kind: "refused"; readonly line: string; readonly code: number };

/**
 * Parses `argv` and checks --out (default `<projectDir>/out/<stack>`) without creating anything.
 * Refusals are the command's own lines: `render: <problem>`.
 */
export function parseRenderRequest(argv: readonly string[], projectDir: string): RenderRequest {
    let flags: ReturnType<typeof parseFlags>;
    try {
        flags = parseFlags(argv, flagSpecs);
        if (flags.help !== true && stringFlag(flags, "stack") === undefined) {
            throw new PkiInputError("--stack is required");
        }
    } catch (e) {
        const line = (e as Error).message.split("\n")[0];
        return {
            kind: "refused",
            line: `render: ${line}; usage: ${renderUsage} (--help for more)`,
            code: 2,
        };
    }
    if (flags.help === true) return { kind: "help" };
    const stack = stringFlag(flags, "stack") ?? "";
    try {
        const out = checkOutputDir(
            "--out",
            stringFlag(flags, "out") ?? join(projectDir, "out", stack),
        );
        return { kind: "render", stack, out, quiet: flags.quiet === true };
    } catch (e) {
        const line = (e as Error).message.split("\n")[0];
        // Bad input exits 2; an I/O failure while looking at the path is one line too, exit 1.
        return e instanceof PkiInputError
            ? { kind: "refused", line: `render: ${line}`, code: 2 }
            : { kind: "refused", line: `render: error: ${line}`, code: 1 };
    }
}
