/**
 * Alarms, the dashboard and the hosts' CloudWatch agent, as the whole program declares them for
 * the dev stack under mocks: each alarm with its metric, threshold and SNS action; the agent's
 * permissions and nothing more; what `pulumi up` would do to live hosts when a threshold changes
 * (only alarms and the dashboard) and when the agent is switched on (every host replaced).
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { fleetDeviceCapacity } from "../../capacity/stack-capacity.ts";
import { parseEdgeConfig } from "../../infra/config.ts";
import { emqxListenerPlan } from "../../infra/emqx-listener-plan.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { userDataOf } from "../support/user-data.ts";
import { runProgram } from "./program-process.ts";
import type { ProgramRun, RecordedResource } from "./run-program.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const config = parseEdgeConfig(readStackFile(projectDir, "dev").raw);

const ofType = (r: ProgramRun, type: string) => r.resources.filter((x) => x.type === type);
const key = (x: RecordedResource) => `${x.type} ${x.name}`;
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

let dev: ProgramRun;
let tuned: ProgramRun;
let withoutAgent: ProgramRun;

before(async () => {
    [dev, tuned, withoutAgent] = await Promise.all([
        runProgram("dev"),
        runProgram("dev", ["alarms.capacityPercent=70", 'alarms.email="ops@example.com"']),
        runProgram("dev", ["alarms.hostAgent=false"]),
    ]);
});

function alarm(r: ProgramRun, id: string): RecordedResource {
    const found = ofType(r, ALARM).filter((a) => a.inputs.name === `mqtt-edge-dev-${id}`);
    assert.equal(found.length, 1, `one alarm ${id}`);
    return found[0] as RecordedResource;
}

describe("dev declares its alarms, each notifying the SNS topic", () => {
    test("the topic is an output; no e-mail subscription unless configured", () => {
        const [topic] = ofType(dev, "aws:sns/topic:Topic");
        assert.equal(topic?.inputs.name, "mqtt-edge-dev-alarms");
        assert.equal(dev.outputs.alarmTopicArn?.secret, false);
        assert.match(String(dev.outputs.alarmTopicArn?.value), /alarms-topic$/);
        assert.equal(ofType(dev, "aws:sns/topicSubscription:TopicSubscription").length, 0);
    });

    test("every alarm fires and clears to the topic", () => {
        const topicArn = dev.outputs.alarmTopicArn?.value;
        const alarms = ofType(dev, ALARM);
        assert.deepEqual(alarms.map((a) => a.inputs.name).sort(), [
            "mqtt-edge-dev-crl-next-update",
            "mqtt-edge-dev-emqx-file-descriptors",
            "mqtt-edge-dev-emqx-memory",
            "mqtt-edge-dev-emqx-nodes-running",
            "mqtt-edge-dev-fleet-capacity",
            "mqtt-edge-dev-haproxy-file-descriptors",
            "mqtt-edge-dev-haproxy-memory",
            "mqtt-edge-dev-haproxy-servers-down",
            "mqtt-edge-dev-nlb-healthy-hosts",
            "mqtt-edge-dev-nlb-unhealthy-hosts",
        ]);
        for (const a of alarms) {
            assert.deepEqual(a.inputs.alarmActions, [topicArn], String(a.inputs.name));
            assert.deepEqual(a.inputs.okActions, [topicArn], String(a.inputs.name));
            assert.match(String(a.inputs.alarmDescription), /docs\/operations\.md#/);
        }
    });

    test("NLB: healthy hosts of the target group below the HAProxy instance count", () => {
        const a = alarm(dev, "nlb-healthy-hosts");
        const [lb] = ofType(dev, "aws:lb/loadBalancer:LoadBalancer");
        const [tg] = ofType(dev, "aws:lb/targetGroup:TargetGroup");
        assert.ok(lb && tg);
        assert.equal(a.inputs.namespace, "AWS/NetworkELB");
        assert.equal(a.inputs.metricName, "HealthyHostCount");
        // The arn suffixes the provider computes (test/support/aws-fake.ts mimics their shape).
        const dimensions = a.inputs.dimensions as Record<string, string>;
        assert.deepEqual(Object.keys(dimensions).sort(), ["LoadBalancer", "TargetGroup"]);
        assert.match(String(dimensions.TargetGroup), new RegExp(`^targetgroup/${tg.name}/`));
        assert.match(String(dimensions.LoadBalancer), new RegExp(`^net/${lb.name}/`));
        assert.equal(a.inputs.comparisonOperator, "LessThanThreshold");
        assert.equal(a.inputs.threshold, config.haproxy.instances);
        assert.equal(a.inputs.treatMissingData, "breaching");
    });

    test("NLB: an unhealthy target for unhealthyMinutes (default 5) in a row", () => {
        const a = alarm(dev, "nlb-unhealthy-hosts");
        assert.equal(a.inputs.metricName, "UnHealthyHostCount");
        assert.equal(a.inputs.comparisonOperator, "GreaterThanThreshold");
        assert.equal(a.inputs.threshold, 0);
        assert.equal(a.inputs.period, 60);
        assert.equal(a.inputs.evaluationPeriods, 5);
        assert.equal(a.inputs.datapointsToAlarm, 5);
    });

    test("fleet capacity: active flows above 80% of what the fleet holds", () => {
        const a = alarm(dev, "fleet-capacity");
        assert.equal(a.inputs.metricName, "ActiveFlowCount");
        // what the capacity model says the fleet holds
        assert.equal(a.inputs.threshold, Math.floor(0.8 * fleetDeviceCapacity(config)));
        assert.equal(
            alarm(tuned, "fleet-capacity").inputs.threshold,
            Math.floor(0.7 * fleetDeviceCapacity(config)),
        );
    });

    test("CRLs: hours to the loaded CRLs' nextUpdate below 5 days, silence counts as breaching", () => {
        const a = alarm(dev, "crl-next-update");
        assert.equal(a.inputs.namespace, "mqtt-edge/dev");
        assert.equal(a.inputs.metricName, "crl_hours_to_next_update");
        assert.deepEqual(a.inputs.dimensions, { Group: "haproxy" });
        assert.equal(a.inputs.statistic, "Minimum");
        assert.equal(a.inputs.comparisonOperator, "LessThanThreshold");
        assert.equal(a.inputs.threshold, 120);
        assert.equal(a.inputs.treatMissingData, "breaching");
    });

    test("exporters and hosts: EMQX nodes running, HAProxy servers up, memory, descriptors", () => {
        const expectations: Array<[string, string, string, number]> = [
            ["emqx-nodes-running", "emqx_cluster_nodes_running", "emqx", config.emqx.nodes],
            [
                "haproxy-servers-down",
                "haproxy_backend_active_servers",
                "haproxy",
                // one server line per EMQX node and listener port
                config.emqx.nodes * emqxListenerPlan(config).ports.length,
            ],
            ["haproxy-memory", "mem_used_percent", "haproxy", 85],
            ["emqx-memory", "mem_used_percent", "emqx", 85],
            ["haproxy-file-descriptors", "fd_used_percent", "haproxy", 80],
            ["emqx-file-descriptors", "fd_used_percent", "emqx", 80],
        ];
        for (const [id, metric, group, threshold] of expectations) {
            const a = alarm(dev, id);
            assert.equal(a.inputs.metricName, metric, id);
            assert.deepEqual(a.inputs.dimensions, { Group: group }, id);
            assert.equal(a.inputs.threshold, threshold, id);
        }
    });

    test("alarms.email subscribes that address to the topic", () => {
        const subscriptions = ofType(tuned, "aws:sns/topicSubscription:TopicSubscription");
        assert.equal(subscriptions.length, 1);
        assert.equal(subscriptions[0]?.inputs.protocol, "email");
        assert.equal(subscriptions[0]?.inputs.endpoint, "ops@example.com");
    });
});

describe("the dashboard", () => {
    test("one graph per alarm with its threshold, two load graphs; its URL is an output", () => {
        const [dashboard] = ofType(dev, "aws:cloudwatch/dashboard:Dashboard");
        const body = JSON.parse(String(dashboard?.inputs.dashboardBody)) as {
            widgets: Array<{
                type: string;
                properties: {
                    metrics?: string[][];
                    annotations?: { horizontal: { value: number }[] };
                };
            }>;
        };
        const graphs = body.widgets.filter((w) => w.type === "metric");
        const alarms = ofType(dev, ALARM);
        assert.equal(graphs.length, alarms.length + 2);
        for (const a of alarms) {
            const graph = graphs.find(
                (g) =>
                    g.properties.metrics?.[0]?.[1] === a.inputs.metricName &&
                    g.properties.annotations?.horizontal[0]?.value === a.inputs.threshold,
            );
            assert.ok(graph, `a graph of ${String(a.inputs.name)} with its threshold`);
        }
        const unalarmed = graphs.filter((g) => g.properties.annotations === undefined);
        assert.deepEqual(
            unalarmed.map((g) => g.properties.metrics?.[0]?.[1]),
            ["haproxy_frontend_current_sessions", "emqx_connections_count"],
        );
        assert.equal(
            dev.outputs.monitoringDashboardUrl?.value,
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=mqtt-edge-dev",
        );
    });
});

describe("the hosts' CloudWatch agent", () => {
    test("the host role gains only the agent's documented actions, scoped to the stack", () => {
        const extra = ofType(dev, "aws:iam/rolePolicy:RolePolicy").filter((p) =>
            p.name.endsWith("-host-extra"),
        );
        assert.deepEqual(extra.map((p) => p.name).sort(), [
            "emqx-host-extra",
            "haproxy-host-extra",
        ]);
        for (const policy of extra) {
            const doc = JSON.parse(String(policy.inputs.policy)) as {
                Statement: Array<{
                    Action: string[];
                    Resource: string | string[];
                    Condition?: unknown;
                }>;
            };
            assert.deepEqual(doc.Statement.flatMap((s) => s.Action).sort(), [
                "cloudwatch:PutMetricData",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ]);
            const [metrics, logs] = doc.Statement;
            assert.deepEqual(metrics?.Condition, {
                StringEquals: { "cloudwatch:namespace": "mqtt-edge/dev" },
            });
            assert.deepEqual(logs?.Resource, [
                "arn:aws:logs:eu-west-1:123456789012:log-group:/mqtt-edge/dev/host-metrics",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/mqtt-edge/dev/host-metrics:log-stream:*",
            ]);
        }
        // No managed policy for the agent (CloudWatchAgentServerPolicy grants logs and X-Ray on *).
        const managed = ofType(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map(
            (a) => a.inputs.policyArn,
        );
        assert.ok(
            managed.every((arn) => arn === "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
        );
    });

    test("every host's user-data carries the agent config, scraping only its loopback exporter", () => {
        for (const instance of ofType(dev, "aws:ec2/instance:Instance")) {
            const userData = userDataOf(instance.inputs);
            const scrape =
                /cat > '\/etc\/mqtt-edge\/cloudwatch-prometheus\.yaml' <<'MQTT_EDGE_EOF'\n([\s\S]*?)MQTT_EDGE_EOF/.exec(
                    userData,
                );
            assert.ok(scrape, instance.name);
            const parsed = parseYaml(scrape[1] as string) as {
                scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
            };
            const targets = parsed.scrape_configs.flatMap((c) =>
                c.static_configs.flatMap((s) => s.targets),
            );
            assert.ok(
                targets.length > 0 && targets.every((t) => t.startsWith("127.0.0.1:")),
                targets.join(),
            );
            const agent =
                /cat > '\/etc\/mqtt-edge\/cloudwatch-agent\.json' <<'MQTT_EDGE_EOF'\n([\s\S]*?)MQTT_EDGE_EOF/.exec(
                    userData,
                );
            assert.ok(agent, instance.name);
            assert.equal(JSON.parse(agent[1] as string).metrics.namespace, "mqtt-edge/dev");
        }
    });
});

describe("what pulumi up does to live hosts", () => {
    function changed(before: ProgramRun, after: ProgramRun) {
        const byKey = new Map(before.resources.map((x) => [key(x), x]));
        const afterKeys = new Set(after.resources.map(key));
        const updated: string[] = [];
        for (const x of after.resources) {
            const old = byKey.get(key(x));
            if (!old) continue;
            // Every run makes fresh keys and certificates, so what holds them differs anyway, and
            // so does the content hash the HAProxy association carries. haproxy.cfg and emqx.conf
            // have no certificate in them: a change of theirs still shows.
            if (x.type.startsWith("tls:") || x.type.startsWith("command:")) continue;
            // The CRLs are an S3 object (content), the rest SSM parameters (value).
            if (String(x.inputs.value ?? x.inputs.content).includes("-----BEGIN")) continue;
            if (x.type === "aws:ssm/association:Association") continue;
            if (JSON.stringify(old.inputs) !== JSON.stringify(x.inputs)) updated.push(key(x));
        }
        return {
            added: after.resources.map(key).filter((k) => !byKey.has(k)),
            removed: before.resources.map(key).filter((k) => !afterKeys.has(k)),
            updated,
        };
    }

    test("a threshold or the e-mail: only alarms, the dashboard and a subscription; no host touched", () => {
        const diff = changed(dev, tuned);
        assert.deepEqual(diff.removed, []);
        assert.deepEqual(diff.added, ["aws:sns/topicSubscription:TopicSubscription alarms-email"]);
        assert.deepEqual(diff.updated.sort(), [
            "aws:cloudwatch/dashboard:Dashboard dashboard-dashboard",
            "aws:cloudwatch/metricAlarm:MetricAlarm alarms-fleet-capacity",
        ]);
    });

    test("switching the agent on adds its pieces, rolls the HAProxy group and changes no EMQX node", () => {
        const diff = changed(withoutAgent, dev);
        assert.deepEqual(diff.removed, []);
        const addedTypes = [...new Set(diff.added.map((k) => k.split(" ")[0]))].sort();
        assert.deepEqual(addedTypes, [
            "aws:cloudwatch/logGroup:LogGroup",
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "aws:iam/rolePolicy:RolePolicy",
            "mqtt-edge:aws:HostMetrics",
        ]);
        // HAProxy: a new launch template version, which the group rolls (instance refresh).
        assert.ok(diff.updated.includes("aws:ec2/launchTemplate:LaunchTemplate haproxy-launch"));
        // EMQX: the rendered user-data gains the agent, but every node ignores user-data changes
        // (components/aws/emqx-cluster.ts); a node takes it only when moved with emqx.refreshNode.
        const nodes = diff.updated.filter((k) => k.startsWith("aws:ec2/instance:Instance"));
        assert.equal(nodes.length, config.emqx.nodes);
        assert.ok(diff.updated.includes("aws:cloudwatch/dashboard:Dashboard dashboard-dashboard"));
    });
});
