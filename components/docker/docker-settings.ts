/**
 * Settings that only the Docker target has: where on 127.0.0.1 the chain is published, the private
 * network it runs on and the HAProxy image. Pure (no Pulumi, no I/O), so the program, the render
 * CLI and the tests check them the same way, before any resource is declared.
 *
 * Until infra/config.ts carries a `docker` block, callers pass these as typed arguments; every
 * error names the key as it will be written in a stack file (`mqtt-edge:docker.<key>`).
 */
import { CONFIG_NAMESPACE, ConfigError, type EdgeConfig } from "../../infra/config.ts";
import { planDockerAddresses } from "./docker-address-plan.ts";

/** Docker-only settings, every field filled in. */
export interface DockerSettings {
    /** Host port on 127.0.0.1 that devices connect to (HAProxy's mutual-TLS listener). */
    readonly devicePort: number;
    /** Host port on 127.0.0.1 of HAProxy's health endpoint (`/healthz`). */
    readonly healthPort: number;
    /** Host port on 127.0.0.1 of HAProxy's Prometheus exporter and stats page. */
    readonly metricsPort: number;
    /** Host port on 127.0.0.1 of the first EMQX node's dashboard. */
    readonly dashboardPort: number;
    /** Private IPv4 subnet of the Docker network (prefix 16-24); HAProxy gets a fixed address in it. */
    readonly subnet: string;
    /** HAProxy image, pinned to a 2.6 release: the rendered haproxy.cfg is checked with HAProxy 2.6. */
    readonly haproxyImage: string;
}

/**
 * haproxy:2.6.33 is published on Docker Hub (docker-library/repo-info@88d2187
 * repos/haproxy/remote/2.6.33.md: Debian trixie, user haproxy uid 99, /var/lib/haproxy owned by
 * it, USER haproxy, CMD haproxy -f /usr/local/etc/haproxy/haproxy.cfg).
 */
export const DEFAULT_HAPROXY_IMAGE = "haproxy:2.6.33";

/** Defaults: the usual ports, so `mosquitto_pub -p 8883` works as documented. */
export const defaultDockerSettings: DockerSettings = {
    devicePort: 8883,
    healthPort: 8080,
    metricsPort: 8405,
    dashboardPort: 18083,
    // An uncommon private /24, unlikely to overlap a home or office LAN or Docker's own pools
    // (172.17.0.0/16 and up for bridge networks).
    subnet: "172.30.83.0/24",
    haproxyImage: DEFAULT_HAPROXY_IMAGE,
};

const portKeys = ["devicePort", "healthPort", "metricsPort", "dashboardPort"] as const;

const haproxyImagePattern = /^haproxy:2\.6\.\d{1,3}(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$/;

function fail(key: string, value: unknown, allowed: string): never {
    throw new ConfigError(
        `${CONFIG_NAMESPACE}:${key} = ${JSON.stringify(value) ?? String(value)}: ${allowed}`,
    );
}

/**
 * Fills in defaults and checks the Docker settings together with the configuration they run.
 * Throws ConfigError with one line naming the key, the value and what is allowed.
 */
export function resolveDockerSettings(
    config: Pick<EdgeConfig, "emqx">,
    given: Partial<DockerSettings> = {},
): DockerSettings {
    const settings: DockerSettings = { ...defaultDockerSettings, ...given };
    const seen = new Map<number, string>();
    for (const key of portKeys) {
        const port = settings[key];
        if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) {
            fail(`docker.${key}`, port, "must be an integer from 1 to 65535");
        }
        const other = seen.get(port);
        // Every port is published on the same address, 127.0.0.1, so two of them cannot share one.
        if (other) fail(`docker.${key}`, port, `must differ from docker.${other} (${port})`);
        seen.set(port, key);
    }
    if (
        typeof settings.haproxyImage !== "string" ||
        !haproxyImagePattern.test(settings.haproxyImage)
    ) {
        fail(
            "docker.haproxyImage",
            settings.haproxyImage,
            "must be an official haproxy 2.6 image pinned to a release, e.g. haproxy:2.6.33 (optionally @sha256:<digest>)",
        );
    }
    // Throws its own one-line error for a subnet it cannot plan.
    planDockerAddresses(settings.subnet);
    if (config.emqx.discovery !== "static") {
        fail(
            "emqx.discovery",
            config.emqx.discovery,
            "must be static for the docker target: Docker's DNS answers A records for network aliases but serves no SRV records",
        );
    }
    return settings;
}
