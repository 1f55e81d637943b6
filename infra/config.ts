/**
 * The stack configuration: one schema, every key documented, every default in one place
 * (config-schema.ts), cross-key rules (config-checks.ts) and one-line errors (config-errors.ts).
 *
 * Stack files hold the keys under the project namespace, e.g. `mqtt-edge:haproxy: {maxconn: 500000}`.
 * `parseEdgeConfig` takes those keys without the namespace and either returns a fully defaulted,
 * cross-checked `EdgeConfig` or throws a `ConfigError` whose message is one line naming the key, the
 * bad value and what is allowed. It imports nothing from Pulumi, so the render CLI and the tests use
 * the same code path as the program.
 */
import { z } from "zod";
import { PORTS_PER_DESTINATION } from "../capacity/backend-ports.ts";
import { checkCapacity } from "./config-capacity-checks.ts";
import { checkCrossFields } from "./config-checks.ts";
import { CONFIG_NAMESPACE, ConfigError, describeIssue, SECRET_KEYS } from "./config-errors.ts";
import { checkExistingCaConfig } from "./config-existing-ca.ts";
import { stackSchema } from "./config-schema.ts";
import { checkZonesInRegion } from "./config-zones.ts";
import { emqxListenerPlan } from "./emqx-listener-plan.ts";

export { compareVersions } from "./config-checks.ts";
export { CONFIG_NAMESPACE, ConfigError, SECRET_KEYS } from "./config-errors.ts";
export { isIpv4Cidr } from "./config-schema.ts";

type Parsed = z.output<typeof stackSchema>;

/** The validated stack configuration, every default filled in. */
export type EdgeConfig = Omit<Parsed, "haproxy"> & {
    haproxy: Parsed["haproxy"] & { frontendMaxconn: number; serverMaxconn: number };
};

/**
 * Stands for a secret that is set in the stack file but encrypted there (`{secure: ...}`), when
 * the configuration is read without the Pulumi CLI (the render CLI). Never rendered anywhere.
 */
export const ENCRYPTED_SECRET = "[encrypted in the stack file]";

export interface ParseOptions {
    /** Secret keys set in the stack file but encrypted; they count as present, unvalidated. */
    readonly encryptedSecrets?: readonly string[];
    /** Secret keys set in plaintext; private keys among them need pki.allowPlaintextKeys. */
    readonly plaintextSecrets?: readonly string[];
    /** The stack's `aws:region`, when configured: availability zones must belong to it. */
    readonly awsRegion?: string | undefined;
    /** The time bring-your-own CA certificates must be valid at (default: now). */
    readonly now?: Date;
    /** Receives one line per warning (e.g. a CA within 30 days of expiry); default: ignored. */
    readonly onWarning?: (line: string) => void;
}

/**
 * Validates the project's keys (namespace stripped) and returns the full configuration.
 * Throws ConfigError with one line: `<namespace>:<key path> = <value>: <what is allowed>`.
 */
export function parseEdgeConfig(
    raw: Record<string, unknown>,
    options: ParseOptions = {},
): EdgeConfig {
    const encrypted: Record<string, string> = {};
    for (const key of options.encryptedSecrets ?? []) {
        if (!(SECRET_KEYS as readonly string[]).includes(key)) {
            throw new ConfigError(
                `${CONFIG_NAMESPACE}:${key} is encrypted in the stack file but is not a secret setting; only ${SECRET_KEYS.join(", ")} are`,
            );
        }
        encrypted[key] = ENCRYPTED_SECRET;
    }
    const result = stackSchema.safeParse(raw, { reportInput: true });
    if (!result.success) {
        const issue = result.error.issues[0];
        if (issue === undefined) throw new ConfigError("configuration is invalid");
        throw new ConfigError(describeIssue(issue));
    }
    const parsed = result.data;
    const frontendMaxconn = parsed.haproxy.frontendMaxconn ?? parsed.haproxy.maxconn;
    const listeners = emqxListenerPlan(parsed);
    const config: EdgeConfig = {
        ...parsed,
        ...encrypted,
        haproxy: {
            ...parsed.haproxy,
            frontendMaxconn,
            // One server line never carries more than one source address has ports for, nor
            // more than the EMQX listener it reaches accepts.
            serverMaxconn:
                parsed.haproxy.serverMaxconn ??
                Math.min(
                    frontendMaxconn,
                    PORTS_PER_DESTINATION,
                    listeners.maxConnectionsPerListener,
                ),
        },
    };
    checkCrossFields(config);
    checkZonesInRegion(config, options.awsRegion);
    checkExistingCaConfig(config, {
        plaintextSecrets: options.plaintextSecrets ?? [],
        encryptedSecrets: options.encryptedSecrets ?? [],
        now: options.now ?? new Date(),
        onWarning: options.onWarning ?? (() => {}),
    });
    checkCapacity(config);
    supplyChainWarnings(config).forEach(options.onWarning ?? (() => {}));
    return config;
}

/**
 * What a stack downloads without a pin, one line each; the bootstrap still runs. EMQX's apt
 * repository key has no built-in fingerprint: none could be obtained where this project is built
 * (no network but package registries), and a guessed one would stop every EMQX boot.
 */
export function supplyChainWarnings(config: EdgeConfig): string[] {
    if (config.target !== "aws" || config.emqx.repositoryKeyFingerprint !== undefined) return [];
    return [
        "mqtt-edge:emqx.repositoryKeyFingerprint is not set: each EMQX node trusts the apt repository key it downloads at boot; set it to the key's fingerprint (gpg --show-keys --with-colons on https://packagecloud.io/emqx/emqx/gpgkey, the fpr line after pub) and the bootstrap refuses any other key",
    ];
}
/** JSON Schema of the configuration, for the README's reference table and editors. */
export function configJsonSchema(): Record<string, unknown> {
    return z.toJSONSchema(stackSchema, { io: "input", unrepresentable: "any" }) as Record<
        string,
        unknown
    >;
}
