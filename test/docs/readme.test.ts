/** The README stays true: its configuration reference and its command list match the code. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadCapacityFigures } from "../../capacity/figures.ts";
import { parseEdgeConfig } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";
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

test("the Sizing section's figures are the ones in capacity/measured-figures.json", () => {
    const figures = JSON.parse(
        readFileSync(new URL("capacity/measured-figures.json", root), "utf8"),
    ) as Record<string, { value: number; unit: string }>;
    const units: Record<string, string> = { us: "µs", KiB: "KiB", MiB: "MiB" };
    const rows = [...readme.matchAll(/^\| `([A-Za-z0-9]+)` \| ([\d.]+) (µs|KiB|MiB) \|/gm)];
    assert.ok(rows.length >= 11, `figure rows found: ${rows.length}`);
    for (const [, name, value, unit] of rows) {
        const entry = figures[name as string];
        assert.ok(entry, `README names ${name}, which the file does not have`);
        assert.equal(`${value} ${unit}`, `${entry.value} ${units[entry.unit]}`, name);
    }
    for (const name of Object.keys(loadCapacityFigures().entries)) {
        assert.ok(
            rows.some((row) => row[1] === name),
            `the model reads ${name}; the README table lacks it`,
        );
    }
});

test("the Sizing section's dev fleet is the one Pulumi.dev.yaml declares", () => {
    const dev = parseEdgeConfig(readStackFile(fileURLToPath(root), "dev").raw);
    assert.match(
        readme,
        new RegExp(
            `^\\| HAProxy \\| ${dev.haproxy.instances} x ${dev.haproxy.instanceType.replace(".", "\\.")} .*\\| maxconn ${dev.haproxy.maxconn.toLocaleString("en-US")} \\|`,
            "m",
        ),
    );
    assert.match(
        readme,
        new RegExp(
            `^\\| EMQX \\| ${dev.emqx.nodes} x ${dev.emqx.instanceType.replace(".", "\\.")} .*\\| max_connections ${dev.emqx.maxConnections.toLocaleString("en-US")} `,
            "m",
        ),
    );
});
