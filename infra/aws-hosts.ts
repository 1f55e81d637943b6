/**
 * The plain part of the AWS hosts: which files each HAProxy and EMQX host fetches, from which SSM
 * parameters, and what its user-data says. Pure, so the program (infra/aws-edge.ts) and
 * `npm run render` derive the same user-data from the same configuration.
 */
import type {
    EmqxHostPlan,
    HaproxyHostPlan,
    HostFileLayout,
} from "../components/aws/host-plans.ts";
import type { CloudWatchAgentSpec } from "../templates/cloud-init-cloudwatch-agent.ts";
import {
    renderTicketKeyScript,
    TICKET_KEY_SCRIPT_PATH,
    type TicketKeyScriptSpec,
} from "../templates/tls-ticket-keys.ts";
import type { EdgeConfig } from "./config.ts";
import {
    awsHaproxyLayout,
    EMQX_DASHBOARD_PORT,
    EMQX_PROMETHEUS_PATH,
    HAPROXY_METRICS_PATH,
    HEALTH_URI,
} from "./edge-specs.ts";

/** Which certificate, CA or CRL a HAProxy file holds; the program fills in the content. */
export type HaproxyFileSource =
    | { readonly kind: "server"; readonly algorithm: string }
    | { readonly kind: "deviceCa" }
    | { readonly kind: "root" }
    | { readonly kind: "crl" }
    | { readonly kind: "tlsTicketSeed" }
    | { readonly kind: "tlsTicketScript"; readonly script: string };

export type HaproxyFile = HostFileLayout & { readonly source: HaproxyFileSource };

/**
 * The files haproxy.cfg names, besides itself: server PEMs (keys, 0600), CAs, CRLs, and for the
 * shared TLS session ticket keys the seed (0600) and the script that derives and rotates them.
 */
export function haproxyFiles(
    serverKeyAlgorithms: readonly string[],
    withCrl: boolean,
    ticketKeys?: TicketKeyScriptSpec,
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
            ? [
                  {
                      key: "crl.pem",
                      path: awsHaproxyLayout.crl,
                      // About 66 bytes per revoked certificate: past SSM's 8 KB at ~111 entries.
                      store: "s3" as const,
                      source: { kind: "crl" } as const,
                  },
              ]
            : []),
        ...(ticketKeys
            ? [
                  {
                      key: "tls-ticket-seed",
                      path: ticketKeys.seedPath,
                      mode: "0600",
                      source: { kind: "tlsTicketSeed" } as const,
                  },
                  {
                      key: "tls-ticket-keys.sh",
                      path: TICKET_KEY_SCRIPT_PATH,
                      mode: "0755",
                      source: {
                          kind: "tlsTicketScript",
                          script: renderTicketKeyScript(ticketKeys),
                      } as const,
                  },
              ]
            : []),
    ];
}

export interface AwsHostPlans {
    readonly haproxy: Omit<HaproxyHostPlan, "files"> & { readonly files: readonly HaproxyFile[] };
    readonly emqx: Omit<EmqxHostPlan, "extraFiles">;
}

/** The ticket key script's settings on the AWS hosts (templates/tls-ticket-keys.ts). */
function awsTicketKeys(config: Pick<EdgeConfig, "haproxy">): TicketKeyScriptSpec | undefined {
    const paths = awsHaproxyLayout.tlsTicketKeys;
    if (!paths) return undefined;
    return {
        seedPath: paths.seed,
        keysPath: paths.keys,
        statsSocketPath: awsHaproxyLayout.statsSocket,
        // One epoch per session lifetime: see tlsSessionTuning in edge-specs.ts.
        periodSeconds: config.haproxy.tlsSessionLifetimeSeconds,
    };
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

/** The HAProxy Auto Scaling group's name: fixed per stack, because the hosts name it. */
export function haproxyGroupName(stack: string): string {
    return `mqtt-edge-${stack}-haproxy`;
}

export function awsHostPlans(
    config: Pick<EdgeConfig, "haproxy" | "emqx" | "nlb" | "ssmAgent" | "alarms">,
    stack: string,
    certificates: { readonly serverKeyAlgorithms: readonly string[]; readonly withCrl: boolean },
): AwsHostPlans {
    const ticketKeys = awsTicketKeys(config);
    const agents = config.alarms.hostAgent
        ? cloudWatchAgentSpecs(config, stack, certificates.withCrl)
        : undefined;
    return {
        haproxy: {
            instanceCount: config.haproxy.instances,
            groupName: haproxyGroupName(stack),
            maxconn: config.haproxy.maxconn,
            configPath: awsHaproxyLayout.config,
            parameterPrefix: `/mqtt-edge/${stack}/haproxy`,
            healthCheck: {
                port: config.haproxy.healthPort,
                path: HEALTH_URI,
                // The health bind takes PROXY v2 from the NLB in that mode (edge-specs.ts).
                sendProxy: config.nlb.clientIpMode === "proxy-v2",
            },
            files: haproxyFiles(certificates.serverKeyAlgorithms, certificates.withCrl, ticketKeys),
            ...(config.ssmAgent ? { packagePins: { ssmAgent: config.ssmAgent } } : {}),
            ...(certificates.withCrl
                ? {
                      runtimeApi: {
                          statsSocketPath: awsHaproxyLayout.statsSocket,
                          crlPaths: [awsHaproxyLayout.crl],
                      },
                  }
                : {}),
            ...(ticketKeys ? { ticketKeyScriptPath: TICKET_KEY_SCRIPT_PATH } : {}),
            ...(agents ? { cloudWatchAgent: agents.haproxy } : {}),
        },
        emqx: {
            emqxVersion: config.emqx.version,
            packagePins: {
                ...(config.emqx.repositoryKeyFingerprint
                    ? { emqxRepositoryKeyFingerprint: config.emqx.repositoryKeyFingerprint }
                    : {}),
                ...(config.ssmAgent ? { ssmAgent: config.ssmAgent } : {}),
            },
            maxConnections: config.emqx.maxConnections,
            parameterPrefix: `/mqtt-edge/${stack}/emqx`,
            ...(agents ? { cloudWatchAgent: agents.emqx } : {}),
        },
    };
}
