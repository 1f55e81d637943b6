/**
 * Reads the stack's configuration inside a Pulumi program: every `mqtt-edge:*` key, validated by
 * the same schema as the render CLI, with secret keys returned as Pulumi secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, type EdgeConfig, parseEdgeConfig } from "./config.ts";

export interface StackConfig {
    /** The validated configuration, secrets removed. */
    readonly config: Omit<EdgeConfig, "emqxLicenseKey">;
    /** The EMQX license key as a secret, when set. */
    readonly emqxLicenseKey?: pulumi.Output<string>;
}

/** Validates before any resource is declared: a bad key stops the program with one line. */
export function loadStackConfig(): StackConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        raw[key.slice(prefix.length)] = decode(value);
    }
    const { emqxLicenseKey, ...config } = parseEdgeConfig(raw);
    return emqxLicenseKey ? { config, emqxLicenseKey: pulumi.secret(emqxLicenseKey) } : { config };
}

/** Pulumi hands every value over as a string; structured values and numbers arrive as JSON. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
