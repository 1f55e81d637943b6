/**
 * The capacity model's arithmetic: each limit is the largest size that fits (one more does not),
 * the backend ceiling follows the listener ports, the storm follows devices, seconds and vCPUs,
 * and the fleet search returns fleets that meet the target and are minimal for their type.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    backendConnectionCeiling,
    emqxMqttPorts,
    listenersNeeded,
    MAX_EMQX_MQTT_LISTENERS,
    PORTS_PER_DESTINATION,
} from "../../capacity/backend-ports.ts";
import { type CapacityFigures, loadCapacityFigures } from "../../capacity/figures.ts";
import { INSTANCE_TABLE, instanceTable, TABLE_FAMILIES } from "../../capacity/instance-types.ts";
import {
    emqxFleetOptions,
    emqxMemoryConnectionLimit,
    haproxyFleetOptions,
    haproxyHostCapacity,
    haproxyMemoryDeviceLimit,
    haproxyMemoryNeededKiB,
    stormLoad,
} from "../../capacity/model.ts";

const figures = loadCapacityFigures();
const GiB = 1024 * 1024;

describe("instance table", () => {
    test("covers c7i, c7g, c6i, c6g, m7i, m7g, r7i with AWS's vCPU and memory", () => {
        for (const family of ["c7i", "c7g", "c6i", "c6g", "m7i", "m7g", "r7i"]) {
            assert.ok(TABLE_FAMILIES.includes(family as never), family);
            assert.ok(INSTANCE_TABLE.has(`${family}.large`), `${family}.large`);
            assert.ok(INSTANCE_TABLE.has(`${family}.16xlarge`), `${family}.16xlarge`);
        }
        assert.deepEqual(INSTANCE_TABLE.get("c7i.large"), { vcpus: 2, memoryGiB: 4 });
        assert.deepEqual(INSTANCE_TABLE.get("m7g.xlarge"), { vcpus: 4, memoryGiB: 16 });
        assert.deepEqual(INSTANCE_TABLE.get("r7i.2xlarge"), { vcpus: 8, memoryGiB: 64 });
        assert.deepEqual(INSTANCE_TABLE.get("c6g.medium"), { vcpus: 1, memoryGiB: 2 });
        assert.equal(INSTANCE_TABLE.get("c7i.medium"), undefined, "no Intel medium");
    });

    test("a stack's own entries add to and override the table", () => {
        const table = instanceTable({
            "c8i.large": { vcpus: 2, memoryGiB: 4 },
            "c7i.large": { vcpus: 2, memoryGiB: 3.75 },
        });
        assert.deepEqual(table.get("c8i.large"), { vcpus: 2, memoryGiB: 4 });
        assert.equal(table.get("c7i.large")?.memoryGiB, 3.75);
        assert.equal(INSTANCE_TABLE.get("c7i.large")?.memoryGiB, 4, "built-in table untouched");
    });
});

describe("HAProxy host memory", () => {
    test("the memory limit is the most devices that fit: one more does not", () => {
        for (const type of ["c7i.large", "m7i.large", "r7i.large", "c7g.4xlarge"]) {
            const facts = INSTANCE_TABLE.get(type);
            assert.ok(facts);
            const limit = haproxyMemoryDeviceLimit(facts, figures);
            assert.ok(haproxyMemoryNeededKiB(limit, figures) <= facts.memoryGiB * GiB, type);
            assert.ok(haproxyMemoryNeededKiB(limit + 1, figures) > facts.memoryGiB * GiB, type);
        }
    });

    test("500000 devices need per-device memory x 500000 (the issue's 16.3 GiB at its 24.3 + 9.8 KiB)", () => {
        const perDevices =
            haproxyMemoryNeededKiB(500_000, figures) -
            haproxyMemoryNeededKiB(0, figures) -
            500_000 * figures.haproxyKiBPerMaxconnSlot;
        const perDevice = figures.haproxyKiBPerDevice + figures.kernelKiBPerDevice;
        assert.equal(perDevices, 500_000 * perDevice);
        // The figures give its 16.3 GiB; the committed ones more, not less.
        assert.equal(((500_000 * (24.3 + 9.8)) / GiB).toFixed(1), "16.3");
        assert.ok(perDevice >= 24.3 + 9.8, String(perDevice));
    });

    test("a c7i.large's limit is its memory less the OS and HAProxy's base, over the per-device figures", () => {
        for (const memoryGiB of [4, 16]) {
            const limit = haproxyMemoryDeviceLimit({ vcpus: 2, memoryGiB }, figures);
            const free = memoryGiB * GiB - figures.osReserveKiB - figures.haproxyBaseKiB;
            const perDevice =
                figures.haproxyKiBPerDevice +
                figures.kernelKiBPerDevice +
                figures.haproxyKiBPerMaxconnSlot;
            assert.equal(limit, Math.floor(free / perDevice));
        }
        // The "about 120k" before the OS share; a few percent either way with new figures.
        const c7i = haproxyMemoryDeviceLimit({ vcpus: 2, memoryGiB: 4 }, figures);
        assert.ok(c7i > 80_000 && c7i < 120_000, String(c7i));
    });

    test("every figure moves the limit the right way", () => {
        const facts = { vcpus: 2, memoryGiB: 8 };
        const base = haproxyMemoryDeviceLimit(facts, figures);
        const heavier: CapacityFigures = {
            ...figures,
            haproxyKiBPerDevice: 2 * figures.haproxyKiBPerDevice,
        };
        const moreReserve: CapacityFigures = { ...figures, osReserveKiB: 2 * GiB };
        assert.ok(haproxyMemoryDeviceLimit(facts, heavier) < base);
        assert.ok(haproxyMemoryDeviceLimit(facts, moreReserve) < base);
    });
});

describe("backend ports", () => {
    test("one port per node while the nodes' port ranges cover maxconn, more beyond", () => {
        const at = (maxconn: number, emqxNodes: number, spareNodes = 0) =>
            listenersNeeded({ maxconn, emqxNodes, spareNodes });
        assert.equal(at(3 * PORTS_PER_DESTINATION, 3), 1);
        assert.equal(at(3 * PORTS_PER_DESTINATION + 1, 3), 2);
        // with a node down, the two left must still cover maxconn
        assert.equal(at(250_000, 3, 1), 2);
        assert.equal(at(2 * PORTS_PER_DESTINATION, 3, 1), 1);
    });

    test("the listeners chosen are enough and no fewer would do", () => {
        for (const [maxconn, nodes, spare] of [
            [100_000, 3, 0],
            [250_000, 3, 1],
            [500_000, 3, 0],
            [1_000_000, 5, 1],
            [64_512, 1, 0],
        ] as const) {
            const input = { maxconn, emqxNodes: nodes, spareNodes: spare, serverMaxconn: maxconn };
            const k = listenersNeeded(input);
            const survivors = Math.max(1, nodes - spare);
            assert.ok(backendConnectionCeiling(input, k, survivors) >= maxconn, `${maxconn}`);
            if (k > 1) {
                assert.ok(
                    backendConnectionCeiling(input, k - 1, survivors) < maxconn,
                    `${maxconn}`,
                );
            }
        }
    });

    test("a line never carries more than serverMaxconn or the port range", () => {
        const input = { emqxNodes: 3, serverMaxconn: 10_000 };
        assert.equal(backendConnectionCeiling(input, 2), 3 * 2 * 10_000);
        const twoSources = { emqxNodes: 3, serverMaxconn: 1_000_000, sourceAddresses: 2 };
        assert.equal(backendConnectionCeiling(twoSources, 1), 3 * 2 * PORTS_PER_DESTINATION);
    });

    test("the ports are 1883 upwards, at most 16", () => {
        assert.deepEqual(emqxMqttPorts(1), [1883]);
        assert.deepEqual(emqxMqttPorts(3), [1883, 1884, 1885]);
        assert.equal(emqxMqttPorts(MAX_EMQX_MQTT_LISTENERS).at(-1), 1898);
        assert.throws(
            () => emqxMqttPorts(17),
            /listenersPerNode = 17: must be an integer from 1 to 16/,
        );
    });

    test("the seed's 500000 on one host with 3 nodes: 193536 on one port, 3 ports reach it", () => {
        const host = haproxyHostCapacity(
            {
                instanceType: "r7i.xlarge",
                facts: { vcpus: 4, memoryGiB: 32 },
                maxconn: 500_000,
                serverMaxconn: PORTS_PER_DESTINATION,
                emqxNodes: 3,
                spareNodes: 0,
                stormDevices: 500_000,
                stormSeconds: 300,
                caKeyAlgorithm: "rsa-3072",
            },
            figures,
        );
        assert.equal(
            backendConnectionCeiling({ emqxNodes: 3, serverMaxconn: 500_000 }, 1),
            193_536,
        );
        assert.equal(host.listenersPerNode, 3);
        assert.ok(host.backendConnectionCeiling >= host.maxconn);
        assert.equal(host.bindingLimit, "maxconn");
    });
});

describe("reconnect storm", () => {
    test("devices / seconds x CPU per connect / vCPUs", () => {
        const storm = stormLoad(300_000, 300, 2, 1000);
        assert.equal(storm.connectsPerSecond, 1000);
        assert.equal(storm.vcpusNeeded, 1);
        assert.equal(storm.utilisation, 0.5);
        assert.equal(storm.secondsAtFullCpu, 150);
    });

    test("the issue's 5.49 ms for 500000 devices in 5 minutes needs about 9.2 vCPUs", () => {
        assert.equal(stormLoad(500_000, 300, 1, 5490).vcpusNeeded.toFixed(1), "9.2");
    });
});

describe("EMQX node memory", () => {
    test("the connection limit is the most that fit: one more does not", () => {
        const facts = { vcpus: 4, memoryGiB: 8 };
        const limit = emqxMemoryConnectionLimit(facts, figures);
        const need = (n: number) => figures.osReserveKiB + n * figures.emqxKiBPerConnection;
        assert.ok(need(limit) <= 8 * GiB);
        assert.ok(need(limit + 1) > 8 * GiB);
    });
});

describe("smallest fleets", () => {
    const target = {
        devices: 500_000,
        stormSeconds: 300,
        spareHosts: 1,
        caKeyAlgorithm: "rsa-3072",
    } as const;

    test("every HAProxy option holds the devices and the storm with a host lost, and is minimal", () => {
        const options = haproxyFleetOptions(target, INSTANCE_TABLE, figures, 50);
        assert.ok(options.length > 10);
        for (const o of options) {
            const facts = INSTANCE_TABLE.get(o.instanceType);
            assert.ok(facts);
            const holds = (count: number) =>
                (count - target.spareHosts) * haproxyMemoryDeviceLimit(facts, figures) >=
                    target.devices &&
                stormLoad(
                    target.devices / (count - target.spareHosts),
                    target.stormSeconds,
                    facts.vcpus,
                    figures.fullConnectUs[target.caKeyAlgorithm],
                ).utilisation <= 1;
            assert.ok(holds(o.count), `${o.count} x ${o.instanceType}`);
            assert.ok(o.count === 1 + target.spareHosts || !holds(o.count - 1), o.instanceType);
            assert.ok(o.perHost <= haproxyMemoryDeviceLimit(facts, figures), o.instanceType);
        }
        const vcpus = options.map((o) => o.count * o.vcpus);
        assert.deepEqual(
            vcpus,
            [...vcpus].sort((a, b) => a - b),
            "smallest first",
        );
    });

    test("a storm the CPU cannot absorb asks for more hosts than memory alone", () => {
        const calm = haproxyFleetOptions(
            { ...target, stormSeconds: 3600 },
            INSTANCE_TABLE,
            figures,
            50,
        );
        const rushed = haproxyFleetOptions(
            { ...target, stormSeconds: 30 },
            INSTANCE_TABLE,
            figures,
            50,
        );
        const count = (list: typeof calm) =>
            list.find((o) => o.instanceType === "r7i.large")?.count;
        assert.ok((count(rushed) ?? 99) > (count(calm) ?? 0));
    });

    test("costlier CAs ask for more HAProxy vCPUs for the same storm", () => {
        const vcpusFor = (caKeyAlgorithm: "rsa-3072" | "ecdsa-p384") => {
            const [best] = haproxyFleetOptions(
                { ...target, caKeyAlgorithm },
                INSTANCE_TABLE,
                figures,
                50,
            );
            assert.ok(best, caKeyAlgorithm);
            return best.count * best.vcpus;
        };
        assert.ok(figures.fullConnectUs["ecdsa-p384"] > figures.fullConnectUs["rsa-3072"]);
        assert.ok(vcpusFor("ecdsa-p384") > vcpusFor("rsa-3072"));
    });

    test("every EMQX option holds the connections with a node lost", () => {
        for (const o of emqxFleetOptions(target, INSTANCE_TABLE, figures, 32)) {
            const facts = INSTANCE_TABLE.get(o.instanceType);
            assert.ok(facts);
            assert.ok(
                (o.count - 1) * emqxMemoryConnectionLimit(facts, figures) >= target.devices,
                o.instanceType,
            );
        }
    });
});
