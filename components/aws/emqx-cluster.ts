/**
 * EmqxCluster: EMQX nodes across the private subnets, each with its own encrypted EBS data
 * volume and an A record `emqx-<n>.<zone>`; node name `emqx@emqx-<n>.<zone>`. The Erlang cookie
 * and the dashboard password are generated once, kept as Pulumi secrets, stored as one SSM
 * SecureString env file and fetched at boot into a root-only file; user-data never holds them.
 * A changed emqx.conf, secret, limit or EMQX version re-runs the ConfigSync association, which
 * restarts one node at a time and waits until it runs and sees every other node before the next.
 *
 * Nodes are pets: an instance is never replaced by an ordinary `pulumi up`. Its user-data holds
 * only what the node keeps for life, and changes to user-data, AMI and instance type are ignored
 * (ignoreChanges). Pulumi then keeps the recorded values even when the instance is replaced
 * (pulumi/pulumi#2657: ignored inputs are taken from the old state), so moving one node to new
 * values is explicit: `refreshNode` lifts the ignore for that one node (docs/aws.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CloudWatchAgentSpec } from "../../templates/cloud-init-cloudwatch-agent.ts";
import type { HostArchitecture } from "../../templates/cloud-init-debian-host.ts";
import { NETWORK_STEP_RETRY_SECONDS } from "../../templates/cloud-init-debian-host.ts";
import {
    EMQX_APPLY_LOCK_WAIT_SECONDS,
    EMQX_APPLY_SCRIPT_PATH,
    EMQX_CLUSTER_READY_SECONDS,
    EMQX_NODE_READY_SECONDS,
} from "../../templates/cloud-init-emqx.ts";
import { PARAMETER_READ_RETRY_SECONDS } from "../../templates/cloud-init-host-files.ts";
import type { PackagePins } from "../../templates/cloud-init-package-pins.ts";
import { renderEmqxSecretsEnvFile } from "../../templates/emqx-secrets-env.ts";
import { createEmqxCredentials } from "../emqx-credentials.ts";
import { ConfigSync } from "./config-sync.ts";
import { debian12AmiId } from "./debian-ami.ts";
import { emqxNodeHostname } from "./emqx-node-names.ts";
import { hostInstanceArgs } from "./host-instance.ts";
import { type HostFileInput, HostParameters } from "./host-parameters.ts";
import { CONFIG_GROUP_TAG, type HostZone } from "./host-plans.ts";
import { HostRole, type PolicyStatement } from "./host-role.ts";
import {
    EMQX_RESERVED_FILE_KEYS,
    emqxHostFiles,
    emqxHostSettings,
    emqxUserData,
} from "./host-user-data.ts";
import { roundRobin, type SubnetRef } from "./network.ts";
import { EMQX_DASHBOARD_PORT, EMQX_DISTRIBUTION_PORT } from "./security-groups.ts";

/** Arguments of {@link EmqxCluster}. */
export interface EmqxClusterArgs {
    /** Number of nodes (1-32), placed round-robin over `subnets`. */
    readonly nodeCount: number;
    /** EC2 instance type, e.g. `c7i.xlarge`. */
    readonly instanceType: string;
    /** CPU architecture of `instanceType`; default `x86_64`. */
    readonly architecture?: HostArchitecture;
    /** Private subnets, one per zone (the data volume is created in the node's zone). */
    readonly subnets: readonly SubnetRef[];
    /** Security group of the EMQX tier. */
    readonly securityGroupId: pulumi.Input<string>;
    /** Private zone for the node records; node names derive from its name. */
    readonly zone: HostZone;
    /**
     * For EMQX's `dns` discovery with record type `srv`: the DNS name (in `zone`) of an SRV record
     * that lists every node; ekka names each peer `emqx@<SRV target>` (facts-emqx-haproxy.md §4),
     * so the node names stay DNS names. Omit for static seeds.
     */
    readonly discoverySrvName?: string;
    /** Exact EMQX version, e.g. `5.8.9` (5.8.x is the last Apache-2.0 line). */
    readonly emqxVersion: string;
    /** Pins for EMQX's repository key and the SSM agent package; omit to trust them unpinned. */
    readonly packagePins?: PackagePins;
    /** listeners.tcp.default.max_connections; kernel, descriptor and port limits follow it. */
    readonly maxConnections: number;
    /**
     * Rendered emqx.conf (templates/emqx.ts), the same for every node. Node name, cookie, data dir
     * and dashboard password come from the environment (EMQX_* env overrides emqx.conf).
     */
    readonly emqxConf: pulumi.Input<string>;
    /**
     * More files for the nodes (ACL, bootstrap API keys); keys `emqx.conf`, `secrets.env` and the
     * host settings' (`emqx-version`, `cluster-nodes`, `sysctl.conf`, `emqx-limits.conf`) are reserved.
     */
    readonly extraFiles?: readonly HostFileInput[];
    /** EMQX license key (needed for a cluster on 5.9+); stored with the other secrets. */
    readonly licenseKey?: pulumi.Input<string>;
    /** Size of each node's data volume in GiB (8-16384). */
    readonly dataVolumeGiB: number;
    /** Mount point of the data volume and node.data_dir; default `/var/lib/emqx` (the package's). */
    readonly dataDir?: string;
    /** SSM path of this cluster's parameters, unique per stack, e.g. `/mqtt-edge/dev/emqx`. */
    readonly parameterPrefix: string;
    /** AMI override; default the newest official Debian 12 image. */
    readonly amiId?: pulumi.Input<string>;
    /** Root volume size in GiB; default 16. */
    readonly rootVolumeGiB?: number;
    /** CloudWatch agent on every host (templates/cloud-init-cloudwatch-agent.ts); omit for none. */
    readonly cloudWatchAgent?: CloudWatchAgentSpec;
    /** More statements for the hosts' role, e.g. the agent's (components/aws/host-metrics.ts). */
    readonly extraRoleStatements?: pulumi.Input<PolicyStatement[]>;
    /**
     * Index (1-based) of the one node whose instance follows changed user-data, AMI or instance
     * type: replaced (or stopped and started, for the type alone) by this `up`. Leave unset
     * otherwise; every other node keeps its instance.
     */
    readonly refreshNode?: number;
    /** Tags for every resource. */
    readonly tags?: Record<string, string>;
}

/** EMQX nodes with data volumes, DNS records, generated secrets and rolling config sync. */
export class EmqxCluster extends pulumi.ComponentResource {
    /** Erlang node names, `emqx@emqx-<n>.<zone>`, in index order. */
    public readonly nodeNames: readonly string[];
    /** Node DNS names, `emqx-<n>.<zone>`, in index order. */
    public readonly hostnames: readonly string[];
    /** Instance ids, in index order. */
    public readonly instanceIds: pulumi.Output<string[]>;
    /** Private IPs, in index order. */
    public readonly privateIps: pulumi.Output<string[]>;
    /** Initial password of the dashboard `admin` user (secret). */
    public readonly dashboardPassword: pulumi.Output<string>;
    /** SSM parameter holding the secrets env file, for operators with access to it. */
    public readonly secretsParameterName: string;
    /** How to reach the dashboard without opening 18083: SSM port forwarding to node 1. */
    public readonly dashboardPortForwardCommand: pulumi.Output<string>;
    /** Hash of emqx.conf and every file; the association applies exactly this content. */
    public readonly configHash: pulumi.Output<string>;

    constructor(name: string, args: EmqxClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:EmqxCluster", name, {}, opts);
        if (!Number.isInteger(args.nodeCount) || args.nodeCount < 1 || args.nodeCount > 32) {
            throw new Error(
                `nodeCount: ${args.nodeCount} is not allowed; use a whole number from 1 to 32`,
            );
        }
        if (args.subnets.length === 0) {
            throw new Error("subnets: [] is not allowed; give the private subnets, one per zone");
        }
        if (
            !Number.isInteger(args.dataVolumeGiB) ||
            args.dataVolumeGiB < 8 ||
            args.dataVolumeGiB > 16_384
        ) {
            throw new Error(
                `dataVolumeGiB: ${args.dataVolumeGiB} is not allowed; use a whole number from 8 to 16384`,
            );
        }
        const reserved = (args.extraFiles ?? []).find((file) =>
            EMQX_RESERVED_FILE_KEYS.includes(file.key),
        );
        if (reserved) {
            throw new Error(
                `extraFiles: key ${JSON.stringify(reserved.key)} is not allowed; ${EMQX_RESERVED_FILE_KEYS.join(", ")} are reserved`,
            );
        }
        if (
            args.refreshNode !== undefined &&
            (!Number.isInteger(args.refreshNode) ||
                args.refreshNode < 1 ||
                args.refreshNode > args.nodeCount)
        ) {
            throw new Error(
                `refreshNode: ${args.refreshNode} is not allowed; use a node index from 1 to ${args.nodeCount}, or leave it unset`,
            );
        }
        const architecture = args.architecture ?? "x86_64";
        const tags = args.tags ?? {};

        // Generated once and kept in state (components/emqx-credentials.ts).
        const credentials = createEmqxCredentials(name, this);
        const secretsEnv = pulumi
            .all([credentials.erlangCookie, credentials.dashboardPassword, args.licenseKey])
            .apply(([erlangCookie, dashboardPassword, licenseKey]) =>
                renderEmqxSecretsEnvFile({ erlangCookie, dashboardPassword, licenseKey }),
            );

        this.hostnames = Array.from({ length: args.nodeCount }, (_, index) =>
            emqxNodeHostname(args.zone.zoneName, index + 1),
        );
        this.nodeNames = this.hostnames.map((hostname) => `emqx@${hostname}`);
        const settings = emqxHostSettings(args, this.nodeNames);
        const contentOf = (key: string): pulumi.Input<string> => {
            if (key === "emqx.conf") return args.emqxConf;
            if (key === "secrets.env") return pulumi.secret(secretsEnv);
            return (
                settings[key] ?? args.extraFiles?.find((extra) => extra.key === key)?.content ?? ""
            );
        };

        const parameters = new HostParameters(
            `${name}-files`,
            {
                parameterPrefix: args.parameterPrefix,
                // Contents by key, in the order emqxHostFiles gives (the manifest's order).
                files: emqxHostFiles(args).map((file) => ({
                    ...file,
                    content: contentOf(file.key),
                })),
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
                ...(args.extraRoleStatements ? { extraStatements: args.extraRoleStatements } : {}),
                tags,
            },
            { parent: this },
        );
        const ami = args.amiId ?? debian12AmiId(architecture, { parent: this });

        const instances = this.hostnames.map((hostname, index) => {
            const subnet = roundRobin(args.subnets, index);
            const nodeTags = { ...tags, Name: hostname };
            // Its own resource, not part of the instance: the data (mnesia, retained messages)
            // outlives a replaced instance, and the node name baked into it stays the same.
            const volume = new aws.ebs.Volume(
                `${name}-${index + 1}-data`,
                {
                    availabilityZone: subnet.availabilityZone,
                    size: args.dataVolumeGiB,
                    type: "gp3",
                    encrypted: true,
                    tags: nodeTags,
                },
                { parent: this },
            );
            const instance = new aws.ec2.Instance(
                `${name}-${index + 1}`,
                hostInstanceArgs({
                    ami,
                    instanceType: args.instanceType,
                    subnetId: subnet.id,
                    securityGroupId: args.securityGroupId,
                    instanceProfileName: role.instanceProfileName,
                    userData: volume.id.apply((dataVolumeId) =>
                        emqxUserData(args, hostname, dataVolumeId),
                    ),
                    rootVolumeGiB: args.rootVolumeGiB ?? 16,
                    tags: { ...nodeTags, [CONFIG_GROUP_TAG]: args.parameterPrefix },
                }),
                {
                    parent: this,
                    dependsOn: [parameters, role],
                    // A node keeps its instance: what changes reaches it through the association.
                    ignoreChanges:
                        args.refreshNode === index + 1
                            ? []
                            : // userData too: nodes made before user-data was packed keep it.
                              ["ami", "userData", "userDataBase64", "instanceType"],
                },
            );
            new aws.ec2.VolumeAttachment(
                `${name}-${index + 1}-data`,
                {
                    instanceId: instance.id,
                    volumeId: volume.id,
                    deviceName: "/dev/sdf",
                    // On replacement, stop the old node cleanly and detach before the new one attaches.
                    stopInstanceBeforeDetaching: true,
                },
                { parent: this, deleteBeforeReplace: true },
            );
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
            return instance;
        });
        if (args.discoverySrvName !== undefined) {
            new aws.route53.Record(
                `${name}-discovery`,
                {
                    zoneId: args.zone.zoneId,
                    name: args.discoverySrvName,
                    type: "SRV",
                    ttl: 60,
                    // priority weight port target; ekka reads only the target.
                    records: this.hostnames.map(
                        (hostname) => `10 10 ${EMQX_DISTRIBUTION_PORT} ${hostname}`,
                    ),
                },
                { parent: this },
            );
        }

        const sync = new ConfigSync(
            `${name}-sync`,
            {
                targetTagKey: CONFIG_GROUP_TAG,
                targetTagValue: args.parameterPrefix,
                applyScriptPath: EMQX_APPLY_SCRIPT_PATH,
                contentHash: parameters.contentHash,
                // The lock wait behind another run, one bounded SSM read per file, an EMQX
                // upgrade (two retried apt steps and the install), then readiness and the
                // cluster check (seconds).
                hostTimeoutSeconds:
                    EMQX_APPLY_LOCK_WAIT_SECONDS +
                    emqxHostFiles(args).length * (PARAMETER_READ_RETRY_SECONDS + 30) +
                    3 * NETWORK_STEP_RETRY_SECONDS +
                    EMQX_NODE_READY_SECONDS +
                    EMQX_CLUSTER_READY_SECONDS,
                description:
                    "mqtt-edge: install emqx.conf, secrets and host settings; upgrade; restart one node at a time until it rejoins",
                tags,
            },
            { parent: this, dependsOn: [parameters, ...instances] },
        );

        this.instanceIds = pulumi.all(instances.map((instance) => instance.id));
        this.privateIps = pulumi.all(instances.map((instance) => instance.privateIp));
        this.dashboardPassword = credentials.dashboardPassword;
        this.secretsParameterName = `${args.parameterPrefix}/secrets.env`;
        this.configHash = parameters.contentHash;
        this.dashboardPortForwardCommand = roundRobin(instances, 0).id.apply(
            (id) =>
                `aws ssm start-session --target ${id} --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["${EMQX_DASHBOARD_PORT}"],"localPortNumber":["${EMQX_DASHBOARD_PORT}"]}'`,
        );
        this.registerOutputs({
            nodeNames: this.nodeNames,
            hostnames: this.hostnames,
            instanceIds: this.instanceIds,
            privateIps: this.privateIps,
            dashboardPassword: this.dashboardPassword,
            dashboardPortForwardCommand: this.dashboardPortForwardCommand,
            configHash: this.configHash,
            syncDocumentName: sync.documentName,
        });
    }
}
