/**
 * `npm run capacity` and the guard as the render CLI shows it, as child processes on committed
 * and throw-away stack files.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { loadCapacityFigures } from "../../capacity/figures.ts";
import { haproxyMemoryDeviceLimit } from "../../capacity/model.ts";
import { parseEdgeConfig } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;

async function script(
    name: string,
    args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const { stdout, stderr } = await run(process.execPath, [
            join(projectDir, "scripts", name),
            ...args,
        ]);
        return { code: 0, stdout, stderr };
    } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
}

/** A stack file in the project for one test, removed afterwards. */
async function withStack<T>(yaml: string, body: (name: string) => Promise<T>): Promise<T> {
    const name = `test-capacity-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const file = join(projectDir, `Pulumi.${name}.yaml`);
    await writeFile(file, yaml);
    try {
        return await body(name);
    } finally {
        await rm(file, { force: true });
    }
}

interface JsonHost {
    maxconn: number;
    backendConnectionCeiling: number;
    listenersPerNode: number;
    bindingLimit: string;
}

describe("npm run capacity", () => {
    test("dev --json: every HAProxy host's backend ceiling reaches its maxconn", async () => {
        const result = await script("capacity.ts", ["--stack", "dev", "--json"]);
        assert.equal(result.code, 0, result.stderr);
        const report = JSON.parse(result.stdout) as {
            devices: number;
            haproxyHosts: JsonHost[];
            emqxNodes: { maxConnections: number; memoryConnectionLimit: number }[];
            fleet: { devices: number; haproxyDevicesSpareDown: number };
            smallestFleet: { haproxy: { count: number; instanceType: string } };
            warnings: string[];
            caKeyAlgorithm: string;
            usPerFullConnect: number;
        };
        const config = parseEdgeConfig(readStackFile(projectDir, "dev").raw);
        // The storm is costed with the CAs dev pins, not a new stack's default.
        assert.equal(report.caKeyAlgorithm, config.pki.caKeyAlgorithm);
        assert.equal(
            report.usPerFullConnect,
            loadCapacityFigures().fullConnectUs[config.pki.caKeyAlgorithm],
        );
        assert.equal(report.haproxyHosts.length, config.haproxy.instances);
        for (const host of report.haproxyHosts) {
            assert.equal(host.maxconn, config.haproxy.maxconn);
            assert.ok(host.backendConnectionCeiling >= host.maxconn, JSON.stringify(host));
        }
        assert.equal(report.emqxNodes.length, config.emqx.nodes);
        assert.equal(report.devices, config.capacity.targetDevices);
        assert.ok(report.fleet.haproxyDevicesSpareDown >= report.devices);
        assert.ok(report.smallestFleet.haproxy.count >= 2);
        assert.deepEqual(report.warnings, []);
    });

    test("text: the per-host figures, the binding limit and the smallest fleets", async () => {
        const result = await script("capacity.ts", [
            "--stack",
            "dev",
            "--devices",
            "1000000",
            "--storm-seconds",
            "60",
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^capacity of dev: 1,000,000 devices, reconnect storm 60 s/);
        assert.match(
            result.stdout,
            /backend connections +387,072 \(2 EMQX listener port\(s\) per node/,
        );
        assert.match(result.stdout, /binding limit: maxconn/);
        assert.match(result.stdout, /smallest HAProxy fleet per family for 1,000,000 devices/);
        // a million devices in a minute outrun the CPU of dev's hosts with one lost: a warning, exit 0
        const config = parseEdgeConfig(readStackFile(projectDir, "dev").raw);
        assert.ok(
            result.stdout.includes(
                `warning: reconnecting 1000000 devices over ${config.haproxy.instances - config.capacity.spareHosts} ${config.haproxy.instanceType} hosts`,
            ),
            result.stdout,
        );
    });

    test("bad flags and a docker stack exit 2 with one line", async () => {
        for (const args of [
            ["--stack", "dev", "--devices", "-5"],
            ["--stack", "dev", "--storm-seconds", "soon"],
            ["--stack", "local"],
            ["--stack", "nosuch"],
            ["--stak", "dev"],
            [],
        ]) {
            const result = await script("capacity.ts", args);
            assert.equal(result.code, 2, args.join(" "));
            assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
            assert.match(result.stderr, /^capacity: /);
        }
    });
});

describe("npm run render and the guard", () => {
    test("maxconn 500000 on c7i.large: one line naming memory, nothing written", async () => {
        const out = await mkdtemp(join(tmpdir(), "capacity-render-"));
        try {
            await withStack(
                "config:\n  mqtt-edge:haproxy:\n    instanceType: c7i.large\n    maxconn: 500000\n",
                async (stack) => {
                    const result = await script("render.ts", ["--stack", stack, "--out", out]);
                    assert.equal(result.code, 2);
                    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
                    const f = loadCapacityFigures();
                    assert.ok(
                        result.stderr.startsWith(
                            `render: mqtt-edge:haproxy.maxconn = 500000: a c7i.large has memory for about ${Math.floor(haproxyMemoryDeviceLimit({ vcpus: 2, memoryGiB: 4 }, f) / 1000) * 1000} devices (${f.haproxyKiBPerDevice} KiB HAProxy + ${f.kernelKiBPerDevice} KiB kernel each in 4 GiB`,
                        ),
                        result.stderr,
                    );
                },
            );
            assert.deepEqual(await readdir(out), []);
        } finally {
            await rm(out, { recursive: true, force: true });
        }
    });

    test("a storm warning goes to stderr and the files are still written", async () => {
        const out = await mkdtemp(join(tmpdir(), "capacity-render-"));
        try {
            await withStack(
                "config:\n  mqtt-edge:haproxy:\n    instances: 1\n  mqtt-edge:capacity:\n    stormSeconds: 30\n",
                async (stack) => {
                    const result = await script("render.ts", ["--stack", stack, "--out", out]);
                    assert.equal(result.code, 0, result.stderr);
                    assert.match(
                        result.stderr,
                        /^render: warning: mqtt-edge:capacity\.stormSeconds = 30: /m,
                    );
                },
            );
            assert.ok((await readdir(out)).includes("haproxy"));
        } finally {
            await rm(out, { recursive: true, force: true });
        }
    });
});
