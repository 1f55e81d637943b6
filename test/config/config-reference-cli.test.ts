/**
 * `npm run docs:config`: --help says what it does instead of printing the table, and an unknown
 * argument is one line (it used to be ignored, printing the table).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const script = join(new URL("../../", import.meta.url).pathname, "scripts/config-reference.ts");

function docsConfig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            [script, ...args],
            { timeout: 30_000 },
            (error, stdout, stderr) => {
                resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
            },
        );
    });
}

test("docs:config --help lists its flags and examples, not the table", async () => {
    const help = await docsConfig(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: npm run docs:config /);
    assert.match(help.stdout, /^ {2}--write /m);
    assert.match(
        help.stdout,
        /^examples:\n {2}npm run docs:config\n {2}npm run docs:config -- --write$/m,
    );
    assert.doesNotMatch(help.stdout, /\| key \| allowed \|/);
});

test("docs:config with an unknown argument is one line, exit 2, README untouched", async () => {
    const result = await docsConfig(["--wirte"]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(
        result.stderr,
        'docs:config: unknown argument "--wirte"; allowed: --write, --help; usage: npm run docs:config [-- --write]\n',
    );
});
