/**
 * EdgeDashboard: one CloudWatch dashboard per stack with every figure the alarms watch, each
 * with its threshold, and the console URL to open it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    hostMetricNames,
    METRICS_GROUP_DIMENSION,
} from "../../templates/cloud-init-cloudwatch-agent.ts";
import { type DashboardGraph, renderDashboardBody } from "../../templates/cloudwatch-dashboard.ts";
import {
    type EdgeAlarmSources,
    type EdgeAlarmThresholds,
    edgeAlarmDefinitions,
} from "./alarm-definitions.ts";

/** Arguments of {@link EdgeDashboard}. */
export interface EdgeDashboardArgs {
    /** Dashboard name, unique per stack and region, e.g. `mqtt-edge-dev`. */
    readonly dashboardName: string;
    /** Region the metrics are in (and the console URL points to). */
    readonly region: string;
    /** Where the metrics come from (the same as the alarms'). */
    readonly sources: EdgeAlarmSources;
    /** The alarms' thresholds, drawn on the graphs. */
    readonly thresholds: EdgeAlarmThresholds;
}

/** The dashboard. */
export class EdgeDashboard extends pulumi.ComponentResource {
    /** Console URL of the dashboard. */
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: EdgeDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:EdgeDashboard", name, {}, opts);
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(args.dashboardName)) {
            throw new Error(
                `dashboardName: ${JSON.stringify(args.dashboardName)} is not allowed; use 1-255 letters, digits, '_', '-'`,
            );
        }
        const definitions = edgeAlarmDefinitions(args.sources, args.thresholds);
        // What the exporters say about load, next to the alarms: devices per tier, summed over hosts.
        const loadGraphs: DashboardGraph[] = args.thresholds.hostAgent
            ? [
                  {
                      title: "Device sessions on the HAProxy frontend, all hosts",
                      namespace: args.sources.hostNamespace,
                      metricName: hostMetricNames.haproxyCurrentSessions,
                      dimensions: { [METRICS_GROUP_DIMENSION]: "haproxy" },
                      stat: "Sum",
                      periodSeconds: 60,
                  },
                  {
                      title: "MQTT connections on EMQX, all nodes",
                      namespace: args.sources.hostNamespace,
                      metricName: hostMetricNames.emqxConnections,
                      dimensions: { [METRICS_GROUP_DIMENSION]: "emqx" },
                      stat: "Sum",
                      periodSeconds: 60,
                  },
              ]
            : [];
        const body = pulumi
            .all(definitions.map((d) => pulumi.all(d.dimensions)))
            .apply((dimensions) =>
                renderDashboardBody({
                    region: args.region,
                    heading: `# ${args.dashboardName}: what the alarms watch (runbook: docs/operations.md)`,
                    graphs: [
                        ...definitions.map((d, i) => ({
                            title: d.description,
                            namespace: d.namespace,
                            metricName: d.metricName,
                            dimensions: dimensions[i] as Record<string, string>,
                            stat: d.statistic,
                            periodSeconds: d.periodSeconds,
                            threshold: d.threshold,
                        })),
                        ...loadGraphs,
                    ],
                }),
            );
        const dashboard = new aws.cloudwatch.Dashboard(
            `${name}-dashboard`,
            { dashboardName: args.dashboardName, dashboardBody: body },
            { parent: this },
        );
        this.url = pulumi.interpolate`https://${args.region}.console.aws.amazon.com/cloudwatch/home?region=${args.region}#dashboards:name=${dashboard.dashboardName}`;
        this.registerOutputs({ url: this.url });
    }
}
