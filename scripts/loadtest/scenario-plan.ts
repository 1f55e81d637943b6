/**
 * The scenario flags (`--scenario --devices --rate --ramp --hold --publish-rate --payload-bytes
 * --generators`) turned into one bounded plan and the per-generator jobs. Pure: every limit is
 * checked here, before a certificate is issued or a stack exists, and each refusal is one line
 * naming the flag, the value and what is allowed.
 */
import { ConfigError } from "../../infra/config.ts";
import { phaseSeconds } from "./generator/connect-schedule.ts";
import { type ScenarioJob, type ScenarioName, scenarioNames } from "./generator/scenario-job.ts";

/** The scenario flags as given (strings from parseArgs). */
export interface ScenarioFlags {
    scenario?: string;
    devices?: string;
    rate?: string;
    ramp?: string;
    hold?: string;
    "publish-rate"?: string;
    "payload-bytes"?: string;
    generators?: string;
    "connect-timeout"?: string;
    "max-pending"?: string;
    "generator-family"?: string;
}

/** A validated scenario. */
export interface ScenarioPlan {
    scenario: ScenarioName;
    /** Devices over all generators. */
    devices: number;
    /** Target connect rate over all generators, per second. */
    ratePerSecond: number;
    rampSeconds: number;
    holdSeconds: number;
    publishPerSecond: number;
    payloadBytes: number;
    /** Load generators (1 in local mode). */
    generators: number;
    /** An attempt without CONNACK after this many ms is a timeout. */
    connectTimeoutMs: number;
    /** Most undecided attempts per generator. */
    maxPending: number;
    /** An upper bound of the scenario's running time, s: the orchestration's deadline. */
    boundSeconds: number;
}

/** Most devices in one run. */
export const MAX_DEVICES = 1_000_000;
/**
 * Most devices one generator host opens: one source address to one NLB address:port has at most
 * 64,512 ephemeral ports (corrections.md, backend ports); keep a margin for the OS.
 */
export const MAX_DEVICES_PER_GENERATOR = 60_000;
/** Default devices per generator when --generators is not given. */
export const DEFAULT_DEVICES_PER_GENERATOR = 50_000;
/** Most load-generator hosts in one run. */
export const MAX_GENERATORS = 50;
const MAX_RATE = 50_000;
const MAX_HOLD_SECONDS = 3_600;
const MAX_RAMP_SECONDS = 600;
/** No scenario runs longer than this, whatever the flags. */
export const MAX_SCENARIO_SECONDS = 2 * 3_600;
/**
 * Default for --connect-timeout: an attempt without CONNACK after this many seconds is a timeout.
 * mqtt.js's own connectTimeout default is 30 s (MqttClient options), so a real fleet gives up
 * about then too.
 */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 30;
/** Default for --max-pending (per generator): see ScenarioJob.maxPending. */
export const DEFAULT_MAX_PENDING = 100;

function numberFlag(
    name: string,
    text: string | undefined,
    fallback: number,
    min: number,
    max: number,
    integer: boolean,
): number {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (
        text.trim() === "" ||
        !Number.isFinite(value) ||
        (integer && !Number.isInteger(value)) ||
        value < min ||
        value > max
    ) {
        throw new ConfigError(
            `--${name} ${JSON.stringify(text)} is not valid: ${integer ? "a whole number" : "a number"} from ${min} to ${max}`,
        );
    }
    return value;
}

/** Validates the flags; `mode` decides whether --generators may be given. */
export function planScenario(flags: ScenarioFlags, mode: "local" | "cloud"): ScenarioPlan {
    const scenario = flags.scenario;
    if (!(scenarioNames as readonly string[]).includes(scenario ?? "")) {
        throw new ConfigError(
            `--scenario ${JSON.stringify(scenario ?? "")} is not valid: one of ${scenarioNames.join(", ")}`,
        );
    }
    const devices = numberFlag("devices", flags.devices, 1000, 1, MAX_DEVICES, true);
    const ratePerSecond = numberFlag("rate", flags.rate, 100, 1, MAX_RATE, false);
    const defaultRamp = Math.min(5, devices / ratePerSecond / 4);
    const rampSeconds = numberFlag("ramp", flags.ramp, defaultRamp, 0, MAX_RAMP_SECONDS, false);
    const holdSeconds = numberFlag("hold", flags.hold, 10, 0, MAX_HOLD_SECONDS, false);
    const publishPerSecond = numberFlag("publish-rate", flags["publish-rate"], 1, 0.01, 100, false);
    const payloadBytes = numberFlag("payload-bytes", flags["payload-bytes"], 64, 8, 65_536, true);
    const maxPending = numberFlag(
        "max-pending",
        flags["max-pending"],
        DEFAULT_MAX_PENDING,
        1,
        100_000,
        true,
    );
    const connectTimeoutSeconds = numberFlag(
        "connect-timeout",
        flags["connect-timeout"],
        DEFAULT_CONNECT_TIMEOUT_SECONDS,
        1,
        300,
        false,
    );
    if (scenario !== "steady-publish") {
        for (const name of ["publish-rate", "payload-bytes"] as const) {
            if (flags[name] !== undefined) {
                throw new ConfigError(`--${name} is only for --scenario steady-publish`);
            }
        }
    }
    for (const name of ["generators", "generator-family"] as const) {
        if (mode === "local" && flags[name] !== undefined) {
            throw new ConfigError(
                `--${name} is only for cloud runs; --local runs one generator in this process`,
            );
        }
    }
    const generators =
        mode === "local"
            ? 1
            : numberFlag(
                  "generators",
                  flags.generators,
                  Math.min(MAX_GENERATORS, Math.ceil(devices / DEFAULT_DEVICES_PER_GENERATOR)),
                  1,
                  MAX_GENERATORS,
                  true,
              );
    // Locally the descriptor limit is far lower and checked where the edge starts (local-run.ts).
    if (mode === "cloud" && Math.ceil(devices / generators) > MAX_DEVICES_PER_GENERATOR) {
        throw new ConfigError(
            `--devices ${devices} over --generators ${generators} is ${Math.ceil(devices / generators)} per generator; allowed: at most ${MAX_DEVICES_PER_GENERATOR} (one source address has about 64,500 ports): use --generators ${Math.ceil(devices / MAX_DEVICES_PER_GENERATOR)} or more`,
        );
    }
    const scenarioName = scenario as ScenarioName;
    const connectSeconds =
        phaseSeconds(devices, ratePerSecond, rampSeconds) + connectTimeoutSeconds;
    const boundSeconds = Math.ceil(
        connectSeconds +
            holdSeconds +
            (scenarioName === "reconnect-storm" ? connectSeconds + Math.min(holdSeconds, 5) : 0) +
            (scenarioName === "steady-publish" ? 2 * connectTimeoutSeconds + 5 : 0) +
            // closing every connection at the end
            5,
    );
    if (boundSeconds > MAX_SCENARIO_SECONDS) {
        throw new ConfigError(
            `--devices ${devices} at --rate ${ratePerSecond} with --hold ${holdSeconds} would run about ${boundSeconds} s; allowed: at most ${MAX_SCENARIO_SECONDS} s: raise --rate or lower --devices or --hold`,
        );
    }
    return {
        scenario: scenarioName,
        devices,
        ratePerSecond,
        rampSeconds,
        holdSeconds,
        publishPerSecond,
        payloadBytes,
        generators,
        connectTimeoutMs: connectTimeoutSeconds * 1000,
        maxPending,
        boundSeconds,
    };
}

/**
 * Splits the plan over the generators: devices and rate as evenly as whole devices allow
 * (each generator's rate is proportional to its devices, so all finish together).
 */
export function generatorJobs(
    plan: ScenarioPlan,
    runId: string,
    keepaliveSeconds: number,
    startAtEpochMs?: number,
): ScenarioJob[] {
    const base = Math.floor(plan.devices / plan.generators);
    const extra = plan.devices % plan.generators;
    let firstDevice = 0;
    return Array.from({ length: plan.generators }, (_, generator) => {
        const devices = base + (generator < extra ? 1 : 0);
        const job: ScenarioJob = {
            scenario: plan.scenario,
            runId,
            generator,
            devices,
            firstDevice,
            ratePerSecond: (plan.ratePerSecond * devices) / plan.devices,
            rampSeconds: plan.rampSeconds,
            holdSeconds: plan.holdSeconds,
            keepaliveSeconds,
            publishPerSecond: plan.publishPerSecond,
            payloadBytes: plan.payloadBytes,
            connectDeadlineMs: plan.connectTimeoutMs,
            maxPending: plan.maxPending,
            ...(startAtEpochMs !== undefined ? { startAtEpochMs } : {}),
        };
        firstDevice += devices;
        return job;
    });
}
