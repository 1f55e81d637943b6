/**
 * EdgeNetwork under mocks: the exact resource graph of a created VPC (single NAT and per-zone NAT),
 * the SSM endpoints, and the adopt-an-existing-VPC mode. What this does not prove: that AWS
 * accepts the layout (no provider runs here).
 */
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { created, named, ofType, outputValue, settle, settleAndReset } from "./aws-mocks.ts";

const { EdgeNetwork } = await import("../../components/aws/network.ts");

function countByType(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const resource of created) {
        counts[resource.type] = (counts[resource.type] ?? 0) + 1;
    }
    return counts;
}

describe("EdgeNetwork creating a VPC", () => {
    beforeEach(settleAndReset);

    test("two zones, one NAT: the exact resource graph", async () => {
        const network = new EdgeNetwork("net", {
            availabilityZones: ["eu-west-1a", "eu-west-1b"],
            tags: { stack: "test" },
        });
        await settle();
        assert.deepEqual(countByType(), {
            "mqtt-edge:aws:EdgeNetwork": 1,
            "aws:ec2/vpc:Vpc": 1,
            "aws:ec2/internetGateway:InternetGateway": 1,
            "aws:ec2/routeTable:RouteTable": 3,
            "aws:ec2/subnet:Subnet": 6,
            "aws:ec2/routeTableAssociation:RouteTableAssociation": 6,
            "aws:ec2/eip:Eip": 1,
            "aws:ec2/natGateway:NatGateway": 1,
            "aws:ec2/securityGroup:SecurityGroup": 1,
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 1,
            "aws:ec2/vpcEndpoint:VpcEndpoint": 4,
        });
        const vpc = named("net-vpc").inputs;
        assert.equal(vpc.cidrBlock, "10.40.0.0/16");
        assert.equal(vpc.enableDnsHostnames, true);
        assert.equal(vpc.enableDnsSupport, true);
        assert.deepEqual(
            ofType("aws:ec2/subnet:Subnet").map((s) => [
                s.name,
                s.inputs.availabilityZone,
                s.inputs.cidrBlock,
                s.inputs.mapPublicIpOnLaunch,
            ]),
            [
                ["net-public-1", "eu-west-1a", "10.40.0.0/21", false],
                ["net-public-2", "eu-west-1b", "10.40.8.0/21", false],
                ["net-private-1", "eu-west-1a", "10.40.128.0/21", false],
                ["net-proxy-1", "eu-west-1a", "10.40.64.0/21", false],
                ["net-private-2", "eu-west-1b", "10.40.136.0/21", false],
                ["net-proxy-2", "eu-west-1b", "10.40.72.0/21", false],
            ],
        );
        // Both private route tables go through the one NAT gateway.
        for (const table of ["net-private-1", "net-private-2"]) {
            const routes = ofType("aws:ec2/routeTable:RouteTable").find((r) => r.name === table)
                ?.inputs.routes;
            assert.deepEqual(routes, [{ cidrBlock: "0.0.0.0/0", natGatewayId: "net-nat-1-id" }]);
        }
        assert.deepEqual(named("net-public").inputs.routes, [
            { cidrBlock: "0.0.0.0/0", gatewayId: "net-igw-id" },
        ]);
        assert.deepEqual(
            network.privateSubnets.map((s) => s.availabilityZone),
            ["eu-west-1a", "eu-west-1b"],
        );
        assert.equal(
            await outputValue(pulumi.output(network.privateSubnets[1]?.id)),
            "net-private-2-id",
        );
        const vpcId = await outputValue(network.vpcId);
        assert.match(vpcId, /^vpc-[0-9a-f]{8}$/);
        assert.ok(ofType("aws:ec2/subnet:Subnet").every((s) => s.inputs.vpcId === vpcId));
    });

    test("SSM endpoints: interface type, private DNS, private subnets, HTTPS from the VPC only", async () => {
        new EdgeNetwork("net", { availabilityZones: ["eu-west-1a", "eu-west-1b"] });
        await settle();
        const endpoints = ofType("aws:ec2/vpcEndpoint:VpcEndpoint").filter(
            (e) => e.inputs.vpcEndpointType === "Interface",
        );
        assert.deepEqual(endpoints.map((e) => e.inputs.serviceName).sort(), [
            "com.amazonaws.eu-west-1.ec2messages",
            "com.amazonaws.eu-west-1.ssm",
            "com.amazonaws.eu-west-1.ssmmessages",
        ]);
        for (const endpoint of endpoints) {
            assert.equal(endpoint.inputs.vpcEndpointType, "Interface");
            assert.equal(endpoint.inputs.privateDnsEnabled, true);
            assert.deepEqual(endpoint.inputs.subnetIds, ["net-private-1-id", "net-private-2-id"]);
            assert.deepEqual(endpoint.inputs.securityGroupIds, ["net-ssm-endpoints-id"]);
        }
        const https = named("net-ssm-endpoints-https").inputs;
        assert.deepEqual(
            [https.ipProtocol, https.fromPort, https.toPort, https.cidrIpv4],
            ["tcp", 443, 443, "10.40.0.0/16"],
        );
    });

    test("S3 gateway endpoint on every private route table (the proxy subnets share them)", async () => {
        new EdgeNetwork("net", { availabilityZones: ["eu-west-1a", "eu-west-1b"] });
        await settle();
        const s3 = named("net-s3").inputs;
        assert.deepEqual(
            [s3.serviceName, s3.vpcEndpointType, s3.routeTableIds],
            ["com.amazonaws.eu-west-1.s3", "Gateway", ["net-private-1-id", "net-private-2-id"]],
        );
        const proxyTables = ofType("aws:ec2/routeTableAssociation:RouteTableAssociation")
            .filter((a) => /^net-proxy-\d$/.test(a.name))
            .map((a) => a.inputs.routeTableId);
        assert.deepEqual(proxyTables, ["net-private-1-id", "net-private-2-id"]);
    });

    test("one NAT per zone: each private route table uses its own zone's NAT", async () => {
        new EdgeNetwork("net", {
            availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            natGatewayPerZone: true,
            cidrBlock: "10.50.0.0/16",
        });
        await settle();
        const nats = ofType("aws:ec2/natGateway:NatGateway");
        assert.deepEqual(
            nats.map((n) => n.inputs.subnetId),
            ["net-public-1-id", "net-public-2-id", "net-public-3-id"],
        );
        for (const zone of [1, 2, 3]) {
            const table = ofType("aws:ec2/routeTable:RouteTable").find(
                (r) => r.name === `net-private-${zone}`,
            )!;
            assert.deepEqual(table.inputs.routes, [
                { cidrBlock: "0.0.0.0/0", natGatewayId: `net-nat-${zone}-id` },
            ]);
        }
        assert.equal(ofType("aws:ec2/eip:Eip").length, 3);
    });

    test("bad zone lists are refused", () => {
        assert.throws(
            () => new EdgeNetwork("bad", { availabilityZones: ["eu-west-1a"] }),
            /^Error: availabilityZones: 1 zones is not allowed; use 2 to 8$/,
        );
        assert.throws(
            () => new EdgeNetwork("bad2", { availabilityZones: ["eu-west-1a", "eu-west-1a"] }),
            /availabilityZones: \["eu-west-1a","eu-west-1a"\] is not allowed; list each zone once/,
        );
    });
});

describe("EdgeNetwork adopting an existing VPC", () => {
    beforeEach(settleAndReset);

    const existing = {
        vpcId: "vpc-existing",
        cidrBlock: "172.31.0.0/16",
        publicSubnets: [
            { id: "subnet-pa", availabilityZone: "eu-west-1a" },
            { id: "subnet-pb", availabilityZone: "eu-west-1b" },
        ],
        privateSubnets: [
            { id: "subnet-a", availabilityZone: "eu-west-1a" },
            { id: "subnet-b", availabilityZone: "eu-west-1b" },
        ],
    };

    test("creates nothing by default and passes the VPC through", async () => {
        const network = new EdgeNetwork("net", { existingVpc: existing });
        await settle();
        assert.deepEqual(
            created.map((r) => r.type),
            ["mqtt-edge:aws:EdgeNetwork"],
        );
        assert.equal(await outputValue(network.vpcId), "vpc-existing");
        assert.deepEqual(network.privateSubnets, existing.privateSubnets);
    });

    test("creates the SSM endpoints in it when asked", async () => {
        new EdgeNetwork("net", { existingVpc: existing, ssmEndpoints: true, region: "us-east-2" });
        await settle();
        const endpoints = ofType("aws:ec2/vpcEndpoint:VpcEndpoint");
        assert.equal(endpoints.length, 3);
        assert.ok(endpoints.every((e) => e.inputs.vpcId === "vpc-existing"));
        assert.ok(
            endpoints.every((e) =>
                String(e.inputs.serviceName).startsWith("com.amazonaws.us-east-2."),
            ),
        );
        assert.deepEqual(endpoints[0]?.inputs.subnetIds, ["subnet-a", "subnet-b"]);
        assert.equal(named("net-ssm-endpoints-https").inputs.cidrIpv4, "172.31.0.0/16");
    });

    test("subnets in one zone are refused", () => {
        assert.throws(
            () =>
                new EdgeNetwork("net", {
                    existingVpc: { ...existing, privateSubnets: [existing.privateSubnets[0]!] },
                }),
            /existingVpc\.privateSubnets: subnets in 1 zone\(s\) is not allowed; give subnets in at least two zones/,
        );
    });
});
