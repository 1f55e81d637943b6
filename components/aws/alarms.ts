/**
 * EdgeAlarms: the SNS topic operators subscribe to, an optional e-mail subscription, and one
 * CloudWatch alarm per entry of edgeAlarmDefinitions (alarm-definitions.ts), each notifying the
 * topic when it fires and when it clears.
 *
 * The topic is not encrypted with the AWS managed key alias/aws/sns: CloudWatch cannot publish
 * to a topic under that key (its key policy does not admit the CloudWatch service principal).
 * Notifications carry alarm names and figures, never device data.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    type EdgeAlarmSources,
    type EdgeAlarmThresholds,
    edgeAlarmDefinitions,
} from "./alarm-definitions.ts";

/** Arguments of {@link EdgeAlarms}. */
export interface EdgeAlarmsArgs {
    /** Prefix of every alarm name, unique per stack, e.g. `mqtt-edge-dev`. */
    readonly namePrefix: string;
    /** Where the metrics come from (NLB, target group, hosts' namespace). */
    readonly sources: EdgeAlarmSources;
    /** Thresholds and which alarms apply. */
    readonly thresholds: EdgeAlarmThresholds;
    /** Address to subscribe to the topic by e-mail (AWS sends a confirmation first); omit for none. */
    readonly email?: string;
    /** Tags for the topic and the alarms. */
    readonly tags?: Record<string, string>;
}

/** The topic and the alarms. */
export class EdgeAlarms extends pulumi.ComponentResource {
    /** ARN of the SNS topic every alarm notifies. */
    public readonly topicArn: pulumi.Output<string>;
    /** Alarm names, in definition order. */
    public readonly alarmNames: string[];

    constructor(name: string, args: EdgeAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:EdgeAlarms", name, {}, opts);
        if (!/^[A-Za-z0-9._-]{1,200}$/.test(args.namePrefix)) {
            throw new Error(
                `namePrefix: ${JSON.stringify(args.namePrefix)} is not allowed; use 1-200 letters, digits, '.', '_', '-'`,
            );
        }
        if (args.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.email)) {
            throw new Error(
                `email: ${JSON.stringify(args.email)} is not allowed; use an e-mail address such as ops@example.com`,
            );
        }
        const tags = args.tags ?? {};
        const topic = new aws.sns.Topic(
            `${name}-topic`,
            { name: `${args.namePrefix}-alarms`, tags },
            { parent: this },
        );
        if (args.email !== undefined) {
            new aws.sns.TopicSubscription(
                `${name}-email`,
                { topic: topic.arn, protocol: "email", endpoint: args.email },
                { parent: this },
            );
        }
        const definitions = edgeAlarmDefinitions(args.sources, args.thresholds);
        this.alarmNames = definitions.map((d) => `${args.namePrefix}-${d.id}`);
        definitions.forEach((d, index) => {
            new aws.cloudwatch.MetricAlarm(
                `${name}-${d.id}`,
                {
                    name: this.alarmNames[index],
                    alarmDescription: `${d.description} What to do first: docs/operations.md#${d.id}`,
                    namespace: d.namespace,
                    metricName: d.metricName,
                    dimensions: d.dimensions,
                    statistic: d.statistic,
                    comparisonOperator: d.comparison,
                    threshold: d.threshold,
                    period: d.periodSeconds,
                    evaluationPeriods: d.evaluationPeriods,
                    datapointsToAlarm: d.evaluationPeriods,
                    treatMissingData: d.treatMissingData,
                    alarmActions: [topic.arn],
                    okActions: [topic.arn],
                    tags,
                },
                { parent: this },
            );
        });
        this.topicArn = topic.arn;
        this.registerOutputs({ topicArn: this.topicArn });
    }
}
