/**
 * The secrets that renderEmqxConf leaves out when `secrets.source = "environment"`, as EMQX_*
 * environment variables. EMQX maps EMQX_A__B to key a.b and parses the value as HOCON first
 * (hocon_tconf `read_hocon_val/2`: the whole value as a document, then as `fake_key=<value>`, and
 * only if both fail the raw text). A cookie or password of letters, digits and '_' starting with a
 * letter reads back unchanged either way, and stays usable raw by bin/emqx's `-setcookie`; a license
 * key holds '=' and '+', so its value is a HOCON-quoted string.
 *
 * The output holds secrets: write it root-owned, mode 0600, and never log it.
 */

import { checkLicenseKey, checkSecretToken } from "./emqx-values.ts";
import { hoconString } from "./hocon.ts";

/** The environment variable EMQX reads for each secret. */
export const emqxSecretVariables = {
    /** node.cookie; bin/emqx reads it before it looks in emqx.conf. */
    erlangCookie: "EMQX_NODE__COOKIE",
    /** dashboard.default_password; only sets the admin password when the dashboard DB is created. */
    dashboardPassword: "EMQX_DASHBOARD__DEFAULT_PASSWORD",
    /** license.key, EMQX 5.9+ only. */
    licenseKey: "EMQX_LICENSE__KEY",
} as const;

/** The secret values a node needs. */
export interface EmqxSecretValues {
    /** Erlang distribution cookie, same on every node (16-128 of [A-Za-z0-9_], letter first). */
    readonly erlangCookie: string;
    /** Initial password of the dashboard `admin` user (16-128 of [A-Za-z0-9_], letter first). */
    readonly dashboardPassword: string;
    /** License key for EMQX 5.9+; leave out on 5.8. */
    readonly licenseKey?: string;
}

const shippedDefaults = ["emqxsecretcookie", "public"];

/**
 * The variables as name -> value, values exactly as the process must see them (for a container's
 * environment). Validates every value; errors never show a secret.
 */
export function emqxSecretEnvironment(values: EmqxSecretValues): Record<string, string> {
    const environment: Record<string, string> = {
        [emqxSecretVariables.erlangCookie]: checkSecretToken(
            "secrets.erlangCookie",
            values.erlangCookie,
            shippedDefaults,
        ),
        [emqxSecretVariables.dashboardPassword]: checkSecretToken(
            "secrets.dashboardPassword",
            values.dashboardPassword,
            shippedDefaults,
        ),
    };
    if (values.licenseKey !== undefined) {
        const key = checkLicenseKey("secrets.licenseKey", values.licenseKey);
        environment[emqxSecretVariables.licenseKey] = hoconString(key);
    }
    return environment;
}

/**
 * The same variables as a systemd EnvironmentFile (`EnvironmentFile=/etc/emqx/secrets.env` in a
 * drop-in for emqx.service). Every value is single-quoted: systemd's env-file parser, like sh,
 * keeps single-quoted text literally (systemd src/basic/env-file.c), and no value can hold a quote.
 */
export function renderEmqxSecretsEnvFile(values: EmqxSecretValues): string {
    const lines = Object.entries(emqxSecretEnvironment(values)).map(
        ([name, value]) => `${name}='${value}'`,
    );
    return `# EMQX secrets (mqtt-edge templates/emqx-secrets-env.ts). Root-only, mode 0600.\n${lines.join("\n")}\n`;
}
