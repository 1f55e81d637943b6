/**
 * The Docker target's HAProxy as its container runs it, in the real HAProxy on loopback: the exact
 * haproxy.cfg and files the DockerHaproxy component uploads (taken from the `local` stack under
 * Pulumi mocks), each written with the owner and mode the upload declares, and the image's
 * `haproxy` account and its /var/lib/haproxy chroot. The master starts as root, as the container's
 * `user: 0:0` makes it; the workers must drop to `haproxy`, and a key only root may read must
 * still load, at start and at a reload. A permission mistake (a key the master cannot read, a
 * worker left as root, a chroot the config does not name) fails here.
 *
 * Only the addresses change: the container's paths move under a temp root, its binds to loopback
 * ports, its server names to broker stand-ins; a test checks that undoing exactly these gives the
 * uploaded file back. Switching user needs root, which CI has (`sudo bash .ci/run`).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BrokerStandIns } from "../../local-edge/broker-stand-ins.ts";
import {
    forgetTemporaryDirectory,
    registerTemporaryDirectory,
} from "../../local-edge/emergency-cleanup.ts";
import { HaproxyProcess } from "../../local-edge/haproxy-process.ts";
import { findFreePort, LoopbackAddressPool } from "../../local-edge/loopback-endpoints.ts";
import {
    connectMqttDevice,
    endAllMqttDevices,
    endMqttDevice,
} from "../../local-edge/mqtt-device.ts";
import {
    canDropPrivileges,
    haproxyAccount,
    processIdentity,
    type SystemAccount,
} from "../../local-edge/worker-privileges.ts";
import { dockerTypes, outputValue, recorded, settle } from "../docker/docker-mocks.ts";

const { createDockerEdge } = await import("../../infra/docker-edge.ts");
const { parseEdgeConfig } = await import("../../infra/config.ts");
const { readStackFile } = await import("../../infra/stack-file.ts");
const { emqxNodes } = await import("../../infra/edge-specs.ts");
const { haproxyBackendName } = await import("../../templates/haproxy.ts");
const { dockerHaproxyLayout } = await import("../../components/docker/container-layout.ts");

interface Upload {
    file: string;
    content: string;
    permissions: string;
    owner?: string;
    group?: string;
}

const projectDir = new URL("../../", import.meta.url).pathname;
const config = parseEdgeConfig(readStackFile(projectDir, "local").raw);
const chrootInImage = dockerHaproxyLayout.workerPrivileges.chroot;

const notRoot =
    "switching HAProxy's workers to the haproxy account needs root: run the tests as root (CI does: sudo bash .ci/run)";

/** Everything the tests share; filled in by `before`. */
interface Rig {
    root: string;
    account: SystemAccount;
    uploads: Upload[];
    containerUser: string;
    uploadedCfg: string;
    loopbackCfg: string;
    undo: (cfg: string) => string;
    configPath: string;
    brokers: BrokerStandIns;
    haproxy: HaproxyProcess;
    device: { commonName: string; certificatePem: string; privateKeyPem: string };
    rootCaPath: string;
    haproxyAddress: string;
    mqttsPort: number;
    deviceAddress: string;
}

let rig: Rig | undefined;
const cleanups: Array<() => Promise<unknown>> = [];

/** The rig, or a failure that says why there is none. */
function ready(): Rig {
    if (!canDropPrivileges()) assert.fail(notRoot);
    assert.ok(rig, "the rig did not start; see the before hook's error");
    return rig;
}

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
    return new Promise((resolve, reject) => {
        execFile(command, args, { timeout: 10_000, killSignal: "SIGKILL" }, (error, out, err) => {
            if (error !== null && typeof error.code !== "number") reject(error);
            else resolve({ code: error === null ? 0 : Number(error.code), output: `${out}${err}` });
        });
    });
}

/** `command` as the haproxy account, with no supplementary groups (util-linux setpriv). */
function asHaproxy(account: SystemAccount, command: string[]) {
    return run("setpriv", [
        `--reuid=${account.uid}`,
        `--regid=${account.gid}`,
        "--clear-groups",
        ...command,
    ]);
}

before(async () => {
    if (!canDropPrivileges()) return;
    const account = await haproxyAccount();

    // The component's declared container, exactly as `pulumi up` would send it to Docker.
    const outputs = createDockerEdge(
        { config, secrets: {} },
        { stack: "local", now: new Date(), projectDir },
    );
    await settle();
    const container = recorded.find(
        (r) => r.type === dockerTypes.container && String(r.inputs.name).endsWith("-haproxy"),
    );
    assert.ok(container, "the local stack declares a HAProxy container");
    const uploads = container.inputs.uploads as Upload[];
    const [testDevice] = outputs.testDevices;
    assert.ok(testDevice, "the local stack issues test devices");

    const root = await mkdtemp(join(tmpdir(), "mqtt-edge-docker-haproxy-"));
    registerTemporaryDirectory(root);
    cleanups.push(async () => {
        await rm(root, { recursive: true, force: true });
        forgetTemporaryDirectory(root);
    });
    // Traversable like the image's directories, so only a file's own mode can keep a reader out.
    await chmod(root, 0o755);
    const local = (path: string) => `${root}${path}`;
    for (const upload of uploads) {
        await mkdir(dirname(local(upload.file)), { recursive: true, mode: 0o755 });
        await writeFile(local(upload.file), upload.content, { mode: 0o600 });
        // What Docker leaves on disk: the declared owner (or the tar header's 0, the same here).
        await chown(local(upload.file), Number(upload.owner ?? 0), Number(upload.group ?? 0));
        await chmod(local(upload.file), Number.parseInt(upload.permissions, 8));
    }
    // The image's chroot: `mkdir /var/lib/haproxy; chown haproxy:haproxy` (2.6/Dockerfile).
    await mkdir(local(chrootInImage), { recursive: true, mode: 0o755 });
    await chown(local(chrootInImage), account.uid, account.gid);
    await mkdir(dirname(local(dockerHaproxyLayout.statsSocket)), { recursive: true });

    const pool = new LoopbackAddressPool();
    const haproxyAddress = pool.next();
    const nodes = emqxNodes(config);
    const brokers = await BrokerStandIns.start({ addresses: nodes.map(() => pool.next()) });
    cleanups.push(() => brokers.close());

    // The container's binds and server names become loopback endpoints; its paths move under root.
    const ports = new Map<number, number>();
    for (const port of [
        config.nlb.devicePort,
        config.haproxy.healthPort,
        config.haproxy.metricsPort,
    ])
        ports.set(port, await findFreePort(haproxyAddress));
    const servers = nodes.map((node, i) => {
        const broker = brokers.nodes[i];
        assert.ok(broker);
        return [`${node.hostname}:1883`, `${broker.address}:${broker.mqttPort}`] as const;
    });
    const uploadedCfg = uploads.find((u) => u.file === dockerHaproxyLayout.config)?.content ?? "";
    const pathPrefixes = [
        "/usr/local/etc/haproxy/",
        dockerHaproxyLayout.statsSocket,
        chrootInImage,
    ];
    let loopbackCfg = uploadedCfg;
    for (const prefix of pathPrefixes)
        loopbackCfg = loopbackCfg.replaceAll(` ${prefix}`, ` ${local(prefix)}`);
    for (const [inside, outside] of ports)
        loopbackCfg = loopbackCfg.replaceAll(
            `bind 0.0.0.0:${inside}`,
            `bind ${haproxyAddress}:${outside}`,
        );
    for (const [name, broker] of servers)
        loopbackCfg = loopbackCfg.replaceAll(` ${name} `, ` ${broker} `);
    const undo = (cfg: string): string => {
        let text = cfg.replaceAll(` ${root}/`, " /");
        for (const [inside, outside] of ports)
            text = text.replaceAll(`bind ${haproxyAddress}:${outside}`, `bind 0.0.0.0:${inside}`);
        for (const [name, broker] of servers) text = text.replaceAll(` ${broker} `, ` ${name} `);
        return text;
    };
    const configPath = local(`${dockerHaproxyLayout.config}.loopback`);
    // 0644 like the uploaded haproxy.cfg: only the keys are kept from the workers' account.
    await writeFile(configPath, loopbackCfg, { mode: 0o644 });

    const rootCaPath = join(root, "device-trust.pem");
    await writeFile(rootCaPath, await outputValue(outputs.deviceTrustBundlePem));
    const haproxy = await HaproxyProcess.start({
        configPath,
        statsSocketPath: local(dockerHaproxyLayout.statsSocket),
        masterSocketPath: join(root, "master.sock"),
    });
    cleanups.push(() => haproxy.stop());
    rig = {
        root,
        account,
        uploads,
        containerUser: String(container.inputs.user),
        uploadedCfg,
        loopbackCfg,
        undo,
        configPath,
        brokers,
        haproxy,
        device: {
            commonName: testDevice.commonName,
            certificatePem: await outputValue(testDevice.certPem),
            privateKeyPem: await outputValue(testDevice.keyPem),
        },
        rootCaPath,
        haproxyAddress,
        mqttsPort: ports.get(config.nlb.devicePort) ?? 0,
        deviceAddress: pool.next(),
    };
    await haproxy.waitForServers(
        haproxyBackendName,
        Object.fromEntries(nodes.map((node) => [`emqx-${node.index}`, true])),
        10_000,
    );
});

after(async () => {
    await endAllMqttDevices();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Connects the stack's first test device and returns the CN the broker stand-in saw. */
async function deviceRoundTrip(r: Rig, clientId: string): Promise<string | undefined> {
    const seen = r.brokers.connections.length;
    const client = await connectMqttDevice({
        host: r.haproxyAddress,
        port: r.mqttsPort,
        localAddress: r.deviceAddress,
        caPath: r.rootCaPath,
        credentials: r.device,
        clientId,
        // The local stack's server certificate names `localhost` (Pulumi.local.yaml deviceDomains).
        serverIdentity: config.deviceDomains[0] ?? "localhost",
    });
    await endMqttDevice(client);
    return r.brokers.connectionsSince(seen).find((c) => c.clientId === clientId)?.commonName;
}

describe("the docker-target HAProxy with the container's files, owners and user", () => {
    test("what runs is the uploaded haproxy.cfg with only paths, binds and server names moved", () => {
        const r = ready();
        assert.equal(r.undo(r.loopbackCfg), r.uploadedCfg);
        assert.doesNotMatch(r.loopbackCfg, / \/(usr|run|var)\//, "a container path was not moved");
        assert.doesNotMatch(r.loopbackCfg, /0\.0\.0\.0|\.emqx\.internal/);
        assert.match(
            r.loopbackCfg,
            /^ {4}user haproxy\n {4}group haproxy\n {4}chroot \S+\/var\/lib\/haproxy$/m,
        );
    });

    test("the container starts as root; every upload lands root:root, keys 0600, the rest 0644", async () => {
        const r = ready();
        assert.equal(r.containerUser, "0:0");
        for (const upload of r.uploads) {
            const file = await stat(`${r.root}${upload.file}`);
            const isKey = upload.content.includes("PRIVATE KEY");
            assert.deepEqual(
                [file.uid, file.gid, file.mode & 0o777],
                [0, 0, isKey ? 0o600 : 0o644],
                upload.file,
            );
        }
    });

    test("the master runs as root; the worker as haproxy, chrooted into the image's /var/lib/haproxy", async (t) => {
        const r = ready();
        const master = await processIdentity(r.haproxy.pid);
        const worker = await processIdentity((await r.haproxy.currentWorker()).pid);
        t.diagnostic(`master ${JSON.stringify(master)}, worker ${JSON.stringify(worker)}`);
        assert.deepEqual(master, { uid: 0, gid: 0, root: "/" });
        assert.deepEqual(worker, {
            uid: r.account.uid,
            gid: r.account.gid,
            root: `${r.root}${chrootInImage}`,
        });
    });

    test("a stack test device gets its CONNACK and the broker sees its CN", async (t) => {
        const r = ready();
        try {
            assert.equal(await deviceRoundTrip(r, "docker-device-1"), r.device.commonName);
        } catch (error) {
            t.diagnostic(r.haproxy.logText());
            throw error;
        }
    });

    test("a reload (SIGUSR2 to the root master) reads the 0600 keys again and serves devices", async (t) => {
        const r = ready();
        try {
            await r.haproxy.reload(r.loopbackCfg);
            const worker = await processIdentity((await r.haproxy.currentWorker()).pid);
            assert.equal(worker.uid, r.account.uid);
            assert.equal(await deviceRoundTrip(r, "docker-device-2"), r.device.commonName);
        } catch (error) {
            t.diagnostic(r.haproxy.logText());
            throw error;
        }
    });

    test("the workers' account cannot read a server key, and HAProxy started as it cannot load one", async () => {
        const r = ready();
        const key = r.uploads.find((u) => u.content.includes("PRIVATE KEY"));
        const ca = r.uploads.find((u) => u.file === dockerHaproxyLayout.rootCa);
        assert.ok(key && ca);
        const readKey = await asHaproxy(r.account, ["cat", `${r.root}${key.file}`]);
        assert.notEqual(readKey.code, 0);
        assert.match(readKey.output, /Permission denied/);
        // The same account can read what is public, so the refusal above is the key's mode.
        assert.equal((await asHaproxy(r.account, ["cat", `${r.root}${ca.file}`])).code, 0);
        // What the image's own `USER haproxy` would do with these files: refuse to start.
        const check = await asHaproxy(r.account, ["haproxy", "-c", "-f", r.configPath]);
        assert.notEqual(check.code, 0, check.output);
        assert.match(check.output, /server-ecdsa-p256\.pem/, check.output);
    });
});
