/**
 * The plain part of the AWS hosts: which files each HAProxy and EMQX host fetches, from which SSM
 * parameters, and what its user-data says. Pure, so the program (infra/aws-edge.ts) and
 * `npm run render` derive the same user-data from the same configuration.
 */
import type {
    EmqxHostPlan,
    HaproxyHostPlan,
    HostFileLayout,
} from "../components/aws/host-user-data.ts";
import type { CloudWatchAgentSpec } from "../templates/cloud-init-cloudwatch-agent.ts";
import type { EdgeConfig } from "./config.ts";
import {
    awsHaproxyLayout,
    EMQX_DASHBOARD_PORT,
    EMQX_PROMETHEUS_PATH,
    HAPROXY_METRICS_PATH,
} from "./edge-specs.ts";

/** Which certificate, CA or CRL a HAProxy file holds; the program fills in the content. */
export type HaproxyFileSource =
    | { readonly kind: "server"; readonly algorithm: string }
    | { readonly kind: "deviceCa" }
    | { readonly kind: "root" }
    | { readonly kind: "crl" };

export type HaproxyFile = HostFileLayout & { readonly source: HaproxyFileSource };

/** The files haproxy.cfg names, besides itself: server PEMs (keys, 0600), CAs, CRLs. */
export function haproxyFiles(
    serverKeyAlgorithms: readonly string[],
    withCrl: boolean,
): HaproxyFile[] {
    return [
        ...serverKeyAlgorithms.map((algorithm) => ({
            key: `server-${algorithm}.pem`,
            path: awsHaproxyLayout.serverCertificate(algorithm),
            mode: "0600",
            source: { kind: "server", algorithm } as const,
        })),
        {
            key: "device-intermediate.pem",
            path: awsHaproxyLayout.deviceIntermediateCa,
            source: { kind: "deviceCa" },
        },
        { key: "root.pem", path: awsHaproxyLayout.rootCa, source: { kind: "root" } },
        ...(withCrl
            ? [{ key: "crl.pem", path: awsHaproxyLayout.crl, source: { kind: "crl" } as const }]
            : []),
    ];
}

export interface AwsHostPlans {
    readonly haproxy: Omit<HaproxyHostPlan, "files"> & { readonly files: readonly HaproxyFile[] };
    readonly emqx: Omit<EmqxHostPlan, "extraFiles">;
}

/** Where a stack's host metrics go: one namespace and one log group per stack. */
export function hostMetricsDestination(stack: string): { namespace: string; logGroupName: string } {
    return { namespace: `mqtt-edge/${stack}`, logGroupName: `/mqtt-edge/${stack}/host-metrics` };
}

/** What the CloudWatch agent collects on each group of hosts. */
export function cloudWatchAgentSpecs(
    config: Pick<EdgeConfig, "haproxy">,
    stack: string,
    withCrl: boolean,
): { haproxy: CloudWatchAgentSpec; emqx: CloudWatchAgentSpec } {
    const destination = hostMetricsDestination(stack);
    return {
        haproxy: {
            ...destination,
            group: "haproxy",
            exporterPort: config.haproxy.metricsPort,
            exporterPath: HAPROXY_METRICS_PATH,
            processName: "haproxy",
            ...(withCrl
                ? {
                      crl: {
                          statsSocketPath: awsHaproxyLayout.statsSocket,
                          crlPaths: [awsHaproxyLayout.crl],
                      },
                  }
                : {}),
        },
        emqx: {
            ...destination,
            group: "emqx",
            exporterPort: EMQX_DASHBOARD_PORT,
            exporterPath: EMQX_PROMETHEUS_PATH,
            // The Erlang VM holds every device socket.
            processName: "beam.smp",
        },
    };
}

export function awsHostPlans(
    config: Pick<EdgeConfig, "haproxy" | "emqx" | "alarms">,
    stack: string,
    certificates: { readonly serverKeyAlgorithms: readonly string[]; readonly withCrl: boolean },
): AwsHostPlans {
    const agents = config.alarms.hostAgent
        ? cloudWatchAgentSpecs(config, stack, certificates.withCrl)
        : undefined;
    return {
        haproxy: {
            instanceCount: config.haproxy.instances,
            maxconn: config.haproxy.maxconn,
            configPath: awsHaproxyLayout.config,
            parameterPrefix: `/mqtt-edge/${stack}/haproxy`,
            zoneName: config.emqx.privateZone,
            files: haproxyFiles(certificates.serverKeyAlgorithms, certificates.withCrl),
            ...(certificates.withCrl
                ? {
                      runtimeApi: {
                          statsSocketPath: awsHaproxyLayout.statsSocket,
                          crlPaths: [awsHaproxyLayout.crl],
                      },
                  }
                : {}),
            ...(agents ? { cloudWatchAgent: agents.haproxy } : {}),
        },
        emqx: {
            emqxVersion: config.emqx.version,
            maxConnections: config.emqx.maxConnections,
            parameterPrefix: `/mqtt-edge/${stack}/emqx`,
            ...(agents ? { cloudWatchAgent: agents.emqx } : {}),
        },
    };
}
