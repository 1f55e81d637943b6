/**
 * The EMQX listener plan carried through every rendered file, on both targets: each emqx.conf
 * runs one PROXY listener per planned port with the same access rules, and haproxy.cfg has one
 * server line per node and port, so what HAProxy dials is exactly what EMQX listens on.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseEdgeConfig } from "../../infra/config.ts";
import { emqxListenerPlan } from "../../infra/emqx-listener-plan.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { renderStackFiles } from "../../infra/stack-files.ts";
import { parseHocon } from "../support/hocon.ts";

const projectDir = new URL("../../", import.meta.url).pathname;

const cases = [
    { stack: "dev", overrides: {}, ports: [1883, 1884] },
    { stack: "dev", overrides: { capacity: { spareHosts: 0 } }, ports: [1883, 1884] },
    { stack: "dev", overrides: { haproxy: { maxconn: 120_000 } }, ports: [1883] },
    // a Docker stack whose maxconn is above what one port per node reaches
    { stack: "local", overrides: { haproxy: { maxconn: 200_000 } }, ports: [1883, 1884] },
] as const;

describe("EMQX listener ports in the rendered files", () => {
    for (const { stack, overrides, ports } of cases) {
        test(`${stack} ${JSON.stringify(overrides)}: EMQX listens on ${ports.join(", ")}, HAProxy dials exactly those`, async () => {
            const raw = readStackFile(projectDir, stack).raw as Record<
                string,
                Record<string, unknown>
            >;
            const merged: Record<string, unknown> = { ...raw };
            for (const [section, values] of Object.entries(overrides)) {
                merged[section] = { ...(raw[section] ?? {}), ...values };
            }
            const config = parseEdgeConfig(merged);
            const plan = emqxListenerPlan(config);
            assert.deepEqual(plan.ports, ports);
            const files = renderStackFiles(config, { stack });
            const emqxFiles = [...files].filter(([path]) => path.startsWith("emqx/"));
            assert.equal(emqxFiles.length, config.emqx.nodes);
            for (const [path, text] of emqxFiles) {
                const conf = (await parseHocon(text)) as {
                    listeners: { tcp: Record<string, Record<string, unknown>> };
                };
                const tcp = conf.listeners.tcp;
                assert.deepEqual(
                    Object.values(tcp).map((l) => l.bind),
                    ports.map((p) => `0.0.0.0:${p}`),
                    path,
                );
                const rules = Object.values(tcp).map((l) => JSON.stringify(l.access_rules));
                assert.equal(new Set(rules).size, 1, `${path}: every listener admits the same`);
                assert.ok(rules[0]?.includes("deny all"), path);
                for (const listener of Object.values(tcp)) {
                    assert.equal(listener.max_connections, plan.maxConnectionsPerListener);
                    assert.equal(listener.proxy_protocol, true);
                }
            }
            const haproxy = files.get("haproxy/haproxy.cfg") ?? "";
            const dialled = [...haproxy.matchAll(/^ {4}server \S+ \S+:(\d+) /gm)].map((m) =>
                Number(m[1]),
            );
            assert.equal(dialled.length, config.emqx.nodes * ports.length);
            assert.deepEqual([...new Set(dialled)].sort(), [...ports]);
        });
    }
});
