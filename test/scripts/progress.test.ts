/**
 * The progress line (scripts/progress.ts) with a fake clock and a fake terminal: silent for
 * short batches, off a terminal and with --quiet; otherwise count, rate and time left.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatDuration, Progress, type ProgressStream } from "../../scripts/progress.ts";

/** A stream that records what was written; `isTTY` as given. */
function fakeStream(isTTY: boolean): ProgressStream & { text: string } {
    const stream = {
        isTTY,
        text: "",
        write(chunk: string) {
            stream.text += chunk;
            return true;
        },
    };
    return stream;
}

/** A clock the test moves by hand. */
function fakeClock() {
    let now = 1000;
    return {
        now: () => now,
        advance: (ms: number) => {
            now += ms;
        },
    };
}

function run(stream: ProgressStream, options: { quiet?: boolean; stepMs: number; total: number }) {
    const clock = fakeClock();
    const progress = new Progress({
        total: options.total,
        unit: "certificates",
        label: "cert:device",
        stream,
        now: clock.now,
        ...(options.quiet === undefined ? {} : { quiet: options.quiet }),
    });
    for (let i = 0; i < options.total; i++) {
        clock.advance(options.stepMs);
        progress.tick();
    }
    progress.finish();
}

describe("progress line", () => {
    test("a batch over 2 s on a terminal shows count, rate and time left, redrawn in place", () => {
        const stream = fakeStream(true);
        // 100 items, 50 ms each: 5 s in all, 20 per second.
        run(stream, { stepMs: 50, total: 100 });
        const draws = stream.text.split("\r\u001b[2K").filter(Boolean);
        assert.ok(draws.length >= 5, `redraws: ${draws.length}`);
        assert.match(
            draws[0] ?? "",
            /^cert:device: 4\d\/100 certificates \(4\d%\), 20\/s, about \d s left$/,
        );
        assert.equal(draws.at(-1), "cert:device: 100/100 certificates (100%), 20/s, done\n");
        // No more than one redraw per 250 ms (plus the final one).
        assert.ok(draws.length <= Math.ceil(3000 / 250) + 1, `redraws: ${draws.length}`);
    });

    test("a batch under 2 s draws nothing", () => {
        const stream = fakeStream(true);
        run(stream, { stepMs: 10, total: 100 });
        assert.equal(stream.text, "");
    });

    test("not a terminal, or --quiet: nothing at all", () => {
        const pipe = fakeStream(false);
        run(pipe, { stepMs: 50, total: 100 });
        assert.equal(pipe.text, "");
        const quiet = fakeStream(true);
        run(quiet, { stepMs: 50, total: 100, quiet: true });
        assert.equal(quiet.text, "");
    });

    test("the estimate: time left is items left over the rate so far", () => {
        const clock = fakeClock();
        const progress = new Progress({
            total: 5000,
            unit: "certificates",
            label: "cert:device",
            stream: fakeStream(true),
            now: clock.now,
        });
        clock.advance(10_000);
        progress.tick(1000);
        assert.equal(
            progress.line(),
            "cert:device: 1000/5000 certificates (20%), 100/s, about 40 s left",
        );
        assert.equal(formatDuration(185), "3 min 5 s");
        assert.equal(formatDuration(7800), "2 h 10 min");
    });
});
