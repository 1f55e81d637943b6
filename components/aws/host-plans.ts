/**
 * The plain shapes both AWS host groups are described by, below every component: what a host's
 * user-data is rendered from (host plans), where each fetched file goes (HostFileLayout), the
 * zone host names live in, and the tag a group's config association selects instances by.
 * Pure, no Pulumi resources: the components, host-user-data.ts and `npm run render` all build
 * on it, and it imports none of them.
 */

import type * as pulumi from "@pulumi/pulumi";
import type { CloudWatchAgentSpec } from "../../templates/cloud-init-cloudwatch-agent.ts";
import type { HostArchitecture } from "../../templates/cloud-init-debian-host.ts";
import type {
    HaproxyHealthCheckSpec,
    HaproxyRuntimeApiSpec,
} from "../../templates/cloud-init-haproxy.ts";
import {
    type HostFileSource,
    validateHostFileSource,
} from "../../templates/cloud-init-host-files.ts";
import type { PackagePins } from "../../templates/cloud-init-package-pins.ts";

/** Tag whose value selects a host group's instances for its config association. */
export const CONFIG_GROUP_TAG = "mqtt-edge:config-group";

/** Where haproxy.cfg goes unless told otherwise: the Debian unit's path. */
export const DEFAULT_HAPROXY_CONFIG_PATH = "/etc/haproxy/haproxy.cfg";

/** A private hosted zone to register host names in. */
export interface HostZone {
    /** Route53 zone id. */
    readonly zoneId: pulumi.Input<string>;
    /** Zone name, e.g. `edge.internal`. */
    readonly zoneName: string;
}

/** Where one fetched file goes, without its content: what user-data and the manifest need. */
export interface HostFileLayout {
    /** Short name, unique in the group; the parameter is `<parameterPrefix>/<key>`. */
    readonly key: string;
    /** Absolute path on the host. */
    readonly path: string;
    /** Octal mode; default `0644`. Use `0600` for keys and secret env files. */
    readonly mode?: string;
    /** `user:group`; default `root:root`. */
    readonly owner?: string;
    /**
     * Where the content is kept: `ssm` (default; a SecureString, 8 KB at most) or `s3` (an
     * object in the group's bucket, for files that grow such as CRLs).
     */
    readonly store?: "ssm" | "s3";
}

/** Placeholder `npm run render` writes for the files bucket, whose name AWS settles at creation. */
export const FILES_BUCKET_PLACEHOLDER = "mqtt-edge-files-bucket-placeholder";

/** Key of a group's object: the parameter prefix without its leading slash, then the file key. */
export function hostFileObjectKey(parameterPrefix: string, key: string): string {
    return `${parameterPrefix.slice(1)}/${key}`;
}

/**
 * The manifest entries for `files` under `parameterPrefix`: parameter `<prefix>/<key>`, or object
 * `<prefix>/<key>` in `bucketName` for files stored in S3; mode default 0644, owner default
 * root:root. Pure, so the render CLI derives the same user-data.
 */
export function hostFileSources(
    parameterPrefix: string,
    files: readonly HostFileLayout[],
    bucketName?: string,
): HostFileSource[] {
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(parameterPrefix)) {
        throw new Error(
            `parameterPrefix: ${JSON.stringify(parameterPrefix)} is not allowed; use an SSM path like /mqtt-edge/dev/haproxy`,
        );
    }
    const keys = new Set<string>();
    return files.map((file, index) => {
        if (!/^[A-Za-z0-9_.-]+$/.test(file.key) || keys.has(file.key)) {
            throw new Error(
                `files[${index}].key: ${JSON.stringify(file.key)} is not allowed; use a unique name of letters, digits and _.-`,
            );
        }
        keys.add(file.key);
        if (file.store === "s3" && bucketName === undefined) {
            throw new Error(
                `files[${index}].store: "s3" needs the group's bucket name; none was given`,
            );
        }
        return validateHostFileSource(
            {
                ...(file.store === "s3"
                    ? {
                          object: {
                              bucket: bucketName ?? "",
                              key: hostFileObjectKey(parameterPrefix, file.key),
                          },
                      }
                    : { parameterName: `${parameterPrefix}/${file.key}` }),
                path: file.path,
                mode: file.mode ?? "0644",
                owner: file.owner ?? "root:root",
            },
            `files[${index}]`,
        );
    });
}

/** The launch lifecycle hook every HAProxy host completes when its bootstrap ends. */
export const HAPROXY_LAUNCH_HOOK_NAME = "mqtt-edge-bootstrap";

/** What every HAProxy host's user-data is made from: the plain part of the fleet's arguments. */
export interface HaproxyHostPlan {
    /** Desired number of HAProxy instances (the group's desired capacity). */
    readonly instanceCount: number;
    /**
     * Name of the Auto Scaling group, unique in the account and region, e.g.
     * `mqtt-edge-dev-haproxy`. Fixed, because every host names it to complete its lifecycle hook.
     */
    readonly groupName: string;
    /** CPU architecture of the instance type; default `x86_64`. */
    readonly architecture?: HostArchitecture;
    /** HAProxy global maxconn; kernel and descriptor limits are sized from it. */
    readonly maxconn: number;
    /** Where haproxy.cfg goes; default {@link DEFAULT_HAPROXY_CONFIG_PATH}. */
    readonly configPath?: string;
    /** SSM path of the fleet's parameters, unique per stack, e.g. `/mqtt-edge/dev/haproxy`. */
    readonly parameterPrefix: string;
    /** CRL files haproxy.cfg names and its admin socket: a CRL-only change skips the reload. */
    readonly runtimeApi?: HaproxyRuntimeApiSpec;
    /** Path of the TLS session ticket key script among `files` (templates/tls-ticket-keys.ts). */
    readonly ticketKeyScriptPath?: string;
    /** HAProxy's health frontend as the NLB reaches it; a new host must pass it before it serves. */
    readonly healthCheck: HaproxyHealthCheckSpec;
    /** The files besides haproxy.cfg, without content. */
    readonly files: readonly HostFileLayout[];
    /** CloudWatch agent on every host (templates/cloud-init-cloudwatch-agent.ts); omit for none. */
    readonly cloudWatchAgent?: CloudWatchAgentSpec;
    /** Pinned SSM agent version and checksum, EMQX repository key fingerprint; omit for none. */
    readonly packagePins?: PackagePins;
}

/** What every EMQX node's user-data and shared settings are made from. */
export interface EmqxHostPlan {
    /** CPU architecture of the instance type; default `x86_64`. */
    readonly architecture?: HostArchitecture;
    /** Exact EMQX version, e.g. `5.8.9`; a new pin rolls through the association. */
    readonly emqxVersion: string;
    /** listeners.tcp.default.max_connections; kernel, descriptor and port limits follow it. */
    readonly maxConnections: number;
    /** Mount point of the data volume and node.data_dir; default `/var/lib/emqx`. */
    readonly dataDir?: string;
    /** SSM path of the cluster's parameters, unique per stack, e.g. `/mqtt-edge/dev/emqx`. */
    readonly parameterPrefix: string;
    /** Files besides emqx.conf, the secrets file and the host settings, without content. */
    readonly extraFiles?: readonly HostFileLayout[];
    /** CloudWatch agent on every node (templates/cloud-init-cloudwatch-agent.ts); omit for none. */
    readonly cloudWatchAgent?: CloudWatchAgentSpec;
    /** Pinned SSM agent version and checksum, EMQX repository key fingerprint; omit for none. */
    readonly packagePins?: PackagePins;
}
