/**
 * npm run render -- --stack <name> [--out <dir>]
 *
 * Reads Pulumi.<name>.yaml, validates it with the stack's schema and writes the files the stack
 * would put on its hosts, rendered by the same templates:
 *
 *   <out>/haproxy/haproxy.cfg         every HAProxy instance
 *   <out>/emqx/<node host name>.conf  one per EMQX node
 *   <out>/cloud-init/<host>.sh        user-data of each host (AWS target); an EMQX node's data
 *                                     volume id, known only once it exists, is vol-00000000000000000
 *
 * Nothing secret is rendered: emqx.conf takes the cookie, dashboard password and license key from
 * EMQX_* environment variables, and certificates and keys are fetched by the hosts at boot.
 * Default <out>: out/<stack>. Invalid input exits 2 with one line and writes nothing.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, parseEdgeConfig } from "../infra/config.ts";
import { capacityWarnings } from "../infra/config-capacity-checks.ts";
import { readStackFile } from "../infra/stack-file.ts";
import { renderStackFiles } from "../infra/stack-files.ts";

const usage = "usage: npm run render -- --stack <name> [--out <dir>]";

function main(argv: string[]): number {
    let values: { stack?: string; out?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                out: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        console.error(`render: ${(e as Error).message.split("\n")[0]}; ${usage}`);
        return 2;
    }
    if (values.help) {
        console.log(usage);
        return 0;
    }
    if (!values.stack) {
        console.error(`render: --stack is required; ${usage}`);
        return 2;
    }
    const projectDir = resolve(dirname(new URL(import.meta.url).pathname), "..");
    let files: Map<string, string>;
    try {
        const stackFile = readStackFile(projectDir, values.stack);
        const config = parseEdgeConfig(stackFile.raw, { encryptedSecrets: stackFile.secrets });
        files = renderStackFiles(config, { stack: values.stack });
        for (const warning of capacityWarnings(config))
            console.error(`render: warning: ${warning}`);
    } catch (e) {
        if (e instanceof ConfigError || e instanceof Error) {
            console.error(`render: ${e.message.split("\n")[0]}`);
            return 2;
        }
        throw e;
    }
    const out = resolve(values.out ?? join(projectDir, "out", values.stack));
    for (const [path, text] of files) {
        const target = join(out, path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, text);
    }
    console.log(`render: ${values.stack}: wrote ${files.size} files to ${out}`);
    for (const path of files.keys()) console.log(`  ${path}`);
    return 0;
}

process.exitCode = main(process.argv.slice(2));
