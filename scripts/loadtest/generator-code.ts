/**
 * The generator's source as the hosts run it: every file of scripts/loadtest/generator/ with its
 * TypeScript types stripped (node:module stripTypeScriptTypes, Node >= 22.13) and its `./x.ts`
 * imports pointed at `./x.mjs`. The hosts run Debian 12's nodejs (18.x), which cannot run
 * TypeScript; the generator uses Node built-ins only, so no npm install happens on a host.
 */
import { readdirSync, readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { join } from "node:path";

const generatorDir = new URL("./generator/", import.meta.url).pathname;

/** The entry point on the host. */
export const GENERATOR_ENTRY = "host-main.mjs";

/** File name (`x.mjs`) to JavaScript source, for every generator file. */
export function generatorCode(): Record<string, string> {
    const files: Record<string, string> = {};
    for (const name of readdirSync(generatorDir)
        .filter((n) => n.endsWith(".ts"))
        .sort()) {
        const source = readFileSync(join(generatorDir, name), "utf8");
        const javascript = stripTypeScriptTypes(source, { mode: "strip" }).replace(
            /(from\s+["']\.\/[A-Za-z0-9_-]+)\.ts(["'])/g,
            "$1.mjs$2",
        );
        files[name.replace(/\.ts$/, ".mjs")] = javascript;
    }
    return files;
}
