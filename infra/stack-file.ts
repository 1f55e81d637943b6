/**
 * Reads `Pulumi.<stack>.yaml` without the Pulumi CLI, for the render CLI and the tests. Only the
 * project's own keys are returned; `{secure: ...}` values (encrypted secrets) cannot be decrypted
 * here and come back in `secrets` so callers can render placeholders for them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { CONFIG_NAMESPACE, ConfigError, SECRET_KEYS } from "./config.ts";
import { checkConfigNamespace, checkStackFileSections } from "./stack-file-keys.ts";

export interface StackFile {
    /** Stack name, from the file name. */
    readonly stack: string;
    /** The file read. */
    readonly path: string;
    /** Project keys without the namespace, as YAML values; secrets left out. */
    readonly raw: Record<string, unknown>;
    /** Project keys whose values are encrypted secrets in the file. */
    readonly secrets: readonly string[];
    /** Secret project keys (SECRET_KEYS) whose values are in plaintext in the file. */
    readonly plaintextSecrets: readonly string[];
    /** Keys of other namespaces (aws:region, ...), as strings. */
    readonly providerConfig: Readonly<Record<string, string>>;
}

const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Stack names that have a committed `Pulumi.<stack>.yaml` in `projectDir`. */
export function listStacks(projectDir: string): string[] {
    return readdirSync(projectDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

export function readStackFile(projectDir: string, stack: string): StackFile {
    if (!STACK_NAME.test(stack)) {
        throw new ConfigError(
            `stack name ${JSON.stringify(stack)} is not valid: use letters, digits, '_', '.', '-'`,
        );
    }
    const path = join(projectDir, `Pulumi.${stack}.yaml`);
    if (!existsSync(path)) {
        const known = listStacks(projectDir);
        throw new ConfigError(
            `unknown stack ${JSON.stringify(stack)}: no ${path}; stacks here: ${known.join(", ") || "(none)"}`,
        );
    }
    let doc: unknown;
    try {
        doc = parse(readFileSync(path, "utf8"));
    } catch (e) {
        const first = String((e as Error).message).split("\n")[0];
        throw new ConfigError(`${path} is not valid YAML: ${first}`);
    }
    if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) {
        throw new ConfigError(
            `${path}: the file must be a map (config: ...); allowed: a Pulumi stack settings file`,
        );
    }
    checkStackFileSections(path, (doc ?? {}) as Record<string, unknown>);
    const config = (doc as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new ConfigError(`${path}: 'config' must be a map of keys to values`);
    }
    const raw: Record<string, unknown> = {};
    const secrets: string[] = [];
    const providerConfig: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(config)) {
        checkConfigNamespace(fullKey);
        const colon = fullKey.indexOf(":");
        const namespace = colon < 0 ? CONFIG_NAMESPACE : fullKey.slice(0, colon);
        const key = colon < 0 ? fullKey : fullKey.slice(colon + 1);
        if (namespace !== CONFIG_NAMESPACE) {
            providerConfig[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
        } else if (isSecure(value)) {
            secrets.push(key);
        } else {
            raw[key] = value;
        }
    }
    const plaintextSecrets = SECRET_KEYS.filter((key) => key in raw);
    return { stack, path, raw, secrets, plaintextSecrets, providerConfig };
}

function isSecure(value: unknown): boolean {
    return typeof value === "object" && value !== null && "secure" in value;
}
