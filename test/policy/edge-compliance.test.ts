/**
 * The whole AWS edge, built from the components under mocks, passes every policy of the pack:
 * each recorded resource goes through each policy's validateResource. And the same check catches
 * a deliberately opened 1883, so passing is not an accident of the fakes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { resourcePolicies, stackPolicies } from "../../policy/rules/all-policies.ts";
import { created, settle, settleAndReset } from "../aws/aws-mocks.ts";
import { stackViolations, violations } from "./fake-policy-args.ts";
import { programStack } from "./program-stack.ts";

const { EdgeNetwork } = await import("../../components/aws/network.ts");
const { EdgeSecurityGroups } = await import("../../components/aws/security-groups.ts");
const { DeviceNlb } = await import("../../components/aws/nlb.ts");
const { EdgePrivateZone } = await import("../../components/aws/private-zone.ts");
const { HaproxyFleet } = await import("../../components/aws/haproxy-fleet.ts");
const { EmqxCluster } = await import("../../components/aws/emqx-cluster.ts");
const aws = await import("@pulumi/aws");

function buildEdge() {
    const network = new EdgeNetwork("dev", { availabilityZones: ["eu-west-1a", "eu-west-1b"] });
    const groups = new EdgeSecurityGroups("dev", {
        vpcId: network.vpcId,
        devicePort: 8883,
        haproxyHealthPort: 8080,
        clientCidrs: ["0.0.0.0/0", "::/0"],
    });
    const nlb = new DeviceNlb("dev", {
        vpcId: network.vpcId,
        subnetIds: network.publicSubnets.map((s) => s.id),
        securityGroupId: groups.nlbGroupId,
        devicePort: 8883,
        healthCheckPort: 8080,
        healthCheckPath: "/healthz",
    });
    const zone = new EdgePrivateZone("dev", { zoneName: "edge.internal", vpcId: network.vpcId });
    new HaproxyFleet("dev-haproxy", {
        instanceCount: 2,
        groupName: "mqtt-edge-dev-haproxy",
        region: "eu-west-1",
        instanceType: "c7i.large",
        subnets: network.privateSubnets,
        securityGroupId: groups.haproxyGroupId,
        targetGroupArn: nlb.targetGroupArn,
        healthCheck: { port: 8080, path: "/healthz", sendProxy: false },
        maxconn: 500_000,
        haproxyCfg: "global\n",
        files: [
            {
                key: "server.pem",
                path: "/etc/haproxy/certs/server.pem",
                content: pulumi.secret(
                    "-----BEGIN PRIVATE KEY-----\nMIG\n-----END PRIVATE KEY-----\n",
                ),
                mode: "0600",
            },
        ],
        parameterPrefix: "/mqtt-edge/dev/haproxy",
    });
    new EmqxCluster("dev-emqx", {
        nodeCount: 3,
        instanceType: "c7i.xlarge",
        subnets: network.privateSubnets,
        securityGroupId: groups.emqxGroupId,
        zone: { zoneId: zone.zoneId, zoneName: zone.zoneName },
        emqxVersion: "5.8.9",
        maxConnections: 500_000,
        emqxConf: "node {}\n",
        dataVolumeGiB: 20,
        parameterPrefix: "/mqtt-edge/dev/emqx",
    });
    return groups;
}

async function allViolations(): Promise<string[]> {
    const found: string[] = [];
    for (const resource of created) {
        for (const policy of resourcePolicies) {
            const messages = await violations(
                policy,
                resource.type,
                resource.inputs,
                {},
                resource.name,
            );
            found.push(...messages.map((m) => `${policy.name}: ${m}`));
        }
    }
    for (const policy of stackPolicies) {
        const messages = await stackViolations(policy, programStack(created));
        found.push(...messages.map((m) => `${policy.name}: ${m}`));
    }
    return found;
}

test("the edge as the components build it violates no policy", async () => {
    await settleAndReset();
    buildEdge();
    await settle();
    assert.ok(created.length > 60, `a whole edge was recorded (${created.length} resources)`);
    assert.deepEqual(await allViolations(), []);
});

test("the same check reports a rule that opens 1883 to the VPC", async () => {
    await settleAndReset();
    const groups = buildEdge();
    new aws.vpc.SecurityGroupIngressRule("dev-oops", {
        securityGroupId: groups.emqxGroupId,
        ipProtocol: "tcp",
        fromPort: 1883,
        toPort: 1883,
        cidrIpv4: "10.40.0.0/16",
    });
    await settle();
    assert.deepEqual(await allViolations(), [
        "emqx-mqtt-only-from-haproxy: dev-oops rule: opens tcp port 1883 (includes 1883) to 10.40.0.0/16; 1883 may only be reached from the HAProxy security group",
        "emqx-ports-from-their-peers: dev-oops rule: opens tcp port 1883 (EMQX MQTT with PROXY v2, 1883) to 10.40.0.0/16; 1883 may only be reached from the haproxy group",
    ]);
});
