/**
 * The CloudWatch agent the hosts run: its configuration parses and names only loopback
 * exporters, and the measuring script works for real: run by bash against a real HAProxy with
 * the dev stack's haproxy.cfg (local-edge/), it sends the hours to the earliest loaded CRL's
 * nextUpdate and the descriptor share to a StatsD listener, as the agent would receive them.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { cloudWatchAgentSpecs } from "../../infra/aws-hosts.ts";
import { parseEdgeConfig } from "../../infra/config.ts";
import { haproxySpecFor } from "../../infra/edge-specs.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { LocalEdge } from "../../local-edge/local-edge.ts";
import { waitFor } from "../../local-edge/wait-for.ts";
import { parseCrlPems } from "../../pki/crl.ts";
import {
    type CloudWatchAgentSpec,
    cloudWatchAgentCommands,
    renderCloudWatchAgentConfig,
    renderHostMetricsScript,
    renderPrometheusScrapeConfig,
} from "../../templates/cloud-init-cloudwatch-agent.ts";
import { lintBash } from "./lint-script.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const dev = parseEdgeConfig(readStackFile(projectDir, "dev").raw);
const specs = cloudWatchAgentSpecs(dev, "dev", true);

interface AgentConfig {
    agent: { omit_hostname: boolean };
    metrics: {
        namespace: string;
        aggregation_dimensions: string[][];
        metrics_collected: {
            mem: { measurement: string[]; append_dimensions: Record<string, string> };
            statsd: { service_address: string };
        };
    };
    logs: {
        metrics_collected: {
            prometheus: {
                log_group_name: string;
                prometheus_config_path: string;
                emf_processor: {
                    metric_namespace: string;
                    metric_declaration: Array<{
                        source_labels: string[];
                        label_matcher: string;
                        dimensions: string[][];
                        metric_selectors: string[];
                    }>;
                };
            };
        };
    };
}

describe("agent configuration for the dev stack", () => {
    for (const group of ["haproxy", "emqx"] as const) {
        test(`${group}: JSON parses; one namespace, the Group dimension, StatsD on loopback only`, () => {
            const config = JSON.parse(renderCloudWatchAgentConfig(specs[group])) as AgentConfig;
            assert.equal(config.metrics.namespace, "mqtt-edge/dev");
            assert.equal(config.agent.omit_hostname, true);
            assert.deepEqual(config.metrics.aggregation_dimensions, [["Group"]]);
            assert.deepEqual(config.metrics.metrics_collected.mem.append_dimensions, {
                Group: group,
            });
            assert.equal(config.metrics.metrics_collected.statsd.service_address, "127.0.0.1:8125");
            const prometheus = config.logs.metrics_collected.prometheus;
            assert.equal(prometheus.log_group_name, "/mqtt-edge/dev/host-metrics");
            assert.equal(prometheus.emf_processor.metric_namespace, "mqtt-edge/dev");
            for (const declaration of prometheus.emf_processor.metric_declaration) {
                assert.deepEqual(declaration.dimensions, [["Group"]]);
                assert.equal(declaration.source_labels[0], "job");
                assert.match(declaration.label_matcher, new RegExp(`^\\^${group}[;$]`));
            }
        });

        test(`${group}: the Prometheus scrape config parses and names only the loopback exporter`, () => {
            const scrape = parseYaml(renderPrometheusScrapeConfig(specs[group])) as {
                scrape_configs: Array<{
                    job_name: string;
                    metrics_path: string;
                    static_configs: Array<{ targets: string[]; labels: Record<string, string> }>;
                    [other: string]: unknown;
                }>;
            };
            assert.equal(scrape.scrape_configs.length, 1);
            const [job] = scrape.scrape_configs;
            assert.equal(job?.job_name, group);
            // No discovery of other hosts: static loopback targets only.
            assert.deepEqual(
                Object.keys(job ?? {}).filter((key) => key.endsWith("_sd_configs")),
                [],
            );
            const targets = job?.static_configs.flatMap((c) => c.targets) ?? [];
            const expected =
                group === "haproxy"
                    ? [`127.0.0.1:${dev.haproxy.metricsPort}`]
                    : ["127.0.0.1:18083"];
            assert.deepEqual(targets, expected);
            assert.equal(
                job?.metrics_path,
                group === "haproxy" ? "/metrics" : "/api/v5/prometheus/stats",
            );
            assert.deepEqual(job?.static_configs[0]?.labels, { Group: group });
        });
    }

    test("the dev haproxy.cfg serves its exporter exactly where the agent scrapes", () => {
        const spec = haproxySpecFor(dev, {
            serverKeyAlgorithms: dev.pki.serverKeyAlgorithms,
            withCrl: true,
        });
        assert.deepEqual(spec.admin?.bind, {
            address: "127.0.0.1",
            port: specs.haproxy.exporterPort,
        });
        assert.equal(spec.admin?.metricsPath, specs.haproxy.exporterPath);
        assert.equal(specs.haproxy.crl?.statsSocketPath, spec.process.statsSocketPath);
        assert.deepEqual(specs.haproxy.crl?.crlPaths, [spec.mqtts.crlPath]);
    });

    test("user-data installs the agent, loads the config, and starts the per-minute timer", () => {
        const commands = cloudWatchAgentCommands(specs.haproxy, "amd64");
        assert.match(commands, /debian\/amd64\/latest\/amazon-cloudwatch-agent\.deb/);
        assert.match(
            commands,
            /amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:\/etc\/mqtt-edge\/cloudwatch-agent\.json/,
        );
        assert.match(commands, /systemctl enable --now mqtt-edge-host-metrics\.timer/);
        assert.equal(lintBash(`#!/bin/bash\nset -euo pipefail\n${commands}`), "");
    });

    test("bad input: one line naming the field, the value and what is allowed", () => {
        const bad: Array<[Partial<CloudWatchAgentSpec>, RegExp]> = [
            [{ namespace: "mqtt edge" }, /^namespace: "mqtt edge" is not allowed; use 1-255/],
            [{ exporterPort: 0 }, /^exporterPort/],
            [{ exporterPath: "metrics; rm" }, /^exporterPath: "metrics; rm" is not allowed/],
            [{ processName: "haproxy; reboot" }, /^processName: "haproxy; reboot" is not allowed/],
            [
                { crl: { statsSocketPath: "/run/haproxy/admin.sock", crlPaths: [] } },
                /^crl\.crlPaths: \[\] is not allowed/,
            ],
        ];
        for (const [change, message] of bad) {
            assert.throws(
                () => renderCloudWatchAgentConfig({ ...specs.haproxy, ...change }),
                (error: Error) => message.test(error.message) && !error.message.includes("\n"),
            );
        }
    });
});

describe("the host metrics script, run by bash against the dev stack's HAProxy", () => {
    let edge: LocalEdge;
    let statsd: Socket;
    let port: number;
    const received: string[] = [];

    before(async () => {
        edge = await LocalEdge.start({
            stack: "dev",
            brokerCount: 1,
            caKeyAlgorithm: "ecdsa-p256",
        });
        statsd = createSocket("udp4");
        statsd.on("message", (message) => received.push(message.toString()));
        await new Promise<void>((resolve) => statsd.bind(0, "127.0.0.1", resolve));
        port = statsd.address().port;
    });

    after(async () => {
        statsd?.close();
        await edge?.close();
    });

    function runScript(spec: CloudWatchAgentSpec): { status: number | null; stderr: string } {
        const script = renderHostMetricsScript(spec);
        const run = spawnSync("bash", ["-c", script], { encoding: "utf8", timeout: 20_000 });
        return { status: run.status, stderr: run.stderr };
    }

    test("passes bash -n and shellcheck, with and without the CRL part", () => {
        assert.equal(lintBash(renderHostMetricsScript(specs.haproxy)), "");
        assert.equal(lintBash(renderHostMetricsScript(specs.emqx)), "");
    });

    test("sends the hours to the earliest nextUpdate of the CRLs HAProxy loaded, and the fd share", async () => {
        received.length = 0;
        const socket = edge.spec.process.statsSocketPath as string;
        const run = runScript({
            ...specs.haproxy,
            statsdPort: port,
            crl: { statsSocketPath: socket, crlPaths: [edge.pki.crlPath] },
        });
        assert.equal(run.status, 0, run.stderr);
        await waitFor("two StatsD datagrams", 5_000, async () => received.length >= 2);
        const crlLine = received.find((m) => m.startsWith("crl_hours_to_next_update:"));
        assert.ok(crlLine, received.join(" | "));
        const match = /^crl_hours_to_next_update:(-?\d+)\|g\|#Group:haproxy$/.exec(crlLine);
        assert.ok(match, crlLine);
        const soonest = Math.min(
            ...parseCrlPems(readFileSync(edge.pki.crlPath, "utf8"), "crl").map(
                (crl) => crl.nextUpdate?.getTime() ?? 0,
            ),
        );
        const expectedHours = Math.floor((soonest - Date.now()) / 3_600_000);
        assert.ok(
            Math.abs(Number(match[1]) - expectedHours) <= 1,
            `sent ${match[1]} h, the CRL file says ${expectedHours} h`,
        );
        const fdLine = received.find((m) => m.startsWith("fd_used_percent:"));
        assert.match(fdLine ?? "", /^fd_used_percent:\d{1,3}\|g\|#Group:haproxy$/);
    });

    test("a CRL HAProxy has not loaded sends nothing, so the alarm sees missing data", async () => {
        received.length = 0;
        const run = runScript({
            ...specs.haproxy,
            statsdPort: port,
            crl: {
                statsSocketPath: edge.spec.process.statsSocketPath as string,
                crlPaths: ["/etc/haproxy/ca/not-loaded.pem"],
            },
        });
        assert.equal(run.status, 0, run.stderr);
        assert.match(
            run.stderr,
            /no CRL deadline read from .*; not sending crl_hours_to_next_update/,
        );
        await waitFor("the fd datagram", 5_000, async () => received.length >= 1);
        assert.deepEqual(
            received.filter((m) => m.startsWith("crl_hours")),
            [],
        );
    });

    test("no such process: no fd figure, a line on stderr", () => {
        const run = runScript({ ...specs.emqx, statsdPort: port, processName: "no-such-proc" });
        assert.equal(run.status, 0);
        assert.match(run.stderr, /no no-such-proc process to measure; not sending fd_used_percent/);
    });
});
