/**
 * DockerHaproxy: one HAProxy container from the official image that ends mutual TLS for devices and
 * forwards plain TCP with PROXY v2 (device IP and certificate CN) to the EMQX containers. It has a
 * fixed address on the network, the only source EMQX admits, and publishes its ports on 127.0.0.1
 * only.
 *
 * What a change does: haproxy.cfg, certificates and CRL are uploads, and uploads are ForceNew
 * (shared/reference/facts-pulumi.md §8), so any change replaces the container: connected devices
 * are cut and reconnect a few seconds later. We keep that over a hot reload (a bind-mounted host
 * directory plus `docker kill -s USR2` from @pulumi/command) because the reload would write the
 * server's private key to a host directory outside Pulumi's state and tie the stack to the machine
 * that ran `pulumi up`; on one laptop a reconnect is cheap. docs/docker.md says how to reload by hand.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HAPROXY_CONTAINER_USER, HAPROXY_UPLOAD_OWNER } from "./container-layout.ts";

/** One file HAProxy loads. */
export interface DockerHaproxyFile {
    /** Absolute path in the container; haproxy.cfg names it. */
    readonly path: string;
    /** File content, PEM or text. */
    readonly content: pulumi.Input<string>;
    /** Holds a private key: mode 0600 (only the root master reads it), content kept secret. */
    readonly secret: boolean;
}

/** A port published on the host's loopback. */
export interface DockerPublishedPort {
    /** Port HAProxy binds inside the container. */
    readonly containerPort: number;
    /** Port on 127.0.0.1 of the host. */
    readonly hostPort: number;
}

/** Arguments of {@link DockerHaproxy}. */
export interface DockerHaproxyArgs {
    /** Image reference pinned to a 2.6 release, e.g. `haproxy:2.6.33`. */
    readonly image: string;
    /** Docker name of the container, unique on the engine. */
    readonly containerName: string;
    /** Docker network to attach to (name or id). */
    readonly networkName: pulumi.Input<string>;
    /** Fixed IPv4 address on that network; EMQX's access rules admit exactly this address. */
    readonly address: string;
    /** Path of haproxy.cfg in the container (the image's CMD reads it). */
    readonly configPath: string;
    /** The rendered haproxy.cfg. */
    readonly haproxyCfg: pulumi.Input<string>;
    /** Certificates, keys, CA files and CRL that haproxy.cfg names. */
    readonly files: readonly DockerHaproxyFile[];
    /** Ports to publish, each on 127.0.0.1 only. */
    readonly ports: readonly DockerPublishedPort[];
    /** Global maxconn; sizes the open-file limit (HAProxy needs two per connection). */
    readonly maxconn: number;
    /** Labels on the container. */
    readonly labels?: Readonly<Record<string, string>>;
}

/**
 * Two descriptors per connection plus headroom for listeners, checks and the resolver; HAProxy
 * raises its soft limit to this itself and refuses to start above the hard limit
 * (templates/haproxy-spec.ts, process.maxconn).
 */
export function haproxyOpenFileLimit(maxconn: number): number {
    return Math.max(4_096, 2 * maxconn + 1_024);
}

/** The HAProxy container. */
export class DockerHaproxy extends pulumi.ComponentResource {
    /** Docker name of the container. */
    public readonly containerName: string;
    /** Its fixed address on the network. */
    public readonly address: string;
    /** The container resource. */
    public readonly container: docker.Container;

    constructor(name: string, args: DockerHaproxyArgs, opts?: pulumi.ComponentResourceOptions) {
        const paths = [args.configPath, ...args.files.map((file) => file.path)];
        const duplicate = paths.find((path, index) => paths.indexOf(path) !== index);
        if (duplicate !== undefined) {
            throw new Error(
                `DockerHaproxy "${name}": files lists ${duplicate} twice; give each path once`,
            );
        }
        super("mqtt-edge:docker:Haproxy", name, {}, opts);
        this.containerName = args.containerName;
        this.address = args.address;

        const image = new docker.RemoteImage(
            `${name}-image`,
            { name: args.image, keepLocally: true },
            { parent: this },
        );
        const openFiles = haproxyOpenFileLimit(args.maxconn);
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: args.containerName,
                image: image.imageId,
                hostname: "haproxy",
                networksAdvanced: [{ name: args.networkName, ipv4Address: args.address }],
                // Root starts the master, which reads every file, binds, and forks workers that
                // drop to the haproxy account in a chroot (haproxy.cfg's user/group/chroot); see
                // container-layout.ts for why not the image's USER haproxy.
                user: HAPROXY_CONTAINER_USER,
                uploads: [
                    { file: args.configPath, content: args.haproxyCfg, permissions: "0644" },
                    ...args.files.map((file) =>
                        file.secret
                            ? {
                                  file: file.path,
                                  content: pulumi.secret(file.content),
                                  // Only the root master reads the key, at start and at each reload.
                                  permissions: "0600",
                              }
                            : { file: file.path, content: file.content, permissions: "0644" },
                    ),
                ].map((upload) => ({
                    ...upload,
                    owner: HAPROXY_UPLOAD_OWNER,
                    group: HAPROXY_UPLOAD_OWNER,
                })),
                ports: args.ports.map((port) => ({
                    internal: port.containerPort,
                    external: port.hostPort,
                    // Loopback only: the edge is for this machine, never for its LAN.
                    ip: "127.0.0.1",
                })),
                ulimits: [{ name: "nofile", soft: openFiles, hard: openFiles }],
                restart: "unless-stopped",
                labels: Object.entries(args.labels ?? {}).map(([label, value]) => ({
                    label,
                    value,
                })),
            },
            {
                parent: this,
                // Fixed name, address and host ports: the old container must go first.
                deleteBeforeReplace: true,
            },
        );
        this.registerOutputs({ containerName: this.containerName, address: this.address });
    }
}
