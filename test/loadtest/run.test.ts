/**
 * The load-test orchestration against a fake workspace: the stack is destroyed and removed after
 * success, failure and interruption, and a teardown that fails says what is left.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync, statSync } from "node:fs";
import { describe, test } from "node:test";
import { readStackFile } from "../../infra/stack-file.ts";
import { type LoadtestPlan, parseOverride, planLoadtest } from "../../scripts/loadtest/plan.ts";
import {
    ENV_DEVICE_ENDPOINT,
    ENV_OUTPUTS_FILE,
    ENV_STACK,
    launchLoadtest,
    runLoadtest,
} from "../../scripts/loadtest/run.ts";
import type { CommandRunner } from "../../scripts/loadtest/shell-command.ts";
import { interruptOnSignals } from "../../scripts/loadtest/signals.ts";
import { StackBusyError } from "../../scripts/loadtest/workspace.ts";
import { FakeWorkspace, untilAborted } from "./fake-workspace.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const now = new Date("2026-03-01T10:00:00Z");
const base = readStackFile(projectDir, "local");
const request = { base, id: "t1", ttlHours: 2, overrides: [], now };
const plan: LoadtestPlan = planLoadtest(request);
const name = "loadtest-t1";
const SECRET_KEY_PEM = "-----BEGIN PRIVATE KEY-----\nsecret-material\n-----END PRIVATE KEY-----\n";
const outputs = {
    deviceEndpoint: { value: "127.0.0.1:8883", secret: false },
    testDevices: { value: [{ commonName: "d1", keyPem: SECRET_KEY_PEM }], secret: true },
};
const teardown = [`destroy ${name}`, `remove ${name}`];

interface Harness {
    fake: FakeWorkspace;
    lines: string[];
    signals: EventEmitter;
    commandCalls: Array<{ command: string; env: Readonly<Record<string, string>> }>;
    run: () => Promise<number>;
}

function harness(
    fake: FakeWorkspace,
    command: (env: Record<string, string>) => number = () => 0,
): Harness {
    const lines: string[] = [];
    const signals = new EventEmitter();
    const commandCalls: Harness["commandCalls"] = [];
    const runCommand: CommandRunner = async (cmd, env) => {
        commandCalls.push({ command: cmd, env });
        return command({ ...env });
    };
    const log = (line: string) => lines.push(line);
    const run = async () => {
        const interruption = interruptOnSignals(signals, log);
        try {
            return await runLoadtest(plan, "./bench.sh", {
                workspace: fake,
                runCommand,
                log,
                interrupt: interruption.signal,
                projectDir,
            });
        } finally {
            interruption.dispose();
        }
    };
    return { fake, lines, signals, commandCalls, run };
}

describe("runLoadtest", () => {
    test("after success: up, the command with the outputs, then destroy and remove; exit is the command's", async () => {
        let seen: { env: Record<string, string>; mode: number; file: unknown } | undefined;
        const h = harness(new FakeWorkspace({ outputs }), (env) => {
            const path = env[ENV_OUTPUTS_FILE] ?? "";
            seen = {
                env,
                mode: statSync(path).mode & 0o777,
                file: JSON.parse(readFileSync(path, "utf8")),
            };
            return 7;
        });
        assert.equal(await h.run(), 7);
        assert.deepEqual(h.fake.calls, [
            `create ${name}`,
            `configure ${name}`,
            `up ${name}`,
            `outputs ${name}`,
            ...teardown,
        ]);
        assert.equal(h.fake.stacks.has(name), false);
        assert.equal(h.commandCalls[0]?.command, "./bench.sh");
        assert.ok(seen);
        assert.equal(seen.env[ENV_DEVICE_ENDPOINT], "127.0.0.1:8883");
        assert.equal(seen.env[ENV_STACK], name);
        assert.equal(seen.mode, 0o600);
        assert.deepEqual(seen.file, {
            deviceEndpoint: "127.0.0.1:8883",
            testDevices: [{ commonName: "d1", keyPem: SECRET_KEY_PEM }],
        });
        assert.equal(existsSync(seen.env[ENV_OUTPUTS_FILE] ?? ""), false, "outputs file removed");
        // Progress is forwarded line by line with the step's prefix, chunk boundaries mended.
        assert.ok(h.lines.includes(`[${name} up] Update done`), h.lines.join("\n"));
        assert.ok(h.lines.includes(`[${name} destroy] - 3 deleted`));
        const log = h.lines.join("\n");
        assert.ok(!log.includes("secret-material"), "secret output never logged");
        assert.match(log, /testDevices/);
    });

    test("the tags and configuration are written to the stack before up", async () => {
        let written: unknown;
        const fake = new FakeWorkspace({
            up: () => {
                written = fake.stacks.get(name);
            },
        });
        assert.equal(await harness(fake).run(), 0);
        assert.deepEqual((written as { tags: unknown }).tags, {
            "mqtt-edge:loadtest": "true",
            "mqtt-edge:expires-at": "2026-03-01T12:00:00Z",
        });
        assert.deepEqual((written as { config: unknown }).config, plan.config);
    });

    test("after up fails: no command, destroy and remove still run, exit 1", async () => {
        const h = harness(
            new FakeWorkspace({
                up: () => {
                    throw new Error("error: creating EC2 instance: UnauthorizedOperation");
                },
            }),
        );
        assert.equal(await h.run(), 1);
        assert.equal(h.commandCalls.length, 0);
        assert.deepEqual(h.fake.calls.slice(-2), teardown);
        assert.ok(
            h.lines.includes(
                "loadtest: up failed: error: creating EC2 instance: UnauthorizedOperation",
            ),
        );
    });

    test("after configure fails (stack created, nothing deployed): destroy and remove still run", async () => {
        const h = harness(
            new FakeWorkspace({
                configure: () => {
                    throw new Error("passphrase must be set");
                },
            }),
        );
        assert.equal(await h.run(), 1);
        assert.deepEqual(h.fake.calls, [`create ${name}`, `configure ${name}`, ...teardown]);
    });

    test("after the command fails: teardown runs and the command's exit code is kept", async () => {
        const h = harness(new FakeWorkspace({ outputs }), () => 3);
        assert.equal(await h.run(), 3);
        assert.deepEqual(h.fake.calls.slice(-2), teardown);
    });

    test("SIGINT mid-up aborts up through its signal, skips the command, tears down, exits 130", async () => {
        let h: Harness | undefined;
        const fake = new FakeWorkspace({
            up: (options) => {
                h?.signals.emit("SIGINT");
                return untilAborted(options.signal);
            },
        });
        h = harness(fake);
        assert.equal(await h.run(), 130);
        assert.equal(h.commandCalls.length, 0);
        assert.deepEqual(fake.calls, [
            `create ${name}`,
            `configure ${name}`,
            `up ${name}`,
            ...teardown,
        ]);
        assert.ok(h.lines.includes("loadtest: interrupted by SIGINT during up"));
    });

    test("a second signal during destroy does not skip the teardown", async () => {
        let h: Harness | undefined;
        const fake = new FakeWorkspace({
            up: (options) => {
                h?.signals.emit("SIGTERM");
                return untilAborted(options.signal);
            },
            destroy: (_attempt, options) => {
                assert.equal(options.signal, undefined, "destroy must not take the aborted signal");
                h?.signals.emit("SIGINT");
                h?.signals.emit("SIGTERM");
            },
        });
        h = harness(fake);
        assert.equal(await h.run(), 143);
        assert.deepEqual(fake.calls.slice(-2), teardown);
        assert.equal(h.lines.filter((l) => l.includes("again: the teardown continues")).length, 2);
        assert.ok(h.lines.includes(`loadtest: ${name} destroyed and removed`));
    });

    test("ConcurrentUpdateError on destroy: cancel, retry destroy once, then remove", async () => {
        const h = harness(
            new FakeWorkspace({
                destroy: (attempt) => {
                    if (attempt === 1) throw new StackBusyError("the stack is currently locked");
                },
            }),
        );
        assert.equal(await h.run(), 0);
        assert.deepEqual(h.fake.calls.slice(-4), [
            `destroy ${name}`,
            `cancel ${name}`,
            `destroy ${name}`,
            `remove ${name}`,
        ]);
    });

    test("a failed destroy leaves one 'left behind' line with the removal command, and exit 1", async () => {
        const h = harness(
            new FakeWorkspace({
                destroy: () => {
                    throw new Error("error: deleting NLB: DependencyViolation\nmore detail");
                },
            }),
        );
        assert.equal(await h.run(), 1, "the command exited 0, the teardown failed");
        assert.ok(
            !h.fake.calls.includes(`remove ${name}`),
            "a stack with resources is not removed",
        );
        const left = h.lines.filter((l) => l.includes("left behind"));
        assert.equal(left.length, 1);
        assert.equal(
            left[0],
            `loadtest: teardown failed (destroy: error: deleting NLB: DependencyViolation): stack ${name} is left behind with its resources; remove it with: pulumi destroy --stack ${name} --yes --remove --cwd ${projectDir}`,
        );
    });

    test("a busy stack that stays busy after cancel is left behind too", async () => {
        const h = harness(
            new FakeWorkspace({
                destroy: () => {
                    throw new StackBusyError("the stack is currently locked");
                },
            }),
            () => 4,
        );
        assert.equal(await h.run(), 4);
        assert.equal(h.fake.calls.filter((c) => c === `destroy ${name}`).length, 2);
        assert.equal(h.lines.filter((l) => l.includes("left behind")).length, 1);
    });

    test("a failed remove after destroy names the stack rm command", async () => {
        const h = harness(
            new FakeWorkspace({
                remove: () => {
                    throw new Error("backend unreachable");
                },
            }),
        );
        assert.equal(await h.run(), 1);
        const left = h.lines.find((l) => l.includes("left behind"));
        assert.match(left ?? "", /\(remove: backend unreachable\)/);
        assert.match(left ?? "", new RegExp(`pulumi stack rm ${name} --yes`));
    });

    test("a stack name that is taken is neither adopted nor torn down", async () => {
        const h = harness(new FakeWorkspace({}, [{ name, tags: {} }]));
        assert.equal(await h.run(), 1);
        assert.deepEqual(h.fake.calls, [`create ${name}`]);
        assert.ok(h.fake.stacks.has(name));
    });
});

describe("launchLoadtest", () => {
    test("a bad override is refused before the workspace is opened or any stack created", async () => {
        const fake = new FakeWorkspace();
        let opened = 0;
        const launch = () =>
            launchLoadtest({ ...request, overrides: [parseOverride("emqx.nodes=0")] }, "true", {
                openWorkspace: async () => {
                    opened++;
                    return fake;
                },
                runCommand: async () => 0,
                log: () => {},
                interrupt: new AbortController().signal,
                projectDir,
            });
        await assert.rejects(launch, /^ConfigError: mqtt-edge:emqx\.nodes = 0: /);
        assert.equal(opened, 0);
        assert.deepEqual(fake.calls, []);
    });

    test("a valid request opens the workspace and tears down", async () => {
        const fake = new FakeWorkspace();
        const code = await launchLoadtest(request, "true", {
            openWorkspace: async () => fake,
            runCommand: async () => 0,
            log: () => {},
            interrupt: new AbortController().signal,
            projectDir,
        });
        assert.equal(code, 0);
        assert.deepEqual(fake.calls.slice(-2), teardown);
    });
});
