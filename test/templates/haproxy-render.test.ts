/**
 * Structural checks of the rendered haproxy.cfg: each test names a property the edge relies on and
 * fails if the renderer stops writing it. `haproxy -c` (haproxy-check.test.ts) proves the file is
 * valid; these prove it says what we mean.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type HaproxySpec, haproxyBackendName, renderHaproxyCfg } from "../../templates/haproxy.ts";
import { formatMilliseconds } from "../../templates/haproxy-values.ts";
import { devLikeSpec, minimalSpec, renderOnlyPaths } from "./haproxy-specs.ts";

const paths = renderOnlyPaths;

/** Splits the file into sections: header line -> its indented lines, trimmed. */
function sections(config: string): Map<string, string[]> {
    const result = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of config.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        if (/^\S/.test(line)) {
            current = [];
            assert.equal(result.has(line), false, `section ${line} appears twice`);
            result.set(line, current);
        } else {
            assert.ok(current, `indented line before any section: ${line}`);
            current.push(line.trim());
        }
    }
    return result;
}

function sectionOf(config: string, header: string): string[] {
    const lines = sections(config).get(header);
    assert.ok(lines, `no section "${header}" in:\n${config}`);
    return lines;
}

function bindLines(config: string): Map<string, string> {
    const binds = new Map<string, string>();
    for (const [header, lines] of sections(config)) {
        for (const line of lines.filter((l) => l.startsWith("bind "))) binds.set(header, line);
    }
    return binds;
}

function render(change: (spec: HaproxySpec) => void = () => {}): string {
    const spec = devLikeSpec(paths);
    change(spec);
    return renderHaproxyCfg(spec);
}

describe("mutual TLS on the device frontend", () => {
    const bind = () => sectionOf(render(), "frontend mqtts").find((l) => l.startsWith("bind "));

    test("requires a client certificate verified against intermediate and root", () => {
        const line = bind() ?? "";
        const words = line.split(" ");
        assert.ok(words.includes("ssl"), line);
        assert.match(line, / verify required( |$)/m);
        assert.match(line, / ca-file \/etc\/haproxy\/ca\/device-intermediate\.pem /);
        assert.match(line, / ca-verify-file \/etc\/haproxy\/ca\/root\.pem /);
    });

    test("lists every server certificate in order, the first being the default", () => {
        const crts = [...(bind() ?? "").matchAll(/ crt (\S+)/g)].map((m) => m[1]);
        assert.deepEqual(crts, [paths.serverEcdsaPemPath, paths.serverRsaPemPath]);
    });

    test("pins the issuer to the device intermediate's CN after the handshake", () => {
        const lines = sectionOf(render(), "frontend mqtts");
        assert.ok(
            lines.includes(
                "tcp-request session reject unless { ssl_c_i_dn(CN) -m str 'Test Device Intermediate CA' }",
            ),
            lines.join("\n"),
        );
        const other = render((s) => {
            s.mqtts.deviceIssuerCommonName = "intermediate.emqx.com";
        });
        assert.match(other, /-m str 'intermediate\.emqx\.com' \}/);
    });

    test("logs each connection with the device CN", () => {
        const lines = sectionOf(render(), "frontend mqtts");
        const format = lines.find((l) => l.startsWith("log-format "));
        assert.match(format ?? "", /^log-format "%ci:%cp \[%t\] .* %\{\+Q\}\[ssl_c_s_dn\(CN\)\]"$/);
    });

    test("sets the minimum TLS version", () => {
        assert.match(bind() ?? "", / ssl-min-ver TLSv1\.2( |$)/m);
        const tls13 = render((s) => {
            s.mqtts.minTlsVersion = "TLSv1.3";
        });
        assert.match(tls13, / ssl-min-ver TLSv1\.3( |$)/m);
        assert.doesNotMatch(tls13, /TLSv1\.2/);
    });

    test("adds crl-file only when a CRL is given", () => {
        assert.match(bind() ?? "", / crl-file \/etc\/haproxy\/ca\/crls\.pem( |$)/m);
        const none = render((s) => {
            delete s.mqtts.crlPath;
        });
        assert.doesNotMatch(none, /crl-file/);
    });
});

describe("PROXY protocol", () => {
    test("accept-proxy on every bind the NLB reaches, never on the admin bind", () => {
        const binds = bindLines(render());
        assert.deepEqual([...binds.keys()].sort(), [
            "frontend admin",
            "frontend health",
            "frontend mqtts",
        ]);
        assert.match(binds.get("frontend mqtts") ?? "", /^bind 0\.0\.0\.0:8883 accept-proxy /);
        assert.match(binds.get("frontend health") ?? "", / accept-proxy$/);
        assert.doesNotMatch(binds.get("frontend admin") ?? "", /accept-proxy/);
    });

    test("no accept-proxy anywhere when the NLB sends none", () => {
        const config = render((s) => {
            s.acceptProxyFromLoadBalancer = false;
        });
        assert.equal(bindLines(config).size, 3);
        assert.doesNotMatch(config, /accept-proxy/);
    });

    test("every server sends PROXY v2 with the device CN and is checked", () => {
        const spec = devLikeSpec(paths);
        const lines = sectionOf(renderHaproxyCfg(spec), `backend ${haproxyBackendName}`);
        const servers = lines.filter((l) => l.startsWith("server "));
        assert.equal(servers.length, spec.backend.servers.length);
        for (const [index, line] of servers.entries()) {
            const server = spec.backend.servers[index];
            assert.ok(server);
            assert.ok(
                line.startsWith(`server ${server.name} ${server.host}:${server.port} `),
                line,
            );
            const words = line.split(" ");
            assert.ok(words.includes("send-proxy-v2-ssl-cn"), line);
            assert.ok(words.includes("check"), line);
        }
    });

    test("proxy-connect checks use the traffic port, so they carry PROXY LOCAL", () => {
        const backend = sectionOf(render(), `backend ${haproxyBackendName}`).join("\n");
        assert.doesNotMatch(backend, /httpchk| port \d| addr /);
    });

    test("http-status checks go to their own port without PROXY", () => {
        const backend = sectionOf(
            render((s) => {
                s.backend.healthCheck = { kind: "http-status", port: 18083, path: "/status" };
            }),
            `backend ${haproxyBackendName}`,
        );
        assert.ok(backend.includes("option httpchk GET /status"));
        assert.ok(backend.includes("http-check expect status 200"));
        for (const line of backend.filter((l) => l.startsWith("server "))) {
            assert.match(line, / check port 18083( |$)/m);
            assert.doesNotMatch(line, /check-send-proxy/);
        }
    });
});

describe("limits and load balancing", () => {
    test("global, frontend and per-server maxconn come from the spec", () => {
        const config = render((s) => {
            s.process.maxconn = 400_000;
            s.mqtts.maxconn = 300_000;
            s.backend.serverDefaults.maxconn = 200_000;
            s.backend.serverDefaults.maxqueue = 5_000;
        });
        assert.ok(sectionOf(config, "global").includes("maxconn 400000"));
        assert.ok(sectionOf(config, "frontend mqtts").includes("maxconn 300000"));
        const defaults = sectionOf(config, `backend ${haproxyBackendName}`).find((l) =>
            l.startsWith("default-server "),
        );
        assert.match(defaults ?? "", / maxconn 200000 maxqueue 5000 /);
    });

    test("default-server carries the seed's check and ramp-up settings", () => {
        const line = sectionOf(render(), `backend ${haproxyBackendName}`).find((l) =>
            l.startsWith("default-server "),
        );
        assert.equal(
            line,
            "default-server inter 10s downinter 5s rise 2 fall 2 slowstart 1m maxconn 500000 maxqueue 10000 weight 100 on-marked-down shutdown-sessions",
        );
        const noRamp = render((s) => {
            s.backend.serverDefaults.slowstartMs = 0;
            s.backend.shutdownSessionsOnMarkedDown = false;
        });
        assert.doesNotMatch(noRamp, /slowstart|on-marked-down/);
    });

    test("balance is roundrobin or leastconn as asked", () => {
        assert.ok(sectionOf(render(), "backend emqx").includes("balance roundrobin"));
        const least = render((s) => {
            s.backend.balance = "leastconn";
        });
        assert.ok(sectionOf(least, "backend emqx").includes("balance leastconn"));
    });

    test("DNS-named servers use the resolvers section and skip libc; IPv4 servers do not", () => {
        const config = render((s) => {
            s.backend.servers = [
                { name: "a", host: "emqx-1.edge.internal", port: 1883 },
                { name: "b", host: "10.0.1.10", port: 1883 },
            ];
        });
        const servers = sectionOf(config, "backend emqx").filter((l) => l.startsWith("server "));
        assert.match(servers[0] ?? "", / resolvers dns resolve-prefer ipv4 init-addr last,none$/);
        assert.doesNotMatch(servers[1] ?? "", /init-addr last,none/);
        assert.doesNotMatch(servers[1] ?? "", /resolvers/);
        assert.deepEqual(sectionOf(config, "resolvers dns"), [
            "parse-resolv-conf",
            "hold valid 10s",
            "timeout resolve 1s",
        ]);
    });
});

describe("process, timeouts, health and admin", () => {
    test("global: master-worker, admin stats socket, hard-stop-after, log target", () => {
        const global = sectionOf(render(), "global");
        assert.ok(global.includes("master-worker"));
        assert.ok(global.includes("stats socket /etc/haproxy/admin.sock mode 600 level admin"));
        assert.ok(global.includes("hard-stop-after 15m"));
        assert.ok(global.includes("log /dev/log local0 info"));
        assert.ok(global.includes("pidfile /etc/haproxy/haproxy.pid"));
        const stdout = sectionOf(
            render((s) => {
                s.process.log = { kind: "stdout", level: "debug" };
            }),
            "global",
        );
        assert.ok(stdout.includes("log stdout format raw local0 debug"));
    });

    test("workers drop to the given account inside the chroot; only 'starting-user' keeps root", () => {
        const global = sectionOf(render(), "global");
        const privilegeLines = global.filter((line) => /^(user|group|chroot) /.test(line));
        assert.deepEqual(privilegeLines, [
            "user haproxy",
            "group haproxy",
            "chroot /var/lib/haproxy",
        ]);
        const kept = sectionOf(
            render((s) => {
                s.process.runAs = "starting-user";
            }),
            "global",
        );
        assert.deepEqual(
            kept.filter((line) => /^(user|group|chroot|uid|gid) /.test(line)),
            [],
        );
    });

    test("a spec without runAs is refused: no root workers by omission", () => {
        const spec = devLikeSpec(paths);
        delete (spec.process as Partial<typeof spec.process>).runAs;
        assert.throws(
            () => renderHaproxyCfg(spec),
            /^Error: haproxy spec: process\.runAs = undefined is not allowed; expected \{ user, group, chroot \} or "starting-user"$/,
        );
    });

    test("MQTT timeouts land in the tcp defaults with exact units", () => {
        const defaults = sectionOf(
            render((s) => {
                s.timeouts.clientMs = 240_000;
                s.timeouts.serverMs = 240_000;
                s.timeouts.checkMs = 1_500;
            }),
            "defaults mqtt",
        );
        for (const expected of [
            "mode tcp",
            "option tcplog",
            "timeout connect 5s",
            "timeout client 4m",
            "timeout server 4m",
            "timeout client-fin 30s",
            "timeout server-fin 30s",
            "timeout queue 5s",
            "timeout check 1500ms",
        ]) {
            assert.ok(
                defaults.includes(expected),
                `${expected} missing from ${defaults.join(" | ")}`,
            );
        }
    });

    test("health endpoint fails when no EMQX node is up", () => {
        const health = sectionOf(render(), "frontend health");
        assert.ok(health.includes("monitor-uri /healthz"));
        assert.ok(health.includes(`monitor fail if { nbsrv(${haproxyBackendName}) lt 1 }`));
    });

    test("admin frontend serves Prometheus and stats, and is optional", () => {
        const admin = sectionOf(render(), "frontend admin");
        assert.ok(admin.includes("bind 127.0.0.1:8405"));
        assert.ok(
            admin.includes("http-request use-service prometheus-exporter if { path /metrics }"),
        );
        assert.ok(admin.includes("stats uri /stats"));
        assert.doesNotMatch(renderHaproxyCfg(minimalSpec(paths)), /frontend admin|prometheus/);
    });

    test("formatMilliseconds keeps values exact", () => {
        assert.equal(formatMilliseconds(90_000), "90s");
        assert.equal(formatMilliseconds(120_000), "2m");
        assert.equal(formatMilliseconds(7_200_000), "2h");
        assert.equal(formatMilliseconds(86_400_000), "1d");
        assert.equal(formatMilliseconds(1_500), "1500ms");
        assert.equal(formatMilliseconds(0), "0ms");
    });

    test("rendering is deterministic and ends with a newline", () => {
        const a = render();
        assert.equal(a, render());
        assert.ok(a.endsWith("\n") && !a.endsWith("\n\n"));
    });
});
