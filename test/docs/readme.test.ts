/** The README stays true: its configuration reference and its command list match the code. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readmeWithReference } from "../../scripts/config-reference.ts";

const root = new URL("../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const scripts = Object.keys(
    (JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { scripts: object })
        .scripts,
);

test("the configuration reference is what the schema says (npm run docs:config -- --write)", () => {
    assert.equal(readme, readmeWithReference(readme));
});

test("every npm script is in the README, and every `npm run x` there exists", () => {
    for (const script of scripts) {
        assert.ok(
            readme.includes(`npm run ${script}`) || readme.includes(`npm ${script}`),
            `README does not mention ${script}`,
        );
    }
    for (const [, named] of readme.matchAll(/npm run ([a-z:-]+)/g)) {
        assert.ok(scripts.includes(named as string), `README names a missing script: ${named}`);
    }
});

test("the README's test command is the one CI runs", () => {
    assert.match(readme, /^npm test\b/m);
    const ci = readFileSync(new URL(".ci/run", root), "utf8");
    assert.match(ci, /^npm test$/m);
});
