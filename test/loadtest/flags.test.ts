/**
 * The load-test CLI's flags: every flag has a line of help, --help shows them all with examples,
 * and each bad flag value is one ConfigError line naming the flag, before any stack exists.
 * Most cases run in-process against scripts/loadtest/plan.ts, which the CLI calls.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { ConfigError } from "../../infra/config.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { loadtestOptions } from "../../scripts/loadtest/flags.ts";
import {
    parseOverride,
    parseTtlHours,
    planLoadtest,
    validateId,
} from "../../scripts/loadtest/plan.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;
const dev = readStackFile(projectDir, "dev");
const now = new Date("2026-03-01T10:00:00Z");

function refuses(action: () => unknown, pattern: RegExp): void {
    assert.throws(action, (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.message.split("\n").length, 1, e.message);
        assert.match(e.message, pattern);
        return true;
    });
}

const planWith = (sets: string[]) =>
    planLoadtest({ base: dev, id: "abc", ttlHours: 1, overrides: sets.map(parseOverride), now });

describe("loadtest flags: bad values", () => {
    test("--ttl that is not a number of hours", () => {
        refuses(() => parseTtlHours("two"), /^--ttl "two" is not valid: hours/);
        refuses(() => parseTtlHours("-1"), /^--ttl "-1" is not valid/);
    });

    test("--id too long or with upper case", () => {
        refuses(() => validateId("a".repeat(17)), /^--id "a{17}" is not valid: use 1 to 16/);
        refuses(() => validateId("Run1"), /^--id "Run1" is not valid/);
    });

    test("--set without a key, or with a namespace typo", () => {
        refuses(() => parseOverride("=1"), /^--set "=1" has no key=value/);
        refuses(
            () => parseOverride('mqtt_edge:target="docker"'),
            /^mqtt_edge:target: unknown namespace "mqtt_edge"; allowed: mqtt-edge:target/,
        );
    });

    test("--set of a key the schema does not have names it", () => {
        refuses(
            () => planWith(["haproxy.maxconnn=1000"]),
            /^mqtt-edge:haproxy\.maxconnn: unknown key/,
        );
    });

    test("--set zones outside the base's aws:region", () => {
        refuses(
            () => planWith(['network.availabilityZones=["us-east-1a","us-east-1b"]']),
            /^mqtt-edge:network\.availabilityZones = .*not in aws:region eu-west-1/,
        );
    });

    test("--set of a plaintext private key needs pki.allowPlaintextKeys in the base, not via --set", () => {
        // A key given with --set is stored as a secret on the load-test stack: not refused as
        // plaintext (it is refused here only because the PEM is no key).
        refuses(
            () => planWith(['caDeviceKeyPem="x"']),
            /^mqtt-edge:caDeviceKeyPem = \[secret\]: must be a PEM private key/,
        );
    });
});

describe("loadtest --help", () => {
    test("every flag has help, and --help lists each with an example", async () => {
        for (const [name, spec] of Object.entries(loadtestOptions)) {
            assert.ok(spec.help.length > 10, `--${name} has a line of help`);
        }
        const { stdout } = await run(process.execPath, [
            join(projectDir, "scripts/loadtest.ts"),
            "--help",
        ]);
        for (const name of Object.keys(loadtestOptions)) {
            assert.match(stdout, new RegExp(`^  --${name} `, "m"), `--${name} in --help`);
        }
        assert.match(stdout, /^examples:\n {2}npm run loadtest -- --base /m);
    });
});
