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

test("pulumi preview runs for exactly the committed AWS stacks", () => {
    const projectDir = new URL(root).pathname;
    const awsStacks = listStacks(projectDir).filter(
        (stack) => parseEdgeConfig(readStackFile(projectDir, stack).raw).target === "aws",
    );
    assert.deepEqual(workflow("preview.yml").jobs.preview?.strategy?.matrix?.stack, awsStacks);
});

test("CI runs .ci/run", () => {
    assert.ok(JSON.stringify(workflow("ci.yml").jobs.test?.steps).includes("bash .ci/run"));
});
