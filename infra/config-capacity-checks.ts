/**
 * The sizing guard: refuses a stack whose hosts cannot hold what it configures, before anything is
 * declared or rendered, one line per refusal naming the key to change (capacity/ holds the model).
 * The reconnect storm and a missed capacity.targetDevices are only warnings: a slower reconnect
 * is not an outage, and a smaller copy of a stack is legitimate.
 */
import { MAX_EMQX_MQTT_LISTENERS, PORTS_PER_DESTINATION } from "../capacity/backend-ports.ts";
import { type CapacityFigures, loadCapacityFigures } from "../capacity/figures.ts";
import { instanceFacts, type StackCapacity, stackCapacity } from "../capacity/stack-capacity.ts";
import type { EdgeConfig } from "./config.ts";
import { fail } from "./config-errors.ts";
import { emqxListenerPlan, emqxListenersNeeded } from "./emqx-listener-plan.ts";

const thousands = (n: number) =>
    n >= 10_000 ? `${Math.floor(n / 1000) * 1000}` : `${Math.floor(n)}`;
const kib = (n: number) => `${Number(n.toFixed(1))} KiB`;

/** Checks that hold on every target: the backend must be able to reach maxconn. */
function checkBackend(c: EdgeConfig): void {
    const { haproxy, emqx } = c;
    const needed = emqxListenersNeeded(c);
    if (needed > MAX_EMQX_MQTT_LISTENERS) {
        const survivors = Math.max(1, emqx.nodes - c.capacity.spareHosts);
        fail(
            "haproxy.maxconn",
            haproxy.maxconn,
            `one HAProxy host would need ${needed} EMQX listener ports per node to open that many connections to ${survivors} node(s) (${PORTS_PER_DESTINATION} source ports per EMQX address:port; at most ${MAX_EMQX_MQTT_LISTENERS} ports); add emqx.nodes or lower maxconn`,
        );
    }
    const plan = emqxListenerPlan(c);
    const lines = emqx.nodes * plan.listenersPerNode;
    if (haproxy.serverMaxconn * lines < haproxy.frontendMaxconn && haproxy.maxqueue === 0) {
        fail(
            "haproxy.maxqueue",
            haproxy.maxqueue,
            `must be above 0 when ${lines} server lines x haproxy.serverMaxconn (${lines * haproxy.serverMaxconn}) is below the frontend maxconn, or devices queue without bound`,
        );
    }
    if (haproxy.serverMaxconn > plan.maxConnectionsPerListener) {
        fail(
            "haproxy.serverMaxconn",
            haproxy.serverMaxconn,
            `must not exceed an EMQX listener's max_connections (emqx.maxConnections ${emqx.maxConnections} shared by ${plan.listenersPerNode} listener(s): ${plan.maxConnectionsPerListener}), or HAProxy sends a listener more devices than it accepts`,
        );
    }
}

/** Memory and target checks: AWS hosts only (a Docker stack shares one machine). */
function checkAwsSizes(c: EdgeConfig, f: CapacityFigures): void {
    for (const key of ["haproxy", "emqx"] as const) {
        if (instanceFacts(c, c[key].instanceType) === undefined) {
            fail(
                `${key}.instanceType`,
                c[key].instanceType,
                "the capacity model does not know this type (c7i, c6i, c7g, c6g, m7i, m7g, r7i from large to 16xlarge); add it as capacity.instanceTypes.<type> = {vcpus, memoryGiB}",
            );
        }
    }
    const model = stackCapacity(c, f);
    const host = model.haproxyHosts[0];
    if (host !== undefined && c.haproxy.maxconn > host.memoryDeviceLimit) {
        fail(
            "haproxy.maxconn",
            c.haproxy.maxconn,
            `a ${host.instanceType} has memory for about ${thousands(host.memoryDeviceLimit)} devices (${kib(f.haproxyKiBPerDevice)} HAProxy + ${kib(f.kernelKiBPerDevice)} kernel each in ${host.memoryGiB} GiB, ${f.osReserveKiB / 1024} MiB kept for the OS); raise haproxy.instanceType or lower maxconn`,
        );
    }
    const node = model.emqxNodes[0];
    if (node !== undefined && c.emqx.maxConnections > node.memoryConnectionLimit) {
        fail(
            "emqx.maxConnections",
            c.emqx.maxConnections,
            `a ${node.instanceType} has memory for about ${thousands(node.memoryConnectionLimit)} connections (${kib(f.emqxKiBPerConnection)} each in ${node.memoryGiB} GiB, ${f.osReserveKiB / 1024} MiB kept for the OS); raise emqx.instanceType or lower maxConnections`,
        );
    }
}

/** Refuses sizes the hosts cannot hold. Throws ConfigError with one line. */
export function checkCapacity(c: EdgeConfig, figures?: CapacityFigures): void {
    checkBackend(c);
    if (c.target === "aws") checkAwsSizes(c, figures ?? loadCapacityFigures());
}

/**
 * Sizing warnings for a valid configuration, one line each; empty when none. A stated target the
 * fleet misses is a warning, not a refusal: a smaller copy of a stack (a load test) is legitimate,
 * and every host still holds what it is configured for.
 */
export function capacityWarnings(c: EdgeConfig, figures?: CapacityFigures): string[] {
    if (c.target !== "aws") return [];
    const model = stackCapacity(c, figures ?? loadCapacityFigures());
    const warnings = targetShortfalls(c, model);
    for (const w of model.warnings) {
        warnings.push(`mqtt-edge:capacity.stormSeconds = ${c.capacity.stormSeconds}: ${w}`);
    }
    return warnings;
}

function targetShortfalls(c: EdgeConfig, model: StackCapacity): string[] {
    const target = c.capacity.targetDevices;
    if (target === undefined) return [];
    const spare = c.capacity.spareHosts;
    const host = model.haproxyHosts[0];
    const node = model.emqxNodes[0];
    const shortfalls: string[] = [];
    if (model.haproxyFleetDevicesSpareDown < target) {
        shortfalls.push(
            `mqtt-edge:capacity.targetDevices = ${target}: the HAProxy fleet holds ${model.haproxyFleetDevicesSpareDown} devices with ${spare} of ${c.haproxy.instances} hosts lost (${host?.devices} per host, limited by ${host?.bindingLimit}); raise haproxy.instances, haproxy.maxconn or haproxy.instanceType (npm run capacity)`,
        );
    }
    if (model.emqxClusterConnectionsSpareDown < target) {
        shortfalls.push(
            `mqtt-edge:capacity.targetDevices = ${target}: the EMQX cluster holds ${model.emqxClusterConnectionsSpareDown} connections with ${spare} of ${c.emqx.nodes} nodes lost (${node?.connections} per node, limited by ${node?.bindingLimit}); raise emqx.nodes, emqx.maxConnections or emqx.instanceType (npm run capacity)`,
        );
    }
    return shortfalls;
}
