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
 * Default <out>: out/<stack>. Invalid input (a flag, the stack file, --out) exits 2 with one line
 * and writes nothing: everything is validated and rendered, and --out checked, before the first
 * file is written.
 */
import { dirname, resolve } from "node:path";
import { parseRenderRequest } from "./render-flags.ts";

const argv = process.argv.slice(2);
// Flags and --out first, with nothing loaded but the flag parser: a refusal there (e.g.
// `--out /proc/nope`) takes a bare Node start, not the schema's and templates' load time too.
const early = parseRenderRequest(argv, resolve(dirname(new URL(import.meta.url).pathname), ".."));
if (early.kind === "refused") {
    process.stderr.write(`${early.line}\n`);
    process.exitCode = early.code;
} else {
    const { runRender } = await import("./render-command.ts");
    process.exitCode = runRender(argv, {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
    });
}
