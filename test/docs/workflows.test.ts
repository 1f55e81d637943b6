/**
 * The workflows: valid for GitHub (checked offline by @action-validator/cli against the workflow
 * schema it embeds), on maintained actions only, the pull-request preview covering every committed
 * AWS stack, and CI running the release gate.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { parseEdgeConfig } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { committedStacks } from "../support/committed-stacks.ts";

const root = new URL("../../", import.meta.url);
const workflow = (name: string) =>
    parse(readFileSync(new URL(`.github/workflows/${name}`, root), "utf8")) as {
        jobs: Record<string, { strategy?: { matrix?: { stack?: string[] } }; steps: object[] }>;
    };

const projectDir = new URL(root).pathname;
const awsStacks = committedStacks(projectDir).filter(
    (stack) => parseEdgeConfig(readStackFile(projectDir, stack).raw).target === "aws",
);

test("pulumi preview runs for exactly the committed AWS stacks", () => {
    assert.deepEqual(workflow("preview.yml").jobs.preview?.strategy?.matrix?.stack, awsStacks);
});

test("the scheduled CRL refresh covers every AWS stack and targets the CRL build by its URN", () => {
    const job = workflow("crl-refresh.yml").jobs.refresh;
    assert.deepEqual(job?.strategy?.matrix?.stack, awsStacks);
    // The component and child names in infra/edge-crls.ts and components/crls.ts.
    const steps = JSON.stringify(job?.steps);
    assert.ok(steps.includes("mqtt-edge:pki:Crls$command:local:Command::crls-build"), steps);
    assert.ok(steps.includes("npm run crl -- --check"), steps);
});

test("the deploy workflow offers every AWS stack and smoke-tests it right after pulumi up", () => {
    const raw = parse(readFileSync(new URL(".github/workflows/deploy.yml", root), "utf8")) as {
        on: { workflow_dispatch: { inputs: { stack: { options: string[] } } } };
        jobs: { deploy: { steps: Array<{ name?: string; run?: string }> } };
    };
    assert.deepEqual(raw.on.workflow_dispatch.inputs.stack.options, awsStacks);
    const runs = raw.jobs.deploy.steps.map((step) => step.run ?? "");
    const up = runs.findIndex((run) => /pulumi up --yes .*--policy-pack policy/.test(run));
    const smoke = runs.findIndex((run) => run.startsWith("npm run smoke -- --stack "));
    assert.ok(up >= 0 && smoke === up + 1, JSON.stringify(runs));
});

test("CI runs .ci/run", () => {
    assert.ok(JSON.stringify(workflow("ci.yml").jobs.test?.steps).includes("bash .ci/run"));
});

const workflowDir = new URL(".github/workflows/", root);
const workflowFiles = readdirSync(workflowDir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();

/** Runs the validator's CLI on one file (it takes one per run); never rejects on a bad file. */
function actionValidator(file: string): Promise<{ code: number; output: string }> {
    const cli = new URL("node_modules/@action-validator/cli/cli.mjs", root).pathname;
    return new Promise((resolve, reject) => {
        // Pure WebAssembly plus the schema it was built with: no network (also run under
        // `unshare -n` on 2026-12-01, same results).
        execFile(process.execPath, [cli, file], { timeout: 20_000 }, (error, stdout, stderr) => {
            if (error !== null && typeof error.code !== "number") reject(error);
            else
                resolve({
                    code: error === null ? 0 : Number(error.code),
                    output: `${stdout}${stderr}`,
                });
        });
    });
}

test("every workflow passes @action-validator/cli", async () => {
    assert.deepEqual(workflowFiles, ["ci.yml", "crl-refresh.yml", "deploy.yml", "preview.yml"]);
    for (const name of workflowFiles) {
        const result = await actionValidator(new URL(name, workflowDir).pathname);
        assert.equal(result.code, 0, `${name}: ${result.output}`);
    }
});

test("the validator refuses a workflow with a misspelt key, so a pass above means something", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-workflow-"));
    try {
        const broken = readFileSync(new URL("ci.yml", workflowDir), "utf8").replace(
            "runs-on:",
            "run-on:",
        );
        const file = join(dir, "broken.yml");
        await writeFile(file, broken);
        const result = await actionValidator(file);
        assert.notEqual(result.code, 0);
        assert.match(result.output, /run-on/);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
});

/**
 * Each action a workflow may use, at the major we reviewed. All run on node24, the runtime GitHub
 * keeps (their action.yml `runs.using` at these tags); pulumi/actions v7 also installs the CLI when
 * given no command (its README, "Installation Only"), which replaces the unmaintained
 * pulumi/action-install-pulumi-cli@v2 (declared on Node 12).
 */
const reviewedActions: Record<string, string> = {
    "actions/checkout": "v7",
    "actions/setup-node": "v7",
    "aws-actions/configure-aws-credentials": "v6",
    "pulumi/actions": "v7",
};

test("workflows use only reviewed, maintained actions at the reviewed major", () => {
    for (const name of workflowFiles) {
        const text = readFileSync(new URL(name, workflowDir), "utf8");
        const used = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)/gm)].map((m) => m[1] ?? "");
        assert.ok(used.length > 0, name);
        for (const reference of used) {
            const [action = "", version] = reference.split("@");
            assert.equal(
                reviewedActions[action],
                version,
                `${name} uses ${reference}; reviewed: ${JSON.stringify(reviewedActions)}`,
            );
        }
    }
});
