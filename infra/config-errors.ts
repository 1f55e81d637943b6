/**
 * One-line configuration errors: `<namespace>:<key path> = <value>: <what is allowed>`, with
 * secrets and PEM blocks never echoed.
 */
import type { z } from "zod";
import { stackSchema } from "./config-schema.ts";

export const CONFIG_NAMESPACE = "mqtt-edge";

/** Keys that hold secrets: they are read as Pulumi secrets and never printed. */
export const SECRET_KEYS = ["emqxLicenseKey", "caDeviceKeyPem", "caRootKeyPem"] as const;

export class ConfigError extends Error {
    override name = "ConfigError";
}

export function fail(key: string, value: unknown, allowed: string): never {
    throw new ConfigError(`${CONFIG_NAMESPACE}:${key} = ${showValue(key, value)}: ${allowed}`);
}

export function describeIssue(issue: z.core.$ZodIssue): string {
    if (issue.code === "unrecognized_keys") {
        const parent = formatPath(issue.path);
        const key = [parent, issue.keys[0]].filter(Boolean).join(".");
        const allowed = allowedKeysAt(issue.path);
        return `${CONFIG_NAMESPACE}:${key}: unknown key; allowed keys${parent ? ` under ${parent}` : ""}: ${allowed.join(", ")}`;
    }
    const key = formatPath(issue.path) || "(root)";
    return `${CONFIG_NAMESPACE}:${key} = ${showValue(key, issue.input)}: ${issue.message}`;
}

/** `haproxy.maxconn`, `deviceDomains[0]`: the path as a user would write it with `pulumi config set --path`. */
function formatPath(path: readonly PropertyKey[]): string {
    return path
        .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
        .join("");
}

function allowedKeysAt(path: readonly PropertyKey[]): string[] {
    // biome-ignore lint/suspicious/noExplicitAny: walking the schema shape generically
    let schema: any = stackSchema;
    for (const segment of path) {
        while (schema && !schema.shape && schema.unwrap) schema = schema.unwrap();
        while (schema?._zod?.def?.innerType) schema = schema._zod.def.innerType;
        schema = schema?.shape?.[segment as string];
    }
    while (schema?._zod?.def?.innerType) schema = schema._zod.def.innerType;
    return schema?.shape ? Object.keys(schema.shape) : [];
}

/** Renders a config value for an error line: JSON (so a newline shows as \n), secrets hidden. */
function showValue(key: string, value: unknown): string {
    if (SECRET_KEYS.some((k) => key === k || key.startsWith(`${k}.`))) return "[secret]";
    if (typeof value === "string" && value.includes("-----BEGIN")) return "[PEM]";
    if (value === undefined) return "(missing)";
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
