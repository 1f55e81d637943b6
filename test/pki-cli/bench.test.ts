import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./run-process.ts";

// The rate itself is a benchmark figure, not a test verdict: this checks that the script issues
// and writes certificates and reports rate, CPU and RSS, and that its exit status agrees with the
// figure it printed (1 exactly when under the 1000 certs/min target).
test("bench-cert-device issues and writes certificates and reports rate, CPU and RSS", async () => {
    const result = await runScript("bench-cert-device", ["--count", "300", "--write"]);
    const match =
        /^issued 300 ECDSA P-256 device certs \(throwaway ECDSA P-256 CA, written to disk\) in [\d.]+ s: (\d+) certs\/min, CPU [\d.]+ s \([\d.]+ cores\), peak RSS ([\d.]+) MB, UV_THREADPOOL_SIZE=1\n$/.exec(
            result.stdout,
        );
    assert.ok(match, `${result.stdout}${result.stderr}`);
    const rate = Number(match[1]);
    assert.ok(rate > 0, `rate ${rate}/min`);
    assert.ok(Number(match[2]) > 10, "peak RSS is a real figure");
    assert.equal(result.code, rate < 1000 ? 1 : 0, result.stderr);
});
