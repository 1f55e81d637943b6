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
import { parseEdgeConfig } from "../../infra/config.ts";
import { emqxListenerPlan } from "../../infra/emqx-listener-plan.ts";
import { listStacks, readStackFile } from "../../infra/stack-file.ts";
import { DATA_VOLUME_PLACEHOLDER, renderStackFiles } from "../../infra/stack-files.ts";
import { allPolicies } from "../../policy/rules/all-policies.ts";
import { violations } from "../policy/fake-policy-args.ts";
import { runProgram } from "./program-process.ts";
import type { ProgramRun, RecordedResource } from "./run-program.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;

export { runProgram };

const ofType = (r: ProgramRun, type: string) => r.resources.filter((x) => x.type === type);
const only = (r: ProgramRun, type: string): RecordedResource => {
    const found = ofType(r, type);
    assert.equal(found.length, 1, `one ${type}`);
    return found[0]!;
};
const parameter = (r: ProgramRun, suffix: string): string => {
    const found = ofType(r, "aws:ssm/parameter:Parameter").filter((p) =>
        String(p.inputs.name).endsWith(suffix),
    );
    assert.equal(found.length, 1, `one parameter ending ${suffix}`);
    return String(found[0]!.inputs.value);
};

const awsStacks = listStacks(projectDir).filter(
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
            r = await runProgram(stack);
        });

        test("resource graph: one NLB, a listener, a target group, HAProxy and EMQX instances", () => {
            assert.equal(ofType(r, "aws:lb/loadBalancer:LoadBalancer").length, 1);
            assert.equal(ofType(r, "aws:lb/listener:Listener").length, 1);
            assert.equal(ofType(r, "aws:lb/targetGroup:TargetGroup").length, 1);
            assert.equal(
                ofType(r, "aws:ec2/instance:Instance").length,
                config.haproxy.instances + config.emqx.nodes,
            );
            assert.equal(
                ofType(r, "aws:lb/targetGroupAttachment:TargetGroupAttachment").length,
                config.haproxy.instances,
            );
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
            const haproxyIds = [...(r.outputs.haproxyInstanceIds!.value as string[])].sort();
            const targets = ofType(r, "aws:lb/targetGroupAttachment:TargetGroupAttachment")
                .map((a) => String(a.inputs.targetId))
                .sort();
            assert.deepEqual(targets, haproxyIds);
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

        test("security groups: 1883 only from HAProxy, cluster ports only inside EMQX, device port only via the NLB", () => {
            const ingress = ofType(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
            const emqxGroup = ofType(r, "aws:ec2/securityGroup:SecurityGroup").find((g) =>
                /emqx/.test(g.name),
            );
            assert.ok(emqxGroup);
            for (const rule of ingress) {
                const from = Number(rule.inputs.fromPort);
                const to = Number(rule.inputs.toPort);
                const covers = (port: number) => from <= port && port <= to;
                if (covers(1883) || covers(4370) || covers(5370) || covers(18083)) {
                    // None of these is ever open to a CIDR, except the dashboard to admin CIDRs.
                    if (covers(18083) && rule.inputs.cidrIpv4) {
                        assert.ok(config.network.adminCidrs.includes(String(rule.inputs.cidrIpv4)));
                        continue;
                    }
                    assert.equal(rule.inputs.cidrIpv4, undefined, `${rule.name} has a CIDR`);
                    assert.ok(rule.inputs.referencedSecurityGroupId, `${rule.name} names a group`);
                }
                const cidr = rule.inputs.cidrIpv4;
                if (cidr !== undefined) {
                    // The only CIDR rules: devices to the NLB's device port, admins to the
                    // dashboard, and hosts inside the VPC to the SSM endpoints.
                    const allowed =
                        (from === config.nlb.devicePort &&
                            config.network.clientCidrs.includes(String(cidr))) ||
                        (from === 18083 && config.network.adminCidrs.includes(String(cidr))) ||
                        (from === 443 && cidr === config.network.vpcCidr);
                    assert.ok(allowed, `${rule.name} opens ${from} to ${String(cidr)}`);
                    assert.equal(from, to, `${rule.name} opens a port range`);
                }
                assert.notEqual(rule.inputs.ipProtocol, "-1", `${rule.name} opens all ports`);
            }
            for (const instance of ofType(r, "aws:ec2/instance:Instance")) {
                assert.notEqual(instance.inputs.associatePublicIpAddress, true, instance.name);
            }
        });

        test("HAProxy alone in the proxy subnets; EMQX admits PROXY v2 from exactly those", () => {
            const haproxyIds = new Set(r.outputs.haproxyInstanceIds!.value as string[]);
            for (const instance of ofType(r, "aws:ec2/instance:Instance")) {
                const subnet = String(instance.inputs.subnetId);
                const isHaproxy = /^haproxy-/.test(
                    String((instance.inputs.tags as Record<string, string>).Name),
                );
                assert.match(
                    subnet,
                    isHaproxy ? /-proxy-\d+-id$/ : /-private-\d+-id$/,
                    instance.name,
                );
            }
            assert.equal(haproxyIds.size, config.haproxy.instances);
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
            for (const resource of r.resources) {
                for (const policy of allPolicies) {
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
            // The cookie and dashboard password as the hosts get them (the secrets file's values).
            const envLines = parameter(r, "/emqx/secrets.env")
                .split("\n")
                .filter((l) => l.includes("="))
                .map((l) => l.slice(l.indexOf("=") + 1).replace(/^"|"$/g, ""));
            assert.ok(envLines.length >= 2, "cookie and password in the secrets file");
            const forbidden = [...envLines, String(r.outputs.dashboardPassword?.value)];
            const plain = Object.entries(r.outputs)
                .filter(([, o]) => !o.secret)
                .map(([k, o]) => `${k}=${JSON.stringify(o.value)}`);
            const userData = ofType(r, "aws:ec2/instance:Instance").map((i) =>
                String(i.inputs.userData),
            );
            for (const [where, texts] of [
                ["plain outputs", plain],
                ["user-data", userData],
            ] as const) {
                for (const text of texts) {
                    assert.doesNotMatch(text, /PRIVATE KEY/, where);
                    for (const secret of forbidden) {
                        assert.ok(!text.includes(secret), `a secret value appears in ${where}`);
                    }
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

        test("npm run render writes exactly the user-data each host gets (but the data volume id)", () => {
            const rendered = renderStackFiles(config, { stack });
            const hosts = [
                ...(r.outputs.haproxyHostnames!.value as string[]),
                ...(r.outputs.emqxHostnames!.value as string[]),
            ];
            const instances = ofType(r, "aws:ec2/instance:Instance");
            const names = instances.map((i) =>
                String((i.inputs.tags as Record<string, string>).Name),
            );
            assert.deepEqual([...names].sort(), [...hosts].sort());
            for (const [index, instance] of instances.entries()) {
                const hostname = names[index] as string;
                // The volume id appears as vol-<hex> and, in the NVMe device name, vol<hex>.
                const userData = String(instance.inputs.userData).replace(
                    /vol(-?)[0-9a-f]{17}/g,
                    (_, dash) =>
                        dash ? DATA_VOLUME_PLACEHOLDER : DATA_VOLUME_PLACEHOLDER.replace("-", ""),
                );
                assert.equal(rendered.get(`cloud-init/${hostname}.sh`), userData, hostname);
            }
        });

        test("every user-data script passes bash -n and shellcheck", async () => {
            const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-userdata-"));
            try {
                const scripts = [
                    ...new Set(
                        ofType(r, "aws:ec2/instance:Instance").map((i) =>
                            String(i.inputs.userData),
                        ),
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
            const crls = parameter(r, "/haproxy/crl.pem");
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
        [three, five] = await Promise.all([runProgram("dev"), runProgram("dev", ["emqx.nodes=5"])]);
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
            if (String(x.inputs.value).includes("-----BEGIN")) continue;
            if (JSON.stringify(old.inputs) !== JSON.stringify(x.inputs)) changed.push(key(x));
        }
        // The alarms on EMQX nodes and HAProxy servers follow the node count, as does the
        // dashboard. With one node spare, 3 nodes need 2 listener ports per node to reach maxconn
        // 250000 and 5 nodes need 1: the one MQTT rule each way narrows in place.
        const allowed =
            /^(aws:ssm\/(parameter:Parameter \S*-(haproxy\.cfg|emqx\.conf)|association:Association )|aws:cloudwatch\/metricAlarm:MetricAlarm alarms-(emqx-nodes-running|haproxy-servers-down)$|aws:cloudwatch\/dashboard:Dashboard |aws:vpc\/security\S+ groups-(emqx-in|haproxy-out)-mqtt$)/;
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
