/**
 * The sizing guard in the configuration's cross-key checks: impossible sizes are refused with one
 * line naming the key, the value and what the hosts hold; the storm is only a warning.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadCapacityFigures } from "../../capacity/figures.ts";
import { emqxMemoryConnectionLimit, haproxyMemoryDeviceLimit } from "../../capacity/model.ts";
import { fleetDeviceCapacity } from "../../capacity/stack-capacity.ts";
import { ConfigError, parseEdgeConfig } from "../../infra/config.ts";
import { capacityWarnings } from "../../infra/config-capacity-checks.ts";
import { emqxListenerPlan } from "../../infra/emqx-listener-plan.ts";
import { readStackFile } from "../../infra/stack-file.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const f = loadCapacityFigures();
const thousands = (n: number) => String(Math.floor(n / 1000) * 1000);

function refusal(raw: Record<string, unknown>): string {
    try {
        parseEdgeConfig(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.message.split("\n").length, 1, e.message);
        return e.message;
    }
    assert.fail(`accepted: ${JSON.stringify(raw)}`);
}

describe("sizing guard", () => {
    test("the seed's maxconn 500000 on a c7i.large is refused, naming memory and the figures", () => {
        const message = refusal({ haproxy: { maxconn: 500_000, instanceType: "c7i.large" } });
        const holds = haproxyMemoryDeviceLimit({ vcpus: 2, memoryGiB: 4 }, f);
        assert.equal(
            message,
            `mqtt-edge:haproxy.maxconn = 500000: a c7i.large has memory for about ${thousands(holds)} devices (${f.haproxyKiBPerDevice} KiB HAProxy + ${f.kernelKiBPerDevice} KiB kernel each in 4 GiB, 512 MiB kept for the OS); raise haproxy.instanceType or lower maxconn`,
        );
    });

    test("what a c7i.large holds is accepted, one more is not, and more fits a larger type", () => {
        const holds = haproxyMemoryDeviceLimit({ vcpus: 2, memoryGiB: 4 }, f);
        assert.equal(parseEdgeConfig({ haproxy: { maxconn: holds } }).haproxy.maxconn, holds);
        assert.match(
            refusal({ haproxy: { maxconn: holds + 1 } }),
            /^mqtt-edge:haproxy\.maxconn = /,
        );
        const big = parseEdgeConfig({ haproxy: { maxconn: 500_000, instanceType: "r7i.xlarge" } });
        assert.equal(big.haproxy.maxconn, 500_000);
    });

    test("EMQX max_connections beyond the node's memory is refused, naming memory", () => {
        const message = refusal({ emqx: { maxConnections: 1_000_000 } });
        const holds = emqxMemoryConnectionLimit({ vcpus: 4, memoryGiB: 8 }, f);
        assert.equal(
            message,
            `mqtt-edge:emqx.maxConnections = 1000000: a c7i.xlarge has memory for about ${thousands(holds)} connections (${f.emqxKiBPerConnection} KiB each in 8 GiB, 512 MiB kept for the OS); raise emqx.instanceType or lower maxConnections`,
        );
    });

    test("a maxconn no number of EMQX ports can reach is refused, naming backend ports", () => {
        const message = refusal({
            haproxy: { maxconn: 2_000_000, instanceType: "r7i.4xlarge" },
            emqx: { nodes: 1, instanceType: "r7i.4xlarge", maxConnections: 2_000_000 },
        });
        assert.match(
            message,
            /^mqtt-edge:haproxy\.maxconn = 2000000: one HAProxy host would need 32 EMQX listener ports per node .*64512 source ports per EMQX address:port; at most 16 ports\); add emqx\.nodes or lower maxconn$/,
        );
    });

    test("an instance type the model does not know is refused until the stack describes it", () => {
        const message = refusal({ haproxy: { instanceType: "c8i.large" } });
        assert.match(
            message,
            /^mqtt-edge:haproxy\.instanceType = "c8i\.large": the capacity model does not know this type .*add it as capacity\.instanceTypes\.<type> = \{vcpus, memoryGiB\}$/,
        );
        const c = parseEdgeConfig({
            haproxy: { instanceType: "c8i.large" },
            capacity: { instanceTypes: { "c8i.large": { vcpus: 2, memoryGiB: 4 } } },
        });
        assert.equal(c.haproxy.instanceType, "c8i.large");
    });

    test("a bad instance-type entry names its key", () => {
        assert.match(
            refusal({ capacity: { instanceTypes: { "c8i.large": { vcpus: 0, memoryGiB: 4 } } } }),
            /^mqtt-edge:capacity\.instanceTypes\.c8i\.large\.vcpus = 0: must be an integer from 1 to 1024$/,
        );
    });

    test("a target the fleet misses with the spare hosts lost is a warning per tier", () => {
        const short = parseEdgeConfig({
            haproxy: { instances: 2, maxconn: 90_000 },
            emqx: { nodes: 2, maxConnections: 90_000 },
            capacity: { targetDevices: 150_000, spareHosts: 1 },
        });
        assert.deepEqual(
            capacityWarnings(short).map((w) => w.replace(/\(\d+ per .*$/, "")),
            [
                "mqtt-edge:capacity.targetDevices = 150000: the HAProxy fleet holds 90000 devices with 1 of 2 hosts lost ",
                "mqtt-edge:capacity.targetDevices = 150000: the EMQX cluster holds 90000 connections with 1 of 2 nodes lost ",
            ],
        );
        const met = parseEdgeConfig({
            haproxy: { instances: 3, maxconn: 90_000 },
            emqx: { nodes: 3, maxConnections: 90_000 },
            capacity: { targetDevices: 150_000, spareHosts: 1 },
        });
        assert.deepEqual(capacityWarnings(met), []);
    });

    test("a docker stack shares one machine: no instance memory, but the backend rules hold", () => {
        const c = parseEdgeConfig({
            target: "docker",
            haproxy: { maxconn: 500_000, instanceType: "no.such" },
        });
        assert.equal(c.haproxy.maxconn, 500_000);
        assert.match(
            refusal({
                target: "docker",
                haproxy: { serverMaxconn: 2000 },
                emqx: { maxConnections: 1000 },
            }),
            /^mqtt-edge:haproxy\.serverMaxconn = 2000: must not exceed an EMQX listener's max_connections/,
        );
    });

    test("a reconnect storm the CPU cannot absorb is a warning, not a refusal", () => {
        const c = parseEdgeConfig({ haproxy: { instances: 1 }, capacity: { stormSeconds: 30 } });
        const warnings = capacityWarnings(c);
        assert.equal(warnings.length, 1);
        // The default maxconn of full handshakes at the measured CPU per connect for the default
        // CAs (rsa-3072), on the 2 vCPUs of a c7i.large.
        const us = f.fullConnectUs["rsa-3072"];
        const seconds = Math.ceil((c.haproxy.maxconn * us) / 1e6 / 2);
        assert.equal(
            warnings[0],
            `mqtt-edge:capacity.stormSeconds = 30: reconnecting ${c.haproxy.maxconn} devices over 1 c7i.large hosts takes about ${seconds} s of full handshake CPU (${us} us per connect with rsa-3072 CAs), more than capacity.stormSeconds (30): add HAProxy hosts or vCPUs`,
        );
        // P-384 CAs cost more per connect: the same storm takes longer.
        const p384 = capacityWarnings(
            parseEdgeConfig({
                haproxy: { instances: 1 },
                capacity: { stormSeconds: 30 },
                pki: { caKeyAlgorithm: "ecdsa-p384" },
            }),
        );
        assert.match(
            p384[0] ?? "",
            new RegExp(`\\(${f.fullConnectUs["ecdsa-p384"]} us per connect with ecdsa-p384 CAs\\)`),
        );
        assert.deepEqual(capacityWarnings(parseEdgeConfig({})), []);
    });
});

describe("EMQX listener plan", () => {
    test("a server line defaults to the least of frontend maxconn, 64512 and its listener's share", () => {
        assert.equal(parseEdgeConfig({ haproxy: { maxconn: 5000 } }).haproxy.serverMaxconn, 5000);
        assert.equal(parseEdgeConfig({}).haproxy.serverMaxconn, 64_512);
        const shared = parseEdgeConfig({
            haproxy: { instances: 3, maxconn: 90_000 },
            emqx: { nodes: 2, maxConnections: 90_000 },
            capacity: { spareHosts: 1 },
        });
        // one node left must take 90000: two listeners of 45000 each
        assert.equal(shared.haproxy.serverMaxconn, 45_000);
    });

    test("one listener while one port per node reaches maxconn; max_connections shared evenly", () => {
        const one = emqxListenerPlan(parseEdgeConfig({}));
        assert.deepEqual(one.ports, [1883]);
        assert.deepEqual(one.names, ["default"]);
        assert.equal(one.maxConnectionsPerListener, 250_000);
        const two = emqxListenerPlan(
            parseEdgeConfig({
                haproxy: { maxconn: 250_000, instanceType: "r7i.large" },
                capacity: { spareHosts: 1 },
            }),
        );
        assert.deepEqual(two.ports, [1883, 1884]);
        assert.deepEqual(two.names, ["default", "haproxy2"]);
        assert.equal(two.maxConnectionsPerListener, 125_000);
    });
});

describe("fleetDeviceCapacity (what the alarms compare with)", () => {
    test("the lower of the HAProxy fleet and the EMQX cluster, every host up", () => {
        const dev = parseEdgeConfig(readStackFile(projectDir, "dev").raw);
        assert.equal(fleetDeviceCapacity(dev), 3 * 250_000);
        const fewerNodes = parseEdgeConfig({
            haproxy: { instances: 3, maxconn: 90_000 },
            emqx: { nodes: 2, maxConnections: 120_000 },
        });
        assert.equal(fleetDeviceCapacity(fewerNodes), 2 * 120_000);
        const fewerHosts = parseEdgeConfig({ haproxy: { instances: 1, maxconn: 50_000 } });
        assert.equal(fleetDeviceCapacity(fewerHosts), 50_000);
    });

    test("memory binds when the figures say a host holds less than maxconn", () => {
        const c = parseEdgeConfig({ haproxy: { instances: 2, maxconn: 90_000 } });
        const heavier = { ...f, haproxyKiBPerDevice: 2 * f.haproxyKiBPerDevice };
        const held = fleetDeviceCapacity(c, heavier);
        assert.ok(held < 2 * 90_000, String(held));
        assert.equal(held % 2, 0, "two equal hosts");
    });
});
