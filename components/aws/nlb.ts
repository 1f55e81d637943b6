/**
 * DeviceNlb: the network load balancer devices connect to. TCP passthrough on the device port
 * (TLS ends at HAProxy), one target group of HAProxy instances, health checked against
 * HAProxy's HTTP health frontend.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * How HAProxy learns the device's IP. `preserve`: the NLB keeps the client source address
 * (default for instance targets). `proxy-v2`: the NLB prepends a PROXY v2 header to every
 * connection, health checks included, so every HAProxy bind it reaches needs `accept-proxy`
 * (facts-emqx-haproxy.md §0.7, §14).
 */
export type ClientIpMode = "preserve" | "proxy-v2";

/** Arguments of {@link DeviceNlb}. */
export interface DeviceNlbArgs {
    /** VPC of the target group. */
    readonly vpcId: pulumi.Input<string>;
    /** Subnets of the NLB, one per zone: public ones when internet-facing, private when internal. */
    readonly subnetIds: pulumi.Input<string>[];
    /** Security group attached at creation (AWS cannot add one to an NLB created without). */
    readonly securityGroupId: pulumi.Input<string>;
    /** Internal NLB instead of internet-facing; default false. */
    readonly internal?: boolean;
    /** TCP port devices connect to; the listener and the targets use it. */
    readonly devicePort: number;
    /** Port of HAProxy's HTTP health frontend. */
    readonly healthCheckPort: number;
    /** Path HAProxy answers 200 on while it has a healthy EMQX server, e.g. `/healthz`. */
    readonly healthCheckPath: string;
    /** How HAProxy learns the device IP; default `preserve`. */
    readonly clientIpMode?: ClientIpMode;
    /**
     * TCP idle timeout of the listener, 60-6000 s (tcp.idle_timeout.seconds, default 350).
     * Keep it above HAProxy's client timeout, which is above 1.5x the MQTT keepalive (facts §16).
     */
    readonly tcpIdleTimeoutSeconds?: number;
    /** How long a deregistered HAProxy keeps its sessions before the NLB closes them; default 300. */
    readonly deregistrationDelaySeconds?: number;
    /** Tags for every resource. */
    readonly tags?: Record<string, string>;
}

/** The NLB, its listener and the HAProxy target group. */
export class DeviceNlb extends pulumi.ComponentResource {
    /** DNS name devices connect to (point the device domains at it with a CNAME or alias). */
    public readonly dnsName: pulumi.Output<string>;
    /** Hosted zone id of the NLB, for a Route53 alias record. */
    public readonly zoneId: pulumi.Output<string>;
    /** ARN of the NLB. */
    public readonly arn: pulumi.Output<string>;
    /** ARN of the target group the HAProxy instances register with. */
    public readonly targetGroupArn: pulumi.Output<string>;
    /** `net/<name>/<id>`: the LoadBalancer dimension of the AWS/NetworkELB metrics. */
    public readonly arnSuffix: pulumi.Output<string>;
    /** `targetgroup/<name>/<id>`: the TargetGroup dimension of the AWS/NetworkELB metrics. */
    public readonly targetGroupArnSuffix: pulumi.Output<string>;
    /** ARN of the device listener. */
    public readonly listenerArn: pulumi.Output<string>;
    /** The client IP mode in effect. */
    public readonly clientIpMode: ClientIpMode;
    /** True when HAProxy must `accept-proxy` on every bind the NLB reaches; pass to the haproxy template. */
    public readonly haproxyAcceptsProxy: boolean;

    constructor(name: string, args: DeviceNlbArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:DeviceNlb", name, {}, opts);
        const mode = args.clientIpMode ?? "preserve";
        if (mode !== "preserve" && mode !== "proxy-v2") {
            throw new Error(
                `clientIpMode: ${JSON.stringify(mode)} is not allowed; use "preserve" or "proxy-v2"`,
            );
        }
        const idle = args.tcpIdleTimeoutSeconds ?? 350;
        requireRange("tcpIdleTimeoutSeconds", idle, 60, 6000);
        const drain = args.deregistrationDelaySeconds ?? 300;
        requireRange("deregistrationDelaySeconds", drain, 0, 3600);
        requireRange("devicePort", args.devicePort, 1, 65_535);
        requireRange("healthCheckPort", args.healthCheckPort, 1, 65_535);
        if (!/^\/[A-Za-z0-9/_.-]*$/.test(args.healthCheckPath)) {
            throw new Error(
                `healthCheckPath: ${JSON.stringify(args.healthCheckPath)} is not allowed; use an absolute URL path such as /healthz`,
            );
        }
        const tags = args.tags ?? {};

        const loadBalancer = new aws.lb.LoadBalancer(
            `${name}-nlb`,
            {
                loadBalancerType: "network",
                internal: args.internal ?? false,
                subnets: args.subnetIds,
                securityGroups: [args.securityGroupId],
                // Off by default for NLBs; on, so a zone with fewer HAProxy hosts is not overloaded.
                enableCrossZoneLoadBalancing: true,
                tags,
            },
            { parent: this },
        );
        const targetGroup = new aws.lb.TargetGroup(
            `${name}-haproxy`,
            {
                vpcId: args.vpcId,
                targetType: "instance",
                protocol: "TCP",
                port: args.devicePort,
                proxyProtocolV2: mode === "proxy-v2",
                preserveClientIp: mode === "preserve" ? "true" : "false",
                // MQTT sessions never drain by themselves: after the delay the NLB closes them
                // (connection_termination) and devices reconnect to a healthy HAProxy, instead of
                // hanging on to a deregistered host.
                deregistrationDelay: drain,
                connectionTermination: true,
                healthCheck: {
                    enabled: true,
                    protocol: "HTTP",
                    port: String(args.healthCheckPort),
                    path: args.healthCheckPath,
                    matcher: "200",
                    interval: 10,
                    timeout: 5,
                    healthyThreshold: 3,
                    unhealthyThreshold: 3,
                },
                tags,
            },
            { parent: this },
        );
        const listener = new aws.lb.Listener(
            `${name}-device`,
            {
                loadBalancerArn: loadBalancer.arn,
                protocol: "TCP",
                port: args.devicePort,
                tcpIdleTimeoutSeconds: idle,
                defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
                tags,
            },
            { parent: this },
        );

        this.dnsName = loadBalancer.dnsName;
        this.zoneId = loadBalancer.zoneId;
        this.arn = loadBalancer.arn;
        this.targetGroupArn = targetGroup.arn;
        this.arnSuffix = loadBalancer.arnSuffix;
        this.targetGroupArnSuffix = targetGroup.arnSuffix;
        this.listenerArn = listener.arn;
        this.clientIpMode = mode;
        this.haproxyAcceptsProxy = mode === "proxy-v2";
        this.registerOutputs({
            dnsName: this.dnsName,
            zoneId: this.zoneId,
            arn: this.arn,
            targetGroupArn: this.targetGroupArn,
            listenerArn: this.listenerArn,
        });
    }
}

function requireRange(key: string, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(
            `${key}: ${value} is not allowed; use a whole number from ${min} to ${max}`,
        );
    }
}
