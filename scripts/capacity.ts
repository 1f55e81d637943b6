/**
 * npm run capacity -- --stack <name> [--devices N] [--storm-seconds S] [--json]
 *
 * What the capacity model (capacity/) says about a stack: per HAProxy host and per EMQX node the
 * configured size against memory, backend ports and reconnect-storm CPU, the headroom and the
 * binding limit; what the fleet holds; and the smallest fleet (count x type) of each instance
 * family that holds N devices (default capacity.targetDevices) and reconnects them within S
 * seconds with capacity.spareHosts lost. Figures come from capacity/measured-figures.json.
 * Invalid input exits 2 with one line.
 */
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type CapacityFigures, loadCapacityFigures } from "../capacity/figures.ts";
import { TABLE_FAMILIES } from "../capacity/instance-types.ts";
import type { FleetChoice } from "../capacity/model.ts";
import { type StackCapacity, stackCapacity } from "../capacity/stack-capacity.ts";
import { parseEdgeConfig } from "../infra/config.ts";
import { readStackFile } from "../infra/stack-file.ts";

const usage =
    "usage: npm run capacity -- --stack <name> [--devices <n>] [--storm-seconds <s>] [--json]";

function positiveInteger(flag: string, value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
        throw new Error(`--${flag} ${JSON.stringify(value)}: must be a whole number above 0`);
    }
    return n;
}

const gib = (kib: number) => (kib / 1024 / 1024).toFixed(1);
const pct = (x: number) => `${Math.round(x * 100)}%`;
const n = (x: number) => Math.round(x).toLocaleString("en-US");

/** The smallest choice of each family, smallest overall first. */
function perFamily(options: readonly FleetChoice[]): FleetChoice[] {
    const best = new Map<string, FleetChoice>();
    for (const choice of options) {
        const family = choice.instanceType.split(".")[0] ?? choice.instanceType;
        if (!best.has(family)) best.set(family, choice);
    }
    const known = new Set<string>(TABLE_FAMILIES);
    return [...best.values()].sort(
        (a, b) =>
            options.indexOf(a) - options.indexOf(b) ||
            Number(known.has(b.instanceType)) - Number(known.has(a.instanceType)),
    );
}

function fleetLine(choice: FleetChoice, perHostLabel: string): string {
    return `${choice.count} x ${choice.instanceType} (${choice.count * choice.vcpus} vCPUs, ${choice.count * choice.memoryGiB} GiB; ${perHostLabel} ${n(choice.perHost)})`;
}

function textReport(stack: string, m: StackCapacity, f: CapacityFigures): string {
    const h = m.haproxyHosts[0];
    const e = m.emqxNodes[0];
    if (h === undefined || e === undefined) return `${stack}: no hosts`;
    const lines = [
        `capacity of ${stack}: ${n(m.devices)} devices, reconnect storm ${m.stormSeconds} s, ${m.spareHosts} host(s) of each tier spare`,
        "",
        `HAProxy host: ${m.haproxyHosts.length} x ${h.instanceType} (${h.vcpus} vCPUs, ${h.memoryGiB} GiB)`,
        `  maxconn                   ${n(h.maxconn)}`,
        `  memory at maxconn         ${gib(h.memoryNeededKiB)} of ${gib(h.memoryKiB)} GiB (holds about ${n(h.memoryDeviceLimit)} devices; headroom ${n(h.memoryDeviceLimit - h.maxconn)})`,
        `  backend connections       ${n(h.backendConnectionCeiling)} (${h.listenersPerNode} EMQX listener port(s) per node; ${n(h.backendCeilingWithSpareDown)} with ${m.spareHosts} node(s) down)`,
        `  storm                     ${n(h.storm.devices)} devices in ${h.storm.seconds} s: ${h.storm.vcpusNeeded.toFixed(2)} of ${h.vcpus} vCPUs (${pct(h.storm.utilisation)}); all at full CPU in ${Math.ceil(h.storm.secondsAtFullCpu)} s (${m.usPerFullConnect} us per connect with ${m.caKeyAlgorithm} CAs)`,
        `  holds                     ${n(h.devices)} devices (binding limit: ${h.bindingLimit})`,
        "",
        `EMQX node: ${m.emqxNodes.length} x ${e.instanceType} (${e.vcpus} vCPUs, ${e.memoryGiB} GiB)`,
        `  max_connections           ${n(e.maxConnections)}`,
        `  memory at max_connections ${gib(e.memoryNeededKiB)} of ${gib(e.memoryKiB)} GiB (holds about ${n(e.memoryConnectionLimit)}; headroom ${n(e.memoryConnectionLimit - e.maxConnections)})`,
        `  holds                     ${n(e.connections)} connections (binding limit: ${e.bindingLimit})`,
        "",
        `fleet: holds ${n(m.fleetDevices)} devices (binding: ${m.bindingLimit}); HAProxy ${n(m.haproxyFleetDevices)} (${n(m.haproxyFleetDevicesSpareDown)} with ${m.spareHosts} lost), EMQX ${n(m.emqxClusterConnections)} (${n(m.emqxClusterConnectionsSpareDown)} with ${m.spareHosts} lost)`,
        "",
        `smallest HAProxy fleet per family for ${n(m.devices)} devices and the storm:`,
        ...perFamily(m.haproxyFleetOptions).map((c) => `  ${fleetLine(c, "maxconn")}`),
        `smallest EMQX cluster per family for ${n(m.devices)} connections (memory only; message CPU is not modelled):`,
        ...perFamily(m.emqxFleetOptions).map((c) => `  ${fleetLine(c, "max_connections")}`),
        "",
        "figures (capacity/measured-figures.json):",
        ...Object.entries(f.entries).map(
            ([name, entry]) =>
                `  ${name} = ${entry.value} ${entry.unit} (${entry.kind}, ${entry.date})`,
        ),
    ];
    for (const warning of m.warnings) lines.push("", `warning: ${warning}`);
    return lines.join("\n");
}

function jsonReport(stack: string, m: StackCapacity, f: CapacityFigures): unknown {
    return {
        stack,
        devices: m.devices,
        stormSeconds: m.stormSeconds,
        spareHosts: m.spareHosts,
        caKeyAlgorithm: m.caKeyAlgorithm,
        usPerFullConnect: m.usPerFullConnect,
        haproxyHosts: m.haproxyHosts.map((h, index) => ({ host: index + 1, ...h })),
        emqxNodes: m.emqxNodes.map((e, index) => ({ node: index + 1, ...e })),
        fleet: {
            devices: m.fleetDevices,
            bindingLimit: m.bindingLimit,
            haproxyDevices: m.haproxyFleetDevices,
            haproxyDevicesSpareDown: m.haproxyFleetDevicesSpareDown,
            emqxConnections: m.emqxClusterConnections,
            emqxConnectionsSpareDown: m.emqxClusterConnectionsSpareDown,
        },
        smallestFleet: {
            haproxy: m.haproxyFleetOptions[0] ?? null,
            emqx: m.emqxFleetOptions[0] ?? null,
            haproxyPerFamily: perFamily(m.haproxyFleetOptions),
            emqxPerFamily: perFamily(m.emqxFleetOptions),
        },
        warnings: m.warnings,
        figures: f.entries,
    };
}

function main(argv: string[]): number {
    let values: {
        stack?: string;
        devices?: string;
        "storm-seconds"?: string;
        json?: boolean;
        help?: boolean;
    };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                stack: { type: "string" },
                devices: { type: "string" },
                "storm-seconds": { type: "string" },
                json: { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        console.error(`capacity: ${(e as Error).message.split("\n")[0]}; ${usage}`);
        return 2;
    }
    if (values.help) {
        console.log(usage);
        return 0;
    }
    if (!values.stack) {
        console.error(`capacity: --stack is required; ${usage}`);
        return 2;
    }
    const projectDir = resolve(dirname(new URL(import.meta.url).pathname), "..");
    try {
        const devices = positiveInteger("devices", values.devices);
        const stormSeconds = positiveInteger("storm-seconds", values["storm-seconds"]);
        const stackFile = readStackFile(projectDir, values.stack);
        const config = parseEdgeConfig(stackFile.raw, { encryptedSecrets: stackFile.secrets });
        if (config.target !== "aws") {
            throw new Error(
                `--stack ${values.stack}: a ${config.target} stack runs on one machine; the capacity model sizes AWS hosts`,
            );
        }
        const figures = loadCapacityFigures();
        const model = stackCapacity(config, figures, {
            ...(devices === undefined ? {} : { devices }),
            ...(stormSeconds === undefined ? {} : { stormSeconds }),
        });
        console.log(
            values.json
                ? JSON.stringify(jsonReport(values.stack, model, figures), null, 2)
                : textReport(values.stack, model, figures),
        );
        return 0;
    } catch (e) {
        console.error(`capacity: ${(e as Error).message.split("\n")[0]}`);
        return 2;
    }
}

process.exitCode = main(process.argv.slice(2));
