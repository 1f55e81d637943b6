/**
 * Which alarms an edge has, as plain data: metric, statistic, threshold, how long, and what a
 * missing datapoint means. EdgeAlarms (alarms.ts) declares one MetricAlarm per entry;
 * docs/operations.md says what each one means and what to do first. Keep the three in step.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
    hostMetricNames,
    METRICS_GROUP_DIMENSION,
    type MetricsGroup,
} from "../../templates/cloud-init-cloudwatch-agent.ts";

/** What the alarms are measured against. */
export interface EdgeAlarmThresholds {
    /** HAProxy hosts the target group should have healthy. */
    readonly desiredHaproxyHosts: number;
    /** Minutes an unhealthy target may last before the alarm. */
    readonly unhealthyMinutes: number;
    /** Devices the HAProxy fleet holds (the capacity model's figure). */
    readonly fleetDeviceCapacity: number;
    /** Share of that, in percent, above which the fleet is near full. */
    readonly capacityPercent: number;
    /** EMQX nodes the cluster should have running. */
    readonly emqxNodes: number;
    /**
     * Server lines each HAProxy host should see up: one per EMQX node and listener port
     * (infra/emqx-listener-plan.ts); default emqxNodes (one port per node).
     */
    readonly emqxServerLines?: number;
    /** Memory in use, percent of the host's, above which a host alarms. */
    readonly memoryPercent: number;
    /** Descriptors in use, percent of the process's limit, above which a host alarms. */
    readonly fdPercent: number;
    /** Hours before a loaded CRL's nextUpdate below which to alarm; omit when there are no CRLs. */
    readonly crlMinHours?: number;
    /** Whether the hosts run the CloudWatch agent (the host and exporter alarms need it). */
    readonly hostAgent: boolean;
}

/** Where the metrics come from. */
export interface EdgeAlarmSources {
    /** `net/<name>/<id>` of the NLB (the LoadBalancer dimension). */
    readonly loadBalancerArnSuffix: pulumi.Input<string>;
    /** `targetgroup/<name>/<id>` of the HAProxy target group (the TargetGroup dimension). */
    readonly targetGroupArnSuffix: pulumi.Input<string>;
    /** Namespace the hosts' agents write to. */
    readonly hostNamespace: string;
}

/** One alarm, provider-neutral. */
export interface EdgeAlarmDefinition {
    /** Short stable id; the alarm is named `<prefix>-<id>`. */
    readonly id: string;
    /** One sentence for the alarm description and the notification. */
    readonly description: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Record<string, pulumi.Input<string>>;
    readonly statistic: "Minimum" | "Maximum" | "Average";
    readonly comparison:
        | "LessThanThreshold"
        | "GreaterThanThreshold"
        | "GreaterThanOrEqualToThreshold";
    readonly threshold: number;
    /** Period of each datapoint in seconds. */
    readonly periodSeconds: number;
    /** Consecutive datapoints that must breach. */
    readonly evaluationPeriods: number;
    /** `breaching` where silence means the thing measured is gone. */
    readonly treatMissingData: "breaching" | "notBreaching" | "missing";
}

const NLB_NAMESPACE = "AWS/NetworkELB";

/** Every alarm the edge gets, in a fixed order. */
export function edgeAlarmDefinitions(
    sources: EdgeAlarmSources,
    t: EdgeAlarmThresholds,
): EdgeAlarmDefinition[] {
    const targetDimensions = {
        TargetGroup: sources.targetGroupArnSuffix,
        LoadBalancer: sources.loadBalancerArnSuffix,
    };
    const group = (g: MetricsGroup) => ({ [METRICS_GROUP_DIMENSION]: g });
    const nearFull = Math.floor((t.fleetDeviceCapacity * t.capacityPercent) / 100);
    const alarms: EdgeAlarmDefinition[] = [
        {
            id: "nlb-healthy-hosts",
            description: `Fewer than ${t.desiredHaproxyHosts} HAProxy hosts healthy in the NLB target group.`,
            namespace: NLB_NAMESPACE,
            metricName: "HealthyHostCount",
            dimensions: targetDimensions,
            statistic: "Minimum",
            comparison: "LessThanThreshold",
            threshold: t.desiredHaproxyHosts,
            periodSeconds: 60,
            evaluationPeriods: 3,
            treatMissingData: "breaching",
        },
        {
            id: "nlb-unhealthy-hosts",
            description: `An HAProxy host has failed the NLB health check for ${t.unhealthyMinutes} minutes.`,
            namespace: NLB_NAMESPACE,
            metricName: "UnHealthyHostCount",
            dimensions: targetDimensions,
            statistic: "Maximum",
            comparison: "GreaterThanThreshold",
            threshold: 0,
            periodSeconds: 60,
            evaluationPeriods: t.unhealthyMinutes,
            treatMissingData: "notBreaching",
        },
        {
            id: "fleet-capacity",
            description: `Active device flows above ${t.capacityPercent}% of the ${t.fleetDeviceCapacity} devices the HAProxy fleet holds.`,
            namespace: NLB_NAMESPACE,
            metricName: "ActiveFlowCount",
            dimensions: { LoadBalancer: sources.loadBalancerArnSuffix },
            statistic: "Maximum",
            comparison: "GreaterThanThreshold",
            threshold: nearFull,
            periodSeconds: 300,
            evaluationPeriods: 2,
            treatMissingData: "notBreaching",
        },
    ];
    if (!t.hostAgent) return alarms;
    const label = { haproxy: "HAProxy", emqx: "EMQX" } as const;
    for (const g of ["haproxy", "emqx"] as const) {
        alarms.push(
            {
                id: `${g}-memory`,
                description: `An ${label[g]} host uses more than ${t.memoryPercent}% of its memory.`,
                namespace: sources.hostNamespace,
                metricName: hostMetricNames.memoryUsedPercent,
                dimensions: group(g),
                statistic: "Maximum",
                comparison: "GreaterThanThreshold",
                threshold: t.memoryPercent,
                periodSeconds: 60,
                evaluationPeriods: 5,
                treatMissingData: "missing",
            },
            {
                id: `${g}-file-descriptors`,
                description: `An ${label[g]} process uses more than ${t.fdPercent}% of its file-descriptor limit.`,
                namespace: sources.hostNamespace,
                metricName: hostMetricNames.fdUsedPercent,
                dimensions: group(g),
                statistic: "Maximum",
                comparison: "GreaterThanThreshold",
                threshold: t.fdPercent,
                periodSeconds: 60,
                evaluationPeriods: 5,
                treatMissingData: "missing",
            },
        );
    }
    alarms.push(
        {
            id: "haproxy-servers-down",
            description: `An HAProxy host sees fewer than ${t.emqxServerLines ?? t.emqxNodes} EMQX server lines up.`,
            namespace: sources.hostNamespace,
            metricName: hostMetricNames.haproxyActiveServers,
            dimensions: group("haproxy"),
            statistic: "Minimum",
            comparison: "LessThanThreshold",
            threshold: t.emqxServerLines ?? t.emqxNodes,
            periodSeconds: 60,
            evaluationPeriods: 3,
            // No datapoint means no HAProxy exporter answered: nothing is being served either.
            treatMissingData: "breaching",
        },
        {
            id: "emqx-nodes-running",
            description: `An EMQX node reports fewer than ${t.emqxNodes} cluster nodes running.`,
            namespace: sources.hostNamespace,
            metricName: hostMetricNames.emqxNodesRunning,
            dimensions: group("emqx"),
            statistic: "Minimum",
            comparison: "LessThanThreshold",
            threshold: t.emqxNodes,
            periodSeconds: 60,
            evaluationPeriods: 3,
            treatMissingData: "breaching",
        },
    );
    if (t.crlMinHours !== undefined) {
        alarms.push({
            id: "crl-next-update",
            description: `A CRL loaded in HAProxy reaches its nextUpdate in less than ${t.crlMinHours} hours; after it HAProxy refuses every device.`,
            namespace: sources.hostNamespace,
            metricName: hostMetricNames.crlHoursToNextUpdate,
            dimensions: group("haproxy"),
            statistic: "Minimum",
            comparison: "LessThanThreshold",
            threshold: t.crlMinHours,
            periodSeconds: 300,
            evaluationPeriods: 1,
            // Silence means no host could read its CRL deadline: as bad as a stale one.
            treatMissingData: "breaching",
        });
    }
    return alarms;
}
