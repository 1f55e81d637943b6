/**
 * DockerEmqxCluster: N EMQX containers on one Docker network, clustered by static seeds that name
 * the nodes by network alias (`emqx-<i>.<zone>`), each with its own named data volume.
 *
 * emqx.conf is uploaded into the container and holds no secret; the Erlang cookie and the dashboard
 * password are generated here, kept as Pulumi secrets and reach the node only as EMQX_* variables in
 * the container's environment (templates/emqx-secrets-env.ts), which EMQX reads over the file.
 *
 * What a change does: uploads, environment and ports are ForceNew on a container
 * (shared/reference/facts-pulumi.md §8), so a changed emqx.conf replaces that node's container. The
 * data volume stays, and with it the node's mnesia data; the node rejoins under the same name.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { emqxSecretEnvironment } from "../../templates/emqx-secrets-env.ts";
import { createEmqxCredentials } from "../emqx-credentials.ts";
import {
    EMQX_CONFIG_PATH,
    EMQX_CONTAINER_DATA_DIR,
    EMQX_HEALTH_COMMAND,
} from "./container-layout.ts";

/** One node as the composition resolved it. */
export interface DockerEmqxNode {
    /** 1-based index; node 1 also publishes the dashboard. */
    readonly index: number;
    /** DNS name the other containers use: the node's network alias, e.g. `emqx-1.emqx.internal`. */
    readonly hostname: string;
    /** Erlang node name, `emqx@<hostname>`. */
    readonly nodeName: string;
    /** This node's rendered emqx.conf (no secrets in it). */
    readonly emqxConf: string;
}

/** Arguments of {@link DockerEmqxCluster}. */
export interface DockerEmqxClusterArgs {
    /** The nodes, in index order (at least one). */
    readonly nodes: readonly DockerEmqxNode[];
    /** Image reference, pinned, e.g. `emqx/emqx:5.8.9`. */
    readonly image: string;
    /** Docker network to attach to (name or id). */
    readonly networkName: pulumi.Input<string>;
    /** Prefix of container and volume names, unique on the engine, e.g. `mqtt-edge-local`. */
    readonly namePrefix: string;
    /** Host port on 127.0.0.1 where node 1's dashboard (18083) is published. */
    readonly dashboardHostPort: number;
    /** EMQX's dashboard port inside the container. */
    readonly dashboardPort: number;
    /** listeners.tcp.default.max_connections; sizes the container's open-file limit. */
    readonly maxConnections: number;
    /** EMQX license key (5.9+ only); goes into the environment as a secret. */
    readonly licenseKey?: pulumi.Input<string>;
    /** Labels on every container and volume. */
    readonly labels?: Readonly<Record<string, string>>;
}

/** The open-file limit a node gets: two per connection, never below a comfortable floor. */
export function emqxOpenFileLimit(maxConnections: number): number {
    return Math.max(65_536, 2 * maxConnections);
}

/** EMQX nodes in containers, their data volumes and generated secrets. */
export class DockerEmqxCluster extends pulumi.ComponentResource {
    /** Erlang node names in index order. */
    public readonly nodeNames: readonly string[];
    /** Docker container names in index order. */
    public readonly containerNames: readonly string[];
    /** The containers, in index order (HAProxy depends on them). */
    public readonly containers: readonly docker.Container[];
    /** Initial password of the dashboard's `admin` user. SECRET. */
    public readonly dashboardPassword: pulumi.Output<string>;

    constructor(name: string, args: DockerEmqxClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.nodes.length === 0) {
            throw new Error(`DockerEmqxCluster "${name}": nodes is empty; give at least one node`);
        }
        super("mqtt-edge:docker:EmqxCluster", name, {}, opts);
        const labels = Object.entries(args.labels ?? {}).map(([label, value]) => ({
            label,
            value,
        }));

        const image = new docker.RemoteImage(
            `${name}-image`,
            // keepLocally: a `pulumi destroy` should not force the next `up` to download again.
            { name: args.image, keepLocally: true },
            { parent: this },
        );

        const credentials = createEmqxCredentials(name, this);
        const cookieValue = credentials.erlangCookie;
        this.dashboardPassword = credentials.dashboardPassword;
        const secretEnvironment = pulumi.secret(
            pulumi
                .all([cookieValue, this.dashboardPassword, args.licenseKey])
                .apply(([erlangCookie, dashboardPassword, licenseKey]) =>
                    Object.entries(
                        emqxSecretEnvironment({ erlangCookie, dashboardPassword, licenseKey }),
                    ).map(([variable, value]) => `${variable}=${value}`),
                ),
        );
        const openFiles = emqxOpenFileLimit(args.maxConnections);

        this.nodeNames = args.nodes.map((node) => node.nodeName);
        this.containerNames = args.nodes.map((node) => `${args.namePrefix}-emqx-${node.index}`);
        this.containers = args.nodes.map((node, position) => {
            const containerName = this.containerNames[position] as string;
            // Its own resource: the data (mnesia, retained messages) outlives a replaced container.
            const volume = new docker.Volume(
                `${name}-${node.index}-data`,
                { name: `${containerName}-data`, labels },
                { parent: this },
            );
            return new docker.Container(
                `${name}-${node.index}`,
                {
                    name: containerName,
                    image: image.imageId,
                    hostname: `emqx-${node.index}`,
                    // Without EMQX_NODE__NAME the image's entrypoint exports
                    // EMQX_NODE_NAME=emqx@<container IP> (emqx/emqx deploy/docker/docker-entrypoint.sh),
                    // which overrides emqx.conf and would break the DNS-named seeds.
                    envs: secretEnvironment.apply((secrets) => [
                        `EMQX_NODE__NAME=${node.nodeName}`,
                        ...secrets,
                    ]),
                    networksAdvanced: [{ name: args.networkName, aliases: [node.hostname] }],
                    uploads: [
                        {
                            file: EMQX_CONFIG_PATH,
                            content: node.emqxConf,
                            // Readable by the image's emqx user; nobody in the container may change it.
                            permissions: "0644",
                        },
                    ],
                    volumes: [{ volumeName: volume.name, containerPath: EMQX_CONTAINER_DATA_DIR }],
                    ports:
                        node.index === 1
                            ? [
                                  {
                                      internal: args.dashboardPort,
                                      external: args.dashboardHostPort,
                                      ip: "127.0.0.1",
                                  },
                              ]
                            : [],
                    ulimits: [{ name: "nofile", soft: openFiles, hard: openFiles }],
                    healthcheck: {
                        tests: [...EMQX_HEALTH_COMMAND],
                        interval: "10s",
                        timeout: "5s",
                        retries: 6,
                        startPeriod: "30s",
                    },
                    // `pulumi up` returns once every node reports running.
                    wait: true,
                    waitTimeout: 180,
                    restart: "unless-stopped",
                    // Graceful stop: EMQX leaves the cluster cleanly and flushes its data.
                    destroyGraceSeconds: 30,
                    labels,
                },
                {
                    parent: this,
                    // Fixed name, data volume and (node 1) host port: the old container must be
                    // gone before its replacement can take them.
                    deleteBeforeReplace: true,
                },
            );
        });

        this.registerOutputs({
            nodeNames: this.nodeNames,
            containerNames: this.containerNames,
            dashboardPassword: this.dashboardPassword,
        });
    }
}
