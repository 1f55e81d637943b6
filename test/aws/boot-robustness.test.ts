/**
 * The rendered user-data of both host kinds, run for real in the boot sandbox (boot-sandbox.ts):
 * every network step's first failure is retried and the boot completes; a permanent failure ends
 * the boot with a non-zero status within its retry bound, one line naming the step in the log and
 * on the serial console, ABANDON for an HAProxy host, and the SSM agent already installed. The
 * EMQX unit waits for its data volume.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    emqxHostFiles,
    emqxUserData,
    haproxyUserData,
} from "../../components/aws/host-user-data.ts";
import { NETWORK_STEP_RETRY_SECONDS } from "../../templates/cloud-init-debian-host.ts";
import { PARAMETER_READ_RETRY_SECONDS } from "../../templates/cloud-init-host-files.ts";
import { type NetworkStep, runBoot } from "./boot-sandbox.ts";

const haproxyPlan = {
    instanceCount: 2,
    groupName: "mqtt-edge-test-haproxy",
    maxconn: 1000,
    parameterPrefix: "/t/haproxy",
    healthCheck: { port: 8080, path: "/healthz", sendProxy: true },
    files: [{ key: "crl.pem", path: "/etc/haproxy/ca/crl.pem" }],
};
const haproxyParameters = {
    "/t/haproxy/haproxy.cfg": "global\n    maxconn 1000\n",
    "/t/haproxy/crl.pem": "CRL\n",
};

const emqxPlan = { emqxVersion: "5.8.9", maxConnections: 1000, parameterPrefix: "/t/emqx" };
const emqxParameters: Record<string, string> = Object.fromEntries(
    emqxHostFiles(emqxPlan).map((file) => [
        `/t/emqx/${file.key}`,
        file.key === "emqx-version" ? "5.8.9\n" : `${file.key} content\n`,
    ]),
);
const VOLUME = "vol-0123456789abcdef0";
const emqxOptions = {
    blockDevice: `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${VOLUME.replace("-", "")}`,
    installedEmqxVersion: "5.8.9",
    read: ["/etc/systemd/system/emqx.service.d/60-mqtt-edge-node.conf", "/etc/fstab"],
};

const lifecycleCall = (result: string) => (call: string) =>
    call.startsWith("aws autoscaling complete-lifecycle-action") &&
    call.includes("--auto-scaling-group-name mqtt-edge-test-haproxy") &&
    call.includes(`--lifecycle-action-result ${result}`);

/** Index of the first call matching, -1 if none. */
function firstCall(calls: string[], match: (call: string) => boolean): number {
    return calls.findIndex(match);
}

const ssmAgentStarted = (call: string) => call === "systemctl enable --now amazon-ssm-agent";

describe("HAProxy host boot", () => {
    const steps: NetworkStep[] = [
        "imds",
        "ssm-agent-download",
        "ssm-agent-install",
        "apt-update",
        "apt-install",
        "ssm-read",
        "health",
    ];

    test("every network step fails once, is retried, and the boot completes with CONTINUE", () => {
        const run = runBoot(
            haproxyUserData(haproxyPlan),
            haproxyParameters,
            Object.fromEntries(steps.map((step) => [step, 1])),
        );
        assert.equal(run.status, 0, run.log);
        for (const step of steps) {
            assert.match(run.log, new RegExp(`fake \\S+: ${step} fails this time`), step);
        }
        assert.match(run.log, /attempt 1 failed; retrying in 2 s/);
        assert.ok(run.done, "bootstrap-done marker written");
        const agent = firstCall(run.calls, ssmAgentStarted);
        const apply = firstCall(run.calls, (call) => call.startsWith("haproxy -c"));
        const proceed = firstCall(run.calls, lifecycleCall("CONTINUE"));
        assert.ok(agent >= 0 && agent < apply && apply < proceed, run.calls.join("\n"));
        assert.ok(!run.calls.some(lifecycleCall("ABANDON")));
        // The NLB sends PROXY v2 to the health bind in this mode, so the local check does too.
        assert.ok(
            run.calls.some(
                (call) =>
                    call.includes("--haproxy-protocol") && call.includes("127.0.0.1:8080/healthz"),
            ),
        );
        // apt waits for a dpkg lock held by apt-daily instead of failing.
        assert.ok(
            run.calls
                .filter((call) => call.startsWith("apt-get"))
                .every((call) => call.includes("-o DPkg::Lock::Timeout=300")),
        );
        assert.equal(run.console, "");
    });

    test("an SSM read that always fails ends the boot within its bound, says where, and sends ABANDON", () => {
        const run = runBoot(haproxyUserData(haproxyPlan), haproxyParameters, {
            "ssm-read": "always",
        });
        assert.notEqual(run.status, 0);
        assert.ok(!run.done);
        const failure =
            /^mqtt-edge haproxy bootstrap FAILED at step 'files from SSM' \(exit \d+\); details in \/var\/log\/mqtt-edge-bootstrap\.log$/m;
        assert.match(run.log, failure);
        assert.match(run.console, failure);
        assert.equal(run.console.trim().split("\n").length, 1, "one line on the console");
        const agent = firstCall(run.calls, ssmAgentStarted);
        const abandon = firstCall(run.calls, lifecycleCall("ABANDON"));
        assert.ok(agent >= 0 && agent < abandon, "the SSM agent was installed before the failure");
        assert.ok(!run.calls.some(lifecycleCall("CONTINUE")));
        // Waited at most the read's bound before giving up (sleep is a fake that records).
        const readSleeps = run.slept;
        assert.ok(readSleeps > 0 && readSleeps <= PARAMETER_READ_RETRY_SECONDS, String(readSleeps));
        assert.match(
            run.log,
            /read \/t\/haproxy\/haproxy\.cfg from SSM: failed \d+ time\(s\) over \d+ s; giving up/,
        );
    });

    test("an SSM agent package whose signature does not verify is never installed: the boot fails at once, not retried", () => {
        const run = runBoot(haproxyUserData(haproxyPlan), haproxyParameters, {
            "ssm-agent-signature": "always",
        });
        assert.notEqual(run.status, 0);
        assert.match(run.console, /FAILED at step 'SSM agent'/);
        assert.match(
            run.log,
            /amazon-ssm-agent\.deb: its signature does not verify with the SSM agent signing key DE92C7DA3E56E92331D62A36BC1F495C97DD04ED; not installing it/,
        );
        assert.equal(
            run.calls.filter((call) => call.startsWith("gpgv ")).length,
            1,
            "checked once",
        );
        assert.ok(!run.calls.some((call) => /apt-get .*amazon-ssm-agent\.deb/.test(call)));
        assert.equal(firstCall(run.calls, ssmAgentStarted), -1);
        assert.equal(run.slept, 0, "nothing retried");
    });

    test("a package repository that never answers ends the boot within its bound, after the SSM agent", () => {
        const run = runBoot(haproxyUserData(haproxyPlan), haproxyParameters, {
            "apt-update": "always",
        });
        assert.notEqual(run.status, 0);
        assert.match(run.console, /FAILED at step 'packages'/);
        assert.ok(run.slept <= NETWORK_STEP_RETRY_SECONDS, String(run.slept));
        assert.ok(firstCall(run.calls, ssmAgentStarted) >= 0);
        assert.ok(run.calls.some(lifecycleCall("ABANDON")));
    });

    test("a health endpoint that never answers 200 fails the boot: the host never serves", () => {
        const run = runBoot(haproxyUserData(haproxyPlan), haproxyParameters, { health: "always" });
        assert.notEqual(run.status, 0);
        assert.match(run.console, /FAILED at step 'readiness'/);
        assert.ok(run.calls.some(lifecycleCall("ABANDON")));
        assert.ok(!run.calls.some(lifecycleCall("CONTINUE")));
    });
});

describe("EMQX node boot", () => {
    const userData = emqxUserData(emqxPlan, "emqx-1.edge.internal", VOLUME);
    const steps: NetworkStep[] = [
        "imds",
        "ssm-agent-download",
        "ssm-agent-install",
        "apt-update",
        "apt-install",
        "emqx-key",
        "ssm-read",
    ];

    test("every network step fails once, is retried, and the boot completes", () => {
        const run = runBoot(
            userData,
            emqxParameters,
            Object.fromEntries(steps.map((s) => [s, 1])),
            emqxOptions,
        );
        assert.equal(run.status, 0, run.log);
        for (const step of steps) {
            assert.match(run.log, new RegExp(`fake \\S+: ${step} fails this time`), step);
        }
        assert.ok(run.done);
        const agent = firstCall(run.calls, ssmAgentStarted);
        const restart = firstCall(run.calls, (call) => call === "systemctl restart emqx");
        assert.ok(agent >= 0 && agent < restart, run.calls.join("\n"));
        // EMQX starts only with its data volume mounted, never on the root disk.
        const dropIn = run.files["/etc/systemd/system/emqx.service.d/60-mqtt-edge-node.conf"];
        assert.match(dropIn ?? "", /^\[Unit\]\nRequiresMountsFor=\/var\/lib\/emqx$/m);
        assert.match(
            run.files["/etc/fstab"] ?? "",
            /^UUID=\S+ \/var\/lib\/emqx ext4 defaults,noatime,nofail 0 2$/m,
        );
    });

    test("EMQX's repository key that never downloads ends the boot within its bound, after the SSM agent", () => {
        const run = runBoot(userData, emqxParameters, { "emqx-key": "always" }, emqxOptions);
        assert.notEqual(run.status, 0);
        assert.match(
            run.console,
            /^mqtt-edge emqx bootstrap FAILED at step 'EMQX package' \(exit \d+\)/,
        );
        assert.ok(run.slept <= NETWORK_STEP_RETRY_SECONDS, String(run.slept));
        assert.ok(firstCall(run.calls, ssmAgentStarted) >= 0);
        assert.ok(!run.done);
    });
});
