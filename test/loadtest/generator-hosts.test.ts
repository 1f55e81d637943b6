/**
 * The generator hosts of a cloud scenario: how many and of which type, from the committed
 * generator figures. Counts and types are computed from the figures, not copied, so a
 * re-measurement moves the cases with it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadLoadGeneratorFigures } from "../../capacity/figures.ts";
import {
    maxConnectRatePerGenerator,
    pickGeneratorInstance,
} from "../../capacity/load-generator-sizing.ts";
import {
    generatorHostsLine,
    generatorLoad,
    parseGeneratorFamily,
    planGeneratorHosts,
} from "../../scripts/loadtest/generator-hosts.ts";
import { planScenario, type ScenarioFlags } from "../../scripts/loadtest/scenario-plan.ts";
import { fileDescriptorLimit } from "../../templates/cloud-init-kernel-limits.ts";

const figures = loadLoadGeneratorFigures();
const maxRate = maxConnectRatePerGenerator(figures);

function plan(flags: ScenarioFlags) {
    return planScenario({ scenario: "connect-storm", hold: "10", ...flags }, "cloud");
}

describe("planGeneratorHosts", () => {
    test("without --generators, the count grows until each generator's connect rate fits one core", () => {
        const rate = Math.floor(maxRate * 3.5);
        const hosts = planGeneratorHosts(
            plan({ devices: "20000", rate: String(rate) }),
            { explicitCount: false },
            figures,
        );
        assert.equal(hosts.count, Math.ceil(rate / maxRate));
        assert.ok(hosts.load.ratePerSecond <= maxRate);
        assert.equal(hosts.chosenBy, "sizing");
        assert.equal(hosts.instanceType, pickGeneratorInstance(hosts.load, figures)?.instanceType);
        assert.equal(
            hosts.openFilesLimit,
            fileDescriptorLimit({ maxConnections: hosts.load.devices, socketsPerConnection: 1 }),
        );
    });

    test("the line says the type, the devices and rate per generator, memory and CPU", () => {
        const hosts = planGeneratorHosts(
            plan({ devices: "1000", rate: "10" }),
            { explicitCount: false },
            figures,
        );
        assert.match(
            generatorHostsLine(hosts, figures),
            new RegExp(
                `^loadtest: 1 load generator x ${hosts.instanceType.replace(".", "\\.")} \\(the smallest c7i type that fits\\) for 1,000 devices and 10\\.0 connects/s each: memory \\d+\\.\\d of \\d+ GiB .* CPU 0\\.\\d\\d of one core for connects at ${figures.cpuUsPerConnect} us each .* = 2 of \\d+ vCPUs, open files [\\d,]+; generator figures of \\d{4}-\\d\\d-\\d\\d \\(npm run bench:generator\\)$`,
            ),
        );
    });

    test("an explicit --generators that is too few is refused with the count that fits", () => {
        const rate = Math.floor(maxRate * 2.5);
        assert.throws(
            () =>
                planGeneratorHosts(
                    plan({ devices: "5000", rate: String(rate), generators: "1" }),
                    { explicitCount: true },
                    figures,
                ),
            new RegExp(
                `^ConfigError: --generators 1 gives each generator 5,000 devices at [\\d,]+ connects/s, which no c7i type carries \\(at most ${Math.floor(maxRate)} connects/s per generator, on one core\\); raise --generators to ${Math.ceil(rate / maxRate)}$`,
            ),
        );
    });

    test("an explicit --generators too few for the memory says so", () => {
        // steady-publish keeps one latency per message: a long run at a high rate outgrows a host.
        const scenario = planScenario(
            {
                scenario: "steady-publish",
                devices: "20000",
                rate: "50",
                hold: "3600",
                "publish-rate": "100",
                generators: "1",
            },
            "cloud",
        );
        const enough = [...Array(50).keys()]
            .map((k) => k + 1)
            .find((k) => pickGeneratorInstance(generatorLoad(scenario, k), figures));
        assert.ok(enough !== undefined && enough > 1, String(enough));
        assert.throws(
            () => planGeneratorHosts(scenario, { explicitCount: true }, figures),
            new RegExp(
                `^ConfigError: --generators 1 gives each generator 20,000 devices at 50 connects/s, which no c7i type carries \\([\\d.]+ GiB of memory, more than the largest has\\); raise --generators to ${enough}$`,
            ),
        );
    });

    test("a rate not even 50 generators carry is refused, naming --rate", () => {
        const rate = Math.ceil(maxRate * 50) + 50;
        assert.throws(
            () =>
                planGeneratorHosts(
                    plan({ devices: "100000", rate: String(rate) }),
                    { explicitCount: false },
                    figures,
                ),
            /^ConfigError: --devices 100000 at --rate \d+: even 50 load generators cannot carry it .*; lower --rate or --devices$/,
        );
    });

    test("steady-publish counts the messages each generator's subscriber times", () => {
        const scenario = planScenario(
            {
                scenario: "steady-publish",
                devices: "1000",
                rate: "10",
                hold: "600",
                "publish-rate": "2",
            },
            "cloud",
        );
        assert.equal(generatorLoad(scenario, 2).timedMessages, 500 * 2 * 600);
        assert.equal(generatorLoad(plan({ devices: "1000", rate: "10" }), 2).timedMessages, 0);
    });

    describe("an operator's --set loadGenerators.instanceType", () => {
        const storm = () => plan({ devices: "50000", rate: "50" });
        const sized = planGeneratorHosts(storm(), { explicitCount: false }, figures);

        test("wins when it holds the plan", () => {
            const hosts = planGeneratorHosts(
                storm(),
                { explicitCount: false, instanceType: "r7i.4xlarge" },
                figures,
            );
            assert.equal(hosts.instanceType, "r7i.4xlarge");
            assert.equal(hosts.chosenBy, "operator");
        });

        test("is refused when too small, naming the key, the value and what fits", () => {
            assert.notEqual(
                sized.instanceType,
                "c7i.large",
                "the plan needs more than the smallest",
            );
            assert.throws(
                () =>
                    planGeneratorHosts(
                        storm(),
                        { explicitCount: false, instanceType: "c7i.large" },
                        figures,
                    ),
                new RegExp(
                    `^ConfigError: --set loadGenerators.instanceType="c7i.large" is too small for 50,000 devices at 50 connects/s per generator \\(needs [\\d.]+ GiB of memory, has 4\\); allowed: ${sized.instanceType.replace(".", "\\.")} or larger, or more --generators$`,
                ),
            );
        });

        test("is refused when it cannot be sized: Graviton, or not in the table", () => {
            for (const type of ["c7g.4xlarge", "c5.9xlarge"]) {
                assert.throws(
                    () =>
                        planGeneratorHosts(
                            storm(),
                            { explicitCount: false, instanceType: type },
                            figures,
                        ),
                    new RegExp(
                        `^ConfigError: --set loadGenerators.instanceType="${type.replace(".", "\\.")}": not an x86_64 type of the instance table \\(c7i, c6i, m7i, r7i; capacity/instance-types.ts\\), so it cannot be sized; allowed: `,
                    ),
                );
            }
        });
    });

    test("--generator-family takes the x86_64 families only", () => {
        assert.equal(parseGeneratorFamily("m7i"), "m7i");
        assert.equal(parseGeneratorFamily(undefined), undefined);
        assert.throws(
            () => parseGeneratorFamily("c7g"),
            /^ConfigError: --generator-family "c7g" is not valid: one of c7i, c6i, m7i, r7i \(the generator hosts boot an x86_64 image\)$/,
        );
    });
});
