/**
 * What the AWS hosts' user-data is made from, as pure functions: the manifest of files each host
 * fetches from SSM, host names, and the rendered user-data. The components call these, and so
 * does `npm run render`, which therefore writes exactly what the hosts get without loading any
 * Pulumi package.
 */
import { renderEmqxUserData } from "../../templates/cloud-init-emqx.ts";
import { renderHaproxyUserData } from "../../templates/cloud-init-haproxy.ts";
import {
    DEFAULT_HAPROXY_CONFIG_PATH,
    type EmqxHostPlan,
    type HaproxyHostPlan,
    type HostFileLayout,
    hostFileSources,
} from "./host-plans.ts";

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
    });
}

const CONFIG_PATH = "/etc/emqx/emqx.conf";
const SECRETS_ENV_PATH = "/etc/emqx/mqtt-edge-secrets.env";

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
    });
}
