/** The janitor removes exactly the load-test stacks whose expiry has passed. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runJanitor } from "../../scripts/loadtest/janitor.ts";
import { StackBusyError } from "../../scripts/loadtest/workspace.ts";
import { FakeWorkspace } from "./fake-workspace.ts";

const projectDir = "/repo";
const now = new Date("2026-03-01T12:00:00Z");
const loadtest = (expiresAt: string) => ({
    "mqtt-edge:loadtest": "true",
    "mqtt-edge:expires-at": expiresAt,
});

async function janitor(fake: FakeWorkspace) {
    const lines: string[] = [];
    const code = await runJanitor(now, { workspace: fake, log: (l) => lines.push(l), projectDir });
    return { code, lines };
}

describe("runJanitor", () => {
    test("destroys and removes only expired, tagged loadtest-* stacks", async () => {
        const fake = new FakeWorkspace({}, [
            { name: "loadtest-old", tags: loadtest("2026-03-01T11:59:59Z") },
            { name: "loadtest-due", tags: loadtest("2026-03-01T12:00:00Z") },
            { name: "loadtest-fresh", tags: loadtest("2026-03-01T12:00:01Z") },
            { name: "loadtest-untagged", tags: {} },
            {
                name: "loadtest-off",
                tags: { ...loadtest("2020-01-01T00:00:00Z"), "mqtt-edge:loadtest": "false" },
            },
            { name: "prod", tags: loadtest("2020-01-01T00:00:00Z") },
            { name: "dev", tags: {} },
        ]);
        const { code, lines } = await janitor(fake);
        assert.equal(code, 0);
        assert.deepEqual(
            fake.calls.filter((c) => !c.startsWith("list")),
            [
                "select loadtest-old",
                "destroy loadtest-old",
                "remove loadtest-old",
                "select loadtest-due",
                "destroy loadtest-due",
                "remove loadtest-due",
            ],
        );
        assert.deepEqual([...fake.stacks.keys()].sort(), [
            "dev",
            "loadtest-fresh",
            "loadtest-off",
            "loadtest-untagged",
            "prod",
        ]);
        assert.ok(lines.includes("janitor: removed loadtest-old (expired 2026-03-01T11:59:59Z)"));
        assert.ok(lines.includes("janitor: removed loadtest-due (expired 2026-03-01T12:00:00Z)"));
    });

    test("an unreadable expiry is reported, not guessed; exit 1", async () => {
        const fake = new FakeWorkspace({}, [{ name: "loadtest-x", tags: loadtest("tomorrow") }]);
        const { code, lines } = await janitor(fake);
        assert.equal(code, 1);
        assert.ok(fake.stacks.has("loadtest-x"));
        assert.ok(
            lines.includes(
                'janitor: loadtest-x: skipped: tag mqtt-edge:expires-at = "tomorrow" is not an ISO 8601 time',
            ),
        );
    });

    test("a stack another update holds is not cancelled, only reported; a failed destroy says what is left", async () => {
        const fake = new FakeWorkspace(
            {
                destroy: (_attempt, options) => {
                    if (fake.calls.at(-1) === "destroy loadtest-busy")
                        throw new StackBusyError("locked");
                    options.onOutput("error: throttled\n");
                    throw new Error("error: throttled");
                },
            },
            [
                { name: "loadtest-busy", tags: loadtest("2026-03-01T00:00:00Z") },
                { name: "loadtest-stuck", tags: loadtest("2026-03-01T00:00:00Z") },
            ],
        );
        const { code, lines } = await janitor(fake);
        assert.equal(code, 1);
        assert.ok(!fake.calls.some((c) => c.startsWith("cancel")));
        assert.ok(!fake.calls.some((c) => c.startsWith("remove")));
        assert.ok(
            lines.includes(
                "janitor: loadtest-busy: an update is running on it; left for the next run",
            ),
        );
        assert.ok(
            lines.includes(
                "janitor: teardown failed (destroy: error: throttled): stack loadtest-stuck is left behind with its resources; remove it with: pulumi destroy --stack loadtest-stuck --yes --remove --cwd /repo",
            ),
        );
    });

    test("an interruption stops the janitor before the next expired stack", async () => {
        const controller = new AbortController();
        const fake = new FakeWorkspace(
            {
                destroy: () => controller.abort("SIGINT"),
            },
            [
                { name: "loadtest-a", tags: loadtest("2026-03-01T00:00:00Z") },
                { name: "loadtest-b", tags: loadtest("2026-03-01T00:00:00Z") },
            ],
        );
        const lines: string[] = [];
        const code = await runJanitor(now, {
            workspace: fake,
            log: (l) => lines.push(l),
            projectDir,
            interrupt: controller.signal,
        });
        assert.equal(code, 1);
        assert.deepEqual([...fake.stacks.keys()], ["loadtest-b"]);
        assert.ok(lines.some((l) => l.startsWith("janitor: interrupted; loadtest-b")));
    });
});
