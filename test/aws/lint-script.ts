/** Runs `bash -n` and shellcheck over a script; returns their complaints, "" when clean. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

export function lintBash(script: string): string {
    const syntax = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    const check = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
    assert.equal(check.error, undefined, "shellcheck must be installed (.ci/run installs it)");
    return [syntax.status === 0 ? "" : syntax.stderr, check.status === 0 ? "" : check.stdout]
        .join("")
        .trim();
}
