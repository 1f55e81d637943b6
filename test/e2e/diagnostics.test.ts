/**
 * A failing data-plane test prints HAProxy's log and the brokers' records, with the reporter CI
 * uses (spec) and with tap: runs a deliberately failing test in a child runner and reads its output.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";

const fixture = new URL("./fixtures/failing-edge.fixture.ts", import.meta.url).pathname;

function runFixture(reporter: string): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            ["--test", `--test-reporter=${reporter}`, fixture],
            {
                timeout: 60_000,
                killSignal: "SIGKILL",
                maxBuffer: 16 * 1024 * 1024,
                // Without this the child runner reports to this runner instead of printing.
                env: { ...process.env, NODE_TEST_CONTEXT: undefined },
            },
            (error, stdout, stderr) => {
                const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
                resolve({ code, output: `${stdout}${stderr}` });
            },
        );
    });
}

for (const reporter of ["spec", "tap"]) {
    test(`a failing edge test prints HAProxy's log and the broker records (${reporter})`, async () => {
        const { code, output } = await runFixture(reporter);
        assert.notEqual(code, 0, "the fixture test fails");
        assert.match(output, /deliberate failure/);
        assert.match(output, /edge state at failure/);
        assert.match(output, /---- haproxy output ----/);
        // HAProxy's own start-up notice is in the log that gets printed.
        assert.match(output, /haproxy version is 2\.6|New worker|Loading success/i);
        assert.match(output, /---- broker connections ----/);
    });
}
