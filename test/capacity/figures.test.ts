/**
 * The measured-figures file and its one reader: the committed file validates, and every kind of
 * bad entry is refused with one line naming the entry and the field.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
    CA_KEY_ALGORITHMS,
    FULL_CONNECT_FIGURES,
    loadCapacityFigures,
    MEASURED_FIGURES_PATH,
    parseCapacityFigures,
} from "../../capacity/figures.ts";
import { stackSchema } from "../../infra/config-schema.ts";

const committed = JSON.parse(readFileSync(MEASURED_FIGURES_PATH, "utf8")) as Record<
    string,
    Record<string, unknown>
>;

function withEntry(name: string, entry: unknown): Record<string, unknown> {
    return { ...committed, [name]: entry };
}

describe("capacity/measured-figures.json", () => {
    test("the committed file validates and converts MiB to KiB", () => {
        const f = loadCapacityFigures();
        assert.equal(f.haproxyKiBPerDevice, committed.haproxyRssPerIdleDevice?.value);
        assert.equal(f.osReserveKiB, Number(committed.osReserve?.value) * 1024);
        for (const algorithm of CA_KEY_ALGORITHMS) {
            assert.equal(
                f.fullConnectUs[algorithm],
                committed[FULL_CONNECT_FIGURES[algorithm]]?.value,
                algorithm,
            );
        }
    });

    test("every CA key algorithm a stack can choose has its own full-connect figure", () => {
        const schemaChoices = stackSchema.shape.pki.unwrap().shape.caKeyAlgorithm;
        for (const algorithm of CA_KEY_ALGORITHMS) {
            assert.equal(schemaChoices.safeParse(algorithm).success, true, algorithm);
        }
        assert.equal(schemaChoices.safeParse("ecdsa-p521").success, false);
        assert.throws(
            () =>
                parseCapacityFigures(
                    Object.fromEntries(
                        Object.entries(committed).filter(
                            ([k]) => k !== FULL_CONNECT_FIGURES["ecdsa-p384"],
                        ),
                    ),
                ),
            /^Error: measured-figures\.json: haproxyCpuPerFullConnectCaEcdsaP384 is missing; the capacity model needs it \(in us\)$/,
        );
    });

    test("the EMQX figure is marked cited, with its source, not measured", () => {
        const f = loadCapacityFigures();
        assert.equal(f.entries.emqxMemoryPerConnection.kind, "cited");
        assert.match(f.entries.emqxMemoryPerConnection.source ?? "", /^https:\/\/www\.emqx\.com\//);
    });

    test("figures other engineers add are kept out of the way, not refused", () => {
        const f = parseCapacityFigures(
            withEntry("somethingNew", { value: 1, unit: "parsecs", date: "x", method: "?" }),
        );
        assert.equal(f.kernelKiBPerDevice, committed.kernelPerDevice?.value);
    });

    const bad: [string, Record<string, unknown>, RegExp][] = [
        [
            "a missing entry",
            Object.fromEntries(Object.entries(committed).filter(([k]) => k !== "kernelPerDevice")),
            /^measured-figures\.json: kernelPerDevice is missing; the capacity model needs it \(in KiB\)$/,
        ],
        [
            "a wrong unit",
            withEntry("haproxyCpuPerFullConnectCaRsa3072", {
                ...committed.haproxyCpuPerFullConnectCaRsa3072,
                unit: "KiB",
            }),
            /^measured-figures\.json: haproxyCpuPerFullConnectCaRsa3072\.unit = "KiB": must be us$/,
        ],
        [
            "a measured figure without its command",
            withEntry("kernelPerDevice", { ...committed.kernelPerDevice, command: undefined }),
            /^measured-figures\.json: kernelPerDevice\.command: a measured figure needs the command/,
        ],
        [
            "a cited figure without its source",
            withEntry("emqxMemoryPerConnection", {
                ...committed.emqxMemoryPerConnection,
                source: undefined,
            }),
            /^measured-figures\.json: emqxMemoryPerConnection\.source: a cited figure needs its source$/,
        ],
        [
            "a negative value",
            withEntry("haproxyRssPerIdleDevice", {
                ...committed.haproxyRssPerIdleDevice,
                value: -24.3,
            }),
            /^measured-figures\.json: haproxyRssPerIdleDevice\.value: /,
        ],
        [
            "a date that is not one",
            withEntry("osReserve", { ...committed.osReserve, date: "yesterday" }),
            /^measured-figures\.json: osReserve\.date: must be a date YYYY-MM-DD$/,
        ],
    ];
    for (const [name, raw, message] of bad) {
        test(`${name} is refused with one line`, () => {
            assert.throws(
                () => parseCapacityFigures(raw),
                (e: Error) => e.message.split("\n").length === 1 && message.test(e.message),
            );
        });
    }
});
