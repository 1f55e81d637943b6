/**
 * The Docker target for the committed `local` stack under Pulumi mocks: what it declares, how the
 * containers find each other, what reaches the host, what each container gets as files and
 * environment, and that the uploaded haproxy.cfg and emqx.conf pass the real checks. Certificates
 * come from the TLS fake (real X.509) and the CRL from the real scripts/crl.ts.
 *
 * Not proven here (no Docker engine): that the engine accepts these arguments, that the images
 * behave as their Dockerfiles say, and that replacement options (deleteBeforeReplace) apply.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
    type DockerRecorded,
    dockerTypes,
    isSecretInput,
    mockImageId,
    mockPassword,
    outputValue,
    recorded,
    reset,
    settle,
} from "./docker-mocks.ts";

const { createDockerEdge } = await import("../../infra/docker-edge.ts");
const { parseEdgeConfig } = await import("../../infra/config.ts");
const { readStackFile } = await import("../../infra/stack-file.ts");
const { emqxNodes, haproxySpecFor } = await import("../../infra/edge-specs.ts");
const { renderHaproxyCfg } = await import("../../templates/haproxy.ts");
const { auditEmqxConfig } = await import("../../templates/emqx-schema-keys.ts");
const { emqxSecretVariables } = await import("../../templates/emqx-secrets-env.ts");
const { dockerHaproxyLayout, emqxImageFor } = await import(
    "../../components/docker/container-layout.ts"
);
const { defaultDockerSettings } = await import("../../components/docker/docker-settings.ts");
const { planDockerAddresses } = await import("../../components/docker/docker-address-plan.ts");
const { haproxyOpenFileLimit } = await import("../../components/docker/haproxy-container.ts");
const { parseHocon } = await import("../support/hocon.ts");
const { checkHaproxyConfig } = await import("../support/haproxy-check.ts");

const projectDir = new URL("../../", import.meta.url).pathname;
const config = parseEdgeConfig(readStackFile(projectDir, "local").raw);
const addresses = planDockerAddresses(defaultDockerSettings.subnet);

interface Upload {
    file: string;
    content: string;
    permissions?: string;
    owner?: string;
    group?: string;
}
interface Port {
    internal: number;
    external: number;
    ip: string;
}

let program: DockerRecorded[] = [];
let outputs: Awaited<ReturnType<typeof createDockerEdge>>;

before(async () => {
    outputs = createDockerEdge(
        { config, secrets: {} },
        { stack: "local", now: new Date(), projectDir },
    );
    await settle();
    program = [...recorded];
});

const ofType = (type: string) => program.filter((r) => r.type === type);
const containers = () => ofType(dockerTypes.container);
const haproxyContainer = () => {
    const [haproxy, ...others] = containers().filter((c) =>
        String(c.inputs.name).endsWith("-haproxy"),
    );
    assert.ok(haproxy && others.length === 0, "exactly one HAProxy container");
    return haproxy;
};
const emqxContainers = () =>
    containers()
        .filter((c) => /-emqx-\d+$/.test(String(c.inputs.name)))
        .sort((a, b) => String(a.inputs.name).localeCompare(String(b.inputs.name)));
const uploadsOf = (container: DockerRecorded) => container.inputs.uploads as Upload[];
const portsOf = (container: DockerRecorded) => (container.inputs.ports ?? []) as Port[];
const uploaded = (container: DockerRecorded, file: string): Upload => {
    const match = uploadsOf(container).find((u) => u.file === file);
    assert.ok(match, `${String(container.inputs.name)} has no upload ${file}`);
    return match;
};
const secretValues = () => [
    mockPassword("docker-edge-emqx-cookie"),
    mockPassword("docker-edge-emqx-dashboard"),
];

describe("Docker edge for Pulumi.local.yaml", () => {
    test("declares one network, two pinned images, three data volumes, three EMQX containers and one HAProxy", () => {
        const counts: Record<string, number> = {};
        for (const r of program) {
            if (r.type.startsWith("docker:") || r.type.startsWith("mqtt-edge:docker:")) {
                counts[r.type] = (counts[r.type] ?? 0) + 1;
            }
        }
        assert.deepEqual(counts, {
            "mqtt-edge:docker:EdgeNetwork": 1,
            "mqtt-edge:docker:EmqxCluster": 1,
            "mqtt-edge:docker:Haproxy": 1,
            [dockerTypes.network]: 1,
            [dockerTypes.remoteImage]: 2,
            [dockerTypes.volume]: 3,
            [dockerTypes.container]: 4,
        });
        assert.equal(ofType(dockerTypes.randomPassword).length, 2);
        assert.deepEqual(
            ofType(dockerTypes.remoteImage)
                .map((i) => [i.inputs.name, i.inputs.keepLocally])
                .sort(),
            [
                ["emqx/emqx:5.8.9", true],
                ["haproxy:2.6.33", true],
            ],
        );
        assert.equal(haproxyContainer().inputs.image, mockImageId("haproxy:2.6.33"));
        for (const c of emqxContainers())
            assert.equal(c.inputs.image, mockImageId("emqx/emqx:5.8.9"));
        assert.deepEqual(
            containers()
                .map((c) => c.inputs.name)
                .sort(),
            [
                "mqtt-edge-local-emqx-1",
                "mqtt-edge-local-emqx-2",
                "mqtt-edge-local-emqx-3",
                "mqtt-edge-local-haproxy",
            ],
        );
    });

    test("the network has a fixed plan and HAProxy a fixed address outside Docker's dynamic range", () => {
        const [network] = ofType(dockerTypes.network);
        assert.deepEqual(network?.inputs.ipamConfigs, [
            { subnet: "172.30.83.0/24", gateway: "172.30.83.1", ipRange: "172.30.83.128/25" },
        ]);
        const attachments = haproxyContainer().inputs.networksAdvanced as {
            name: string;
            ipv4Address?: string;
        }[];
        assert.deepEqual(attachments, [{ name: "mqtt-edge-local", ipv4Address: "172.30.83.2" }]);
        for (const c of emqxContainers()) {
            const [attachment] = c.inputs.networksAdvanced as { ipv4Address?: string }[];
            assert.equal(attachment?.ipv4Address, undefined, "EMQX addresses come from the range");
        }
    });

    test("network aliases are the host names the EMQX seeds and the HAProxy servers name", async () => {
        const hostnames = emqxNodes(config).map((n) => n.hostname);
        assert.deepEqual(hostnames, [
            "emqx-1.emqx.internal",
            "emqx-2.emqx.internal",
            "emqx-3.emqx.internal",
        ]);
        const aliases = emqxContainers().map(
            (c) => (c.inputs.networksAdvanced as { aliases: string[] }[])[0]?.aliases,
        );
        assert.deepEqual(
            aliases,
            hostnames.map((h) => [h]),
        );
        for (const c of emqxContainers()) {
            const conf = (await parseHocon(uploaded(c, "/opt/emqx/etc/emqx.conf").content)) as {
                cluster: { static: { seeds: string[] } };
            };
            assert.deepEqual(
                conf.cluster.static.seeds.map((seed) => seed.split("@")[1]),
                hostnames,
            );
        }
        const cfg = uploaded(haproxyContainer(), dockerHaproxyLayout.config).content;
        const serverHosts = [...cfg.matchAll(/^ {4}server \S+ (\S+):1883 /gm)].map((m) => m[1]);
        assert.deepEqual(serverHosts, hostnames);
    });

    test("every published port binds 127.0.0.1 only: devices, health, metrics and node 1's dashboard", () => {
        for (const c of containers()) {
            for (const port of portsOf(c)) assert.equal(port.ip, "127.0.0.1", JSON.stringify(port));
        }
        assert.deepEqual(
            portsOf(haproxyContainer()).map((p) => [p.internal, p.external]),
            [
                [config.nlb.devicePort, 8883],
                [config.haproxy.healthPort, 8080],
                [config.haproxy.metricsPort, 8405],
            ],
        );
        assert.deepEqual(
            emqxContainers().map((c) => portsOf(c).map((p) => [p.internal, p.external])),
            [[[18083, 18083]], [], []],
        );
        assert.equal(outputs.deviceEndpoint, "127.0.0.1:8883");
        assert.equal(outputs.healthUrl, "http://127.0.0.1:8080/healthz");
        assert.equal(outputs.dashboardUrl, "http://127.0.0.1:18083/");
    });

    test("the uploaded haproxy.cfg is the docker-layout render and names exactly the uploaded files", () => {
        const haproxy = haproxyContainer();
        const cfg = uploaded(haproxy, dockerHaproxyLayout.config).content;
        const expected = renderHaproxyCfg(
            haproxySpecFor(config, {
                serverKeyAlgorithms: config.pki.serverKeyAlgorithms,
                withCrl: true,
                layout: dockerHaproxyLayout,
            }),
        );
        assert.equal(cfg, expected);
        const named = [...cfg.matchAll(/ (?:crt|ca-file|ca-verify-file|crl-file) (\S+)/g)]
            .map((m) => m[1])
            .sort();
        const files = uploadsOf(haproxy)
            .map((u) => u.file)
            .filter((f) => f !== dockerHaproxyLayout.config)
            .sort();
        assert.deepEqual(named, files);
        assert.deepEqual(files, [
            "/usr/local/etc/haproxy/crl.pem",
            "/usr/local/etc/haproxy/device-intermediate.pem",
            "/usr/local/etc/haproxy/root.pem",
            "/usr/local/etc/haproxy/server-ecdsa-p256.pem",
            "/usr/local/etc/haproxy/server-rsa-2048.pem",
        ]);
        assert.match(cfg, /^ {4}stats socket \/run\/haproxy-admin\.sock /m);
        assert.match(cfg, /^ {4}log stdout /m);
        const [openFiles] = haproxy.inputs.ulimits as {
            name: string;
            soft: number;
            hard: number;
        }[];
        assert.deepEqual(openFiles, {
            name: "nofile",
            soft: haproxyOpenFileLimit(config.haproxy.maxconn),
            hard: haproxyOpenFileLimit(config.haproxy.maxconn),
        });
        assert.ok((openFiles?.hard ?? 0) > 2 * config.haproxy.maxconn);
    });

    test("the container starts as root and haproxy.cfg drops the workers to the image's haproxy account in its chroot", () => {
        const haproxy = haproxyContainer();
        // Overrides the image's USER haproxy: only a root master reads the 0600 keys whoever owns
        // them (components/docker/container-layout.ts).
        assert.equal(haproxy.inputs.user, "0:0");
        const global = uploaded(haproxy, dockerHaproxyLayout.config)
            .content.split("\n\n")[1]
            ?.split("\n")
            .map((line) => line.trim());
        assert.equal(global?.[0], "global");
        assert.deepEqual(
            global?.filter((line) => /^(user|group|chroot) /.test(line)),
            // The official image creates the account (uid 99) and /var/lib/haproxy for it.
            ["user haproxy", "group haproxy", "chroot /var/lib/haproxy"],
        );
        // The stats socket is bound by the root master outside the chroot the workers live in.
        assert.ok(!dockerHaproxyLayout.statsSocket.startsWith("/var/lib/haproxy/"));
    });

    test("every HAProxy upload is root-owned; server keys are 0600 secrets, the rest 0644", () => {
        const haproxy = haproxyContainer();
        // One secret element makes Pulumi mark the whole `uploads` property secret in state.
        assert.equal(isSecretInput(haproxy.rawInputs.uploads), true, "uploads is a secret");
        const keys = uploadsOf(haproxy).filter((u) => /PRIVATE KEY/.test(u.content));
        assert.deepEqual(
            keys.map((u) => u.file),
            [
                "/usr/local/etc/haproxy/server-ecdsa-p256.pem",
                "/usr/local/etc/haproxy/server-rsa-2048.pem",
            ],
        );
        for (const upload of uploadsOf(haproxy)) {
            // Root whether the provider applies owner/group or leaves the tar header's 0:0.
            assert.deepEqual(
                [upload.owner, upload.group, upload.permissions],
                ["0", "0", keys.includes(upload) ? "0600" : "0644"],
                upload.file,
            );
        }
        for (const c of emqxContainers()) {
            assert.doesNotMatch(JSON.stringify(c.inputs.uploads), /PRIVATE KEY/);
        }
    });

    test("each node's emqx.conf: its own name, the image's data dir, only HAProxy's address admitted, EMQX 5.8 keys only", async () => {
        const nodes = emqxNodes(config);
        for (const [i, c] of emqxContainers().entries()) {
            const text = uploaded(c, "/opt/emqx/etc/emqx.conf").content;
            const conf = (await parseHocon(text)) as {
                node: { name: string; data_dir: string };
                listeners: {
                    tcp: { default: { access_rules: string[]; proxy_protocol: boolean } };
                };
            };
            assert.equal(conf.node.name, nodes[i]?.nodeName);
            assert.equal(conf.node.data_dir, "/opt/emqx/data");
            assert.deepEqual(conf.listeners.tcp.default.access_rules, [
                `allow ${addresses.haproxyAddress}/32`,
                "deny all",
            ]);
            assert.equal(conf.listeners.tcp.default.proxy_protocol, true);
            assert.deepEqual(auditEmqxConfig(conf, { version: config.emqx.version }), []);
            const envs = c.inputs.envs as string[];
            assert.ok(envs.includes(`EMQX_NODE__NAME=${nodes[i]?.nodeName}`));
            const [volume] = c.inputs.volumes as { volumeName: string; containerPath: string }[];
            assert.deepEqual(volume, {
                volumeName: `mqtt-edge-local-emqx-${i + 1}-data`,
                containerPath: "/opt/emqx/data",
            });
        }
    });

    test("cookie and dashboard password reach the nodes only as secret environment", async () => {
        const [cookie, password] = secretValues();
        for (const c of emqxContainers()) {
            assert.equal(isSecretInput(c.rawInputs.envs), true, "envs is a secret");
            const envs = c.inputs.envs as string[];
            assert.ok(envs.includes(`${emqxSecretVariables.erlangCookie}=C${cookie}`));
            assert.ok(envs.includes(`${emqxSecretVariables.dashboardPassword}=D${password}`));
        }
        for (const r of program) {
            const { envs: _envs, ...rest } = r.inputs;
            const text = JSON.stringify(rest);
            for (const secret of secretValues()) {
                assert.ok(
                    !text.includes(secret),
                    `${r.type} ${r.name} carries a secret outside envs`,
                );
            }
        }
        assert.equal(await pulumi.isSecret(outputs.emqxDashboardPassword), true);
        assert.equal(await outputValue(outputs.emqxDashboardPassword), `D${password}`);
    });

    test("no plain stack output holds a secret or a private key", async () => {
        const leaks: string[] = [];
        const visit = async (path: string, value: unknown): Promise<void> => {
            if (pulumi.Output.isInstance(value)) {
                const resolved = await outputValue(value as pulumi.Output<unknown>);
                const secret = await pulumi.isSecret(value as pulumi.Output<unknown>);
                const text = JSON.stringify(resolved) ?? "";
                const sensitive =
                    text.includes("PRIVATE KEY") || secretValues().some((s) => text.includes(s));
                if (sensitive && !secret) leaks.push(path);
                return;
            }
            if (Array.isArray(value)) {
                for (const [i, item] of value.entries()) await visit(`${path}[${i}]`, item);
            } else if (typeof value === "object" && value !== null) {
                for (const [k, v] of Object.entries(value)) await visit(`${path}.${k}`, v);
            } else if (typeof value === "string" && value.includes("PRIVATE KEY")) {
                leaks.push(path);
            }
        };
        await visit("outputs", outputs);
        assert.deepEqual(leaks, []);
        assert.equal(outputs.testDevices.length, 2);
        for (const device of outputs.testDevices) {
            assert.equal(await pulumi.isSecret(device.keyPem), true);
            assert.match(await outputValue(device.certPem), /BEGIN CERTIFICATE/);
        }
        assert.equal(await pulumi.isSecret(outputs.intermediateKeyPem), true);
    });
});

describe("the uploaded files pass the real checks", () => {
    let root: string;
    before(async () => {
        root = await mkdtemp(join(tmpdir(), "mqtt-edge-docker-"));
    });
    after(async () => {
        await rm(root, { recursive: true, force: true });
    });

    test("haproxy.cfg passes `haproxy -c -dW` with the uploaded certificates, CA files and CRL", async () => {
        const haproxy = haproxyContainer();
        // Every container path moves under a temp root; the contents are exactly what is uploaded.
        const local = (path: string) => join(root, path);
        let cfg = uploaded(haproxy, dockerHaproxyLayout.config).content;
        for (const upload of uploadsOf(haproxy)) {
            await mkdir(dirname(local(upload.file)), { recursive: true });
            await writeFile(local(upload.file), upload.content, { mode: 0o600 });
            cfg = cfg.replaceAll(` ${upload.file}`, ` ${local(upload.file)}`);
        }
        await mkdir(dirname(local(dockerHaproxyLayout.statsSocket)), { recursive: true });
        cfg = cfg.replaceAll(
            dockerHaproxyLayout.statsSocket,
            local(dockerHaproxyLayout.statsSocket),
        );
        assert.doesNotMatch(cfg, / \/usr\/local\/etc\//, "every container path was mapped");
        const result = await checkHaproxyConfig(cfg);
        assert.equal(result.exitCode, 0, result.output);
        assert.match(result.output, /Configuration file is valid/);
    });

    test("a certificate missing from the uploads makes the same check fail", async () => {
        const cfg = uploaded(haproxyContainer(), dockerHaproxyLayout.config).content.replaceAll(
            "/usr/local/etc/haproxy/",
            `${root}/nowhere/`,
        );
        const result = await checkHaproxyConfig(cfg);
        assert.notEqual(result.exitCode, 0);
    });
});

describe("bad docker settings", () => {
    test("a host port clash fails with one line before any resource is declared", async () => {
        await settle();
        reset();
        assert.throws(
            () =>
                createDockerEdge(
                    { config, secrets: {} },
                    {
                        stack: "local",
                        now: new Date(),
                        projectDir,
                        docker: { devicePort: 8080 },
                    },
                ),
            (error: Error) => {
                assert.equal(
                    error.message,
                    "mqtt-edge:docker.healthPort = 8080: must differ from docker.devicePort (8080)",
                );
                return true;
            },
        );
        await settle();
        assert.deepEqual(recorded, []);
    });

    test("dns discovery is refused for the docker target before any resource", async () => {
        reset();
        const dnsConfig = parseEdgeConfig({
            ...readStackFile(projectDir, "local").raw,
            emqx: { nodes: 3, discovery: "dns" },
        });
        assert.throws(
            () =>
                createDockerEdge(
                    { config: dnsConfig, secrets: {} },
                    { stack: "local", now: new Date(), projectDir },
                ),
            /^ConfigError: mqtt-edge:emqx\.discovery = "dns": must be static for the docker target/,
        );
        await settle();
        assert.deepEqual(recorded, []);
    });
});

describe("the EMQX image follows emqx.version", () => {
    test("5.8.x and before from emqx/emqx, 5.9 and later from emqx/emqx-enterprise", () => {
        assert.equal(emqxImageFor("5.8.9"), "emqx/emqx:5.8.9");
        assert.equal(emqxImageFor("5.0.26"), "emqx/emqx:5.0.26");
        assert.equal(emqxImageFor("5.9.0"), "emqx/emqx-enterprise:5.9.0");
        assert.equal(emqxImageFor("5.10.1"), "emqx/emqx-enterprise:5.10.1");
        assert.equal(emqxImageFor("6.0.0"), "emqx/emqx-enterprise:6.0.0");
        assert.throws(() => emqxImageFor("5.9"), /version "5\.9" is not allowed; expected major/);
    });

    test("a 5.9.0 stack pulls emqx/emqx-enterprise:5.9.0 and gives every node the license key as a secret", async () => {
        await settle();
        reset();
        const licenseKey = "dGVzdC1saWNlbnNlLWtleQ.c2lnbmF0dXJl"; // base64 and "." like a real key
        const licensed = parseEdgeConfig({
            ...readStackFile(projectDir, "local").raw,
            emqx: { nodes: 3, version: "5.9.0" },
            emqxLicenseKey: licenseKey,
        });
        createDockerEdge(
            { config: licensed, secrets: { emqxLicenseKey: pulumi.secret(licenseKey) } },
            { stack: "local", now: new Date(), projectDir },
        );
        await settle();
        const images = recorded
            .filter((r) => r.type === dockerTypes.remoteImage)
            .map((r) => r.inputs.name)
            .sort();
        assert.deepEqual(images, ["emqx/emqx-enterprise:5.9.0", "haproxy:2.6.33"]);
        const nodes = recorded.filter(
            (r) => r.type === dockerTypes.container && /-emqx-\d+$/.test(String(r.inputs.name)),
        );
        assert.equal(nodes.length, 3);
        for (const node of nodes) {
            assert.equal(node.inputs.image, mockImageId("emqx/emqx-enterprise:5.9.0"));
            assert.equal(isSecretInput(node.rawInputs.envs), true);
            const license = (node.inputs.envs as string[]).filter((v) =>
                v.startsWith(`${emqxSecretVariables.licenseKey}=`),
            );
            assert.equal(license.length, 1);
            assert.ok(license[0]?.includes(licenseKey));
        }
    });

    test("a 5.9.0 cluster without a license key is refused by the configuration, as on AWS", () => {
        assert.throws(
            () =>
                parseEdgeConfig({
                    ...readStackFile(projectDir, "local").raw,
                    emqx: { nodes: 3, version: "5.9.0" },
                }),
            /^ConfigError: mqtt-edge:emqx\.version = "5\.9\.0": needs mqtt-edge:emqxLicenseKey/,
        );
    });
});
