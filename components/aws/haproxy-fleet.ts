/**
 * HaproxyFleet: the HAProxy hosts that end mutual TLS. One instance per index, spread across the
 * private subnets, registered with the NLB target group. haproxy.cfg, certificates, keys and
 * CRLs live in SSM (HostParameters); user-data only names them. A changed file re-runs the
 * ConfigSync association, which applies it host by host with `haproxy -c` and a graceful reload.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CloudWatchAgentSpec } from "../../templates/cloud-init-cloudwatch-agent.ts";
import type { HostArchitecture } from "../../templates/cloud-init-debian-host.ts";
import {
    HAPROXY_APPLY_SCRIPT_PATH,
    type HaproxyRuntimeApiSpec,
} from "../../templates/cloud-init-haproxy.ts";
import { ConfigSync } from "./config-sync.ts";
import { debian12AmiId } from "./debian-ami.ts";
import { hostInstanceArgs } from "./host-instance.ts";
import { type HostFileInput, HostParameters } from "./host-parameters.ts";
import { HostRole, type PolicyStatement } from "./host-role.ts";
import {
    DEFAULT_HAPROXY_CONFIG_PATH,
    type HaproxyHostPlan,
    haproxyHostnames,
    haproxyUserData,
} from "./host-user-data.ts";
import { roundRobin, type SubnetRef } from "./network.ts";

/** Tag whose value selects a host group's instances for its config association. */
export const CONFIG_GROUP_TAG = "mqtt-edge:config-group";

/** A private hosted zone to register host names in. */
export interface HostZone {
    /** Route53 zone id. */
    readonly zoneId: pulumi.Input<string>;
    /** Zone name, e.g. `edge.internal`. */
    readonly zoneName: string;
}

/** Arguments of {@link HaproxyFleet}. */
export interface HaproxyFleetArgs {
    /** Number of HAProxy instances (1-50), placed round-robin over `subnets`. */
    readonly instanceCount: number;
    /** EC2 instance type, e.g. `c7i.large`. */
    readonly instanceType: string;
    /** CPU architecture of `instanceType`; default `x86_64`. */
    readonly architecture?: HostArchitecture;
    /** Private subnets, one per zone. */
    readonly subnets: readonly SubnetRef[];
    /** Security group of the HAProxy tier. */
    readonly securityGroupId: pulumi.Input<string>;
    /** NLB target group to register every instance with. */
    readonly targetGroupArn: pulumi.Input<string>;
    /** Port the target group sends devices to (the device port). */
    readonly devicePort: number;
    /** HAProxy global maxconn; kernel and descriptor limits are sized from it. */
    readonly maxconn: number;
    /** Rendered haproxy.cfg (templates/haproxy.ts). It is checked with `haproxy -c` on each host before use. */
    readonly haproxyCfg: pulumi.Input<string>;
    /** Where haproxy.cfg goes; default `/etc/haproxy/haproxy.cfg` (the Debian unit's path). */
    readonly configPath?: string;
    /**
     * Files haproxy.cfg refers to, at the paths it uses: server certificate+key PEMs (secret),
     * device intermediate and root CA, CRLs. Key `haproxy.cfg` is reserved.
     */
    readonly files: readonly HostFileInput[];
    /** CRL files haproxy.cfg names and its admin socket: a CRL-only change skips the reload. */
    readonly runtimeApi?: HaproxyRuntimeApiSpec;
    /** SSM path of this fleet's parameters, unique per stack, e.g. `/mqtt-edge/dev/haproxy`. */
    readonly parameterPrefix: string;
    /** Zone to register `<hostnamePrefix>-<n>.<zone>` in; without it hosts keep their EC2 names. */
    readonly zone?: HostZone;
    /** Host name prefix; default `haproxy`. */
    readonly hostnamePrefix?: string;
    /** AMI override; default the newest official Debian 12 image. */
    readonly amiId?: pulumi.Input<string>;
    /** Root volume size in GiB; default 16. */
    readonly rootVolumeGiB?: number;
    /** CloudWatch agent on every host (templates/cloud-init-cloudwatch-agent.ts); omit for none. */
    readonly cloudWatchAgent?: CloudWatchAgentSpec;
    /** More statements for the hosts' role, e.g. the agent's (components/aws/host-metrics.ts). */
    readonly extraRoleStatements?: pulumi.Input<PolicyStatement[]>;
    /** Tags for every resource. */
    readonly tags?: Record<string, string>;
}

/** HAProxy instances, their role, parameters, DNS names, target registrations and config sync. */
export class HaproxyFleet extends pulumi.ComponentResource {
    /** Instance ids, in index order. */
    public readonly instanceIds: pulumi.Output<string[]>;
    /** Private IPs, in index order. */
    public readonly privateIps: pulumi.Output<string[]>;
    /** Host names (`haproxy-1.<zone>`, ...), in index order. */
    public readonly hostnames: readonly string[];
    /** Hash of haproxy.cfg and every file; the association applies exactly this content. */
    public readonly configHash: pulumi.Output<string>;
    /** ARN of the instance role. */
    public readonly roleArn: pulumi.Output<string>;
    /** SSM document that applies the files, for a manual `aws ssm send-command`. */
    public readonly applyDocumentName: pulumi.Output<string>;

    constructor(name: string, args: HaproxyFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:HaproxyFleet", name, {}, opts);
        if (
            !Number.isInteger(args.instanceCount) ||
            args.instanceCount < 1 ||
            args.instanceCount > 50
        ) {
            throw new Error(
                `instanceCount: ${args.instanceCount} is not allowed; use a whole number from 1 to 50`,
            );
        }
        if (args.subnets.length === 0) {
            throw new Error("subnets: [] is not allowed; give the private subnets, one per zone");
        }
        if (args.files.some((file) => file.key === "haproxy.cfg")) {
            throw new Error(
                'files: key "haproxy.cfg" is not allowed; it is reserved for the haproxyCfg argument',
            );
        }
        const architecture = args.architecture ?? "x86_64";
        const configPath = args.configPath ?? DEFAULT_HAPROXY_CONFIG_PATH;
        const tags = args.tags ?? {};
        const plan: HaproxyHostPlan = {
            ...args,
            ...(args.zone ? { zoneName: args.zone.zoneName } : {}),
        };

        const parameters = new HostParameters(
            `${name}-files`,
            {
                parameterPrefix: args.parameterPrefix,
                files: [
                    { key: "haproxy.cfg", path: configPath, content: args.haproxyCfg },
                    ...args.files,
                ],
                tags,
            },
            { parent: this },
        );
        const role = new HostRole(
            `${name}-host`,
            {
                parameterArns: parameters.parameterArns,
                keyArn: parameters.keyArn,
                ...(args.extraRoleStatements ? { extraStatements: args.extraRoleStatements } : {}),
                tags,
            },
            { parent: this },
        );
        const ami = args.amiId ?? debian12AmiId(architecture, { parent: this });

        this.hostnames = haproxyHostnames(plan);
        const instances = this.hostnames.map((hostname, index) => {
            const subnet = roundRobin(args.subnets, index);
            const instance = new aws.ec2.Instance(
                `${name}-${index + 1}`,
                hostInstanceArgs({
                    ami,
                    instanceType: args.instanceType,
                    subnetId: subnet.id,
                    securityGroupId: args.securityGroupId,
                    instanceProfileName: role.instanceProfileName,
                    userData: haproxyUserData(plan, hostname),
                    rootVolumeGiB: args.rootVolumeGiB ?? 16,
                    tags: { ...tags, Name: hostname, [CONFIG_GROUP_TAG]: args.parameterPrefix },
                }),
                {
                    parent: this,
                    // The bootstrap reads the parameters with the role: both must exist first.
                    dependsOn: [parameters, role],
                    // A newer Debian image must not replace every host on an unrelated `up`;
                    // roll to it with `pulumi up --replace <urn>` one host at a time.
                    ignoreChanges: ["ami"],
                },
            );
            new aws.lb.TargetGroupAttachment(
                `${name}-${index + 1}-target`,
                {
                    targetGroupArn: args.targetGroupArn,
                    targetId: instance.id,
                    port: args.devicePort,
                },
                { parent: this },
            );
            if (args.zone) {
                new aws.route53.Record(
                    `${name}-${index + 1}-dns`,
                    {
                        zoneId: args.zone.zoneId,
                        name: hostname,
                        type: "A",
                        ttl: 60,
                        records: [instance.privateIp],
                    },
                    { parent: this },
                );
            }
            return instance;
        });

        const sync = new ConfigSync(
            `${name}-sync`,
            {
                targetTagKey: CONFIG_GROUP_TAG,
                targetTagValue: args.parameterPrefix,
                applyScriptPath: HAPROXY_APPLY_SCRIPT_PATH,
                contentHash: parameters.contentHash,
                hostTimeoutSeconds: 600,
                description:
                    "mqtt-edge: install haproxy.cfg, certificates and CRLs; haproxy -c; graceful reload",
                tags,
            },
            { parent: this, dependsOn: [parameters, ...instances] },
        );

        this.instanceIds = pulumi.all(instances.map((instance) => instance.id));
        this.privateIps = pulumi.all(instances.map((instance) => instance.privateIp));
        this.configHash = parameters.contentHash;
        this.roleArn = role.roleArn;
        this.applyDocumentName = sync.documentName;
        this.registerOutputs({
            instanceIds: this.instanceIds,
            privateIps: this.privateIps,
            hostnames: this.hostnames,
            configHash: this.configHash,
            roleArn: this.roleArn,
            applyDocumentName: this.applyDocumentName,
        });
    }
}
