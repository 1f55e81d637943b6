/**
 * Reads the stack's configuration inside a Pulumi program: every `mqtt-edge:*` key, validated by
 * the same schema as the render CLI, with secret keys returned as Pulumi secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, type EdgeConfig, parseEdgeConfig, SECRET_KEYS } from "./config.ts";
import { capacityWarnings } from "./config-capacity-checks.ts";
import { checkConfigNamespace } from "./stack-file-keys.ts";

type SecretKey = (typeof SECRET_KEYS)[number];

export interface StackConfig {
    /** The validated configuration, secrets removed. */
    readonly config: Omit<EdgeConfig, SecretKey>;
    /** Secret keys that are set, each as a Pulumi secret. */
    readonly secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/**
 * Whether the CLI handed a key over as a secret. The Node.js language host puts the secret keys
 * in PULUMI_CONFIG_SECRET_KEYS next to PULUMI_CONFIG (pulumi/pulumi
 * sdk/nodejs/cmd/pulumi-language-nodejs main.go, `pulumiConfigSecretKeysVar`), and @pulumi/pulumi
 * reads it in an untyped runtime function (runtime/config.js `isConfigSecret`, 3.276.0). A run
 * that has the config but not that list (an old CLI) counts every key as secret, so nothing is
 * refused for want of it.
 */
function isSecretInStack(key: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    const listMissing =
        process.env.PULUMI_CONFIG !== undefined &&
        process.env.PULUMI_CONFIG_SECRET_KEYS === undefined;
    if (runtime.isConfigSecret === undefined || listMissing) return true;
    return runtime.isConfigSecret(key);
}

/** Validates before any resource is declared: a bad key stops the program with one line. */
export function loadStackConfig(): StackConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw: Record<string, unknown> = {};
    const all = pulumi.runtime.allConfig();
    for (const [key, value] of Object.entries(all)) {
        checkConfigNamespace(key);
        if (!key.startsWith(prefix)) continue;
        raw[key.slice(prefix.length)] = decode(value);
    }
    const parsed = parseEdgeConfig(raw, {
        plaintextSecrets: SECRET_KEYS.filter(
            (key) => key in raw && !isSecretInStack(`${prefix}${key}`),
        ),
        awsRegion: all["aws:region"],
        onWarning: (line) => {
            void pulumi.log.warn(line);
        },
    });
    // A reconnect storm the hosts cannot absorb in time is a slower recovery, not an outage.
    for (const warning of capacityWarnings(parsed)) pulumi.log.warn(warning);
    const secrets: Partial<Record<SecretKey, pulumi.Output<string>>> = {};
    const config: Record<string, unknown> = { ...parsed };
    for (const key of SECRET_KEYS) {
        const value = parsed[key];
        delete config[key];
        if (value !== undefined) secrets[key] = pulumi.secret(value);
    }
    return { config: config as Omit<EdgeConfig, SecretKey>, secrets };
}

/** Pulumi hands every value over as a string; structured values and numbers arrive as JSON. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
