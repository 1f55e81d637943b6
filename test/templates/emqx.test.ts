/**
 * emqx.conf renderer: every variant is parsed by a real HOCON parser and audited against the EMQX
 * 5.8 key allow-list (keys and value kinds), then checked for the properties the edge relies on;
 * every free-text field is fed line, key, block and substitution injections; numbers out of range.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    type EmqxSpec,
    emqxMaxPortsFor,
    emqxVersionIsBsl,
    renderEmqxConf,
} from "../../templates/emqx.ts";
import {
    auditEmqxConfig,
    emqxSchemaKeys,
    findEmqxSchemaKey,
    listLeaves,
} from "../../templates/emqx-schema-keys.ts";
import { parseHocon } from "../support/hocon.ts";

/** The value at a dotted path of a parsed config, or undefined. */
function at(conf: unknown, path: string): unknown {
    let node = conf;
    for (const segment of path.split(".")) {
        if (typeof node !== "object" || node === null) return undefined;
        node = (node as Record<string, unknown>)[segment];
    }
    return node;
}

const cookie = "Cookie_4f9d2c7a1b8e6d3f";
const password = "Dashboard_9a8b7c6d5e4f";
const licenseKey = "MjIwMTExCjAKMTAKRXZhbHVhdGlvbgo=.MEUCIE271MtH+4bb39OZKD4mvVkurwZ3LX44Kw=";

function nodeNames(count: number): string[] {
    return Array.from({ length: count }, (_, index) => `emqx@emqx-${index + 1}.edge.internal`);
}

/** A 3-node static cluster with secrets kept out of the file: the production shape. */
function baseSpec(): EmqxSpec {
    const seeds = nodeNames(3);
    return {
        version: "5.8.9",
        nodeName: seeds[0] ?? "",
        dataDir: "/var/lib/emqx",
        clusterName: "emqxcl",
        discovery: { strategy: "static", seeds },
        mqttListener: {
            bind: "0.0.0.0:1883",
            maxConnections: 1_024_000,
            acceptors: 64,
            backlog: 16_384,
            proxyProtocolTimeout: "3s",
            trustedProxySources: ["10.0.1.10", "10.0.2.10/32", "10.0.3.0/24"],
        },
        peerCertAsUsername: "cn",
        peerCertAsClientId: "cn",
        dashboardBind: "0.0.0.0:18083",
        prometheusBasicAuth: true,
        secrets: { source: "environment" },
    };
}

function withListener(patch: Partial<EmqxSpec["mqttListener"]>): EmqxSpec {
    const spec = baseSpec();
    return { ...spec, mqttListener: { ...spec.mqttListener, ...patch } };
}

const inlineSecrets = {
    source: "inline",
    erlangCookie: cookie,
    dashboardPassword: password,
} as const;

const variants: Array<{ name: string; spec: EmqxSpec }> = [
    { name: "3-node static, secrets from the environment", spec: baseSpec() },
    {
        name: "5-node static, third node",
        spec: {
            ...baseSpec(),
            nodeName: "emqx@emqx-3.edge.internal",
            discovery: { strategy: "static", seeds: nodeNames(5) },
        },
    },
    {
        name: "dns A-record discovery with an IP node name",
        spec: {
            ...baseSpec(),
            nodeName: "emqx@10.0.1.21",
            discovery: { strategy: "dns", name: "emqx.edge.internal", recordType: "a" },
        },
    },
    {
        name: "dns SRV discovery keeps a DNS node name",
        spec: {
            ...baseSpec(),
            discovery: { strategy: "dns", name: "_emqx._tcp.edge.internal", recordType: "srv" },
        },
    },
    {
        name: "5.9 with an inline license key",
        spec: { ...baseSpec(), version: "5.9.1", secrets: { ...inlineSecrets, licenseKey } },
    },
    {
        name: "peer_cert disabled, inline secrets, single node",
        spec: {
            ...baseSpec(),
            nodeName: "emqx@emqx-1.edge.internal",
            discovery: { strategy: "static", seeds: ["emqx@emqx-1.edge.internal"] },
            peerCertAsUsername: "disabled",
            peerCertAsClientId: "disabled",
            prometheusBasicAuth: false,
            secrets: inlineSecrets,
        },
    },
];

describe("renderEmqxConf variants parse as HOCON and use only allow-listed keys", () => {
    for (const { name, spec } of variants) {
        test(name, async () => {
            const text = renderEmqxConf(spec);
            const conf = await parseHocon(text);

            assert.deepEqual(auditEmqxConfig(conf, { version: spec.version }), []);

            const tcp = (key: string) => at(conf, `listeners.tcp.default.${key}`);
            assert.equal(tcp("enable"), true);
            assert.equal(tcp("proxy_protocol"), true);
            assert.match(String(tcp("proxy_protocol_timeout")), /^\d+(ms|s)$/);
            assert.equal(tcp("proxy_protocol_timeout"), spec.mqttListener.proxyProtocolTimeout);
            assert.equal(tcp("max_connections"), spec.mqttListener.maxConnections);
            assert.equal(tcp("acceptors"), spec.mqttListener.acceptors);
            assert.equal(tcp("tcp_options.backlog"), spec.mqttListener.backlog);
            assert.equal(tcp("bind"), spec.mqttListener.bind);
            assert.deepEqual(tcp("access_rules"), [
                "allow 10.0.1.10/32",
                "allow 10.0.2.10/32",
                "allow 10.0.3.0/24",
                "deny all",
            ]);
            for (const kind of ["ssl", "ws", "wss"]) {
                assert.deepEqual(
                    at(conf, `listeners.${kind}`),
                    { default: { enable: false } },
                    kind,
                );
            }
            assert.deepEqual(Object.keys(at(conf, "listeners") as object).sort(), [
                "ssl",
                "tcp",
                "ws",
                "wss",
            ]);

            assert.equal(at(conf, "node.name"), spec.nodeName);
            assert.equal(at(conf, "node.data_dir"), spec.dataDir);
            assert.ok(Number(at(conf, "node.max_ports")) >= 2 * spec.mqttListener.maxConnections);
            assert.equal(at(conf, "cluster.name"), spec.clusterName);
            assert.equal(at(conf, "cluster.discovery_strategy"), spec.discovery.strategy);
            if (spec.discovery.strategy === "static") {
                assert.deepEqual(at(conf, "cluster.static.seeds"), spec.discovery.seeds);
                assert.ok(spec.discovery.seeds.includes(spec.nodeName));
                assert.equal(at(conf, "cluster.dns"), undefined);
            } else {
                assert.deepEqual(at(conf, "cluster.dns"), {
                    name: spec.discovery.name,
                    record_type: spec.discovery.recordType,
                });
                assert.equal(at(conf, "cluster.static"), undefined);
            }
            assert.equal(at(conf, "mqtt.peer_cert_as_username"), spec.peerCertAsUsername);
            assert.equal(at(conf, "mqtt.peer_cert_as_clientid"), spec.peerCertAsClientId);
            assert.equal(at(conf, "dashboard.listeners.http.bind"), spec.dashboardBind);
            assert.equal(at(conf, "prometheus.enable_basic_auth"), spec.prometheusBasicAuth);

            if (spec.secrets.source === "environment") {
                const sensitivePaths = emqxSchemaKeys.filter((key) => key.sensitive === true);
                for (const [path] of listLeaves(conf)) {
                    assert.equal(
                        sensitivePaths.some((key) => findEmqxSchemaKey(path, [key]) !== undefined),
                        false,
                        `secret key ${path} written in a placeholder render`,
                    );
                }
                for (const secret of [cookie, password, licenseKey, "emqxsecretcookie", "public"]) {
                    assert.equal(text.includes(secret), false, "secret literal in the file");
                }
                assert.match(text, /EMQX_NODE__COOKIE/);
            } else {
                assert.equal(at(conf, "node.cookie"), spec.secrets.erlangCookie);
                assert.equal(
                    at(conf, "dashboard.default_password"),
                    spec.secrets.dashboardPassword,
                );
                assert.equal(at(conf, "license.key"), spec.secrets.licenseKey);
            }
        });
    }
});

describe("the allow-list audit catches what the renderer must not write", () => {
    test("a key EMQX does not have (typo) is reported", async () => {
        const text = `${renderEmqxConf(baseSpec())}listeners.tcp.default.proxy_protocl = true\n`;
        const problems = auditEmqxConfig(await parseHocon(text));
        assert.equal(problems.length, 1);
        assert.match(problems[0] ?? "", /^listeners\.tcp\.default\.proxy_protocl: not in the/);
    });

    test("a value of the wrong kind is reported (bare number = milliseconds)", async () => {
        const text = `${renderEmqxConf(baseSpec())}listeners.tcp.default.proxy_protocol_timeout = 3\n`;
        const problems = auditEmqxConfig(await parseHocon(text));
        assert.deepEqual(problems, [
            "listeners.tcp.default.proxy_protocol_timeout = 3: expected a duration with a unit, such as 3s",
        ]);
    });

    test("every key a render writes is checked: dropping one from the list flags it", async () => {
        const conf = await parseHocon(renderEmqxConf(baseSpec()));
        const reduced = emqxSchemaKeys.filter((key) => key.path !== "mqtt.peer_cert_as_clientid");
        assert.deepEqual(auditEmqxConfig(conf, { keys: reduced }), [
            "mqtt.peer_cert_as_clientid: not in the EMQX 5.8 allow-list (templates/emqx-schema-keys.ts)",
        ]);
    });

    test("license.key is refused for a 5.8 file, and a wrong-kind secret is not echoed", () => {
        const problems = auditEmqxConfig({ license: { key: 42 } }, { version: "5.8.9" });
        assert.deepEqual(problems, [
            "license.key: exists only from EMQX 5.9.0, not in 5.8.9",
            "license.key = <redacted>: expected a non-empty string",
        ]);
    });
});

/** Asserts that rendering throws a one-line error naming `field`, optionally not echoing `hidden`. */
function assertRejects(spec: EmqxSpec, field: string, hidden?: string): void {
    assert.throws(
        () => renderEmqxConf(spec),
        (error: unknown) => {
            assert.ok(error instanceof Error);
            assert.doesNotMatch(error.message, /[\n\r\u2028\u2029]/, "multi-line error");
            assert.ok(
                error.message.startsWith(`emqx spec: ${field} = `) ||
                    error.message.startsWith(`emqx spec: ${field} `),
                `error does not name ${field}: ${error.message}`,
            );
            if (hidden !== undefined) assert.equal(error.message.includes(hidden), false);
            return true;
        },
    );
}

/** Text that would break out of a quoted value, start a key, a block or a substitution. */
const injections = [
    "\nnode.cookie = x",
    '"',
    "#",
    "{",
    "}",
    " ",
    "\\",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HOCON substitution syntax is the payload
    "${HOME}",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HOCON substitution syntax is the payload
    "${?X}",
    "\u2028",
];

/** Every free-text field: how to set it, and a valid value to append the injections to. */
const freeTextFields: Array<{
    field: string;
    valid: string;
    secret?: boolean;
    apply: (value: string) => EmqxSpec;
}> = [
    { field: "version", valid: "5.8.9", apply: (version) => ({ ...baseSpec(), version }) },
    {
        field: "nodeName",
        valid: "emqx@emqx-1.edge.internal",
        apply: (nodeName) => ({ ...baseSpec(), nodeName }),
    },
    { field: "dataDir", valid: "/var/lib/emqx", apply: (dataDir) => ({ ...baseSpec(), dataDir }) },
    {
        field: "clusterName",
        valid: "emqxcl",
        apply: (clusterName) => ({ ...baseSpec(), clusterName }),
    },
    {
        field: "discovery.seeds[1]",
        valid: "emqx@emqx-2.edge.internal",
        apply: (seed) => ({
            ...baseSpec(),
            discovery: { strategy: "static", seeds: ["emqx@emqx-1.edge.internal", seed] },
        }),
    },
    {
        field: "discovery.name",
        valid: "emqx.edge.internal",
        apply: (name) => ({
            ...baseSpec(),
            discovery: { strategy: "dns", name, recordType: "srv" },
        }),
    },
    { field: "mqttListener.bind", valid: "0.0.0.0:1883", apply: (bind) => withListener({ bind }) },
    {
        field: "mqttListener.proxyProtocolTimeout",
        valid: "3s",
        apply: (proxyProtocolTimeout) => withListener({ proxyProtocolTimeout }),
    },
    {
        field: "mqttListener.trustedProxySources[1]",
        valid: "10.0.2.10",
        apply: (source) => withListener({ trustedProxySources: ["10.0.1.10", source] }),
    },
    {
        field: "dashboardBind",
        valid: "0.0.0.0:18083",
        apply: (dashboardBind) => ({ ...baseSpec(), dashboardBind }),
    },
    {
        field: "secrets.erlangCookie",
        valid: cookie,
        secret: true,
        apply: (erlangCookie) => ({ ...baseSpec(), secrets: { ...inlineSecrets, erlangCookie } }),
    },
    {
        field: "secrets.dashboardPassword",
        valid: password,
        secret: true,
        apply: (dashboardPassword) => ({
            ...baseSpec(),
            secrets: { ...inlineSecrets, dashboardPassword },
        }),
    },
    {
        field: "secrets.licenseKey",
        valid: licenseKey,
        secret: true,
        apply: (key) => ({
            ...baseSpec(),
            version: "5.9.1",
            secrets: { ...inlineSecrets, licenseKey: key },
        }),
    },
];

describe("free-text fields refuse injections with a one-line error naming the field", () => {
    for (const { field, valid, secret, apply } of freeTextFields) {
        test(field, () => {
            // The valid value itself renders: the rejections below are about the payloads only.
            assert.doesNotThrow(() => renderEmqxConf(apply(valid)));
            assertRejects(apply(""), field);
            for (const payload of injections) {
                assertRejects(apply(`${valid}${payload}`), field, secret ? valid : undefined);
                assertRejects(apply(payload), field);
            }
        });
    }
});

describe("numbers and combinations outside what EMQX and the edge allow", () => {
    const badCounts = [
        0,
        -1,
        1.5,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        "100" as unknown as number,
    ];

    test("maxConnections, acceptors, backlog", () => {
        for (const bad of [...badCounts, 67_108_864]) {
            assertRejects(withListener({ maxConnections: bad }), "mqttListener.maxConnections");
        }
        for (const bad of [...badCounts, 1025]) {
            assertRejects(withListener({ acceptors: bad }), "mqttListener.acceptors");
        }
        for (const bad of [...badCounts, 1_048_577]) {
            assertRejects(withListener({ backlog: bad }), "mqttListener.backlog");
        }
    });

    test("maxPorts: range, and never below maxConnections", () => {
        for (const bad of [...badCounts, 1023, 134_217_728]) {
            assertRejects({ ...baseSpec(), maxPorts: bad }, "maxPorts");
        }
        assertRejects({ ...baseSpec(), maxPorts: 1_000_000 }, "maxPorts");
        assert.equal(emqxMaxPortsFor(1000), 1_048_576);
        assert.equal(emqxMaxPortsFor(1_024_000), 2_048_000);
        assert.equal(emqxMaxPortsFor(67_108_863), 134_217_726);
    });

    test("proxyProtocolTimeout needs a unit and esockd's 17 s cap", () => {
        for (const bad of ["3", "0s", "18s", "17001ms", "3m", "1.5s", "-3s"]) {
            assertRejects(
                withListener({ proxyProtocolTimeout: bad }),
                "mqttListener.proxyProtocolTimeout",
            );
        }
        assert.doesNotThrow(() =>
            renderEmqxConf(withListener({ proxyProtocolTimeout: "17000ms" })),
        );
    });

    test("trusted proxy sources: not empty, no allow-all, no host bits, no repeats", () => {
        assertRejects(
            withListener({ trustedProxySources: [] }),
            "mqttListener.trustedProxySources",
        );
        for (const bad of ["0.0.0.0/0", "10.0.0.5/16", "10.0.0.0/33", "256.0.0.1", "::1", "all"]) {
            assertRejects(
                withListener({ trustedProxySources: [bad] }),
                "mqttListener.trustedProxySources[0]",
            );
        }
        assertRejects(
            withListener({ trustedProxySources: ["10.0.1.10", "10.0.1.10/32"] }),
            "mqttListener.trustedProxySources",
        );
    });

    test("bind ports: in range and the dashboard apart from MQTT", () => {
        for (const bad of ["0.0.0.0:0", "0.0.0.0:65536", "1883", "localhost:1883", "0.0.0.0:"]) {
            assertRejects(withListener({ bind: bad }), "mqttListener.bind");
        }
        assertRejects({ ...baseSpec(), dashboardBind: "127.0.0.1:1883" }, "dashboardBind");
    });

    test("static seeds must list this node once each; node short names must not end in a digit", () => {
        assertRejects(
            { ...baseSpec(), discovery: { strategy: "static", seeds: nodeNames(3).slice(1) } },
            "discovery.seeds",
        );
        assertRejects(
            { ...baseSpec(), discovery: { strategy: "static", seeds: [] } },
            "discovery.seeds",
        );
        assertRejects(
            {
                ...baseSpec(),
                discovery: {
                    strategy: "static",
                    seeds: [...nodeNames(3), "emqx@emqx-1.edge.internal"],
                },
            },
            "discovery.seeds",
        );
        assertRejects({ ...baseSpec(), nodeName: "emqx1@emqx-1.edge.internal" }, "nodeName");
    });

    test("dns A-record discovery needs emqx@<IPv4>", () => {
        assertRejects(
            {
                ...baseSpec(),
                discovery: { strategy: "dns", name: "emqx.edge.internal", recordType: "a" },
            },
            "nodeName",
        );
        const aaaa = { strategy: "dns", name: "emqx.edge.internal", recordType: "aaaa" };
        assertRejects(
            { ...baseSpec(), discovery: aaaa as unknown as EmqxSpec["discovery"] },
            "discovery.recordType",
        );
    });

    test("enums: peer cert sources and discovery strategy", () => {
        for (const bad of ["crt", "pem", "md5", "CN", ""]) {
            assertRejects(
                { ...baseSpec(), peerCertAsUsername: bad as EmqxSpec["peerCertAsUsername"] },
                "peerCertAsUsername",
            );
            assertRejects(
                { ...baseSpec(), peerCertAsClientId: bad as EmqxSpec["peerCertAsClientId"] },
                "peerCertAsClientId",
            );
        }
        const etcd = { strategy: "etcd" } as unknown as EmqxSpec["discovery"];
        assertRejects({ ...baseSpec(), discovery: etcd }, "discovery.strategy");
        assertRejects(
            { ...baseSpec(), prometheusBasicAuth: "yes" as unknown as boolean },
            "prometheusBasicAuth",
        );
    });

    test("licensing: 5.9+ clusters need a key, 5.8 has no license.key", () => {
        assert.equal(emqxVersionIsBsl("5.8.9"), false);
        assert.equal(emqxVersionIsBsl("5.9.0"), true);
        assert.equal(emqxVersionIsBsl("6.0.1"), true);
        assertRejects({ ...baseSpec(), version: "5.9.1", secrets: inlineSecrets }, "version");
        assertRejects(
            { ...baseSpec(), secrets: { ...inlineSecrets, licenseKey } },
            "secrets.licenseKey",
            licenseKey,
        );
        for (const bad of ["4.4.23", "7.0.0", "5.8", "v5.8.9"]) {
            assertRejects({ ...baseSpec(), version: bad }, "version");
        }
    });

    test("shipped default secrets are refused and never echoed", () => {
        assertRejects(
            { ...baseSpec(), secrets: { ...inlineSecrets, erlangCookie: "emqxsecretcookie" } },
            "secrets.erlangCookie",
            "emqxsecretcookie",
        );
        assertRejects(
            { ...baseSpec(), secrets: { ...inlineSecrets, dashboardPassword: "public" } },
            "secrets.dashboardPassword",
            "public",
        );
    });
});

describe("several HAProxy-facing listeners (additionalPorts)", () => {
    test("one listener per port, same settings and access rules, allow-listed keys", async () => {
        const spec = withListener({ additionalPorts: [1884, 1885], maxConnections: 100_000 });
        const conf = await parseHocon(renderEmqxConf(spec));
        assert.deepEqual(auditEmqxConfig(conf, { version: spec.version }), []);
        const tcp = at(conf, "listeners.tcp") as Record<string, Record<string, unknown>>;
        assert.deepEqual(Object.keys(tcp), ["default", "haproxy2", "haproxy3"]);
        const { bind: _first, ...settings } = tcp.default ?? {};
        for (const [name, port] of [
            ["haproxy2", 1884],
            ["haproxy3", 1885],
        ] as const) {
            const { bind, ...rest } = tcp[name] ?? {};
            assert.equal(bind, `0.0.0.0:${port}`);
            assert.deepEqual(rest, settings, name);
        }
        assert.equal(tcp.haproxy2?.proxy_protocol, true);
        assert.deepEqual(tcp.haproxy3?.access_rules, [
            "allow 10.0.1.10/32",
            "allow 10.0.2.10/32",
            "allow 10.0.3.0/24",
            "deny all",
        ]);
        // Erlang ports for every listener's connections
        assert.ok(Number(at(conf, "node.max_ports")) >= 2 * 3 * 100_000);
    });

    test("no additional ports renders exactly the one default listener", async () => {
        const conf = await parseHocon(renderEmqxConf(baseSpec()));
        assert.deepEqual(Object.keys(at(conf, "listeners.tcp") as object), ["default"]);
    });

    test("a repeated port, the bind port again, a dashboard port or too many are refused", () => {
        assertRejects(
            withListener({ additionalPorts: [1884, 1884] }),
            "mqttListener.additionalPorts",
        );
        assertRejects(withListener({ additionalPorts: [1883] }), "mqttListener.additionalPorts");
        assertRejects(withListener({ additionalPorts: [0] }), "mqttListener.additionalPorts[0]");
        assertRejects(withListener({ additionalPorts: [18083] }), "dashboardBind");
        const many = Array.from({ length: 16 }, (_, i) => 1884 + i);
        assertRejects(withListener({ additionalPorts: many }), "mqttListener.additionalPorts");
    });
});
