/**
 * No spec value can smuggle a line, comment, quote, ACL brace or variable into haproxy.cfg, and
 * every bad value is refused with one line that names the field, shows the value and says what is
 * allowed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type HaproxySpec, renderHaproxyCfg } from "../../templates/haproxy.ts";
import { devLikeSpec, renderOnlyPaths } from "./haproxy-specs.ts";

const paths = renderOnlyPaths;

/** The dev-like spec with every optional field set, so every field is reachable. */
function fullSpec(): HaproxySpec {
    const spec = devLikeSpec(paths);
    spec.backend.healthCheck = { kind: "http-status", port: 18083, path: "/status" };
    spec.resolvers.nameservers = [{ address: "10.0.0.2", port: 53 }];
    spec.backend.servers.push({ name: "emqx-4", host: "10.0.1.10", port: 1883 });
    return spec;
}

type Path = Array<string | number>;

/** A copy of the full spec with one value replaced (types ignored on purpose: input may be JSON). */
function withValue(path: Path, value: unknown): HaproxySpec {
    const spec = fullSpec();
    let node: Record<string | number, unknown> = spec as unknown as Record<string, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    const last = path.at(-1);
    assert.ok(last !== undefined);
    node[last] = value;
    return spec;
}

function valueAt(path: Path): unknown {
    let node: unknown = fullSpec();
    for (const key of path) node = (node as Record<string | number, unknown>)[key];
    return node;
}

/** The field name the renderer uses: `a.b[0].c`. */
function label(path: Path): string {
    return path
        .map((key, index) => (typeof key === "number" ? `[${key}]` : index === 0 ? key : `.${key}`))
        .join("");
}

function assertRefused(path: Path, value: unknown, fieldName = label(path)): void {
    const spec = withValue(path, value);
    assert.throws(
        () => renderHaproxyCfg(spec),
        (error: unknown) => {
            assert.ok(error instanceof Error);
            assert.doesNotMatch(error.message, /[\r\n]/, "error must be one line");
            assert.ok(
                error.message.includes(fieldName),
                `"${error.message}" does not name ${fieldName}`,
            );
            const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
            if (typeof value !== "object") {
                assert.ok(
                    error.message.includes(shown),
                    `"${error.message}" does not show ${shown}`,
                );
            }
            assert.match(error.message, /expected /);
            return true;
        },
        `${label(path)} = ${JSON.stringify(value)} was accepted`,
    );
}

test("the full spec used below renders (so each refusal is caused by the one bad value)", () => {
    assert.match(renderHaproxyCfg(fullSpec()), /^global$/m);
});

const freeTextFields: Path[] = [
    ["process", "statsSocketPath"],
    ["process", "pidFile"],
    ["process", "runAs", "user"],
    ["process", "runAs", "group"],
    ["process", "runAs", "chroot"],
    ["process", "log", "address"],
    ["mqtts", "serverCertificatePaths", 0],
    ["mqtts", "serverCertificatePaths", 1],
    ["mqtts", "deviceIntermediateCaPath"],
    ["mqtts", "rootCaPath"],
    ["mqtts", "crlPath"],
    ["mqtts", "deviceIssuerCommonName"],
    ["mqtts", "bind", "address"],
    ["health", "bind", "address"],
    ["health", "uri"],
    ["admin", "bind", "address"],
    ["admin", "metricsPath"],
    ["admin", "statsUri"],
    ["backend", "servers", 0, "name"],
    ["backend", "servers", 0, "host"],
    ["backend", "servers", 3, "host"],
    ["backend", "healthCheck", "path"],
    ["resolvers", "nameservers", 0, "address"],
];

// Each one would end a token, start a comment, close a quote, open an ACL, escape or expand.
const hostile = ["\n", "\r", '"', "'", "#", "{", "}", " ", "\t", "\\", "$", "\u0000", "é"];

describe("free-text fields refuse characters that could inject into haproxy.cfg", () => {
    for (const path of freeTextFields) {
        test(label(path), () => {
            const valid = valueAt(path);
            assert.equal(typeof valid, "string");
            assertRefused(path, "");
            for (const bad of hostile) {
                assertRefused(path, `${valid}${bad}`);
                // A space inside the issuer CN is allowed on purpose (it is single-quoted).
                const innerSpaceAllowed = path.includes("deviceIssuerCommonName") && bad === " ";
                if (!innerSpaceAllowed) assertRefused(path, `${valid}${bad}x`);
            }
            assertRefused(path, `${valid}\n    server evil 203.0.113.9:1883`);
            assertRefused(path, 42);
        });
    }

    test("the issuer CN may hold single inner spaces but not leading, trailing or double ones", () => {
        const path = ["mqtts", "deviceIssuerCommonName"];
        assert.match(renderHaproxyCfg(withValue(path, "My Device CA")), /-m str 'My Device CA' \}/);
        for (const bad of [" My CA", "My CA ", "My  CA", "x".repeat(65)]) assertRefused(path, bad);
    });

    test("paths must be absolute, without '..', and socket paths fit sun_path", () => {
        assertRefused(["mqtts", "rootCaPath"], "ca/root.pem");
        assertRefused(["mqtts", "rootCaPath"], "/etc/haproxy/../shadow");
        assertRefused(["mqtts", "rootCaPath"], "/etc/haproxy/");
        assertRefused(["process", "statsSocketPath"], `/tmp/${"s".repeat(103)}`);
        assert.ok(
            renderHaproxyCfg(withValue(["process", "statsSocketPath"], `/tmp/${"s".repeat(102)}`)),
        );
    });

    test("addresses and host names", () => {
        for (const bad of ["256.0.0.1", "127.0.0", "127.0.0.01", "::1", "localhost"]) {
            assertRefused(["mqtts", "bind", "address"], bad);
        }
        for (const bad of ["-emqx", "emqx..internal", "emqx_1.internal", `${"a".repeat(64)}.x`]) {
            assertRefused(["backend", "servers", 0, "host"], bad);
        }
        for (const bad of [
            "localhost:514",
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:99999",
            "udp@127.0.0.1:514",
        ]) {
            assertRefused(["process", "log", "address"], bad);
        }
    });
});

const integerFields: Array<{ path: Path; min: number; max?: number }> = [
    { path: ["process", "maxconn"], min: 1 },
    { path: ["process", "threads"], min: 1, max: 64 },
    { path: ["process", "hardStopAfterMs"], min: 1 },
    { path: ["process", "tlsSessionCacheSize"], min: 1 },
    { path: ["timeouts", "connectMs"], min: 1 },
    { path: ["timeouts", "clientMs"], min: 1 },
    { path: ["timeouts", "serverMs"], min: 1 },
    { path: ["timeouts", "clientFinMs"], min: 1 },
    { path: ["timeouts", "serverFinMs"], min: 1 },
    { path: ["timeouts", "queueMs"], min: 1 },
    { path: ["timeouts", "checkMs"], min: 1 },
    { path: ["timeouts", "httpRequestMs"], min: 1, max: 2_147_483_647 },
    { path: ["mqtts", "maxconn"], min: 1 },
    { path: ["mqtts", "bind", "port"], min: 1, max: 65_535 },
    { path: ["health", "bind", "port"], min: 1, max: 65_535 },
    { path: ["admin", "bind", "port"], min: 1, max: 65_535 },
    { path: ["backend", "servers", 0, "port"], min: 1, max: 65_535 },
    { path: ["backend", "healthCheck", "port"], min: 1, max: 65_535 },
    { path: ["backend", "serverDefaults", "checkIntervalMs"], min: 1 },
    { path: ["backend", "serverDefaults", "downCheckIntervalMs"], min: 1 },
    { path: ["backend", "serverDefaults", "rise"], min: 1 },
    { path: ["backend", "serverDefaults", "fall"], min: 1 },
    { path: ["backend", "serverDefaults", "slowstartMs"], min: 0 },
    { path: ["backend", "serverDefaults", "maxconn"], min: 1 },
    { path: ["backend", "serverDefaults", "maxqueue"], min: 1 },
    { path: ["backend", "serverDefaults", "weight"], min: 1, max: 256 },
    { path: ["resolvers", "nameservers", 0, "port"], min: 1, max: 65_535 },
    { path: ["resolvers", "holdValidMs"], min: 1 },
    { path: ["resolvers", "resolveIntervalMs"], min: 1 },
];

describe("numbers must be integers in range", () => {
    for (const { path, min, max } of integerFields) {
        test(label(path), () => {
            for (const bad of [-1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, min - 1]) {
                assertRefused(path, bad);
            }
            assertRefused(path, "5");
            if (max !== undefined) assertRefused(path, max + 1);
            // The smallest allowed value renders.
            if (!(path.includes("maxconn") && path[0] === "process")) {
                assert.ok(renderHaproxyCfg(withValue(path, min)));
            }
        });
    }

    test("durations over HAProxy's 32-bit millisecond timers are refused", () => {
        assertRefused(["timeouts", "clientMs"], 2_147_483_648);
    });
});

describe("choices, flags and cross-field rules", () => {
    test("enumerations", () => {
        assertRefused(["mqtts", "minTlsVersion"], "TLSv1.1");
        assertRefused(["backend", "balance"], "random");
        assertRefused(["backend", "healthCheck", "kind"], "mqtt");
        assertRefused(["process", "log", "kind"], "file");
        assertRefused(["process", "log", "level"], "verbose");
        assertRefused(["process", "log", "facility"], "kern");
        assertRefused(["resolvers", "nameservers"], "system");
    });

    test("booleans", () => {
        assertRefused(["acceptProxyFromLoadBalancer"], "yes");
        assertRefused(["backend", "shutdownSessionsOnMarkedDown"], 1);
    });

    test("frontend maxconn may not exceed the process maxconn", () => {
        const spec = fullSpec();
        spec.mqtts.maxconn = spec.process.maxconn + 1;
        assert.throws(
            () => renderHaproxyCfg(spec),
            /mqtts\.maxconn = 500001 .*at most process\.maxconn/,
        );
    });

    test("lists: at least one server and certificate, names and paths unique", () => {
        assertRefused(["backend", "servers"], [], "backend.servers");
        assertRefused(["mqtts", "serverCertificatePaths"], [], "mqtts.serverCertificatePaths");
        assertRefused(["backend", "servers", 1, "name"], "emqx-1", "backend.servers[].name");
        assertRefused(
            ["mqtts", "serverCertificatePaths", 1],
            paths.serverEcdsaPemPath,
            "mqtts.serverCertificatePaths",
        );
    });

    test("binds may not overlap, counting 0.0.0.0 as every address", () => {
        assertRefused(["health", "bind", "port"], 8883, "health.bind");
        const spec = fullSpec();
        spec.admin = {
            bind: { address: "127.0.0.1", port: 8080 },
            metricsPath: "/m",
            statsUri: "/s",
        };
        assert.throws(
            () => renderHaproxyCfg(spec),
            /admin\.bind = "127\.0\.0\.1:8080" .*health\.bind/,
        );
    });

    test("metrics and stats need different paths", () => {
        assertRefused(["admin", "statsUri"], "/metrics");
    });
});
