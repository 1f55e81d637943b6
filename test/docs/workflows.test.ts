/** The pull-request preview covers every committed AWS stack, and CI runs the release gate. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { parseEdgeConfig } from "../../infra/config.ts";
import { listStacks, readStackFile } from "../../infra/stack-file.ts";

const root = new URL("../../", import.meta.url);
const workflow = (name: string) =>
    parse(readFileSync(new URL(`.github/workflows/${name}`, root), "utf8")) as {
        jobs: Record<string, { strategy?: { matrix?: { stack?: string[] } }; steps: object[] }>;
    };

const projectDir = new URL(root).pathname;
const awsStacks = listStacks(projectDir).filter(
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
