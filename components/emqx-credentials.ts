/**
 * The EMQX cluster's Erlang cookie and dashboard password, generated once and kept in state as
 * secrets; shared by the AWS and Docker clusters.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** The cookie and the initial dashboard password, both Pulumi secrets. */
export interface EmqxCredentials {
    readonly erlangCookie: pulumi.Output<string>;
    readonly dashboardPassword: pulumi.Output<string>;
}

/**
 * Letters and digits with a letter in front (the random part may start with a digit):
 * templates/emqx-secrets-env.ts requires 16-128 of [A-Za-z0-9_] starting with a letter, the
 * form that reads the same raw (bin/emqx hands the cookie to the VM verbatim) and as HOCON.
 * Creates `<name>-cookie` and `<name>-dashboard` under `parent`.
 */
export function createEmqxCredentials(name: string, parent: pulumi.Resource): EmqxCredentials {
    const rules = { length: 47, special: false, minLower: 4, minUpper: 4, minNumeric: 4 };
    const cookie = new random.RandomPassword(`${name}-cookie`, rules, { parent });
    const dashboard = new random.RandomPassword(`${name}-dashboard`, rules, { parent });
    return {
        erlangCookie: pulumi.secret(pulumi.interpolate`C${cookie.result}`),
        dashboardPassword: pulumi.secret(pulumi.interpolate`D${dashboard.result}`),
    };
}
