/**
 * The AWS components import one another in one direction only: the shared plain shapes
 * (host-plans.ts) sit below host-user-data.ts and the components, and no file reaches itself
 * again through its imports. A circle makes module evaluation order matter and hides which file
 * owns a type.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const dir = new URL("../../components/aws/", import.meta.url).pathname;

/** Local imports of each file in components/aws, type-only ones included. */
function importGraph(): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".ts"))) {
        const text = readFileSync(join(dir, file), "utf8");
        const targets = [...text.matchAll(/from "\.\/([A-Za-z0-9-]+\.ts)"/g)].map(
            (match) => match[1] as string,
        );
        graph.set(file, targets);
    }
    return graph;
}

/** The first import circle found, as a path of file names, or undefined. */
function findCircle(graph: Map<string, string[]>): string[] | undefined {
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (file: string): string[] | undefined => {
        if (state.get(file) === "done") return undefined;
        if (state.get(file) === "open") return [...stack.slice(stack.indexOf(file)), file];
        state.set(file, "open");
        stack.push(file);
        for (const next of graph.get(file) ?? []) {
            const circle = visit(next);
            if (circle) return circle;
        }
        stack.pop();
        state.set(file, "done");
        return undefined;
    };
    for (const file of graph.keys()) {
        const circle = visit(file);
        if (circle) return circle;
    }
    return undefined;
}

test("components/aws has no import circle", () => {
    const graph = importGraph();
    assert.ok(graph.size > 5, "the components were found");
    assert.equal(findCircle(graph)?.join(" -> "), undefined);
});

test("the circle finder finds a circle", () => {
    const circle = findCircle(
        new Map([
            ["a.ts", ["b.ts"]],
            ["b.ts", ["c.ts"]],
            ["c.ts", ["a.ts"]],
        ]),
    );
    assert.deepEqual(circle, ["a.ts", "b.ts", "c.ts", "a.ts"]);
});

test("host-plans.ts imports no component", () => {
    assert.deepEqual(importGraph().get("host-plans.ts"), []);
});
