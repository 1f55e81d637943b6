/**
 * The secrets environment file: a shell (same single-quote rule as systemd's env-file parser) reads
 * back exactly the values EMQX must see, those values mean the same when EMQX parses them as HOCON,
 * and bad values are refused without being echoed.
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
    emqxSecretEnvironment,
    emqxSecretVariables,
    renderEmqxSecretsEnvFile,
} from "../../templates/emqx-secrets-env.ts";
import { parseHocon } from "../support/hocon.ts";

const values = {
    erlangCookie: "Cookie_4f9d2c7a1b8e6d3f",
    dashboardPassword: "Dashboard_9a8b7c6d5e4f",
    licenseKey: "MjIwMTExCjAKMTAKRXZhbHVhdGlvbgo=.MEUCIE271MtH+4bb39OZKD4mvVkurwZ3LX44Kw=",
};

const workDir = mkdtempSync(join(tmpdir(), "emqx-secrets-env-"));
after(() => rmSync(workDir, { recursive: true, force: true }));

test("a shell sourcing the file sees exactly the environment values", () => {
    const file = join(workDir, "secrets.env");
    writeFileSync(file, renderEmqxSecretsEnvFile(values), { mode: 0o600 });
    const names = Object.values(emqxSecretVariables);
    const script = `set -eu; set -a; . "$1"; for n in ${names.join(" ")}; do printf '%s=%s\\n' "$n" "$(printenv "$n")"; done`;
    const shell = spawnSync("bash", ["-c", script, "bash", file], {
        encoding: "utf8",
        timeout: 10_000,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    assert.equal(shell.status, 0, shell.stderr);
    const seen = Object.fromEntries(
        shell.stdout
            .trim()
            .split("\n")
            .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    assert.deepEqual(seen, emqxSecretEnvironment(values));
    assert.equal(seen.EMQX_LICENSE__KEY, `"${values.licenseKey}"`);
});

test("EMQX's HOCON reading of each value gives back the secret (fake_key=<value>)", async () => {
    // hocon_tconf read_hocon_val/2 falls back to parsing `fake_key=<value>`; a whole-document parse
    // of these values fails first (a lone word or quoted string is not a HOCON object).
    const expected: Record<string, string> = {
        [emqxSecretVariables.erlangCookie]: values.erlangCookie,
        [emqxSecretVariables.dashboardPassword]: values.dashboardPassword,
        [emqxSecretVariables.licenseKey]: values.licenseKey,
    };
    for (const [name, value] of Object.entries(emqxSecretEnvironment(values))) {
        const parsed = await parseHocon(`fake_key=${value}`);
        assert.deepEqual(parsed, { fake_key: expected[name] }, name);
    }
});

test("without a license key only the cookie and password are written", () => {
    const { licenseKey: _unused, ...withoutLicense } = values;
    const text = renderEmqxSecretsEnvFile(withoutLicense);
    assert.deepEqual(
        text.split("\n").filter((line) => line !== "" && !line.startsWith("#")),
        [
            `EMQX_NODE__COOKIE='${values.erlangCookie}'`,
            `EMQX_DASHBOARD__DEFAULT_PASSWORD='${values.dashboardPassword}'`,
        ],
    );
});

test("bad secrets are refused with a one-line error that does not show them", () => {
    const cases: Array<[keyof typeof values, string]> = [
        ["erlangCookie", "Short_1"],
        ["erlangCookie", "emqxsecretcookie"],
        ["erlangCookie", "9starts_with_a_digit_x"],
        ["erlangCookie", "Has'quote_0123456789"],
        ["erlangCookie", "Has newline\n_0123456789"],
        ["dashboardPassword", "public"],
        ["dashboardPassword", "Dollar_$HOME_0123456789"],
        ["licenseKey", "Key with spaces 0123456789"],
        ["licenseKey", "Key'quote0123456789"],
    ];
    for (const [field, bad] of cases) {
        assert.throws(
            () => renderEmqxSecretsEnvFile({ ...values, [field]: bad }),
            (error: unknown) => {
                assert.ok(error instanceof Error);
                assert.match(
                    error.message,
                    new RegExp(`^emqx spec: secrets\\.${field} = <redacted`),
                );
                assert.equal(error.message.includes("\n"), false);
                assert.equal(error.message.includes(bad), false);
                return true;
            },
        );
    }
});
