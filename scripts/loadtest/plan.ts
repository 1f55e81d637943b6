/**
 * Turns `--base/--id/--ttl/--set` into the exact configuration and tags of a load-test stack, and
 * validates it with the stack schema, before anything is created. Pure: no I/O, no Pulumi.
 */
import { CONFIG_NAMESPACE, ConfigError, parseEdgeConfig, SECRET_KEYS } from "../../infra/config.ts";
import type { StackFile } from "../../infra/stack-file.ts";
import { checkConfigNamespace } from "../../infra/stack-file-keys.ts";
import type { StackConfigMap } from "./workspace.ts";

/** Stack tag that marks a load-test stack for the janitor. */
export const LOADTEST_TAG = "mqtt-edge:loadtest";
/** Stack tag holding the ISO time after which the janitor may destroy the stack. */
export const EXPIRES_AT_TAG = "mqtt-edge:expires-at";
/** Every load-test stack is named `loadtest-<id>`; the janitor only touches names like that. */
export const STACK_PREFIX = "loadtest-";

export const DEFAULT_TTL_HOURS = 4;
const MAX_TTL_HOURS = 168;
// Lower-case because the id lands in Docker and AWS names; short because AWS caps several of
// those (an NLB name is at most 32 characters).
const ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$/;
const PATH_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAMESPACE = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** One `--set <key.path>=<json>`. */
export interface ConfigOverride {
    /** `mqtt-edge` for the project's keys, else a provider namespace such as `aws`. */
    readonly namespace: string;
    /** Key and nested keys, e.g. ["haproxy", "instances"]; provider keys have one segment. */
    readonly path: readonly string[];
    /** The parsed JSON value. */
    readonly value: unknown;
}

/** What the operator asked for. */
export interface LoadtestRequest {
    /** The base stack's file, read by infra/stack-file.ts. */
    readonly base: StackFile;
    /** The id; the stack is `loadtest-<id>`. */
    readonly id: string;
    /** Hours until the janitor may remove the stack. */
    readonly ttlHours: number;
    /** Overrides in command-line order; later ones win. */
    readonly overrides: readonly ConfigOverride[];
    /** The time the plan is made. */
    readonly now: Date;
}

/** A validated load-test stack, ready to create. */
export interface LoadtestPlan {
    /** `loadtest-<id>`. */
    readonly stackName: string;
    /** The whole configuration to write, secrets marked. */
    readonly config: StackConfigMap;
    /** The stack tags: LOADTEST_TAG and EXPIRES_AT_TAG. */
    readonly tags: Readonly<Record<string, string>>;
    /** When the janitor may remove it (ISO 8601, UTC). */
    readonly expiresAt: string;
    /** The validated configuration's target, for the progress lines. */
    readonly target: string;
    /** The validated mqtt.keepaliveSeconds: what generated devices announce in CONNECT. */
    readonly keepaliveSeconds: number;
}

export function validateId(id: string): string {
    if (!ID_PATTERN.test(id)) {
        throw new ConfigError(
            `--id ${JSON.stringify(id)} is not valid: use 1 to 16 lower-case letters, digits and inner '-'`,
        );
    }
    return id;
}

/** A short id that sorts by creation time: seconds since 1970 in base 36 plus 3 random chars. */
export function defaultId(now: Date, random: () => number = Math.random): string {
    const seconds = Math.floor(now.getTime() / 1000).toString(36);
    const suffix = Math.floor(random() * 36 ** 3)
        .toString(36)
        .padStart(3, "0");
    return `${seconds}${suffix}`;
}

export function parseTtlHours(text: string): number {
    const hours = Number(text);
    if (text.trim() === "" || !Number.isFinite(hours) || hours <= 0 || hours > MAX_TTL_HOURS) {
        throw new ConfigError(
            `--ttl ${JSON.stringify(text)} is not valid: hours, a number above 0 and at most ${MAX_TTL_HOURS}`,
        );
    }
    return hours;
}

const SET_USAGE = "use --set <key.path>=<json>, e.g. --set haproxy.instances=1";

/** Parses one `--set` argument; the value is JSON, so strings need quotes: `'aws:region="us-east-1"'`. */
export function parseOverride(text: string): ConfigOverride {
    const eq = text.indexOf("=");
    if (eq <= 0)
        throw new ConfigError(`--set ${JSON.stringify(text)} has no key=value; ${SET_USAGE}`);
    const fullKey = text.slice(0, eq);
    // `--set mqtt_edge:target=...` would otherwise become a provider key nobody reads.
    checkConfigNamespace(fullKey);
    const colon = fullKey.indexOf(":");
    const namespace = colon < 0 ? CONFIG_NAMESPACE : fullKey.slice(0, colon);
    const path = (colon < 0 ? fullKey : fullKey.slice(colon + 1)).split(".");
    if (!NAMESPACE.test(namespace) || !path.every((s) => PATH_SEGMENT.test(s))) {
        throw new ConfigError(
            `--set key ${JSON.stringify(fullKey)} is not valid: [namespace:]key[.nested...] of letters, digits, '_'; ${SET_USAGE}`,
        );
    }
    if (namespace !== CONFIG_NAMESPACE && path.length > 1) {
        throw new ConfigError(
            `--set key ${JSON.stringify(fullKey)} is not valid: provider keys (${namespace}:...) take no nested path; set the whole value`,
        );
    }
    const secret = isSecretKey(namespace, path);
    let value: unknown;
    try {
        value = JSON.parse(text.slice(eq + 1));
    } catch {
        const shown = secret ? "[secret]" : JSON.stringify(text.slice(eq + 1));
        throw new ConfigError(
            `--set ${fullKey}=${shown}: the value must be JSON (quote strings: ${fullKey}='"text"')`,
        );
    }
    return { namespace, path, value };
}

function isSecretKey(namespace: string, path: readonly string[]): boolean {
    return (
        namespace === CONFIG_NAMESPACE && (SECRET_KEYS as readonly string[]).includes(path[0] ?? "")
    );
}

/** A provider value that readStackFile passed on as JSON text of `{secure: ...}`. */
function isEncryptedProviderValue(value: string): boolean {
    try {
        const parsed: unknown = JSON.parse(value);
        return typeof parsed === "object" && parsed !== null && "secure" in parsed;
    } catch {
        return false;
    }
}

/**
 * The load-test stack's configuration: the base's keys, then the overrides, validated with the
 * stack schema. Throws ConfigError (one line) on anything the stack would refuse.
 */
export function planLoadtest(request: LoadtestRequest): LoadtestPlan {
    const { base } = request;
    const id = validateId(request.id);
    const raw: Record<string, unknown> = structuredClone(base.raw);
    const provider: Record<string, string> = { ...base.providerConfig };
    const setSecrets = new Set<string>();
    for (const override of request.overrides) {
        if (override.namespace === CONFIG_NAMESPACE) {
            setPath(raw, override.path, override.value);
            if (isSecretKey(override.namespace, override.path))
                setSecrets.add(override.path[0] ?? "");
        } else {
            const key = `${override.namespace}:${override.path[0]}`;
            provider[key] =
                typeof override.value === "string"
                    ? override.value
                    : JSON.stringify(override.value);
        }
    }
    // Encrypted values are bound to the base stack's secrets provider: they cannot be read here,
    // and copying the ciphertext would not decrypt under the new stack's key.
    const uncopied = [
        ...base.secrets
            .filter((key) => !setSecrets.has(key))
            .map((k) => `${CONFIG_NAMESPACE}:${k}`),
        ...Object.entries(provider)
            .filter(([, value]) => isEncryptedProviderValue(value))
            .map(([key]) => key),
    ];
    if (uncopied.length > 0) {
        throw new ConfigError(
            `base stack ${base.stack} has encrypted secrets that cannot be copied: ${uncopied.join(", ")}; give each with --set <key>=<json> (stored as a secret on the load-test stack)`,
        );
    }
    const parsed = parseEdgeConfig(raw, {
        // A key given with --set is stored as a secret on the load-test stack; one copied from
        // the base stack's plaintext needs the base's pki.allowPlaintextKeys.
        plaintextSecrets: base.plaintextSecrets.filter((key) => !setSecrets.has(key)),
        awsRegion: provider["aws:region"],
    });
    const expiresAt = new Date(request.now.getTime() + request.ttlHours * 3_600_000)
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z");
    const config: Record<string, { value: string; secret: boolean }> = {};
    for (const [key, value] of Object.entries(provider)) config[key] = { value, secret: false };
    for (const [key, value] of Object.entries(raw)) {
        // The program reads every value as text and parses structured ones as JSON
        // (infra/stack-config.ts), which is how Pulumi hands YAML maps and lists to a program.
        config[`${CONFIG_NAMESPACE}:${key}`] = {
            value: typeof value === "string" ? value : JSON.stringify(value),
            secret: (SECRET_KEYS as readonly string[]).includes(key),
        };
    }
    return {
        stackName: `${STACK_PREFIX}${id}`,
        config,
        tags: { [LOADTEST_TAG]: "true", [EXPIRES_AT_TAG]: expiresAt },
        expiresAt,
        target: parsed.target,
        keepaliveSeconds: parsed.mqtt.keepaliveSeconds,
    };
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
    let node = root;
    for (const [i, segment] of path.slice(0, -1).entries()) {
        const next = node[segment];
        if (next === undefined) {
            const created: Record<string, unknown> = {};
            node[segment] = created;
            node = created;
        } else if (typeof next === "object" && next !== null && !Array.isArray(next)) {
            node = next as Record<string, unknown>;
        } else {
            const at = path.slice(0, i + 1).join(".");
            throw new ConfigError(
                `--set ${path.join(".")}: ${CONFIG_NAMESPACE}:${at} is not a map in the base stack, so it has no nested keys; set ${at} as a whole`,
            );
        }
    }
    node[path[path.length - 1] ?? ""] = value;
}
