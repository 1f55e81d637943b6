/**
 * The cloud scenario's coordination, end to end without a cloud: the fake workspace plays the
 * Pulumi stack, an in-memory bucket plays S3, and each "generator host" runs the very code the
 * hosts get (type-stripped .mjs from the bucket) as its own Node process, against a local edge.
 * What is not exercised here: user-data's bash around it (checked by shellcheck in
 * load-generators.test.ts) and AWS itself.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { LocalEdge } from "../../local-edge/local-edge.ts";
import {
    type CloudScenarioDeps,
    runCloudScenario,
    targetFromOutputs,
} from "../../scripts/loadtest/cloud-run.ts";
import { issueDeviceBatch } from "../../scripts/loadtest/device-batch.ts";
import type { GeneratorResult } from "../../scripts/loadtest/generator/scenario-job.ts";
import { GENERATOR_ENTRY, generatorCode } from "../../scripts/loadtest/generator-code.ts";
import type { ObjectStore } from "../../scripts/loadtest/object-store.ts";
import type { LoadtestPlan } from "../../scripts/loadtest/plan.ts";
import type { LoadtestReport } from "../../scripts/loadtest/report.ts";
import { runLoadtest } from "../../scripts/loadtest/run.ts";
import { generatorJobs, planScenario } from "../../scripts/loadtest/scenario-plan.ts";
import type { StackOutput } from "../../scripts/loadtest/workspace.ts";
import { loadGeneratorObjects } from "../../templates/cloud-init-load-generator.ts";
import { FakeWorkspace } from "./fake-workspace.ts";

const run = promisify(execFile);
let edge: LocalEdge;
let workRoot: string;
const children = new Set<ChildProcess>();

before(async () => {
    edge = await LocalEdge.start({ stack: "dev", caKeyAlgorithm: "ecdsa-p256" });
    workRoot = await mkdtemp(join(tmpdir(), "mqtt-edge-loadtest-cloud-"));
});

after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await edge?.close();
    await rm(workRoot, { recursive: true, force: true });
});

/**
 * A bucket in memory, with generator hosts behind it: when generator n's job appears, a process
 * runs host-main.mjs from the uploaded code on the uploaded files and puts its result back, as
 * the user-data's run script does. `silent` generators never answer (a host that died during the
 * run); `unbooted` ones never even say they are up.
 */
class FakeBucket implements ObjectStore {
    readonly objects = new Map<string, string>();
    readonly puts: string[] = [];
    readonly #dir: string;
    readonly #silent: ReadonlySet<number>;

    constructor(
        dir: string,
        silent: ReadonlySet<number> = new Set(),
        unbooted: ReadonlySet<number> = new Set(),
    ) {
        this.#dir = dir;
        this.#silent = silent;
        // Booted hosts say so before anything else, as their run script does.
        for (let n = 0; n < 50; n++) {
            if (!unbooted.has(n)) this.objects.set(loadGeneratorObjects.ready(n), "{}");
        }
    }

    async put(key: string, body: string): Promise<void> {
        this.objects.set(key, body);
        this.puts.push(key);
        const job = /^input\/job-(\d+)\.json$/.exec(key);
        if (job) {
            const generator = Number(job[1]);
            if (this.#silent.has(generator)) {
                this.objects.set(loadGeneratorObjects.log(generator), "apt-get: 404\nno job run\n");
            } else {
                void this.#runGenerator(generator);
            }
        }
    }

    async get(key: string): Promise<string | undefined> {
        return this.objects.get(key);
    }

    async #runGenerator(generator: number): Promise<void> {
        const dir = await mkdtemp(join(this.#dir, `generator-${generator}-`));
        for (const [key, body] of this.objects) {
            if (key.startsWith("input/code/")) {
                await writeFile(join(dir, key.slice("input/code/".length)), body);
            }
        }
        const job = join(dir, "job.json");
        const devices = join(dir, "devices.json");
        const result = join(dir, "result.json");
        await writeFile(job, this.objects.get(loadGeneratorObjects.job(generator)) ?? "");
        await writeFile(devices, this.objects.get(loadGeneratorObjects.devices(generator)) ?? "", {
            mode: 0o600,
        });
        const child = spawn(process.execPath, [join(dir, GENERATOR_ENTRY), job, devices, result], {
            stdio: ["ignore", "pipe", "pipe"],
        });
        children.add(child);
        let log = "";
        child.stdout.on("data", (chunk: Buffer) => {
            log += chunk;
        });
        child.stderr.on("data", (chunk: Buffer) => {
            log += chunk;
        });
        const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
        children.delete(child);
        this.objects.set(loadGeneratorObjects.log(generator), log);
        if (code === 0) {
            this.objects.set(
                loadGeneratorObjects.result(generator),
                await readFile(result, "utf8"),
            );
        }
    }
}

function outputs(): Record<string, StackOutput> {
    return {
        deviceEndpoint: { value: `${edge.host}:${edge.port}`, secret: false },
        deviceServerName: { value: edge.serverName, secret: false },
        deviceTrustBundlePem: { value: edge.pki.rootCertPem, secret: false },
        intermediateCertPem: { value: edge.pki.intermediateCertPem, secret: false },
        intermediateKeyPem: { value: "(the fake edge keeps its key in process)", secret: true },
        loadGenerators: { value: { bucket: "fake-bucket", count: 2 }, secret: false },
    };
}

const stackPlan: LoadtestPlan = {
    stackName: "loadtest-cloudtest",
    config: { "mqtt-edge:loadGenerators": { value: '{"count":2}', secret: false } },
    tags: {},
    expiresAt: "2099-01-01T00:00:00Z",
    target: "aws",
    keepaliveSeconds: 60,
};

function scenarioDeps(
    bucket: FakeBucket,
    lines: string[],
    interrupt: AbortSignal,
    now: () => number = Date.now,
): CloudScenarioDeps {
    return {
        openStore: (name) => {
            assert.equal(name, "fake-bucket");
            return bucket;
        },
        log: (line) => lines.push(line),
        stderr: { write: (text: string) => lines.push(text) },
        interrupt,
        now,
        sleep: (_ms, signal) =>
            new Promise((resolve) => {
                const timer = setTimeout(resolve, 100);
                signal.addEventListener("abort", () => {
                    clearTimeout(timer);
                    resolve();
                });
            }),
        deviceCa: async () => edge.pki.deviceIssuingCa,
    };
}

describe("cloud connect-storm on two generators, through the load-test stack", () => {
    const lines: string[] = [];
    let workspace: FakeWorkspace;
    let bucket: FakeBucket;
    let exitCode: number;
    let report: LoadtestReport;
    const outDir = () => join(workRoot, "merged");
    const brokersBefore = () => edge.brokers.connections.length;
    let mark = 0;

    before(async () => {
        mark = brokersBefore();
        bucket = new FakeBucket(workRoot);
        workspace = new FakeWorkspace({ outputs: outputs() });
        const plan = planScenario(
            { scenario: "connect-storm", devices: "41", rate: "80", hold: "0.5", generators: "2" },
            "cloud",
        );
        const interrupt = new AbortController().signal;
        exitCode = await runLoadtest(
            stackPlan,
            async (stackOutputs) =>
                (
                    await runCloudScenario(
                        {
                            plan,
                            runId: "c2",
                            outDir: outDir(),
                            keepaliveSeconds: 60,
                            startLeadMs: 1500,
                        },
                        stackOutputs,
                        scenarioDeps(bucket, lines, interrupt),
                    )
                ).exitCode,
            {
                workspace,
                runCommand: async () => assert.fail("a scenario runs no shell command"),
                log: (line) => lines.push(line),
                interrupt,
                projectDir: "/repo",
            },
        );
        report = JSON.parse(await readFile(join(outDir(), "report.json"), "utf8"));
    });

    test("up, then the scenario, then the teardown; exit 0", () => {
        assert.equal(exitCode, 0, lines.join("\n"));
        assert.deepEqual(workspace.calls, [
            "create loadtest-cloudtest",
            "configure loadtest-cloudtest",
            "up loadtest-cloudtest",
            "outputs loadtest-cloudtest",
            "destroy loadtest-cloudtest",
            "remove loadtest-cloudtest",
        ]);
    });

    test("each generator gets the code and its own certificates before its job", () => {
        const jobAt = (n: number) => bucket.puts.indexOf(loadGeneratorObjects.job(n));
        for (const n of [0, 1]) {
            assert.ok(bucket.puts.indexOf(loadGeneratorObjects.devices(n)) < jobAt(n));
            assert.ok(bucket.puts.indexOf(loadGeneratorObjects.code(GENERATOR_ENTRY)) < jobAt(n));
        }
        const devices = [0, 1].map(
            (n) =>
                JSON.parse(bucket.objects.get(loadGeneratorObjects.devices(n)) ?? "{}").devices as {
                    commonName: string;
                }[],
        );
        assert.deepEqual(
            devices.map((d) => d.length),
            [21, 20],
        );
        const names = devices.flat().map((d) => d.commonName);
        assert.equal(new Set(names).size, 41, "no certificate is shared");
        const jobs = [0, 1].map(
            (n) => JSON.parse(bucket.objects.get(loadGeneratorObjects.job(n)) ?? "{}").job,
        );
        assert.equal(jobs[0].startAtEpochMs, jobs[1].startAtEpochMs, "one start time for all");
        assert.equal(jobs[0].ratePerSecond + jobs[1].ratePerSecond, 80);
    });

    test("the merged report counts both generators, and agrees with the stand-ins", () => {
        const atBrokers = edge.brokers.connections
            .slice(mark)
            .filter((c) => c.commonName?.startsWith("lt-c2-d"));
        assert.equal(report.generators, 2);
        assert.equal(report.mode, "cloud");
        assert.equal(report.devices, 41);
        assert.equal(report.attempted, 41);
        assert.equal(report.connected, 41);
        assert.equal(new Set(atBrokers.map((c) => c.commonName)).size, 41);
        assert.deepEqual(report.failed, {});
        assert.equal(Math.max(...report.connectionsOverTime.map((r) => r.connected)), 41);
        assert.ok(report.connackMs !== null && report.connackMs.p99 > 0);
        // Each host's entry says what its generator used; the report keeps the busiest.
        assert.ok(
            (report.generatorUsage?.peakRssMiB ?? 0) > 10,
            JSON.stringify(report.generatorUsage),
        );
    });
});

describe("cloud scenario failures still end in a teardown", () => {
    test("a generator that never reports: exit 1 after the deadline, its log tail shown", async () => {
        const lines: string[] = [];
        const bucket = new FakeBucket(workRoot, new Set([1]));
        const workspace = new FakeWorkspace({ outputs: outputs() });
        const plan = planScenario(
            { scenario: "connect-storm", devices: "6", rate: "30", hold: "0", generators: "2" },
            "cloud",
        );
        // A clock that runs an hour per look, so the deadline passes without waiting for it.
        let fakeNow = Date.now();
        const interrupt = new AbortController().signal;
        const exitCode = await runLoadtest(
            stackPlan,
            async (stackOutputs) =>
                (
                    await runCloudScenario(
                        {
                            plan,
                            runId: "c3",
                            outDir: join(workRoot, "partial"),
                            keepaliveSeconds: 60,
                            startLeadMs: 0,
                        },
                        stackOutputs,
                        scenarioDeps(bucket, lines, interrupt, () => {
                            fakeNow += bucket.objects.has(loadGeneratorObjects.result(0))
                                ? 3_600_000
                                : 0;
                            return fakeNow;
                        }),
                    )
                ).exitCode,
            {
                workspace,
                runCommand: async () => 0,
                log: (line) => lines.push(line),
                interrupt,
                projectDir: "/repo",
            },
        );
        assert.equal(exitCode, 1);
        assert.ok(
            lines.includes("loadtest: no result from generator 1 by the deadline; its log ends:"),
        );
        assert.ok(lines.includes("  no job run"), lines.join("\n"));
        assert.deepEqual(workspace.calls.slice(-2), [
            "destroy loadtest-cloudtest",
            "remove loadtest-cloudtest",
        ]);
        const report = JSON.parse(await readFile(join(workRoot, "partial", "report.json"), "utf8"));
        assert.equal(report.generators, 1, "the report holds what did come back");
    });

    test("a generator that never comes up: no job is handed out, exit 1, teardown", async () => {
        const lines: string[] = [];
        const bucket = new FakeBucket(workRoot, new Set(), new Set([1]));
        const workspace = new FakeWorkspace({ outputs: outputs() });
        const plan = planScenario(
            { scenario: "connect-storm", devices: "4", rate: "10", generators: "2" },
            "cloud",
        );
        let fakeNow = Date.now();
        const interrupt = new AbortController().signal;
        const exitCode = await runLoadtest(
            stackPlan,
            async (stackOutputs) =>
                (
                    await runCloudScenario(
                        {
                            plan,
                            runId: "c5",
                            outDir: join(workRoot, "unbooted"),
                            keepaliveSeconds: 60,
                        },
                        stackOutputs,
                        // Ten minutes pass per look: the 15-minute boot deadline passes on the third.
                        scenarioDeps(bucket, lines, interrupt, () => {
                            fakeNow += 600_000;
                            return fakeNow;
                        }),
                    )
                ).exitCode,
            {
                workspace,
                runCommand: async () => 0,
                log: (line) => lines.push(line),
                interrupt,
                projectDir: "/repo",
            },
        );
        assert.equal(exitCode, 1);
        assert.ok(
            lines.some((l) => /^loadtest: generator\(s\) 1 did not come up within 15 min/.test(l)),
            lines.join("\n"),
        );
        assert.ok(!bucket.puts.some((key) => key.startsWith("input/job-")), "no job handed out");
        assert.deepEqual(workspace.calls.slice(-2), [
            "destroy loadtest-cloudtest",
            "remove loadtest-cloudtest",
        ]);
    });

    test("a signal while waiting for results: 130, and the stack is still destroyed", async () => {
        const lines: string[] = [];
        // Both generators stay silent, so the orchestration waits until the signal.
        const bucket = new FakeBucket(workRoot, new Set([0, 1]));
        const controller = new AbortController();
        const workspace = new FakeWorkspace({ outputs: outputs() });
        const plan = planScenario(
            { scenario: "connect-storm", devices: "4", rate: "10", generators: "2" },
            "cloud",
        );
        const exitCode = await runLoadtest(
            stackPlan,
            async (stackOutputs) => {
                const running = runCloudScenario(
                    { plan, runId: "c4", outDir: join(workRoot, "never"), keepaliveSeconds: 60 },
                    stackOutputs,
                    scenarioDeps(bucket, lines, controller.signal),
                );
                // The jobs are out once the second one is in the bucket; then the signal comes.
                const poll = setInterval(() => {
                    if (bucket.objects.has(loadGeneratorObjects.job(1))) controller.abort("SIGINT");
                }, 20);
                try {
                    return (await running).exitCode;
                } finally {
                    clearInterval(poll);
                }
            },
            {
                workspace,
                runCommand: async () => 0,
                log: (line) => lines.push(line),
                interrupt: controller.signal,
                projectDir: "/repo",
            },
        );
        assert.equal(exitCode, 130, lines.join("\n"));
        assert.ok(lines.some((l) => l === "loadtest: interrupted by SIGINT during scenario"));
        assert.deepEqual(workspace.calls.slice(-2), [
            "destroy loadtest-cloudtest",
            "remove loadtest-cloudtest",
        ]);
    });

    test("an up that fails runs no scenario and still tears down", async () => {
        const workspace = new FakeWorkspace({
            outputs: outputs(),
            up: () => {
                throw new Error("error: creating EC2 Instance (loadgen-1): VcpuLimitExceeded");
            },
        });
        const lines: string[] = [];
        let scenarioRan = false;
        const exitCode = await runLoadtest(
            stackPlan,
            async () => {
                scenarioRan = true;
                return 0;
            },
            {
                workspace,
                runCommand: async () => 0,
                log: (line) => lines.push(line),
                interrupt: new AbortController().signal,
                projectDir: "/repo",
            },
        );
        assert.equal(exitCode, 1);
        assert.equal(scenarioRan, false);
        assert.ok(lines.some((l) => /up failed: error: creating EC2 Instance/.test(l)));
        assert.deepEqual(workspace.calls.slice(-2), [
            "destroy loadtest-cloudtest",
            "remove loadtest-cloudtest",
        ]);
    });
});

describe("a generator host out of file descriptors", () => {
    test("counts the attempts it could not open as fd-limit and says so", async () => {
        const dir = await mkdtemp(join(workRoot, "fd-limit-"));
        for (const [name, code] of Object.entries(generatorCode())) {
            await writeFile(join(dir, name), code);
        }
        const plan = planScenario(
            { scenario: "connect-storm", devices: "120", rate: "400", hold: "0", generators: "1" },
            "cloud",
        );
        const [job] = generatorJobs(plan, "fd", 60);
        const batch = await issueDeviceBatch(edge.pki.deviceIssuingCa, "fd", 120, 0);
        const target = targetFromOutputs(outputs());
        await writeFile(join(dir, "job.json"), JSON.stringify({ job, target }));
        await writeFile(join(dir, "devices.json"), JSON.stringify({ devices: batch.devices }));
        // 64 descriptors, soft and hard: Node cannot raise it, and 120 sockets do not fit.
        const { stdout } = await run("sh", [
            "-c",
            `ulimit -n 64 && exec "$0" "$@"`,
            process.execPath,
            join(dir, GENERATOR_ENTRY),
            join(dir, "job.json"),
            join(dir, "devices.json"),
            join(dir, "result.json"),
        ]);
        const result = JSON.parse(
            await readFile(join(dir, "result.json"), "utf8"),
        ) as GeneratorResult;
        assert.equal(result.openFilesLimit, 64);
        // The host entry adds what the process used, for the report's generatorUsage.
        assert.ok((result.hostUsage?.cpuSeconds ?? 0) > 0, JSON.stringify(result.hostUsage));
        assert.ok((result.hostUsage?.peakRssMiB ?? 0) > 10, JSON.stringify(result.hostUsage));
        const byKind = new Map<string, number>();
        for (const a of result.attempts) {
            const kind = a.failure ?? "connected";
            byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
        }
        assert.ok((byKind.get("fd-limit") ?? 0) > 0, JSON.stringify([...byKind]));
        assert.ok((byKind.get("connected") ?? 0) > 0, JSON.stringify([...byKind]));
        assert.equal(result.attempts.length, 120);
        assert.match(
            stdout,
            /generator 0: out of file descriptors at \d+ open connections \(limit 64\)/,
        );
    });
});
