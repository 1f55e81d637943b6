/**
 * EdgeSecurityGroups: one group per tier and the rules between them, least privilege.
 *
 *   clients --devicePort--> NLB --devicePort, healthPort--> HAProxy --1883(-1898), emqx health--> EMQX
 *                                                                     EMQX <--4370, 5370--> EMQX
 *
 * Every rule is its own resource (aws.vpc.SecurityGroupIngressRule / EgressRule, one CIDR or one
 * peer group each), so a change to one rule never rewrites the others and the policy pack can
 * judge each one.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EMQX_MQTT_BASE_PORT, EMQX_MQTT_LAST_PORT } from "../../capacity/backend-ports.ts";
import {
    type EdgeTier,
    EMQX_DASHBOARD_PORT,
    EMQX_DISTRIBUTION_PORT,
    EMQX_MQTT_PORT,
    EMQX_RPC_PORT,
    TIER_TAG,
} from "./edge-ports.ts";

/** Arguments of {@link EdgeSecurityGroups}. */
export interface EdgeSecurityGroupsArgs {
    /** VPC the groups belong to. */
    readonly vpcId: pulumi.Input<string>;
    /** TCP port devices connect to on the NLB and HAProxy listens on. */
    readonly devicePort: number;
    /** HAProxy's HTTP health frontend the NLB checks. */
    readonly haproxyHealthPort: number;
    /** Who may reach the device port (IPv4 or IPv6 CIDRs); the only world-open rule of the edge. */
    readonly clientCidrs: readonly string[];
    /**
     * EMQX port HAProxy health-checks (`check port`), default 1883: HAProxy checks EMQX with a
     * PROXY LOCAL header on the MQTT port itself (infra/edge-specs.ts), so no second port opens.
     * Another port is opened from HAProxy only (the policy pack refuses 18083 from any group).
     */
    readonly emqxHealthCheckPort?: number;
    /**
     * EMQX's PROXY-protocol MQTT listener ports HAProxy connects to, one contiguous range (default
     * 1883 only); infra/emqx-listener-plan.ts picks it from maxconn. Within 1883-1898
     * (capacity/backend-ports.ts), the range the policy pack watches.
     */
    readonly emqxMqttPorts?: { readonly first: number; readonly last: number };
    /** Who may reach the EMQX dashboard (18083) directly; default none: SSM port forwarding only. */
    readonly dashboardAdminCidrs?: readonly string[];
    /** Tags for every group. */
    readonly tags?: Record<string, string>;
}

export {
    EMQX_DASHBOARD_PORT,
    EMQX_DISTRIBUTION_PORT,
    EMQX_MQTT_PORT,
    EMQX_RPC_PORT,
} from "./edge-ports.ts";

/** Peer of a rule: a CIDR, or another (or the same) security group. */
type RulePeer = { cidr: string } | { group: pulumi.Input<string> };

/** Security groups of the NLB, the HAProxy hosts and the EMQX nodes. */
export class EdgeSecurityGroups extends pulumi.ComponentResource {
    /** Group attached to the NLB at creation. */
    public readonly nlbGroupId: pulumi.Output<string>;
    /** Group of the HAProxy instances. */
    public readonly haproxyGroupId: pulumi.Output<string>;
    /** Group of the EMQX nodes. */
    public readonly emqxGroupId: pulumi.Output<string>;

    constructor(
        name: string,
        args: EdgeSecurityGroupsArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("mqtt-edge:aws:EdgeSecurityGroups", name, {}, opts);
        const ports: [string, number][] = [
            ["devicePort", args.devicePort],
            ["haproxyHealthPort", args.haproxyHealthPort],
            ["emqxHealthCheckPort", args.emqxHealthCheckPort ?? EMQX_MQTT_PORT],
        ];
        for (const [key, port] of ports) {
            if (!Number.isInteger(port) || port < 1 || port > 65_535) {
                throw new Error(`${key}: ${port} is not allowed; use a TCP port from 1 to 65535`);
            }
        }
        const mqttPorts = args.emqxMqttPorts ?? { first: EMQX_MQTT_PORT, last: EMQX_MQTT_PORT };
        if (
            !Number.isInteger(mqttPorts.first) ||
            !Number.isInteger(mqttPorts.last) ||
            mqttPorts.first < EMQX_MQTT_BASE_PORT ||
            mqttPorts.last > EMQX_MQTT_LAST_PORT ||
            mqttPorts.first > mqttPorts.last
        ) {
            throw new Error(
                `emqxMqttPorts: ${mqttPorts.first}-${mqttPorts.last} is not allowed; use a range within ${EMQX_MQTT_BASE_PORT}-${EMQX_MQTT_LAST_PORT}`,
            );
        }
        if (args.clientCidrs.length === 0) {
            throw new Error(
                "clientCidrs: [] is not allowed; list who may reach the device port, e.g. 0.0.0.0/0",
            );
        }
        for (const cidr of [...args.clientCidrs, ...(args.dashboardAdminCidrs ?? [])]) {
            if (!isCidr(cidr)) {
                throw new Error(
                    `clientCidrs/dashboardAdminCidrs: ${JSON.stringify(cidr)} is not allowed; use an IPv4 or IPv6 CIDR such as 203.0.113.0/24`,
                );
            }
        }
        const tags = args.tags ?? {};
        const group = (tier: EdgeTier, description: string) =>
            new aws.ec2.SecurityGroup(
                `${name}-${tier}`,
                {
                    vpcId: args.vpcId,
                    description,
                    // No inline rules: the provider then removes AWS's default allow-all egress,
                    // and every rule below is a separate resource.
                    revokeRulesOnDelete: true,
                    tags: { ...tags, Name: `${name}-${tier}`, [TIER_TAG]: tier },
                },
                { parent: this },
            );
        const nlb = group("nlb", "Device NLB: device port from clients, to HAProxy only");
        const haproxy = group("haproxy", "HAProxy: device and health ports from the NLB only");
        const emqx = group("emqx", "EMQX: MQTT from HAProxy, cluster ports among nodes");

        const ingress = (
            ruleName: string,
            groupId: pulumi.Input<string>,
            port: number | { first: number; last: number },
            peer: RulePeer,
            description: string,
        ) =>
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-${ruleName}`,
                {
                    securityGroupId: groupId,
                    description,
                    ipProtocol: "tcp",
                    fromPort: typeof port === "number" ? port : port.first,
                    toPort: typeof port === "number" ? port : port.last,
                    ...peerArgs(peer),
                },
                { parent: this },
            );
        const egress = (
            ruleName: string,
            groupId: pulumi.Input<string>,
            port: number | { first: number; last: number },
            peer: RulePeer,
            description: string,
        ) =>
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-${ruleName}`,
                {
                    securityGroupId: groupId,
                    description,
                    ipProtocol: "tcp",
                    fromPort: typeof port === "number" ? port : port.first,
                    toPort: typeof port === "number" ? port : port.last,
                    ...peerArgs(peer),
                },
                { parent: this },
            );

        // Clients -> NLB on the device port: the only rule open to the configured client CIDRs.
        args.clientCidrs.forEach((cidr, index) => {
            ingress(`nlb-in-device-${index + 1}`, nlb.id, args.devicePort, { cidr }, "Devices");
        });
        // NLB -> HAProxy. Referencing the NLB group works with client IP preservation on too
        // (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html).
        egress("nlb-out-device", nlb.id, args.devicePort, { group: haproxy.id }, "To HAProxy");
        egress(
            "nlb-out-health",
            nlb.id,
            args.haproxyHealthPort,
            { group: haproxy.id },
            "Health checks",
        );
        ingress(
            "haproxy-in-device",
            haproxy.id,
            args.devicePort,
            { group: nlb.id },
            "From the NLB",
        );
        ingress(
            "haproxy-in-health",
            haproxy.id,
            args.haproxyHealthPort,
            { group: nlb.id },
            "NLB health checks",
        );

        // HAProxy -> EMQX: MQTT with PROXY v2, and the health check port.
        const emqxHealth = args.emqxHealthCheckPort ?? EMQX_MQTT_PORT;
        // One rule for the whole listener range: a change of range updates it in place
        // (ModifySecurityGroupRules), without a moment in which HAProxy cannot reach 1883.
        egress("haproxy-out-mqtt", haproxy.id, mqttPorts, { group: emqx.id }, "MQTT to EMQX");
        ingress(
            "emqx-in-mqtt",
            emqx.id,
            mqttPorts,
            { group: haproxy.id },
            "MQTT from HAProxy only",
        );
        if (emqxHealth < mqttPorts.first || emqxHealth > mqttPorts.last) {
            egress(
                "haproxy-out-emqx-health",
                haproxy.id,
                emqxHealth,
                { group: emqx.id },
                "EMQX health checks",
            );
            ingress(
                "emqx-in-health",
                emqx.id,
                emqxHealth,
                { group: haproxy.id },
                "Health checks from HAProxy",
            );
        }

        // EMQX <-> EMQX: Erlang distribution and gen_rpc, inside the group only.
        for (const [label, port] of [
            ["dist", EMQX_DISTRIBUTION_PORT],
            ["rpc", EMQX_RPC_PORT],
        ] as const) {
            ingress(`emqx-in-${label}`, emqx.id, port, { group: emqx.id }, `Cluster ${label}`);
            egress(`emqx-out-${label}`, emqx.id, port, { group: emqx.id }, `Cluster ${label}`);
        }
        (args.dashboardAdminCidrs ?? []).forEach((cidr, index) => {
            ingress(
                `emqx-in-dashboard-${index + 1}`,
                emqx.id,
                EMQX_DASHBOARD_PORT,
                { cidr },
                "Dashboard admins",
            );
        });

        // Hosts -> internet: 443 for the SSM endpoints, S3 (SSM agent package) and EMQX's
        // package repository; 80 for Debian's mirrors (apt verifies signatures). DNS and NTP go to
        // the VPC resolver and 169.254.169.123, which security groups do not filter.
        for (const [tier, groupId] of [
            ["haproxy", haproxy.id],
            ["emqx", emqx.id],
        ] as const) {
            egress(
                `${tier}-out-https`,
                groupId,
                443,
                { cidr: "0.0.0.0/0" },
                "SSM, S3, package repositories",
            );
            egress(
                `${tier}-out-http`,
                groupId,
                80,
                { cidr: "0.0.0.0/0" },
                "Debian package mirrors",
            );
        }

        this.nlbGroupId = nlb.id;
        this.haproxyGroupId = haproxy.id;
        this.emqxGroupId = emqx.id;
        this.registerOutputs({
            nlbGroupId: this.nlbGroupId,
            haproxyGroupId: this.haproxyGroupId,
            emqxGroupId: this.emqxGroupId,
        });
    }
}

function peerArgs(peer: RulePeer): {
    cidrIpv4?: string;
    cidrIpv6?: string;
    referencedSecurityGroupId?: pulumi.Input<string>;
} {
    if ("group" in peer) {
        return { referencedSecurityGroupId: peer.group };
    }
    return peer.cidr.includes(":") ? { cidrIpv6: peer.cidr } : { cidrIpv4: peer.cidr };
}

function isCidr(value: string): boolean {
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
    if (v4) {
        return v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 32;
    }
    const v6 = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(value);
    return v6 !== null && (v6[1] ?? "").includes(":") && Number(v6[2]) <= 128;
}
