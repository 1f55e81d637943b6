/**
 * The poll `pulumi up` runs after every new HAProxy launch template version, run by real sh
 * against a fake AWS CLI that answers DescribeInstanceRefreshes with a scripted series of
 * statuses: it returns once the refresh succeeded, and fails with the status when the refresh
 * failed or rolled back, so `up` cannot report success for hosts that do not run the new version.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { refreshWaitScript } from "../../components/aws/refresh-wait.ts";

const work = mkdtempSync(join(tmpdir(), "mqtt-edge-refresh-wait-"));
after(() => rmSync(work, { recursive: true, force: true }));
const bin = join(work, "bin");
mkdirSync(bin);
const answers = join(work, "answers");
const calls = join(work, "calls");
// One status per call, the last repeating; sleep returns at once and is recorded.
writeFileSync(
    join(bin, "aws"),
    `#!/bin/sh\necho "aws $*" >> ${calls}\nhead -n 1 ${answers}\nif [ "$(wc -l < ${answers})" -gt 1 ]; then sed -i 1d ${answers}; fi\n`,
);
writeFileSync(join(bin, "sleep"), `#!/bin/sh\necho "sleep $*" >> ${calls}\n`);
chmodSync(join(bin, "aws"), 0o755);
chmodSync(join(bin, "sleep"), 0o755);

function poll(statuses: string[]) {
    writeFileSync(answers, `${statuses.join("\n")}\n`);
    writeFileSync(calls, "");
    const run = spawnSync(
        "sh",
        ["-c", refreshWaitScript("mqtt-edge-dev-haproxy", "eu-west-1", 600)],
        {
            encoding: "utf8",
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        },
    );
    return { ...run, calls: readFileSync(calls, "utf8").trim().split("\n") };
}

describe("RefreshWait poll", () => {
    test("waits through Pending and InProgress and returns when the refresh succeeded", () => {
        const run = poll(["Pending", "InProgress", "InProgress", "Successful"]);
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /instance refresh of mqtt-edge-dev-haproxy: Successful/);
        assert.equal(run.calls.filter((call) => call.startsWith("aws ")).length, 4);
        assert.match(
            run.calls[0] ?? "",
            /^aws autoscaling describe-instance-refreshes --region eu-west-1 --auto-scaling-group-name mqtt-edge-dev-haproxy --max-records 1/,
        );
    });

    test("a new group (no refresh yet) needs no wait", () => {
        const run = poll(["None"]);
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.calls.filter((call) => call.startsWith("sleep")).length, 0);
    });

    for (const ending of ["Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed"]) {
        test(`a refresh that ends ${ending} fails pulumi up with that status`, () => {
            const run = poll(["InProgress", "RollbackInProgress", ending]);
            assert.notEqual(run.status, 0);
            assert.match(
                run.stderr,
                new RegExp(
                    `instance refresh of mqtt-edge-dev-haproxy ended ${ending}: the hosts do not run the new launch template`,
                ),
            );
        });
    }

    test("bad arguments are refused", () => {
        assert.throws(
            () => refreshWaitScript("g", "eu-west-1", 10),
            /^Error: timeoutSeconds: 10 is not allowed; use a whole number from 60 to 86400$/,
        );
        assert.throws(
            () => refreshWaitScript("has space", "eu-west-1", 600),
            /^Error: groupName: "has space" is not allowed/,
        );
    });
});
