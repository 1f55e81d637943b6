/**
 * What the AWS hosts' user-data is made from, as pure functions: the manifest of files each host
 * fetches from SSM, host names, and the rendered user-data. The components call these, and so
 * does `npm run render`, which therefore writes exactly what the hosts get without loading any
 * Pulumi package.
 */
import { renderEmqxUserData } from "../../templates/cloud-init-emqx.ts";
import { renderHaproxyUserData } from "../../templates/cloud-init-haproxy.ts";
import {
    type HostFileSource,
    validateHostFileSource,
} from "../../templates/cloud-init-host-files.ts";
import type { EmqxClusterArgs } from "./emqx-cluster.ts";
import type { HaproxyFleetArgs } from "./haproxy-fleet.ts";
import type { HostFileInput } from "./host-parameters.ts";

/** Where one file goes, without its content: what user-data and the manifest need. */
export type HostFileLayout = Omit<HostFileInput, "content">;

/**
 * The manifest entries for `files` under `parameterPrefix`: parameter `<prefix>/<key>`, mode
 * default 0644, owner default root:root. Pure, so the render CLI derives the same user-data.
 */
export function hostFileSources(
    parameterPrefix: string,
    files: readonly HostFileLayout[],
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
        return validateHostFileSource(
            {
                parameterName: `${parameterPrefix}/${file.key}`,
                path: file.path,
                mode: file.mode ?? "0644",
                owner: file.owner ?? "root:root",
            },
            `files[${index}]`,
        );
    });
}

/** What each host's user-data is made from: the plain part of {@link HaproxyFleetArgs}. */
export type HaproxyHostPlan = Pick<
    HaproxyFleetArgs,
    | "instanceCount"
    | "architecture"
    | "maxconn"
    | "configPath"
    | "parameterPrefix"
    | "hostnamePrefix"
    | "runtimeApi"
    | "cloudWatchAgent"
> & {
    /** The files besides haproxy.cfg, without content. */
    readonly files: readonly HostFileLayout[];
    /** Name of the zone the hosts are registered in, if any. */
    readonly zoneName?: string;
};

/** Host names in index order: `<prefix>-<n>.<zone>`. */
export function haproxyHostnames(plan: HaproxyHostPlan): string[] {
    const prefix = plan.hostnamePrefix ?? "haproxy";
    return Array.from({ length: plan.instanceCount }, (_, index) =>
        plan.zoneName ? `${prefix}-${index + 1}.${plan.zoneName}` : `${prefix}-${index + 1}`,
    );
}

/** Every file a host fetches, haproxy.cfg first, as the manifest lists them. */
export function haproxyHostFiles(plan: HaproxyHostPlan): HostFileLayout[] {
    return [
        { key: "haproxy.cfg", path: plan.configPath ?? DEFAULT_HAPROXY_CONFIG_PATH },
        ...plan.files,
    ];
}

/** One host's user-data; pure, so `npm run render` writes exactly what the hosts get. */
export function haproxyUserData(plan: HaproxyHostPlan, hostname: string): string {
    return renderHaproxyUserData({
        hostname,
        architecture: plan.architecture ?? "x86_64",
        maxconn: plan.maxconn,
        configPath: plan.configPath ?? DEFAULT_HAPROXY_CONFIG_PATH,
        files: hostFileSources(plan.parameterPrefix, haproxyHostFiles(plan)),
        ...(plan.runtimeApi ? { runtimeApi: plan.runtimeApi } : {}),
        ...(plan.cloudWatchAgent ? { cloudWatchAgent: plan.cloudWatchAgent } : {}),
    });
}

export const DEFAULT_HAPROXY_CONFIG_PATH = "/etc/haproxy/haproxy.cfg";

const CONFIG_PATH = "/etc/emqx/emqx.conf";
const SECRETS_ENV_PATH = "/etc/emqx/mqtt-edge-secrets.env";

/** What each node's user-data is made from: the plain part of {@link EmqxClusterArgs}. */
export type EmqxHostPlan = Pick<
    EmqxClusterArgs,
    | "architecture"
    | "emqxVersion"
    | "maxConnections"
    | "dataDir"
    | "parameterPrefix"
    | "cloudWatchAgent"
> & {
    /** Files besides emqx.conf and the secrets file, without content. */
    readonly extraFiles?: readonly HostFileLayout[];
};

/** Every file a node fetches, as the manifest lists them: emqx.conf, the secrets file, extras. */
export function emqxHostFiles(plan: EmqxHostPlan): HostFileLayout[] {
    return [
        { key: "emqx.conf", path: CONFIG_PATH, mode: "0640", owner: "root:emqx" },
        { key: "secrets.env", path: SECRETS_ENV_PATH, mode: "0600", owner: "root:root" },
        ...(plan.extraFiles ?? []),
    ];
}

/** One node's user-data; pure, so `npm run render` writes exactly what the nodes get. */
export function emqxUserData(plan: EmqxHostPlan, hostname: string, dataVolumeId: string): string {
    return renderEmqxUserData({
        hostname,
        nodeName: `emqx@${hostname}`,
        architecture: plan.architecture ?? "x86_64",
        emqxVersion: plan.emqxVersion,
        maxConnections: plan.maxConnections,
        dataDir: plan.dataDir ?? "/var/lib/emqx",
        dataVolumeId,
        configPath: CONFIG_PATH,
        secretsEnvPath: SECRETS_ENV_PATH,
        files: hostFileSources(plan.parameterPrefix, emqxHostFiles(plan)),
        ...(plan.cloudWatchAgent ? { cloudWatchAgent: plan.cloudWatchAgent } : {}),
    });
}
