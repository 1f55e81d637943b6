/**
 * Prints the configuration reference (one table row per key, from the schema's descriptions and
 * defaults) or, with --write, replaces the block between the markers in README.md.
 *
 *   npm run docs:config            print the table
 *   npm run docs:config -- --write update README.md
 *   npm run docs:config -- --help  what it does
 */
import { readFileSync, writeFileSync } from "node:fs";
import { CONFIG_NAMESPACE, configJsonSchema } from "../infra/config.ts";

export const BEGIN = "<!-- config-reference:begin (npm run docs:config -- --write) -->";
export const END = "<!-- config-reference:end -->";

interface JsonSchema {
    type?: string;
    description?: string;
    default?: unknown;
    enum?: unknown[];
    minimum?: number;
    maximum?: number;
    properties?: Record<string, JsonSchema>;
    items?: JsonSchema;
}

function allowed(s: JsonSchema): string {
    if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(", ");
    if (s.type === "integer") return `integer ${s.minimum ?? ""}..${s.maximum ?? ""}`;
    if (s.type === "array" && s.items) {
        const inner = allowed(s.items);
        return inner ? `list of ${inner}` : "list";
    }
    return s.type ?? "";
}

function rows(properties: Record<string, JsonSchema>, prefix: string): string[] {
    const out: string[] = [];
    for (const [key, s] of Object.entries(properties)) {
        const path = `${prefix}${key}`;
        if (s.type === "object" && s.properties) {
            if (s.description) out.push(`| \`${path}\` | map |  | ${s.description} |`);
            out.push(...rows(s.properties, `${path}.`));
            continue;
        }
        const dflt = s.default === undefined ? "" : `\`${JSON.stringify(s.default)}\``;
        const description = (s.description ?? "").replaceAll("|", "\\|");
        out.push(`| \`${path}\` | ${allowed(s)} | ${dflt} | ${description} |`);
    }
    return out;
}

export function configReference(): string {
    const schema = configJsonSchema() as JsonSchema;
    return [
        `Keys live under the \`${CONFIG_NAMESPACE}:\` namespace; nested keys are set with`,
        `\`pulumi config set --path '${CONFIG_NAMESPACE}:haproxy.maxconn' 500000\`.`,
        "",
        "| key | allowed | default | meaning |",
        "| --- | --- | --- | --- |",
        ...rows(schema.properties ?? {}, ""),
    ].join("\n");
}

/** README.md with the block between the markers replaced by the current reference. */
export function readmeWithReference(readme: string): string {
    const start = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} ... ${END} block`);
    return `${readme.slice(0, start + BEGIN.length)}\n${configReference()}\n${readme.slice(end)}`;
}

const usage = "npm run docs:config [-- --write]";

/** The command line: `--write`, `--help`, nothing else. Returns the exit code. */
export function runConfigReference(argv: readonly string[]): number {
    const unknown = argv.find((arg) => arg !== "--write" && arg !== "--help" && arg !== "-h");
    if (unknown !== undefined) {
        process.stderr.write(
            `docs:config: unknown argument ${JSON.stringify(unknown)}; allowed: --write, --help; usage: ${usage}\n`,
        );
        return 2;
    }
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(
            [
                `usage: ${usage}`,
                "",
                "Prints the stack configuration reference (a Markdown table generated from infra/config-schema.ts), or with --write puts it into README.md between its markers.",
                "",
                "flags:",
                "  --write  replace the reference block in README.md instead of printing",
                "  --help   show this help",
                "",
                "examples:",
                "  npm run docs:config",
                "  npm run docs:config -- --write",
                "",
            ].join("\n"),
        );
        return 0;
    }
    if (argv.includes("--write")) {
        const path = new URL("../README.md", import.meta.url);
        writeFileSync(path, readmeWithReference(readFileSync(path, "utf8")));
        process.stdout.write("README.md: configuration reference updated\n");
    } else {
        process.stdout.write(`${configReference()}\n`);
    }
    return 0;
}

if (import.meta.main) {
    process.exitCode = runConfigReference(process.argv.slice(2));
}
