/**
 * HaproxyFleet: the HAProxy hosts that end mutual TLS, as an EC2 Auto Scaling group over the
 * proxy subnets. The group registers its instances with the NLB target group itself and replaces
 * any the NLB finds unhealthy (health check type ELB). A new host joins only after its bootstrap
 * passed its checks and completed the launch lifecycle hook with CONTINUE; one that fails sends
 * ABANDON and is replaced. A changed launch template (user-data, AMI, instance type) rolls
 * through an instance refresh that launches before it terminates and rolls back on failure;
 * `pulumi up` waits for it (RefreshWait).
 *
 * Leaving hosts drain: when the group terminates an instance (scale-in or refresh) it first
 * deregisters it from the target group, whose deregistration delay then runs before the instance
 * is terminated (the scaling activity shows WaitingForELBConnectionDraining meanwhile; NLB User
 * Guide, "Deregistration delay", and repost.aws QUBxhYcFd_RrqBPHFJsVsPqQ). The NLB then closes
 * what is left (connection_termination, nlb.ts) and devices reconnect to the remaining hosts.
 *
 * haproxy.cfg, certificates, keys and CRLs live in SSM (HostParameters); user-data only names
 * them. A changed file re-runs the ConfigSync association, which applies it host by host with
 * `haproxy -c` and a graceful reload, without replacing any instance.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CloudWatchAgentSpec } from "../../templates/cloud-init-cloudwatch-agent.ts";
import type { HostArchitecture } from "../../templates/cloud-init-debian-host.ts";
import {
    HAPROXY_APPLY_LOCK_WAIT_SECONDS,
    HAPROXY_APPLY_SCRIPT_PATH,
    type HaproxyHealthCheckSpec,
    type HaproxyRuntimeApiSpec,
} from "../../templates/cloud-init-haproxy.ts";
import { PARAMETER_READ_RETRY_SECONDS } from "../../templates/cloud-init-host-files.ts";
import type { PackagePins } from "../../templates/cloud-init-package-pins.ts";
import { ConfigSync } from "./config-sync.ts";
import { debian12AmiId } from "./debian-ami.ts";
import { hostLaunchTemplateArgs } from "./host-launch-template.ts";
import { type HostFileInput, HostParameters } from "./host-parameters.ts";
import {
    CONFIG_GROUP_TAG,
    DEFAULT_HAPROXY_CONFIG_PATH,
    HAPROXY_LAUNCH_HOOK_NAME,
    type HaproxyHostPlan,
    hostFileObjectKey,
} from "./host-plans.ts";
import { HostRole, type PolicyStatement } from "./host-role.ts";
import { haproxyUserData } from "./host-user-data.ts";
import {
    DEFAULT_REFRESH_SETTINGS,
    instanceRefreshArgs,
    type RefreshSettings,
} from "./instance-refresh.ts";
import { completeLifecyclePolicy } from "./lifecycle-policy.ts";
import type { SubnetRef } from "./network.ts";
import { RefreshWait } from "./refresh-wait.ts";

/**
 * How long a launching host may stay in Pending:Wait before the group abandons it. The bootstrap
 * ends sooner on any failure (it sends ABANDON itself); this catches a host that hangs.
 */
export const LAUNCH_HOOK_TIMEOUT_SECONDS = 3600;

/** Arguments of {@link HaproxyFleet}. */
export interface HaproxyFleetArgs {
    /** Desired number of HAProxy instances (1-50), spread by the group over `subnets`. */
    readonly instanceCount: number;
    /** Fewest instances the group keeps; default 1. */
    readonly minInstances?: number;
    /**
     * Most instances the group may run; default 100. At least twice `instanceCount` lets a roll
     * launch every new host before it terminates an old one.
     */
    readonly maxInstances?: number;
    /** Name of the Auto Scaling group, unique in the account and region; hosts name it in their hook call. */
    readonly groupName: string;
    /** AWS region, for the lifecycle permission and the refresh wait. */
    readonly region: string;
    /** EC2 instance type, e.g. `c7i.large`. */
    readonly instanceType: string;
    /** CPU architecture of `instanceType`; default `x86_64`. */
    readonly architecture?: HostArchitecture;
    /** Private subnets for HAProxy, one per zone. */
    readonly subnets: readonly SubnetRef[];
    /** Security group of the HAProxy tier. */
    readonly securityGroupId: pulumi.Input<string>;
    /** NLB target group the group registers every instance with. */
    readonly targetGroupArn: pulumi.Input<string>;
    /** HAProxy's health frontend as the NLB checks it; a new host must pass it before it serves. */
    readonly healthCheck: HaproxyHealthCheckSpec;
    /** Seconds after InService before the group acts on a failed NLB health check; default 300. */
    readonly healthCheckGraceSeconds?: number;
    /** How an instance refresh rolls; default {@link DEFAULT_REFRESH_SETTINGS}. */
    readonly refresh?: RefreshSettings;
    /** Longest time `pulumi up` waits for a refresh, in seconds; default 3600. */
    readonly refreshTimeoutSeconds?: number;
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
    /**
     * Path of the TLS session ticket key script, one of `files` (templates/tls-ticket-keys.ts):
     * run before each config check and every minute; omit when haproxy.cfg names no
     * `tls-ticket-keys`.
     */
    readonly ticketKeyScriptPath?: string;
    /** Pin for the SSM agent package (exact version and SHA-256); omit to take the latest. */
    readonly packagePins?: Pick<PackagePins, "ssmAgent">;
    /** SSM path of this fleet's parameters, unique per stack, e.g. `/mqtt-edge/dev/haproxy`. */
    readonly parameterPrefix: string;
    /** AMI override; default the newest official Debian 12 image (a newer one rolls the group). */
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

/** The HAProxy Auto Scaling group, its launch template, role, parameters and config sync. */
export class HaproxyFleet extends pulumi.ComponentResource {
    /** Name of the Auto Scaling group (`aws autoscaling ...`, alarms). */
    public readonly groupName: pulumi.Output<string>;
    /** Desired capacity of the group. */
    public readonly desiredCapacity: pulumi.Output<number>;
    /** Id of the launch template. */
    public readonly launchTemplateId: pulumi.Output<string>;
    /** The launch template version the group runs. */
    public readonly launchTemplateVersion: pulumi.Output<number>;
    /** Hash of haproxy.cfg and every file; the association applies exactly this content. */
    public readonly configHash: pulumi.Output<string>;
    /** ARN of the instance role. */
    public readonly roleArn: pulumi.Output<string>;
    /** SSM document that applies the files, for a manual `aws ssm send-command`. */
    public readonly applyDocumentName: pulumi.Output<string>;
    /**
     * `s3://bucket/key` of each file kept in S3 (the CRLs), by file key: what the hosts read,
     * for checks from outside (the CRL refresh workflow). Empty when every file is in SSM.
     */
    public readonly objectUris: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: HaproxyFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:HaproxyFleet", name, {}, opts);
        const desired = args.instanceCount;
        if (!Number.isInteger(desired) || desired < 1 || desired > 50) {
            throw new Error(
                `instanceCount: ${desired} is not allowed; use a whole number from 1 to 50`,
            );
        }
        // Fixed defaults, not derived from the desired capacity: scaling changes that one number.
        const minSize = args.minInstances ?? 1;
        if (!Number.isInteger(minSize) || minSize < 0 || minSize > desired) {
            throw new Error(
                `minInstances: ${minSize} is not allowed; use a whole number from 0 to instanceCount (${desired})`,
            );
        }
        const maxSize = args.maxInstances ?? 100;
        if (!Number.isInteger(maxSize) || maxSize < desired || maxSize > 100) {
            throw new Error(
                `maxInstances: ${maxSize} is not allowed; use a whole number from instanceCount (${desired}) to 100`,
            );
        }
        if (!/^[A-Za-z0-9_.-]{1,200}$/.test(args.groupName)) {
            throw new Error(
                `groupName: ${JSON.stringify(args.groupName)} is not allowed; use 1 to 200 letters, digits and _.-`,
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
        const plan: HaproxyHostPlan = args;

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
                keyId: parameters.keyId,
                ...(parameters.objectArnPrefix
                    ? { objectArnPrefix: parameters.objectArnPrefix }
                    : {}),
                ...(args.extraRoleStatements ? { extraStatements: args.extraRoleStatements } : {}),
                tags,
            },
            { parent: this },
        );
        // Its own policy, scoped to this group by name: the hosts complete their launch hook.
        // Not derived from the group's ARN, which exists only once the group's first hosts
        // completed that very hook.
        const lifecyclePolicy = new aws.iam.RolePolicy(
            `${name}-lifecycle`,
            {
                role: role.roleName,
                policy: completeLifecyclePolicy(args.region, args.groupName),
            },
            { parent: this },
        );
        const ami = args.amiId ?? debian12AmiId(architecture, { parent: this });

        const hostTags = {
            ...tags,
            Name: `${args.groupName}`,
            [CONFIG_GROUP_TAG]: args.parameterPrefix,
        };
        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-launch`,
            hostLaunchTemplateArgs({
                ami,
                instanceType: args.instanceType,
                securityGroupId: args.securityGroupId,
                instanceProfileName: role.instanceProfileName,
                // The CRLs' bucket is named by AWS at creation; user-data names it.
                userData: parameters.bucketName
                    ? parameters.bucketName.apply((bucket) => haproxyUserData(plan, bucket))
                    : haproxyUserData(plan),
                rootVolumeGiB: args.rootVolumeGiB ?? 16,
                tags: hostTags,
            }),
            { parent: this },
        );
        const group = new aws.autoscaling.Group(
            `${name}-group`,
            {
                name: args.groupName,
                vpcZoneIdentifiers: args.subnets.map((subnet) => subnet.id),
                desiredCapacity: desired,
                minSize,
                maxSize,
                launchTemplate: {
                    id: launchTemplate.id,
                    // An explicit version: a new one starts the refresh, and rollback needs it.
                    version: launchTemplate.latestVersion.apply(String),
                },
                targetGroupArns: [args.targetGroupArn],
                healthCheckType: "ELB",
                // Starts once the host is InService, i.e. after its lifecycle hook (EC2 Auto
                // Scaling User Guide, "Set the health check grace period").
                healthCheckGracePeriod: args.healthCheckGraceSeconds ?? 300,
                // In the group from its creation, so the very first hosts wait for it too. The
                // provider puts these hooks before it sets the capacity (group.go, twoPhases).
                initialLifecycleHooks: [
                    {
                        name: HAPROXY_LAUNCH_HOOK_NAME,
                        lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
                        defaultResult: "ABANDON",
                        heartbeatTimeout: LAUNCH_HOOK_TIMEOUT_SECONDS,
                    },
                ],
                instanceRefresh: instanceRefreshArgs(args.refresh ?? DEFAULT_REFRESH_SETTINGS),
                // Create and capacity changes wait until this many hosts are healthy in the
                // target group, and fail after the timeout (group.go, waitGroupCapacitySatisfied).
                waitForElbCapacity: desired,
                waitForCapacityTimeout: `${LAUNCH_HOOK_TIMEOUT_SECONDS}s`,
                tags: Object.entries({ ...tags, Name: args.groupName }).map(([key, value]) => ({
                    key,
                    value,
                    // The launch template tags the instances; the group's own tags stay its own.
                    propagateAtLaunch: false,
                })),
            },
            { parent: this, dependsOn: [parameters, role, lifecyclePolicy] },
        );
        const wait = new RefreshWait(
            `${name}-refresh`,
            {
                groupName: args.groupName,
                region: args.region,
                launchTemplateVersion: launchTemplate.latestVersion,
                timeoutSeconds: args.refreshTimeoutSeconds ?? 3600,
            },
            { parent: this, dependsOn: [group] },
        );

        const sync = new ConfigSync(
            `${name}-sync`,
            {
                targetTagKey: CONFIG_GROUP_TAG,
                targetTagValue: args.parameterPrefix,
                applyScriptPath: HAPROXY_APPLY_SCRIPT_PATH,
                contentHash: parameters.contentHash,
                // The lock wait behind another run, then one bounded SSM read per file, then
                // `haproxy -c` and the reload (seconds).
                hostTimeoutSeconds:
                    HAPROXY_APPLY_LOCK_WAIT_SECONDS +
                    (args.files.length + 1) * (PARAMETER_READ_RETRY_SECONDS + 30) +
                    120,
                description:
                    "mqtt-edge: install haproxy.cfg, certificates and CRLs; haproxy -c; graceful reload",
                tags,
            },
            { parent: this, dependsOn: [parameters, wait] },
        );

        this.groupName = group.name;
        this.desiredCapacity = pulumi.output(desired);
        this.launchTemplateId = launchTemplate.id;
        this.launchTemplateVersion = launchTemplate.latestVersion;
        this.configHash = parameters.contentHash;
        this.roleArn = role.roleArn;
        this.applyDocumentName = sync.documentName;
        const objectKeys = args.files.filter((file) => file.store === "s3").map((file) => file.key);
        this.objectUris = (parameters.bucketName ?? pulumi.output("")).apply((bucket) =>
            Object.fromEntries(
                objectKeys.map((key) => [
                    key,
                    `s3://${bucket}/${hostFileObjectKey(args.parameterPrefix, key)}`,
                ]),
            ),
        );
        this.registerOutputs({
            objectUris: this.objectUris,
            groupName: this.groupName,
            desiredCapacity: this.desiredCapacity,
            launchTemplateId: this.launchTemplateId,
            launchTemplateVersion: this.launchTemplateVersion,
            configHash: this.configHash,
            roleArn: this.roleArn,
            applyDocumentName: this.applyDocumentName,
        });
    }
}
