/**
 * The pieces that touch the process: signal wiring, the operator's command through /bin/sh, the
 * outputs file and the progress-line prefixer.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { describe, test } from "node:test";
import { prefixLines } from "../../scripts/loadtest/line-prefixer.ts";
import { writeOutputsFile } from "../../scripts/loadtest/outputs-file.ts";
import { runShellCommand } from "../../scripts/loadtest/shell-command.ts";
import { interruptOnSignals } from "../../scripts/loadtest/signals.ts";

describe("interruptOnSignals", () => {
    test("the first signal aborts with its name, later ones only log, dispose stops listening", () => {
        const source = new EventEmitter();
        const lines: string[] = [];
        const interruption = interruptOnSignals(source, (l) => lines.push(l));
        assert.equal(source.listenerCount("SIGINT"), 1);
        assert.equal(interruption.signal.aborted, false);
        source.emit("SIGTERM");
        assert.equal(interruption.signal.aborted, true);
        assert.equal(interruption.signal.reason, "SIGTERM");
        source.emit("SIGINT");
        assert.equal(interruption.signal.reason, "SIGTERM");
        assert.equal(lines.length, 2);
        assert.match(lines[1] ?? "", /SIGINT again: the teardown continues/);
        interruption.dispose();
        assert.equal(source.listenerCount("SIGINT") + source.listenerCount("SIGTERM"), 0);
    });
});

describe("runShellCommand", () => {
    test("passes the exit code through and adds the environment", async () => {
        const code = await runShellCommand(
            'test "$DEVICE_ENDPOINT" = "127.0.0.1:8883" && exit 7; exit 1',
            { DEVICE_ENDPOINT: "127.0.0.1:8883" },
            new AbortController().signal,
        );
        assert.equal(code, 7);
    });

    test("an abort stops the command (SIGTERM: 143)", async () => {
        const controller = new AbortController();
        const running = runShellCommand("exec sleep 30", {}, controller.signal);
        try {
            controller.abort("SIGTERM");
            assert.equal(await running, 143);
        } finally {
            controller.abort();
            await running;
        }
    });
});

describe("writeOutputsFile", () => {
    test("writes plain values, readable only by this user, and removes them", () => {
        const file = writeOutputsFile("loadtest-t", {
            deviceEndpoint: { value: "h:8883", secret: false },
            key: { value: "secret-key", secret: true },
        });
        try {
            assert.equal(statSync(file.path).mode & 0o777, 0o600);
            assert.equal(statSync(dirname(file.path)).mode & 0o777, 0o700);
            assert.deepEqual(JSON.parse(readFileSync(file.path, "utf8")), {
                deviceEndpoint: "h:8883",
                key: "secret-key",
            });
        } finally {
            file.remove();
        }
        assert.equal(existsSync(file.path), false);
        file.remove();
    });
});

describe("prefixLines", () => {
    test("joins split chunks into whole prefixed lines and flushes the rest", () => {
        const lines: string[] = [];
        const out = prefixLines("[s up] ", (l) => lines.push(l));
        out.write("one\r\ntw");
        out.write("o\n\nthr");
        assert.deepEqual(lines, ["[s up] one", "[s up] two"]);
        out.flush();
        assert.deepEqual(lines, ["[s up] one", "[s up] two", "[s up] thr"]);
    });
});
