/**
 * The CloudWatch dashboard body of an edge: one graph per alarmed figure, with the alarm's
 * threshold drawn on it, two graphs to a row. Pure: plain values in, dashboard JSON out
 * (CloudWatch API reference, "Dashboard Body Structure and Syntax": widgets of type metric with
 * `metrics`, `stat`, `period`, `region` and `annotations.horizontal`).
 */

/** One figure to graph. */
export interface DashboardGraph {
    /** Graph title. */
    title: string;
    /** CloudWatch namespace. */
    namespace: string;
    /** Metric name. */
    metricName: string;
    /** Dimension name to value, as the alarm uses them. */
    dimensions: Record<string, string>;
    /** Statistic the alarm uses (Sum for a total over hosts). */
    stat: "Minimum" | "Maximum" | "Average" | "Sum";
    /** Period in seconds. */
    periodSeconds: number;
    /** The alarm threshold, drawn as a line; omit for a figure no alarm watches. */
    threshold?: number;
}

/** What the dashboard shows. */
export interface DashboardSpec {
    /** Region of every metric. */
    region: string;
    /** A line of markdown at the top (stack name, where the runbook is). */
    heading: string;
    /** The graphs, in order. */
    graphs: DashboardGraph[];
}

const WIDTH = 12;
const HEIGHT = 6;

export function renderDashboardBody(spec: DashboardSpec): string {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(spec.region)) {
        throw new Error(
            `region: ${JSON.stringify(spec.region)} is not allowed; use an AWS region such as eu-west-1`,
        );
    }
    const widgets: unknown[] = [
        {
            type: "text",
            x: 0,
            y: 0,
            width: 2 * WIDTH,
            height: 1,
            properties: { markdown: spec.heading },
        },
    ];
    spec.graphs.forEach((graph, index) => {
        const metric = [
            graph.namespace,
            graph.metricName,
            ...Object.entries(graph.dimensions).flat(),
        ];
        widgets.push({
            type: "metric",
            x: (index % 2) * WIDTH,
            y: 1 + Math.floor(index / 2) * HEIGHT,
            width: WIDTH,
            height: HEIGHT,
            properties: {
                title: graph.title,
                region: spec.region,
                view: "timeSeries",
                stat: graph.stat,
                period: graph.periodSeconds,
                metrics: [metric],
                ...(graph.threshold === undefined
                    ? {}
                    : {
                          annotations: { horizontal: [{ label: "alarm", value: graph.threshold }] },
                      }),
            },
        });
    });
    return JSON.stringify({ widgets });
}
