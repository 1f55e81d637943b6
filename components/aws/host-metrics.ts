/**
 * HostMetrics: where the hosts' CloudWatch agents send what they measure, and exactly what the
 * agents may do. One metrics namespace per stack, and one log group the agent's Prometheus
 * metrics travel through (embedded metric format), made here with a retention so the agent never
 * needs to create it.
 *
 * The agent's documented permissions are those of the managed CloudWatchAgentServerPolicy
 * (arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy, its policy document as AWS publishes it):
 * cloudwatch:PutMetricData, ec2:DescribeVolumes, ec2:DescribeTags, logs:PutLogEvents,
 * logs:PutRetentionPolicy, logs:DescribeLogStreams, logs:DescribeLogGroups, logs:CreateLogStream,
 * logs:CreateLogGroup, five xray actions, all on `*`, and ssm:GetParameter on
 * parameter/AmazonCloudWatch-*. We use none of X-Ray, volume or tag dimensions, retention
 * changes or a configuration from SSM (the config is a file user-data writes), so the hosts get
 * only PutMetricData into this stack's namespace (the cloudwatch:namespace condition key) and
 * the log actions on this one log group.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "./host-role.ts";

/** Arguments of {@link HostMetrics}. */
export interface HostMetricsArgs {
    /** CloudWatch namespace of every host metric, one per stack, e.g. `mqtt-edge/dev`. */
    readonly namespace: string;
    /** Name of the log group the agents' Prometheus metrics go through. */
    readonly logGroupName: string;
    /** How long those log events are kept; the metrics themselves stay in CloudWatch. Default 7. */
    readonly retentionDays?: number;
    /** Tags for the log group. */
    readonly tags?: Record<string, string>;
}

/** The agent's statements, scoped to one namespace and one log group. */
export function cloudWatchAgentPolicyStatements(
    namespace: string,
    logGroupArn: string,
): PolicyStatement[] {
    // A log group ARN as the API returns it may end in ":*"; the streams live under it.
    const group = logGroupArn.replace(/:\*$/, "");
    return [
        {
            Sid: "PutOwnMetrics",
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            // PutMetricData has no resource type; the namespace condition is its only scope.
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": namespace } },
        },
        {
            Sid: "WriteOwnMetricLogs",
            Effect: "Allow",
            Action: [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            Resource: [group, `${group}:log-stream:*`],
        },
    ];
}

/** The log group and the agent's policy statements. */
export class HostMetrics extends pulumi.ComponentResource {
    /** The namespace the agents write to. */
    public readonly namespace: string;
    /** Name of the log group. */
    public readonly logGroupName: string;
    /** ARN of the log group. */
    public readonly logGroupArn: pulumi.Output<string>;
    /** Statements to give the hosts' role (HostRole extraStatements). */
    public readonly agentStatements: pulumi.Output<PolicyStatement[]>;

    constructor(name: string, args: HostMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:HostMetrics", name, {}, opts);
        if (!/^[A-Za-z0-9._/-]{1,255}$/.test(args.namespace)) {
            throw new Error(
                `namespace: ${JSON.stringify(args.namespace)} is not allowed; use 1-255 of letters, digits, '.', '_', '-', '/'`,
            );
        }
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-prometheus`,
            {
                name: args.logGroupName,
                retentionInDays: args.retentionDays ?? 7,
                tags: args.tags ?? {},
            },
            { parent: this },
        );
        this.namespace = args.namespace;
        this.logGroupName = args.logGroupName;
        this.logGroupArn = logGroup.arn;
        this.agentStatements = logGroup.arn.apply((arn) =>
            cloudWatchAgentPolicyStatements(args.namespace, arn),
        );
        this.registerOutputs({ logGroupArn: this.logGroupArn });
    }
}
