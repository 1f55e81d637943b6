/**
 * The whole program (infra/index.ts) for every committed AWS stack file, under mocks with the TLS
 * fake and the real CRL command: the resource graph, its wiring, the security rules, the rendered
 * files, and where secrets go. What this does not prove: that AWS accepts the layout.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type EdgeTier, EMQX_PORT_PEERS, TIER_TAG } from "../../components/aws/edge-ports.ts";
import { FILES_BUCKET_PLACEHOLDER } from "../../components/aws/host-plans.ts";
import { parseEdgeConfig } from "../../infra/config.ts";
import { emqxListenerPlan } from "../../infra/emqx-listener-plan.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { DATA_VOLUME_PLACEHOLDER, renderStackFiles } from "../../infra/stack-files.ts";
import { resourcePolicies, stackPolicies } from "../../policy/rules/all-policies.ts";
import { stackViolations, violations } from "../policy/fake-policy-args.ts";
import { programStack } from "../policy/program-stack.ts";
import { committedStacks } from "../support/committed-stacks.ts";
import { userDataOf } from "../support/user-data.ts";
import { runProgram } from "./program-process.ts";
import type { ProgramRun, RecordedResource } from "./run-program.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;

export { runProgram };

/** One run per stack and overrides in this file: several checks compare against the same run. */
const runs = new Map<string, Promise<ProgramRun>>();
function runProgramOnce(stack: string, overrides: string[] = []): Promise<ProgramRun> {
    const key = JSON.stringify([stack, ...overrides]);
    if (!runs.has(key)) runs.set(key, runProgram(stack, overrides));
    return runs.get(key) as Promise<ProgramRun>;
}

/** The launch template's user-data as text. */
const launchUserData = (r: ProgramRun): string =>
    userDataOf(only(r, "aws:ec2/launchTemplate:LaunchTemplate").inputs);

/** `type name` of every resource whose inputs differ between two runs of the same graph. */
function changedBetween(before: ProgramRun, after: ProgramRun): string[] {
    const key = (x: RecordedResource) => `${x.type} ${x.name}`;
    const old = new Map(before.resources.map((x) => [key(x), x]));
    assert.deepEqual(after.resources.map(key).sort(), before.resources.map(key).sort());
    return after.resources
        .filter((x) => {
            // Every run makes fresh keys and certificates, so what holds them differs anyway.
            if (x.type.startsWith("tls:") || x.type.startsWith("command:")) return false;
            if (String(x.inputs.value ?? x.inputs.content).includes("-----BEGIN")) return false;
            if (x.name.endsWith("-files-secrets.env")) return false;
            // An association's hash covers those fresh keys too; the files it hashes are
            // compared one by one as parameters, so compare the association without it.
            const comparable = (r: RecordedResource | undefined) =>
                JSON.stringify(
                    r?.type === "aws:ssm/association:Association"
                        ? { ...r.inputs, parameters: undefined }
                        : r?.inputs,
                );
            return comparable(old.get(key(x))) !== comparable(x);
        })
        .map(key)
        .sort();
}

const ofType = (r: ProgramRun, type: string) => r.resources.filter((x) => x.type === type);
const only = (r: ProgramRun, type: string): RecordedResource => {
    const found = ofType(r, type);
    assert.equal(found.length, 1, `one ${type}`);
    return found[0]!;
};
const object = (r: ProgramRun, suffix: string): RecordedResource => {
    const found = ofType(r, "aws:s3/bucketObjectv2:BucketObjectv2").filter((o) =>
        String(o.inputs.key).endsWith(suffix),
    );
    assert.equal(found.length, 1, `one object ending ${suffix}`);
    return found[0]!;
};
const parameter = (r: ProgramRun, suffix: string): string => {
    const found = ofType(r, "aws:ssm/parameter:Parameter").filter((p) =>
        String(p.inputs.name).endsWith(suffix),
    );
    assert.equal(found.length, 1, `one parameter ending ${suffix}`);
    return String(found[0]!.inputs.value);
};

/** The values of a systemd EnvironmentFile, one layer of '...' and then of "..." removed. */
function secretsEnvValues(text: string): Record<string, string> {
    const values: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
        if (!match) continue;
        values[match[1] as string] = (match[2] as string)
            .replace(/^'(.*)'$/, "$1")
            .replace(/^"(.*)"$/, "$1");
    }
    return values;
}

/** The file manifest a host's user-data writes: source, path, mode, owner per line. */
function manifestLines(userData: string) {
    const body =
        /files\.manifest' <<'MQTT_EDGE_EOF'\n([\s\S]*?)MQTT_EDGE_EOF/.exec(userData)?.[1] ?? "";
    return body
        .trim()
        .split("\n")
        .map((line) => {
            const [source = "", path = "", mode = "", owner = ""] = line.split(" ");
            return { source, path, mode, owner };
        });
}

const awsStacks = committedStacks(projectDir).filter(
    (stack) => parseEdgeConfig(readStackFile(projectDir, stack).raw).target === "aws",
);

test("dev is among the AWS stacks checked here", () => {
    assert.ok(awsStacks.includes("dev"), awsStacks.join(","));
});

for (const stack of awsStacks) {
    describe(`program, stack ${stack}`, () => {
        const config = parseEdgeConfig(readStackFile(projectDir, stack).raw);
        let r: ProgramRun;
        before(async () => {
            r = await runProgramOnce(stack);
        });

        test("resource graph: one NLB, a listener, a target group, the HAProxy Auto Scaling group, EMQX instances", () => {
            assert.equal(ofType(r, "aws:lb/loadBalancer:LoadBalancer").length, 1);
            assert.equal(ofType(r, "aws:lb/listener:Listener").length, 1);
            assert.equal(ofType(r, "aws:lb/targetGroup:TargetGroup").length, 1);
            // No plain instance for HAProxy: every EC2 instance declared is an EMQX node.
            assert.equal(ofType(r, "aws:ec2/instance:Instance").length, config.emqx.nodes);
            assert.equal(ofType(r, "aws:lb/targetGroupAttachment:TargetGroupAttachment").length, 0);
            const group = only(r, "aws:autoscaling/group:Group").inputs;
            assert.equal(group.desiredCapacity, config.haproxy.instances);
            assert.equal(group.healthCheckType, "ELB");
            assert.equal((group.instanceRefresh as { strategy: string }).strategy, "Rolling");
            assert.deepEqual(
                (group.initialLifecycleHooks as { lifecycleTransition: string }[]).map(
                    (hook) => hook.lifecycleTransition,
                ),
                ["autoscaling:EC2_INSTANCE_LAUNCHING"],
            );
            assert.equal(ofType(r, "aws:ec2/launchTemplate:LaunchTemplate").length, 1);
            assert.equal(ofType(r, "aws:ebs/volume:Volume").length, config.emqx.nodes);
            const lb = only(r, "aws:lb/loadBalancer:LoadBalancer");
            assert.equal(lb.inputs.loadBalancerType, "network");
            assert.equal(lb.inputs.internal, config.nlb.internal);
        });

        test("wiring: listener -> target group -> exactly the HAProxy instances", () => {
            const listener = only(r, "aws:lb/listener:Listener");
            const group = only(r, "aws:lb/targetGroup:TargetGroup");
            assert.equal(listener.inputs.port, config.nlb.devicePort);
            assert.equal(listener.inputs.protocol, "TCP");
            assert.equal(listener.inputs.tcpIdleTimeoutSeconds, config.nlb.idleTimeoutSeconds);
            const actions = listener.inputs.defaultActions as Array<Record<string, unknown>>;
            assert.equal(actions[0]?.type, "forward");
            assert.match(String(actions[0]?.targetGroupArn), new RegExp(group.name));
            assert.equal(group.inputs.proxyProtocolV2, config.nlb.clientIpMode === "proxy-v2");
            // The group registers its instances itself.
            const registered = only(r, "aws:autoscaling/group:Group").inputs.targetGroupArns;
            assert.deepEqual(
                (registered as string[]).map((arn) => arn.includes(group.name)),
                [true],
            );
            assert.equal(r.outputs.haproxyGroupName?.value, `mqtt-edge-${stack}-haproxy`);
        });

        test("the rendered haproxy.cfg names every EMQX node and pins the device intermediate", () => {
            const cfg = parameter(r, "/haproxy/haproxy.cfg");
            const hostnames = r.outputs.emqxHostnames?.value as string[];
            assert.equal(hostnames.length, config.emqx.nodes);
            for (const host of hostnames) {
                assert.match(
                    cfg,
                    new RegExp(
                        `server \\S+ ${host.replaceAll(".", "\\.")}:1883 send-proxy-v2-ssl-cn `,
                    ),
                );
            }
            assert.match(cfg, /verify required/);
            assert.ok(cfg.includes(`ssl_c_i_dn(CN) -m str '${config.pki.intermediateCommonName}'`));
            assert.equal(/ accept-proxy/.test(cfg), config.nlb.clientIpMode === "proxy-v2");
        });

        test("emqx.conf: seeds name every node, DNS records match the node names", () => {
            const conf = parameter(r, "/emqx/emqx.conf");
            const nodeNames = r.outputs.emqxNodeNames?.value as string[];
            const seeds = /seeds = \[(.*)\]/.exec(conf)?.[1] ?? "";
            assert.deepEqual(
                seeds.split(", ").map((s) => JSON.parse(s)),
                nodeNames,
            );
            assert.match(conf, /proxy_protocol = true/);
            // the node's max_connections, shared by its HAProxy-facing listeners
            const plan = emqxListenerPlan(config);
            const limits = [...conf.matchAll(/max_connections = (\d+)/g)].map((m) => Number(m[1]));
            assert.deepEqual(
                limits,
                plan.ports.map(() => plan.maxConnectionsPerListener),
            );
            assert.ok(
                plan.maxConnectionsPerListener * plan.ports.length >= config.emqx.maxConnections,
            );
            const records = ofType(r, "aws:route53/record:Record").map((x) =>
                String(x.inputs.name),
            );
            for (const node of nodeNames) {
                assert.ok(records.includes(node.replace(/^emqx@/, "")), `record for ${node}`);
            }
        });

        test("security groups: each EMQX port only from its peer group, device port only via the NLB", () => {
            const ingress = ofType(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
            // Group id -> tier, from the tier tag every edge group carries (mock ids: <name>-id).
            const tierOfId = new Map(
                ofType(r, "aws:ec2/securityGroup:SecurityGroup").map((g) => [
                    `${g.name}-id`,
                    (g.inputs.tags as Record<string, string>)[TIER_TAG],
                ]),
            );
            const emqxRules = new Map<number, string[]>();
            for (const rule of ingress) {
                const from = Number(rule.inputs.fromPort);
                const to = Number(rule.inputs.toPort);
                const target = tierOfId.get(String(rule.inputs.securityGroupId));
                for (const { port, fromTiers } of EMQX_PORT_PEERS) {
                    if (from > port || port > to) continue;
                    assert.equal(target, "emqx", `${rule.name} opens EMQX port ${port} elsewhere`);
                    // The peer is a group of an allowed tier: no CIDR, prefix list or other group,
                    // except the dashboard to the configured admin CIDRs.
                    if (port === 18083 && rule.inputs.cidrIpv4 !== undefined) {
                        assert.ok(config.network.adminCidrs.includes(String(rule.inputs.cidrIpv4)));
                        continue;
                    }
                    const peer = tierOfId.get(String(rule.inputs.referencedSecurityGroupId));
                    assert.ok(
                        peer !== undefined && fromTiers.includes(peer as EdgeTier),
                        `${rule.name}: ${port} from ${String(rule.inputs.referencedSecurityGroupId ?? rule.inputs.cidrIpv4 ?? rule.inputs.prefixListId)}`,
                    );
                    emqxRules.set(port, [...(emqxRules.get(port) ?? []), peer]);
                }
                const cidr = rule.inputs.cidrIpv4;
                if (cidr !== undefined) {
                    // The only CIDR rules: devices to the NLB's device port, admins to the
                    // dashboard, and hosts inside the VPC to the SSM endpoints.
                    const allowed =
                        (from === config.nlb.devicePort &&
                            target === "nlb" &&
                            config.network.clientCidrs.includes(String(cidr))) ||
                        (from === 18083 && config.network.adminCidrs.includes(String(cidr))) ||
                        (from === 443 && cidr === config.network.vpcCidr);
                    assert.ok(allowed, `${rule.name} opens ${from} to ${String(cidr)}`);
                    assert.equal(from, to, `${rule.name} opens a port range`);
                }
                assert.notEqual(rule.inputs.ipProtocol, "-1", `${rule.name} opens all ports`);
            }
            // And the cluster works: every peer that must reach a port can.
            assert.deepEqual(emqxRules.get(1883), ["haproxy"]);
            assert.deepEqual(emqxRules.get(4370), ["emqx"]);
            assert.deepEqual(emqxRules.get(5370), ["emqx"]);
            for (const instance of ofType(r, "aws:ec2/instance:Instance")) {
                assert.notEqual(instance.inputs.associatePublicIpAddress, true, instance.name);
            }
        });

        test("HAProxy alone in the proxy subnets; EMQX admits PROXY v2 from exactly those", () => {
            for (const instance of ofType(r, "aws:ec2/instance:Instance")) {
                assert.match(String(instance.inputs.subnetId), /-private-\d+-id$/, instance.name);
            }
            const groupSubnets = only(r, "aws:autoscaling/group:Group").inputs
                .vpcZoneIdentifiers as string[];
            assert.ok(groupSubnets.length >= 2);
            for (const subnet of groupSubnets) assert.match(subnet, /-proxy-\d+-id$/);
            const proxyCidrs = ofType(r, "aws:ec2/subnet:Subnet")
                .filter((s) => /-proxy-\d+$/.test(s.name))
                .map((s) => String(s.inputs.cidrBlock));
            assert.ok(proxyCidrs.length >= 2);
            const rules =
                /access_rules = \[(.*)\]/.exec(parameter(r, "/emqx/emqx.conf"))?.[1] ?? "";
            assert.deepEqual(
                rules.split(", ").map((x) => JSON.parse(x)),
                [...proxyCidrs.map((c) => `allow ${c}`), "deny all"],
            );
        });

        test("every policy of the pack passes over every resource the program declares", async () => {
            const found: string[] = [];
            for (const policy of stackPolicies) {
                for (const message of await stackViolations(policy, programStack(r.resources))) {
                    found.push(`${policy.name}: ${message}`);
                }
            }
            for (const resource of r.resources) {
                for (const policy of resourcePolicies) {
                    for (const message of await violations(
                        policy,
                        resource.type,
                        resource.inputs,
                        {},
                        resource.name,
                    )) {
                        found.push(`${policy.name} ${resource.name}: ${message}`);
                    }
                }
            }
            assert.deepEqual(found, []);
        });

        test("secrets: key material, cookie and password are secret and absent from user-data and plain outputs", () => {
            for (const key of [
                "rootKeyPem",
                "intermediateKeyPem",
                "dashboardPassword",
                "testDevices",
            ]) {
                if (r.outputs[key]) assert.equal(r.outputs[key]?.secret, true, `${key} is secret`);
            }
            // The cookie and dashboard password as the hosts get them: the secrets file's values,
            // unquoted as systemd and HOCON read them ('...' around the value, "..." inside for
            // the license key). Their shape proves the extraction found the real values.
            const values = secretsEnvValues(parameter(r, "/emqx/secrets.env"));
            assert.match(values.EMQX_NODE__COOKIE ?? "", /^C[A-Za-z0-9]{47}$/);
            assert.match(values.EMQX_DASHBOARD__DEFAULT_PASSWORD ?? "", /^D[A-Za-z0-9]{47}$/);
            const forbidden = [
                ...Object.values(values),
                String(r.outputs.dashboardPassword?.value),
            ];
            const plain = Object.entries(r.outputs)
                .filter(([, o]) => !o.secret)
                .map(([k, o]) => `${k}=${JSON.stringify(o.value)}`);
            const userData = [
                launchUserData(r),
                ...ofType(r, "aws:ec2/instance:Instance").map((i) => userDataOf(i.inputs)),
            ];
            const leaks = (text: string) =>
                /PRIVATE KEY/.test(text) || forbidden.some((secret) => text.includes(secret));
            // The check itself catches a cookie pasted into user-data, quoted either way.
            const cookie = values.EMQX_NODE__COOKIE ?? "";
            assert.ok(leaks(`${userData[0]}\nEMQX_NODE__COOKIE='${cookie}'\n`));
            assert.ok(leaks(`EMQX_NODE__COOKIE="${cookie}"`));
            for (const [where, texts] of [
                ["plain outputs", plain],
                ["user-data", userData],
            ] as const) {
                for (const text of texts) {
                    assert.ok(!leaks(text), `a secret value appears in ${where}`);
                }
            }
            // Parameters that hold keys or the secrets file are SecureStrings with secret values.
            for (const p of ofType(r, "aws:ssm/parameter:Parameter")) {
                if (/PRIVATE KEY|COOKIE|PASSWORD/.test(String(p.inputs.value))) {
                    assert.equal(p.inputs.type, "SecureString", String(p.inputs.name));
                    assert.ok(
                        p.secretInputs.includes("value"),
                        `${String(p.inputs.name)} value is secret`,
                    );
                }
            }
        });

        test("every secret file on every host is 0600 root:root; other files are not writable by others", () => {
            // A private key block, or a secret assigned a value (not a comment naming one).
            const holdsSecret = (value: string) =>
                /-----BEGIN [A-Z ]*PRIVATE KEY-----|^EMQX_[A-Z_]*(COOKIE|PASSWORD|KEY)=/m.test(
                    value,
                );
            const secretParameters = new Set(
                ofType(r, "aws:ssm/parameter:Parameter")
                    .filter((p) => holdsSecret(String(p.inputs.value)))
                    .map((p) => String(p.inputs.name)),
            );
            // The server key PEMs and the EMQX secrets file, at least, per host kind.
            assert.ok([...secretParameters].some((n) => /\/haproxy\/server-.*\.pem$/.test(n)));
            assert.ok(secretParameters.has(`/mqtt-edge/${stack}/emqx/secrets.env`));
            for (const instance of ofType(r, "aws:ec2/instance:Instance")) {
                const manifest = manifestLines(userDataOf(instance.inputs));
                assert.ok(manifest.length >= 2, instance.name);
                const secrets = manifest.filter((line) => secretParameters.has(line.source));
                assert.ok(secrets.length >= 1, `${instance.name} fetches its secret files`);
                for (const line of secrets) {
                    assert.deepEqual(
                        [line.mode, line.owner],
                        ["0600", "root:root"],
                        `${instance.name} ${line.path}`,
                    );
                }
                for (const line of manifest) {
                    assert.equal(
                        Number.parseInt(line.mode, 8) & 0o022,
                        0,
                        `${line.path} mode ${line.mode}`,
                    );
                }
            }
        });

        test("npm run render writes exactly the user-data each host gets (but the data volume id)", () => {
            const rendered = renderStackFiles(config, { stack });
            // The files bucket appears by its generated name in what the hosts get.
            const bucket = String(object(r, "/haproxy/crl.pem").inputs.bucket);
            assert.equal(
                rendered.get("cloud-init/haproxy.sh"),
                launchUserData(r).replaceAll(
                    `s3://${bucket}/`,
                    `s3://${FILES_BUCKET_PLACEHOLDER}/`,
                ),
            );
            const hosts = r.outputs.emqxHostnames!.value as string[];
            const instances = ofType(r, "aws:ec2/instance:Instance");
            const names = instances.map((i) =>
                String((i.inputs.tags as Record<string, string>).Name),
            );
            assert.deepEqual([...names].sort(), [...hosts].sort());
            for (const [index, instance] of instances.entries()) {
                const hostname = names[index] as string;
                // The volume id appears as vol-<hex> and, in the NVMe device name, vol<hex>; the
                // files bucket by its generated name.
                const userData = userDataOf(instance.inputs)
                    .replace(/vol(-?)[0-9a-f]{17}/g, (_, dash) =>
                        dash ? DATA_VOLUME_PLACEHOLDER : DATA_VOLUME_PLACEHOLDER.replace("-", ""),
                    )
                    .replaceAll(`s3://${bucket}/`, `s3://${FILES_BUCKET_PLACEHOLDER}/`);
                assert.equal(rendered.get(`cloud-init/${hostname}.sh`), userData, hostname);
            }
        });

        test("every user-data script passes bash -n and shellcheck", async () => {
            const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-userdata-"));
            try {
                const scripts = [
                    launchUserData(r),
                    ...new Set(
                        ofType(r, "aws:ec2/instance:Instance").map((i) => userDataOf(i.inputs)),
                    ),
                ];
                assert.ok(scripts.length >= 2);
                for (const [i, script] of scripts.entries()) {
                    const file = join(dir, `user-data-${i}.sh`);
                    await writeFile(file, script);
                    await run("bash", ["-n", file]);
                    await run("shellcheck", ["--shell=bash", file]);
                }
            } finally {
                await rm(dir, { recursive: true, force: true });
            }
        });

        test("the CRLs shipped to HAProxy are built by scripts/crl.ts and verify against root and intermediate", async () => {
            const crls = String(object(r, "/haproxy/crl.pem").inputs.content);
            const blocks =
                crls.match(/-----BEGIN X509 CRL-----[\s\S]*?-----END X509 CRL-----\n/g) ?? [];
            assert.equal(blocks.length, 2);
            const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-crl-"));
            try {
                const root = join(dir, "root.pem");
                const intermediate = join(dir, "intermediate.pem");
                await writeFile(root, String(r.outputs.rootCertPem?.value));
                await writeFile(intermediate, String(r.outputs.intermediateCertPem?.value));
                const issuers: string[] = [];
                for (const [i, block] of blocks.entries()) {
                    const file = join(dir, `crl-${i}.pem`);
                    await writeFile(file, block);
                    const { stdout } = await run("openssl", [
                        "crl",
                        "-in",
                        file,
                        "-noout",
                        "-issuer",
                    ]);
                    issuers.push(stdout.trim());
                    const ca = stdout.includes(config.pki.intermediateCommonName)
                        ? intermediate
                        : root;
                    const { stderr } = await run("openssl", [
                        "crl",
                        "-in",
                        file,
                        "-noout",
                        "-CAfile",
                        ca,
                    ]);
                    assert.match(stderr, /verify OK/);
                }
                assert.ok(issuers.some((i) => i.includes(config.pki.intermediateCommonName)));
                assert.ok(issuers.some((i) => i.includes(config.pki.rootCommonName)));
            } finally {
                await rm(dir, { recursive: true, force: true });
            }
        });
    });
}

describe("program, stack dev: raising EMQX nodes from 3 to 5", () => {
    let three: ProgramRun;
    let five: ProgramRun;
    before(async () => {
        [three, five] = await Promise.all([
            runProgramOnce("dev"),
            runProgramOnce("dev", ["emqx.nodes=5"]),
        ]);
    });

    const key = (x: RecordedResource) => `${x.type} ${x.name}`;

    test("adds exactly the instance, volume, attachment and DNS record of nodes 4 and 5", () => {
        const before = new Set(three.resources.map(key));
        const now = new Set(five.resources.map(key));
        assert.deepEqual(
            [...before].filter((k) => !now.has(k)),
            [],
            "nothing removed",
        );
        const added = [...now].filter((k) => !before.has(k)).sort();
        assert.deepEqual(added.map((k) => k.split(" ")[0]).sort(), [
            "aws:ebs/volume:Volume",
            "aws:ebs/volume:Volume",
            "aws:ec2/instance:Instance",
            "aws:ec2/instance:Instance",
            "aws:ec2/volumeAttachment:VolumeAttachment",
            "aws:ec2/volumeAttachment:VolumeAttachment",
            "aws:route53/record:Record",
            "aws:route53/record:Record",
        ]);
        assert.ok(
            added.every((k) => /-(4|5)(-|$)/.test(k)),
            added.join("\n"),
        );
    });

    test("changes only the two configs and their sync hashes among existing resources", () => {
        const byKey = new Map(three.resources.map((x) => [key(x), x]));
        const changed: string[] = [];
        for (const x of five.resources) {
            const old = byKey.get(key(x));
            if (!old) continue;
            // Every run makes fresh keys and certificates, so what holds them differs anyway.
            if (x.type.startsWith("tls:") || x.type.startsWith("command:")) continue;
            if (String(x.inputs.value ?? x.inputs.content).includes("-----BEGIN")) continue;
            if (JSON.stringify(old.inputs) !== JSON.stringify(x.inputs)) changed.push(key(x));
        }
        // The alarms on EMQX nodes and HAProxy servers follow the node count, as does the
        // dashboard. With one node spare, 3 nodes need 2 listener ports per node to reach maxconn
        // 250000 and 5 nodes need 1: the one MQTT rule each way narrows in place.
        const allowed =
            /^(aws:ssm\/(parameter:Parameter \S*-(haproxy\.cfg|emqx\.conf|cluster-nodes)|association:Association )|aws:cloudwatch\/metricAlarm:MetricAlarm alarms-(emqx-nodes-running|haproxy-servers-down)$|aws:cloudwatch\/dashboard:Dashboard |aws:vpc\/security\S+ groups-(emqx-in|haproxy-out)-mqtt$)/;
        for (const k of changed) assert.match(k, allowed);
        assert.ok(
            changed.some((k) => k.includes("haproxy.cfg")),
            "haproxy.cfg gains two servers",
        );
        assert.ok(
            changed.some((k) => k.includes("emqx.conf")),
            "emqx.conf gains two seeds",
        );
    });

    test("the MQTT rules narrow from 1883-1884 to 1883 in place: same resources, only toPort differs", () => {
        for (const name of ["groups-emqx-in-mqtt", "groups-haproxy-out-mqtt"]) {
            const before = three.resources.find((x) => x.name === name);
            const after = five.resources.find((x) => x.name === name);
            assert.ok(before && after, name);
            assert.equal(before.type, after.type);
            assert.deepEqual([before.inputs.fromPort, before.inputs.toPort], [1883, 1884]);
            assert.deepEqual([after.inputs.fromPort, after.inputs.toPort], [1883, 1883]);
            // Everything else (group, peer, protocol) is equal: the provider updates the rule
            // with ModifySecurityGroupRules instead of replacing it.
            assert.deepEqual({ ...before.inputs, toPort: 0 }, { ...after.inputs, toPort: 0 });
        }
    });
});

describe("program, stack dev with emqx.discovery = dns", () => {
    let r: ProgramRun;
    before(async () => {
        r = await runProgram("dev", ['emqx.discovery="dns"']);
    });

    test("emqx.conf asks DNS for the SRV record the zone holds, which names every node", () => {
        const conf = parameter(r, "/emqx/emqx.conf");
        assert.match(conf, /discovery_strategy = "dns"/);
        assert.match(conf, /record_type = "srv"/);
        const name = /dns \{\n\s+name = "([^"]+)"/.exec(conf)?.[1];
        const srv = ofType(r, "aws:route53/record:Record").filter((x) => x.inputs.type === "SRV");
        assert.equal(srv.length, 1);
        assert.equal(srv[0]!.inputs.name, name);
        const targets = (srv[0]!.inputs.records as string[]).map((x) => x.split(" ")[3]);
        assert.deepEqual(
            targets.map((t) => `emqx@${t}`),
            r.outputs.emqxNodeNames!.value,
        );
    });
});

describe("what pulumi up changes on the dev stack, by kind of change", () => {
    let base: ProgramRun;
    let scaled: ProgramRun;
    let maxconn: ProgramRun;
    let emqxChange: ProgramRun;
    before(async () => {
        [base, scaled, maxconn, emqxChange] = await Promise.all([
            runProgramOnce("dev"),
            runProgramOnce("dev", ["haproxy.instances=4"]),
            // Within the same number of EMQX listener ports per node (capacity/backend-ports.ts).
            runProgramOnce("dev", ["haproxy.maxconn=200000"]),
            runProgramOnce("dev", ['emqx.version="5.8.8"', "emqx.acceptors=32"]),
        ]);
    });

    test("more HAProxy instances: only the group's desired capacity (and the capacity it waits for)", () => {
        // Besides the group, only what watches it: the healthy-hosts alarm and the dashboard take
        // the new count (the capacity alarm follows the EMQX cluster, the lower of the two tiers).
        assert.deepEqual(changedBetween(base, scaled), [
            "aws:autoscaling/group:Group haproxy-group",
            "aws:cloudwatch/dashboard:Dashboard dashboard-dashboard",
            "aws:cloudwatch/metricAlarm:MetricAlarm alarms-nlb-healthy-hosts",
        ]);
        const group = (r: ProgramRun) => only(r, "aws:autoscaling/group:Group").inputs;
        const fields = Object.keys(group(scaled)).filter(
            (k) => JSON.stringify(group(scaled)[k]) !== JSON.stringify(group(base)[k]),
        );
        assert.deepEqual(fields.sort(), ["desiredCapacity", "waitForElbCapacity"]);
        assert.equal(group(scaled).desiredCapacity, 4);
    });

    test("a new maxconn: a new launch template version (the group rolls) and haproxy.cfg; no EMQX resource", () => {
        const changed = changedBetween(base, maxconn);
        assert.ok(changed.includes("aws:ec2/launchTemplate:LaunchTemplate haproxy-launch"));
        for (const k of changed) {
            assert.match(
                k,
                /^(aws:ec2\/launchTemplate:LaunchTemplate haproxy-launch|aws:ssm\/parameter:Parameter haproxy-files-haproxy\.cfg|aws:cloudwatch\/metricAlarm:MetricAlarm alarms-(fleet-capacity|haproxy-servers-down)|aws:cloudwatch\/dashboard:Dashboard dashboard-dashboard)$/,
            );
        }
    });

    test("a new emqx.conf and EMQX version: parameters and the association only, no EMQX instance replaced", () => {
        const changed = changedBetween(base, emqxChange);
        assert.ok(changed.includes("aws:ssm/parameter:Parameter emqx-files-emqx.conf"));
        assert.ok(changed.includes("aws:ssm/parameter:Parameter emqx-files-emqx-version"));
        for (const k of changed) {
            assert.match(
                k,
                /^aws:ssm\/(parameter:Parameter emqx-files-|association:Association emqx-sync-apply)/,
            );
        }
        // The user-data every node has is the same before and after: nothing to replace.
        assert.deepEqual(
            ofType(emqxChange, "aws:ec2/instance:Instance").map((i) => userDataOf(i.inputs)),
            ofType(base, "aws:ec2/instance:Instance").map((i) => userDataOf(i.inputs)),
        );
    });

    test("the SSM agent is installed before the apply step in every user-data; EMQX waits for its mount", () => {
        const scripts = [
            launchUserData(base),
            ...ofType(base, "aws:ec2/instance:Instance").map((i) => userDataOf(i.inputs)),
        ];
        for (const script of scripts) {
            const agent = script.indexOf("systemctl enable --now amazon-ssm-agent");
            const apply = script.search(/^\/usr\/local\/sbin\/mqtt-edge-apply-\w+ --boot$/m);
            assert.ok(agent > 0 && agent < apply, "agent before apply");
        }
        for (const instance of ofType(base, "aws:ec2/instance:Instance")) {
            assert.match(userDataOf(instance.inputs), /^RequiresMountsFor=\/var\/lib\/emqx$/m);
        }
    });
});

describe("program, stack dev: a new TLS session lifetime (ticket key rotation period)", () => {
    let base: ProgramRun;
    let longer: ProgramRun;
    before(async () => {
        [base, longer] = await Promise.all([
            runProgram("dev"),
            runProgram("dev", ["haproxy.tlsSessionLifetimeSeconds=7200"]),
        ]);
    });
    const key = (x: RecordedResource) => `${x.type} ${x.name}`;

    test("the ticket seed is one secret, shipped only as a SecureString HAProxy file", () => {
        const seeds = ofType(base, "random:index/randomBytes:RandomBytes");
        assert.equal(seeds.length, 1);
        assert.equal(seeds[0]?.inputs.length, 32);
        const seedParameter = ofType(base, "aws:ssm/parameter:Parameter").find((x) =>
            String(x.inputs.name).endsWith("/haproxy/tls-ticket-seed"),
        );
        assert.ok(seedParameter, "the seed reaches the HAProxy hosts through SSM");
        assert.equal(seedParameter.inputs.type, "SecureString");
        assert.ok(seedParameter.secretInputs.includes("value"), "stored as a secret in state");
        const seedHex = String(seedParameter.inputs.value).trim();
        const userData = [
            launchUserData(base),
            ...ofType(base, "aws:ec2/instance:Instance").map((i) => userDataOf(i.inputs)),
        ];
        for (const script of userData) assert.doesNotMatch(script, new RegExp(seedHex));
        for (const [name, output] of Object.entries(base.outputs)) {
            assert.doesNotMatch(JSON.stringify(output.value), new RegExp(seedHex), name);
        }
    });

    test("changes haproxy.cfg and the ticket key script in SSM, and no instance", () => {
        const byKey = new Map(base.resources.map((x) => [key(x), x]));
        const changed: string[] = [];
        for (const x of longer.resources) {
            const old = byKey.get(key(x));
            assert.ok(old, `${key(x)} is not new`);
            if (x.type.startsWith("tls:") || x.type.startsWith("command:")) continue;
            if (String(x.inputs.value ?? x.inputs.content).includes("-----BEGIN")) continue;
            if (JSON.stringify(old.inputs) !== JSON.stringify(x.inputs)) changed.push(key(x));
        }
        const allowed =
            /^aws:ssm\/(parameter:Parameter \S*-(haproxy\.cfg|tls-ticket-keys\.sh)|association:Association )/;
        for (const k of changed) assert.match(k, allowed);
        assert.ok(
            changed.some((k) => k.endsWith("haproxy.cfg")),
            "tune.ssl.lifetime changes",
        );
        assert.ok(
            changed.some((k) => k.endsWith("tls-ticket-keys.sh")),
            "the period changes",
        );
    });
});

describe("program, stack dev: the CA key algorithm it pins versus the newer default", () => {
    let pinned: ProgramRun;
    let unpinned: ProgramRun;
    before(async () => {
        [pinned, unpinned] = await Promise.all([
            runProgram("dev"),
            runProgram("dev", ['pki.caKeyAlgorithm="rsa-3072"']),
        ]);
    });
    const keyInputs = (r: ProgramRun, suffix: string) => {
        const key = ofType(r, "tls:index/privateKey:PrivateKey").find((x) =>
            x.name.endsWith(suffix),
        );
        assert.ok(key, suffix);
        return {
            algorithm: key.inputs.algorithm,
            curve: key.inputs.ecdsaCurve,
            bits: key.inputs.rsaBits,
        };
    };

    test("the committed stack keeps its P-384 chain: pulumi up replaces no CA key", () => {
        for (const suffix of ["-root-key", "-device-ca-key"]) {
            assert.deepEqual(keyInputs(pinned, suffix), {
                algorithm: "ECDSA",
                curve: "P384",
                bits: undefined,
            });
        }
    });

    test("dropping the pin changes both CA keys' algorithm, which the tls provider replaces", () => {
        for (const suffix of ["-root-key", "-device-ca-key"]) {
            assert.deepEqual(keyInputs(unpinned, suffix), {
                algorithm: "RSA",
                curve: undefined,
                bits: 3072,
            });
        }
    });
});
