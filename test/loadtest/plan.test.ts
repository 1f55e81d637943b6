/**
 * Planning a load-test stack: the base configuration copied, overrides applied, everything
 * validated by the stack schema, and encrypted secrets refused unless given again.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readStackFile, type StackFile } from "../../infra/stack-file.ts";
import {
    defaultId,
    parseOverride,
    parseTtlHours,
    planLoadtest,
    validateId,
} from "../../scripts/loadtest/plan.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const now = new Date("2026-03-01T10:00:00Z");
const dev = readStackFile(projectDir, "dev");
const plan = (base: StackFile, sets: string[] = [], ttlHours = 4) =>
    planLoadtest({ base, id: "abc", ttlHours, overrides: sets.map(parseOverride), now });
const decodedValue = (p: ReturnType<typeof plan>, key: string) => {
    const entry = p.config[key];
    assert.ok(entry, `${key} is set`);
    return JSON.parse(entry.value) as unknown;
};

describe("planLoadtest", () => {
    test("copies every key of the base, provider keys included, and names and tags the stack", () => {
        const p = plan(dev, [], 1.5);
        assert.equal(p.stackName, "loadtest-abc");
        assert.deepEqual(p.config["aws:region"], { value: "eu-west-1", secret: false });
        assert.deepEqual(p.config["mqtt-edge:target"], { value: "aws", secret: false });
        for (const [key, value] of Object.entries(dev.raw)) {
            if (typeof value !== "string")
                assert.deepEqual(decodedValue(p, `mqtt-edge:${key}`), value);
        }
        assert.equal(Object.keys(p.config).length, Object.keys(dev.raw).length + 1);
        assert.equal(p.expiresAt, "2026-03-01T11:30:00Z");
        assert.deepEqual(p.tags, {
            "mqtt-edge:loadtest": "true",
            "mqtt-edge:expires-at": "2026-03-01T11:30:00Z",
        });
    });

    test("--set overrides a nested key, merges into a section and replaces a provider key", () => {
        const p = plan(dev, [
            "haproxy.instances=1",
            "emqx.nodes=2",
            "mqtt-edge:pki.testDevices=5",
            'aws:region="us-east-1"',
            // The base's zones are in eu-west-1; a new region needs its own.
            'network.availabilityZones=["us-east-1a","us-east-1b"]',
        ]);
        assert.deepEqual(decodedValue(p, "mqtt-edge:haproxy"), {
            ...(dev.raw.haproxy as object),
            instances: 1,
        });
        assert.equal((decodedValue(p, "mqtt-edge:emqx") as { nodes: number }).nodes, 2);
        // dev's pki section (its pinned key algorithms) is kept, the override merged into it.
        assert.deepEqual(decodedValue(p, "mqtt-edge:pki"), {
            ...(dev.raw.pki as object),
            testDevices: 5,
        });
        assert.equal(p.config["aws:region"]?.value, "us-east-1");
        // The base is not modified.
        assert.deepEqual(dev.raw, readStackFile(projectDir, "dev").raw);
    });

    test("a bad override is refused by the stack schema with one line naming key and value", () => {
        assert.throws(() => plan(dev, ["emqx.nodes=0"]), {
            name: "ConfigError",
            message: /^mqtt-edge:emqx\.nodes = 0: must be an integer from 1 to \d+$/,
        });
        assert.throws(() => plan(dev, ["haproxy.bogus=1"]), /haproxy\.bogus: unknown key/);
        assert.throws(() => plan(dev, ["target.kind=1"]), /mqtt-edge:target is not a map/);
    });

    test("encrypted base secrets are refused by name, and accepted when given with --set", () => {
        const withSecrets: StackFile = {
            ...dev,
            secrets: ["emqxLicenseKey"],
            providerConfig: { ...dev.providerConfig, "aws:secretKey": '{"secure":"v1:abc"}' },
        };
        assert.throws(() => plan(withSecrets), {
            name: "ConfigError",
            message:
                "base stack dev has encrypted secrets that cannot be copied: mqtt-edge:emqxLicenseKey, aws:secretKey; give each with --set <key>=<json> (stored as a secret on the load-test stack)",
        });
        const p = plan(withSecrets, ['emqxLicenseKey="license-text"', 'aws:secretKey="k"']);
        assert.deepEqual(p.config["mqtt-edge:emqxLicenseKey"], {
            value: "license-text",
            secret: true,
        });
    });
});

describe("flag parsing", () => {
    test("parseOverride takes [namespace:]key.path=<json>", () => {
        assert.deepEqual(parseOverride('deviceDomains=["a.example.com"]'), {
            namespace: "mqtt-edge",
            path: ["deviceDomains"],
            value: ["a.example.com"],
        });
        assert.deepEqual(parseOverride('aws:region="x=y"'), {
            namespace: "aws",
            path: ["region"],
            value: "x=y",
        });
    });

    test("parseOverride refuses malformed input with one line, never echoing a secret", () => {
        assert.throws(() => parseOverride("haproxy.instances"), /has no key=value/);
        assert.throws(() => parseOverride("haproxy..x=1"), /key "haproxy\.\.x" is not valid/);
        assert.throws(
            () => parseOverride("aws:a.b=1"),
            /provider keys \(aws:\.\.\.\) take no nested path/,
        );
        assert.throws(() => parseOverride("emqx.version=5.8.9.1"), /must be JSON \(quote strings/);
        assert.throws(
            () => parseOverride("emqxLicenseKey=hunter2"),
            (e: Error) => e.message.includes("[secret]") && !e.message.includes("hunter2"),
        );
    });

    test("ids, TTLs and the default id", () => {
        assert.equal(validateId("perf-1"), "perf-1");
        for (const bad of ["", "-a", "a-", "UPPER", "a_b", "x".repeat(17)]) {
            assert.throws(() => validateId(bad), /--id .* is not valid/, bad);
        }
        assert.equal(parseTtlHours("0.5"), 0.5);
        for (const bad of ["0", "-1", "abc", "", "169"]) {
            assert.throws(() => parseTtlHours(bad), /--ttl .* is not valid/, bad);
        }
        const id = defaultId(now, () => 0.999);
        assert.equal(validateId(id), id);
        assert.notEqual(
            defaultId(now, () => 0),
            id,
        );
    });
});
