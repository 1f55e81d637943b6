/**
 * Hands the stack outputs, secrets included (test device keys), to the operator's command
 * through a file only this user can read, instead of the environment or a log.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StackOutput } from "./workspace.ts";

/** A written outputs file. */
export interface OutputsFile {
    /** Absolute path of the JSON file (mode 0600, in a 0700 directory). */
    readonly path: string;
    /** Deletes the file and its directory; safe to call twice. */
    readonly remove: () => void;
}

/** Writes `{ <output name>: <value> }` as JSON. */
export function writeOutputsFile(
    stackName: string,
    outputs: Readonly<Record<string, StackOutput>>,
): OutputsFile {
    // mkdtemp creates the directory 0700, so no other user can even list it.
    const dir = mkdtempSync(join(tmpdir(), `mqtt-edge-${stackName}-`));
    const path = join(dir, "outputs.json");
    const plain = Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.value]));
    writeFileSync(path, `${JSON.stringify(plain, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
