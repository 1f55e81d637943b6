/**
 * The EMQX apply script as State Manager runs it on a bootstrapped node, in the boot sandbox
 * (boot-sandbox.ts) with the real fetch script: a new version pin moves the package before the
 * restart, and the node's run ends only once it sees every node of the cluster running; a node
 * that never sees them fails the run within its bound, which stops the roll.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hostFileSources } from "../../components/aws/host-plans.ts";
import { emqxHostFiles } from "../../components/aws/host-user-data.ts";
import { writeFileCommand } from "../../templates/cloud-init-debian-host.ts";
import {
    EMQX_CLUSTER_READY_SECONDS,
    renderEmqxApplyScript,
} from "../../templates/cloud-init-emqx.ts";
import {
    FETCH_PARAMETERS_SCRIPT_PATH,
    hostFilesContentHash,
    renderFetchParametersScript,
    renderHostFileManifest,
} from "../../templates/cloud-init-host-files.ts";
import { runBoot } from "./boot-sandbox.ts";

const plan = { emqxVersion: "5.8.9", maxConnections: 1000, parameterPrefix: "/t/emqx" };
const files = hostFileSources(plan.parameterPrefix, emqxHostFiles(plan));
const nodes = ["emqx@emqx-1.e", "emqx@emqx-2.e", "emqx@emqx-3.e"];
const contents: Record<string, string> = {
    "emqx.conf": "node.cookie_file = none\n",
    "secrets.env": "EMQX_NODE__COOKIE='cookie'\n",
    "emqx-version": "5.8.9\n",
    "cluster-nodes": nodes.map((node) => `${node}\n`).join(""),
    "sysctl.conf": "fs.nr_open = 1048576\n",
    "emqx-limits.conf": "[Service]\nLimitNOFILE=1048576\n",
};
// Every EMQX file is an SSM parameter (only HAProxy's CRLs are S3 objects).
const parameterNames = files.map((file) => file.parameterName ?? "");
const parameters = Object.fromEntries(
    parameterNames.map((name) => [name, contents[name.split("/").at(-1)!]!]),
);
const hash = hostFilesContentHash(parameterNames.map((name) => parameters[name]!));

/** A node as its bootstrap left it, then one State Manager run of the apply script. */
const stateManagerRun = [
    "#!/bin/bash",
    "set -euo pipefail",
    writeFileCommand("/etc/mqtt-edge/emqx-files.manifest", "0644", renderHostFileManifest(files)),
    writeFileCommand(FETCH_PARAMETERS_SCRIPT_PATH, "0755", renderFetchParametersScript()),
    writeFileCommand(
        "/usr/local/sbin/mqtt-edge-apply-emqx",
        "0755",
        renderEmqxApplyScript({
            secretsEnvPath: "/etc/emqx/mqtt-edge-secrets.env",
            nodeName: nodes[0]!,
        }),
    ),
    "install -d /var/lib/mqtt-edge && touch /var/lib/mqtt-edge/bootstrap-done",
    `/usr/local/sbin/mqtt-edge-apply-emqx --expect-hash ${hash}`,
    "",
].join("\n");

const status = (running: string[]) => JSON.stringify({ running_nodes: running, stopped_nodes: [] });

describe("EMQX apply script, one node of a rolling change", () => {
    test("a new version pin: the package moves first, then the restart, then the wait until the cluster is whole", () => {
        const run = runBoot(
            stateManagerRun,
            parameters,
            {},
            {
                installedEmqxVersion: "5.8.8",
                clusterStatus: [status([nodes[0]!]), status([nodes[0]!, nodes[1]!]), status(nodes)],
            },
        );
        assert.equal(run.status, 0, run.output);
        const install = run.calls.findIndex(
            (call) =>
                call.startsWith("apt-get") &&
                call.includes("install") &&
                call.includes("emqx=5.8.9"),
        );
        const restart = run.calls.indexOf("systemctl restart emqx");
        assert.ok(install >= 0 && install < restart, run.calls.join("\n"));
        assert.ok(run.calls.includes("apt-mark hold emqx"));
        assert.equal(
            run.calls.filter((call) => call === "emqx ctl cluster status --json").length,
            3,
        );
        assert.match(run.output, /not running yet: emqx@emqx-2\.e emqx@emqx-3\.e/);
        assert.match(run.output, /emqx applied [0-9a-f]{64}/);
    });

    test("a node that never sees the whole cluster fails the run within its bound: the roll stops there", () => {
        const run = runBoot(
            stateManagerRun,
            parameters,
            {},
            {
                installedEmqxVersion: "5.8.9",
                clusterStatus: [status([nodes[0]!, nodes[2]!])],
            },
        );
        assert.notEqual(run.status, 0);
        assert.match(
            run.output,
            /emqx sees every node of the cluster running: failed \d+ time\(s\) over \d+ s; giving up/,
        );
        assert.match(run.output, /not running yet: emqx@emqx-2\.e/);
        assert.ok(run.slept > 0 && run.slept <= EMQX_CLUSTER_READY_SECONDS, String(run.slept));
        // Already on the pinned version: no package step.
        assert.ok(!run.calls.some((call) => call.startsWith("apt-get")));
    });
});
