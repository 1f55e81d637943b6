/**
 * Docker-only settings and the network address plan: defaults, and one-line errors that name the
 * key, the value and what is allowed. Pure functions, no mocks.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planDockerAddresses } from "../../components/docker/docker-address-plan.ts";
import {
    defaultDockerSettings,
    resolveDockerSettings,
} from "../../components/docker/docker-settings.ts";
import { parseEdgeConfig } from "../../infra/config.ts";

const config = parseEdgeConfig({ target: "docker" });

function failsWith(given: Parameters<typeof resolveDockerSettings>[1], message: string): void {
    assert.throws(
        () => resolveDockerSettings(config, given),
        (error: Error) => {
            assert.equal(error.name, "ConfigError");
            assert.equal(error.message, message);
            assert.doesNotMatch(error.message, /\n/);
            return true;
        },
    );
}

describe("resolveDockerSettings", () => {
    test("defaults: the usual ports on loopback, a private /24, haproxy 2.6 pinned", () => {
        assert.deepEqual(resolveDockerSettings(config), {
            devicePort: 8883,
            healthPort: 8080,
            metricsPort: 8405,
            dashboardPort: 18083,
            subnet: "172.30.83.0/24",
            haproxyImage: "haproxy:2.6.33",
        });
        assert.deepEqual(resolveDockerSettings(config, {}), defaultDockerSettings);
    });

    test("given values win over defaults", () => {
        const settings = resolveDockerSettings(config, {
            devicePort: 18883,
            subnet: "10.99.0.0/16",
            haproxyImage: `haproxy:2.6.33@sha256:${"a".repeat(64)}`,
        });
        assert.equal(settings.devicePort, 18883);
        assert.equal(settings.subnet, "10.99.0.0/16");
        assert.equal(settings.healthPort, 8080);
    });

    const bad: Array<[string, Parameters<typeof resolveDockerSettings>[1], string]> = [
        [
            "two host ports clash",
            { metricsPort: 18083 },
            "mqtt-edge:docker.dashboardPort = 18083: must differ from docker.metricsPort (18083)",
        ],
        [
            "a port out of range",
            { devicePort: 70000 },
            "mqtt-edge:docker.devicePort = 70000: must be an integer from 1 to 65535",
        ],
        [
            "a port that is not a whole number",
            { healthPort: 80.5 },
            "mqtt-edge:docker.healthPort = 80.5: must be an integer from 1 to 65535",
        ],
        [
            "an unpinned image",
            { haproxyImage: "haproxy:latest" },
            'mqtt-edge:docker.haproxyImage = "haproxy:latest": must be an official haproxy 2.6 image pinned to a release, e.g. haproxy:2.6.33 (optionally @sha256:<digest>)',
        ],
        [
            "another HAProxy line than the one the config is checked with",
            { haproxyImage: "haproxy:2.8.5" },
            'mqtt-edge:docker.haproxyImage = "haproxy:2.8.5": must be an official haproxy 2.6 image pinned to a release, e.g. haproxy:2.6.33 (optionally @sha256:<digest>)',
        ],
    ];
    for (const [what, given, message] of bad) {
        test(`refuses ${what}`, () => failsWith(given, message));
    }

    test("refuses DNS discovery: Docker's DNS serves no SRV records", () => {
        assert.throws(
            () =>
                resolveDockerSettings(
                    parseEdgeConfig({ target: "docker", emqx: { discovery: "dns" } }),
                ),
            /^ConfigError: mqtt-edge:emqx\.discovery = "dns": must be static for the docker target/,
        );
    });
});

describe("planDockerAddresses", () => {
    test("gateway and HAProxy at the start, Docker allocates from the upper half", () => {
        assert.deepEqual(planDockerAddresses("172.30.83.0/24"), {
            subnet: "172.30.83.0/24",
            gateway: "172.30.83.1",
            haproxyAddress: "172.30.83.2",
            dynamicRange: "172.30.83.128/25",
        });
        assert.deepEqual(planDockerAddresses("10.20.0.0/16"), {
            subnet: "10.20.0.0/16",
            gateway: "10.20.0.1",
            haproxyAddress: "10.20.0.2",
            dynamicRange: "10.20.128.0/17",
        });
    });

    const allowed =
        "must be a private (RFC 1918) IPv4 network with prefix 16-24 and no host bits set, e.g. 172.30.83.0/24";
    for (const subnet of [
        "8.8.8.0/24",
        "172.30.83.5/24",
        "192.168.1.0/28",
        "10.0.0.0/8",
        "172.30.83.0",
        "300.1.1.0/24",
        "172.030.83.0/24",
    ]) {
        test(`refuses ${subnet}`, () => {
            assert.throws(
                () => planDockerAddresses(subnet),
                (error: Error) =>
                    error.message === `mqtt-edge:docker.subnet = "${subnet}": ${allowed}`,
            );
        });
    }
});
