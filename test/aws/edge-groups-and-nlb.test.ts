/**
 * EdgeSecurityGroups and DeviceNlb under mocks: every rule of every group (least privilege), the
 * listener -> target group wiring, the client-IP modes and the settings for long-lived sessions.
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { created, named, ofType, outputValue, settle, settleAndReset } from "./aws-mocks.ts";

const { EdgeSecurityGroups } = await import("../../components/aws/security-groups.ts");
const { DeviceNlb } = await import("../../components/aws/nlb.ts");

/** Every rule as `direction group port peer`, sorted. */
/** The inputs of a vpc security group rule that the table reads. */
interface RuleInputs {
    dir: string;
    securityGroupId?: string;
    ipProtocol?: string;
    fromPort?: number;
    toPort?: number;
    referencedSecurityGroupId?: string;
    cidrIpv4?: string;
    cidrIpv6?: string;
}

function ruleTable(): string[] {
    const rules: RuleInputs[] = [
        ...ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => ({
            dir: "in",
            ...r.inputs,
        })),
        ...ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => ({
            dir: "out",
            ...r.inputs,
        })),
    ];
    return rules
        .map((r) => {
            assert.equal(r.ipProtocol, "tcp", "every rule is TCP on one port");
            assert.equal(r.fromPort, r.toPort, "every rule is one port");
            const peer = r.referencedSecurityGroupId ?? r.cidrIpv4 ?? r.cidrIpv6;
            return `${r.dir} ${String(r.securityGroupId).replace(/^sg-(.*)-id$/, "$1")} ${r.fromPort} ${String(peer).replace(/^sg-(.*)-id$/, "$1")}`;
        })
        .sort();
}

describe("EdgeSecurityGroups", () => {
    beforeEach(settleAndReset);

    test("default: device port open to clients on the NLB only, 1883 from HAProxy only, cluster ports inside EMQX", async () => {
        const groups = new EdgeSecurityGroups("sg", {
            vpcId: "vpc-1",
            devicePort: 8883,
            haproxyHealthPort: 8080,
            clientCidrs: ["0.0.0.0/0", "::/0"],
        });
        await settle();
        assert.deepEqual(
            ofType("aws:ec2/securityGroup:SecurityGroup").map((g) => [
                g.name,
                g.inputs.vpcId,
                g.inputs.ingress,
                g.inputs.egress,
            ]),
            [
                ["sg-nlb", "vpc-1", undefined, undefined],
                ["sg-haproxy", "vpc-1", undefined, undefined],
                ["sg-emqx", "vpc-1", undefined, undefined],
            ],
        );
        assert.deepEqual(
            ruleTable(),
            [
                "in emqx 1883 haproxy",
                "in emqx 4370 emqx",
                "in emqx 5370 emqx",
                "in haproxy 8080 nlb",
                "in haproxy 8883 nlb",
                "in nlb 8883 0.0.0.0/0",
                "in nlb 8883 ::/0",
                "out emqx 4370 emqx",
                "out emqx 443 0.0.0.0/0",
                "out emqx 5370 emqx",
                "out emqx 80 0.0.0.0/0",
                "out haproxy 1883 emqx",
                "out haproxy 443 0.0.0.0/0",
                "out haproxy 80 0.0.0.0/0",
                "out nlb 8080 haproxy",
                "out nlb 8883 haproxy",
            ].sort(),
        );
        assert.equal(await outputValue(groups.emqxGroupId), "sg-emqx-id");
    });

    test("a health check port other than 1883 opens that port from HAProxy only", async () => {
        new EdgeSecurityGroups("sg", {
            vpcId: "vpc-1",
            devicePort: 8883,
            haproxyHealthPort: 8080,
            clientCidrs: ["198.51.100.0/24"],
            emqxHealthCheckPort: 18083,
        });
        await settle();
        const table = ruleTable();
        assert.deepEqual(
            table.filter((rule) => / 18083 /.test(rule)),
            ["in emqx 18083 haproxy", "out haproxy 18083 emqx"],
        );
    });

    test("admin CIDRs open the dashboard and nothing else; a 1883 health check adds no port", async () => {
        new EdgeSecurityGroups("sg", {
            vpcId: "vpc-1",
            devicePort: 8883,
            haproxyHealthPort: 8080,
            clientCidrs: ["198.51.100.0/24"],
            dashboardAdminCidrs: ["203.0.113.7/32"],
            emqxHealthCheckPort: 1883,
        });
        await settle();
        const table = ruleTable();
        assert.ok(table.includes("in emqx 18083 203.0.113.7/32"));
        assert.ok(table.includes("in nlb 8883 198.51.100.0/24"));
        assert.ok(!table.some((rule) => rule.includes("0.0.0.0/0") && rule.startsWith("in")));
        assert.ok(!table.includes("in emqx 18083 haproxy"));
        assert.equal(table.filter((rule) => rule.startsWith("in emqx 1883")).length, 1);
    });

    test("several EMQX listener ports: one rule each way for the range, from HAProxy only", async () => {
        new EdgeSecurityGroups("sg", {
            vpcId: "vpc-1",
            devicePort: 8883,
            haproxyHealthPort: 8080,
            clientCidrs: ["0.0.0.0/0"],
            emqxHealthCheckPort: 1884,
            emqxMqttPorts: { first: 1883, last: 1885 },
        });
        await settle();
        const mqtt = [
            ...ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
            ...ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"),
        ].filter((r) => Number(r.inputs.fromPort) === 1883);
        assert.deepEqual(
            mqtt.map((r) => [r.name, r.inputs.toPort, r.inputs.referencedSecurityGroupId]).sort(),
            [
                ["sg-emqx-in-mqtt", 1885, "sg-haproxy-id"],
                ["sg-haproxy-out-mqtt", 1885, "sg-emqx-id"],
            ],
        );
        // a health port inside the range opens nothing more
        assert.ok(!created.some((r) => r.name === "sg-emqx-in-health"));
        assert.throws(
            () =>
                new EdgeSecurityGroups("bad", {
                    vpcId: "vpc-1",
                    devicePort: 8883,
                    haproxyHealthPort: 8080,
                    clientCidrs: ["0.0.0.0/0"],
                    emqxMqttPorts: { first: 1883, last: 1899 },
                }),
            /^Error: emqxMqttPorts: 1883-1899 is not allowed; use a range within 1883-1898$/,
        );
    });

    test("bad ports and CIDRs are refused", () => {
        const base = {
            vpcId: "vpc-1",
            devicePort: 8883,
            haproxyHealthPort: 8080,
            clientCidrs: ["0.0.0.0/0"],
        };
        assert.throws(
            () => new EdgeSecurityGroups("x1", { ...base, devicePort: 70000 }),
            /devicePort: 70000 is not allowed; use a TCP port from 1 to 65535/,
        );
        assert.throws(
            () => new EdgeSecurityGroups("x2", { ...base, clientCidrs: [] }),
            /clientCidrs: \[\] is not allowed/,
        );
        assert.throws(
            () => new EdgeSecurityGroups("x3", { ...base, clientCidrs: ["10.0.0.0"] }),
            /"10.0.0.0" is not allowed; use an IPv4 or IPv6 CIDR/,
        );
    });
});

describe("DeviceNlb", () => {
    beforeEach(settleAndReset);
    const base = {
        vpcId: "vpc-1",
        subnetIds: ["subnet-pa", "subnet-pb"],
        securityGroupId: "sg-nlb-id",
        devicePort: 8883,
        healthCheckPort: 8080,
        healthCheckPath: "/healthz",
    };

    test("preserve mode: listener forwards to the HAProxy target group; settings for long-lived sessions", async () => {
        const nlb = new DeviceNlb("edge", {
            ...base,
            tcpIdleTimeoutSeconds: 600,
            deregistrationDelaySeconds: 120,
        });
        await settle();
        assert.deepEqual(created.map((r) => r.type).sort(), [
            "aws:lb/listener:Listener",
            "aws:lb/loadBalancer:LoadBalancer",
            "aws:lb/targetGroup:TargetGroup",
            "mqtt-edge:aws:DeviceNlb",
        ]);
        const lb = named("edge-nlb").inputs;
        assert.equal(lb.loadBalancerType, "network");
        assert.equal(lb.internal, false);
        assert.deepEqual(lb.securityGroups, ["sg-nlb-id"]);
        assert.deepEqual(lb.subnets, ["subnet-pa", "subnet-pb"]);
        assert.equal(lb.enableCrossZoneLoadBalancing, true);
        const tg = named("edge-haproxy").inputs;
        assert.deepEqual(
            [
                tg.protocol,
                tg.port,
                tg.targetType,
                tg.proxyProtocolV2,
                tg.preserveClientIp,
                tg.connectionTermination,
                tg.deregistrationDelay,
            ],
            ["TCP", 8883, "instance", false, "true", true, 120],
        );
        assert.deepEqual(tg.healthCheck, {
            enabled: true,
            protocol: "HTTP",
            port: "8080",
            path: "/healthz",
            matcher: "200",
            interval: 10,
            timeout: 5,
            healthyThreshold: 3,
            unhealthyThreshold: 3,
        });
        const listener = named("edge-device").inputs;
        assert.equal(listener.loadBalancerArn, await outputValue(nlb.arn));
        assert.deepEqual(listener.defaultActions, [
            { type: "forward", targetGroupArn: await outputValue(nlb.targetGroupArn) },
        ]);
        assert.deepEqual(
            [listener.protocol, listener.port, listener.tcpIdleTimeoutSeconds],
            ["TCP", 8883, 600],
        );
        assert.equal(nlb.haproxyAcceptsProxy, false);
        assert.equal(await outputValue(nlb.dnsName), "edge-nlb-0123.elb.eu-west-1.amazonaws.com");
    });

    test("proxy-v2 mode: the target group sends PROXY v2 and HAProxy must accept it; internal option", async () => {
        const nlb = new DeviceNlb("edge", { ...base, clientIpMode: "proxy-v2", internal: true });
        await settle();
        const tg = named("edge-haproxy").inputs;
        assert.equal(tg.proxyProtocolV2, true);
        assert.equal(tg.preserveClientIp, "false");
        assert.equal(named("edge-nlb").inputs.internal, true);
        assert.equal(named("edge-device").inputs.tcpIdleTimeoutSeconds, 350);
        assert.equal(nlb.clientIpMode, "proxy-v2");
        assert.equal(nlb.haproxyAcceptsProxy, true);
    });

    test("out-of-range settings are refused", () => {
        assert.throws(
            () => new DeviceNlb("n1", { ...base, tcpIdleTimeoutSeconds: 59 }),
            /^Error: tcpIdleTimeoutSeconds: 59 is not allowed; use a whole number from 60 to 6000$/,
        );
        assert.throws(
            () => new DeviceNlb("n2", { ...base, tcpIdleTimeoutSeconds: 6001 }),
            /tcpIdleTimeoutSeconds: 6001 is not allowed/,
        );
        assert.throws(
            () => new DeviceNlb("n3", { ...base, clientIpMode: "v1" as never }),
            /clientIpMode: "v1" is not allowed; use "preserve" or "proxy-v2"/,
        );
        assert.throws(
            () => new DeviceNlb("n4", { ...base, healthCheckPath: "healthz" }),
            /healthCheckPath: "healthz" is not allowed/,
        );
    });
});
