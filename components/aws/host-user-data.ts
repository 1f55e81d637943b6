/**
 * What the AWS hosts' user-data is made from, as pure functions: the manifest of files each host
 * fetches from SSM, the EMQX nodes' shared settings, and the rendered user-data. The components
 * call these, and so does `npm run render`, which therefore writes exactly what the hosts get
 * without loading any Pulumi package.
 */
import {
    EMQX_CLUSTER_NODES_FILE_PATH,
    EMQX_LIMITS_DROP_IN_PATH,
    EMQX_SYSCTL_PATH,
    EMQX_VERSION_FILE_PATH,
    renderEmqxHostSettings,
    renderEmqxUserData,
} from "../../templates/cloud-init-emqx.ts";
import { renderHaproxyUserData } from "../../templates/cloud-init-haproxy.ts";
import {
    DEFAULT_HAPROXY_CONFIG_PATH,
    type EmqxHostPlan,
    HAPROXY_LAUNCH_HOOK_NAME,
    type HaproxyHostPlan,
    type HostFileLayout,
    hostFileSources,
} from "./host-plans.ts";

/** Every file a host fetches, haproxy.cfg first, as the manifest lists them. */
export function haproxyHostFiles(plan: HaproxyHostPlan): HostFileLayout[] {
    return [
        { key: "haproxy.cfg", path: plan.configPath ?? DEFAULT_HAPROXY_CONFIG_PATH },
        ...plan.files,
    ];
}

/**
 * The user-data every host of the group shares (the launch template's); pure, so
 * `npm run render` writes exactly what the hosts get (with {@link FILES_BUCKET_PLACEHOLDER} for
 * `bucketName`, which only AWS knows).
 */
export function haproxyUserData(plan: HaproxyHostPlan, bucketName?: string): string {
    return renderHaproxyUserData({
        architecture: plan.architecture ?? "x86_64",
        maxconn: plan.maxconn,
        configPath: plan.configPath ?? DEFAULT_HAPROXY_CONFIG_PATH,
        files: hostFileSources(plan.parameterPrefix, haproxyHostFiles(plan), bucketName),
        ...(plan.runtimeApi ? { runtimeApi: plan.runtimeApi } : {}),
        ...(plan.ticketKeyScriptPath ? { ticketKeyScriptPath: plan.ticketKeyScriptPath } : {}),
        ...(plan.packagePins ? { packagePins: plan.packagePins } : {}),
        ...(plan.cloudWatchAgent ? { cloudWatchAgent: plan.cloudWatchAgent } : {}),
        healthCheck: plan.healthCheck,
        lifecycleHook: { groupName: plan.groupName, hookName: HAPROXY_LAUNCH_HOOK_NAME },
    });
}

const CONFIG_PATH = "/etc/emqx/emqx.conf";
const SECRETS_ENV_PATH = "/etc/emqx/mqtt-edge-secrets.env";

/** The settings every node shares besides emqx.conf, by key, at the paths the template uses. */
const EMQX_SETTINGS_FILES: readonly HostFileLayout[] = [
    { key: "emqx-version", path: EMQX_VERSION_FILE_PATH },
    { key: "cluster-nodes", path: EMQX_CLUSTER_NODES_FILE_PATH },
    { key: "sysctl.conf", path: EMQX_SYSCTL_PATH },
    { key: "emqx-limits.conf", path: EMQX_LIMITS_DROP_IN_PATH },
];

/**
 * Every file a node fetches, as the manifest lists them: emqx.conf, the secrets file, the shared
 * settings, extras.
 */
export function emqxHostFiles(plan: EmqxHostPlan): HostFileLayout[] {
    return [
        { key: "emqx.conf", path: CONFIG_PATH, mode: "0640", owner: "root:emqx" },
        { key: "secrets.env", path: SECRETS_ENV_PATH, mode: "0600", owner: "root:root" },
        ...EMQX_SETTINGS_FILES,
        ...(plan.extraFiles ?? []),
    ];
}

/** Keys of the files {@link emqxHostFiles} reserves; extra files may not use them. */
export const EMQX_RESERVED_FILE_KEYS: readonly string[] = [
    "emqx.conf",
    "secrets.env",
    ...EMQX_SETTINGS_FILES.map((file) => file.key),
];

/** Contents of the shared settings files by key: the version pin, node names, limits. */
export function emqxHostSettings(
    plan: EmqxHostPlan,
    nodeNames: readonly string[],
): Record<string, string> {
    const byPath = renderEmqxHostSettings({
        emqxVersion: plan.emqxVersion,
        maxConnections: plan.maxConnections,
        secretsEnvPath: SECRETS_ENV_PATH,
        nodeNames: [...nodeNames],
    });
    return Object.fromEntries(
        EMQX_SETTINGS_FILES.map((file) => [file.key, byPath[file.path] ?? ""]),
    );
}

/** One node's user-data; pure, so `npm run render` writes exactly what the nodes get. */
export function emqxUserData(plan: EmqxHostPlan, hostname: string, dataVolumeId: string): string {
    return renderEmqxUserData({
        hostname,
        nodeName: `emqx@${hostname}`,
        architecture: plan.architecture ?? "x86_64",
        dataDir: plan.dataDir ?? "/var/lib/emqx",
        dataVolumeId,
        configPath: CONFIG_PATH,
        secretsEnvPath: SECRETS_ENV_PATH,
        files: hostFileSources(plan.parameterPrefix, emqxHostFiles(plan)),
        ...(plan.packagePins ? { packagePins: plan.packagePins } : {}),
        ...(plan.cloudWatchAgent ? { cloudWatchAgent: plan.cloudWatchAgent } : {}),
    });
}
