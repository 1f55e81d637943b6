/**
 * The one reader of capacity/measured-figures.json: every per-device figure the capacity model
 * uses, validated (value, unit, date, method; the command for a measured figure, the source for a
 * cited one), converted to the units the model computes in. The benchmarks rewrite the file;
 * entries the model does not know are left alone, entries it needs must be there.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "../pki/key-algorithms.ts";

/** How a figure came about; only measured ones carry a command that reproduces them. */
export type FigureKind = "measured" | "cited" | "allowance";

const entrySchema = z
    .object({
        value: z.number().positive(),
        unit: z.enum(["KiB", "MiB", "us"]),
        date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: "must be a date YYYY-MM-DD" }),
        method: z.string().min(10, { error: "must say how the figure was obtained" }),
        command: z.string().min(1).optional(),
        kind: z.enum(["measured", "cited", "allowance"]).default("measured"),
        source: z.string().min(1).optional(),
    })
    .refine((e) => e.kind !== "measured" || e.command !== undefined, {
        error: "a measured figure needs the command that reproduces it",
        path: ["command"],
    })
    .refine((e) => e.kind !== "cited" || e.source !== undefined, {
        error: "a cited figure needs its source",
        path: ["source"],
    });

/** One validated figure as the file states it. */
export type FigureEntry = z.output<typeof entrySchema>;

/** CA key algorithms a stack can choose (pki.caKeyAlgorithm), each with its own connect cost. */
export const CA_KEY_ALGORITHMS = KEY_ALGORITHMS;
export type CaKeyAlgorithm = KeyAlgorithm;

/** The file's entry for a full connect under CAs of each algorithm. */
export const FULL_CONNECT_FIGURES = {
    "ecdsa-p256": "haproxyCpuPerFullConnectCaEcdsaP256",
    "ecdsa-p384": "haproxyCpuPerFullConnectCaEcdsaP384",
    "rsa-2048": "haproxyCpuPerFullConnectCaRsa2048",
    "rsa-3072": "haproxyCpuPerFullConnectCaRsa3072",
    "rsa-4096": "haproxyCpuPerFullConnectCaRsa4096",
} as const satisfies Record<CaKeyAlgorithm, string>;

/** The figures the model needs, with the unit each must be stated in. */
const required = {
    haproxyRssPerIdleDevice: "KiB",
    kernelPerDevice: "KiB",
    haproxyRssPerMaxconnSlot: "KiB",
    haproxyBaseRss: "MiB",
    osReserve: "MiB",
    haproxyCpuPerResumedConnect: "us",
    emqxMemoryPerConnection: "KiB",
    haproxyCpuPerFullConnectCaEcdsaP256: "us",
    haproxyCpuPerFullConnectCaEcdsaP384: "us",
    haproxyCpuPerFullConnectCaRsa2048: "us",
    haproxyCpuPerFullConnectCaRsa3072: "us",
    haproxyCpuPerFullConnectCaRsa4096: "us",
} as const;

export type FigureName = keyof typeof required;

/** The model's inputs, in KiB and microseconds, each with the entry it came from. */
export interface CapacityFigures {
    /** HAProxy RSS per idle established mutual-TLS device. */
    readonly haproxyKiBPerDevice: number;
    /** Kernel memory for the two sockets HAProxy holds per device. */
    readonly kernelKiBPerDevice: number;
    /** HAProxy RSS per configured maxconn slot, used or not (fd table and friends). */
    readonly haproxyKiBPerMaxconnSlot: number;
    /** HAProxy RSS with no device connected. */
    readonly haproxyBaseKiB: number;
    /** Memory a host keeps for the OS before the proxy or broker gets any. */
    readonly osReserveKiB: number;
    /**
     * HAProxy CPU per full device connect (mutual TLS + MQTT CONNECT), by the CA key algorithm:
     * HAProxy verifies the CAs' signatures on the device certificate, the intermediate and both
     * CRLs at every full handshake, so the chain's algorithm moves the cost most.
     */
    readonly fullConnectUs: Readonly<Record<CaKeyAlgorithm, number>>;
    /** HAProxy CPU per resumed device connect. */
    readonly resumedConnectUs: number;
    /** EMQX memory per MQTT connection, node baseline and kernel included. */
    readonly emqxKiBPerConnection: number;
    /** Every entry as stated in the file, for reports. */
    readonly entries: Readonly<Record<FigureName, FigureEntry>>;
}

/** Default location: next to this module. */
export const MEASURED_FIGURES_PATH = new URL("./measured-figures.json", import.meta.url);

/**
 * The entries `wanted` names, each validated and in its unit, from the parsed file; throws one
 * line naming the entry, the field and what is allowed. `reader` says who needs a missing entry.
 */
function requiredEntries<Name extends string>(
    raw: unknown,
    wanted: Readonly<Record<Name, string>>,
    origin: string,
    reader: string,
): Record<Name, FigureEntry> {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
        throw new Error(`${origin}: must be a JSON object of named figures`);
    }
    const record = raw as Record<string, unknown>;
    const entries = {} as Record<Name, FigureEntry>;
    for (const [name, unit] of Object.entries(wanted) as [Name, string][]) {
        if (!(name in record)) {
            throw new Error(`${origin}: ${name} is missing; ${reader} needs it (in ${unit})`);
        }
        const result = entrySchema.safeParse(record[name]);
        if (!result.success) {
            const issue = result.error.issues[0];
            const field = issue?.path.join(".") || "(entry)";
            throw new Error(`${origin}: ${name}.${field}: ${issue?.message ?? "is invalid"}`);
        }
        if (result.data.unit !== unit) {
            throw new Error(
                `${origin}: ${name}.unit = ${JSON.stringify(result.data.unit)}: must be ${unit}`,
            );
        }
        entries[name] = result.data;
    }
    return entries;
}

/**
 * Validates the parsed file. Throws one line naming the entry, the field and what is allowed.
 */
export function parseCapacityFigures(
    raw: unknown,
    origin = "measured-figures.json",
): CapacityFigures {
    const entries = requiredEntries(raw, required, origin, "the capacity model");
    const mib = (name: FigureName) => entries[name].value * 1024;
    const value = (name: FigureName) => entries[name].value;
    return {
        haproxyKiBPerDevice: value("haproxyRssPerIdleDevice"),
        kernelKiBPerDevice: value("kernelPerDevice"),
        haproxyKiBPerMaxconnSlot: value("haproxyRssPerMaxconnSlot"),
        haproxyBaseKiB: mib("haproxyBaseRss"),
        osReserveKiB: mib("osReserve"),
        fullConnectUs: Object.fromEntries(
            CA_KEY_ALGORITHMS.map((a) => [a, value(FULL_CONNECT_FIGURES[a])]),
        ) as Record<CaKeyAlgorithm, number>,
        resumedConnectUs: value("haproxyCpuPerResumedConnect"),
        emqxKiBPerConnection: value("emqxMemoryPerConnection"),
        entries,
    };
}

let cached: CapacityFigures | undefined;

/** Reads and validates the committed figures file (once per process). */
export function loadCapacityFigures(): CapacityFigures {
    if (cached === undefined) {
        const text = readFileSync(MEASURED_FIGURES_PATH, "utf8");
        cached = parseCapacityFigures(JSON.parse(text));
    }
    return cached;
}

/**
 * The load generator's own figures (npm run bench:generator), what capacity/load-generator-sizing.ts
 * sizes the generator instances from, with the unit each must be stated in.
 */
const generatorRequired = {
    generatorRssPerDevice: "KiB",
    generatorBaseRss: "MiB",
    generatorCpuPerConnect: "us",
    osReserve: "MiB",
} as const;

export type GeneratorFigureName = keyof typeof generatorRequired;

/** What one load-generator process costs, in KiB and microseconds. */
export interface LoadGeneratorFigures {
    /** Generator RSS per held device connection (TLS and MQTT client state, its credential). */
    readonly rssKiBPerDevice: number;
    /** Generator RSS with no device (Node, the generator code). */
    readonly baseKiB: number;
    /** Generator CPU per completed connect (TLS handshake with its certificate, CONNECT, CONNACK). */
    readonly cpuUsPerConnect: number;
    /** Memory the host keeps for the OS, the same allowance as for the edge hosts. */
    readonly osReserveKiB: number;
    /** Every entry as stated in the file, for the plan printout. */
    readonly entries: Readonly<Record<GeneratorFigureName, FigureEntry>>;
}

/** Validates the generator's figures in the parsed file; one line naming the entry on a problem. */
export function parseLoadGeneratorFigures(
    raw: unknown,
    origin = "measured-figures.json",
): LoadGeneratorFigures {
    const entries = requiredEntries(raw, generatorRequired, origin, "load-generator sizing");
    return {
        rssKiBPerDevice: entries.generatorRssPerDevice.value,
        baseKiB: entries.generatorBaseRss.value * 1024,
        cpuUsPerConnect: entries.generatorCpuPerConnect.value,
        osReserveKiB: entries.osReserve.value * 1024,
        entries,
    };
}

let cachedGenerator: LoadGeneratorFigures | undefined;

/** Reads and validates the load generator's figures from the committed file (once per process). */
export function loadLoadGeneratorFigures(): LoadGeneratorFigures {
    if (cachedGenerator === undefined) {
        const text = readFileSync(MEASURED_FIGURES_PATH, "utf8");
        cachedGenerator = parseLoadGeneratorFigures(JSON.parse(text));
    }
    return cachedGenerator;
}
