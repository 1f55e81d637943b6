/**
 * The AWS target: network -> NLB -> HAProxy fleet -> EMQX cluster, with the trust chain and the
 * CRLs, wired from the validated stack configuration. Composition only: every resource lives in a
 * component, every file comes from a template.
 */
import * as pulumi from "@pulumi/pulumi";
import { fleetDeviceCapacity } from "../capacity/stack-capacity.ts";
import { EdgeAlarms } from "../components/aws/alarms.ts";
import { EdgeDashboard } from "../components/aws/dashboard.ts";
import { EmqxCluster } from "../components/aws/emqx-cluster.ts";
import { HaproxyFleet } from "../components/aws/haproxy-fleet.ts";
import { HostMetrics } from "../components/aws/host-metrics.ts";
import { LoadGenerators } from "../components/aws/load-generators.ts";
import { EdgeNetwork } from "../components/aws/network.ts";
import { DeviceNlb } from "../components/aws/nlb.ts";
import { EdgePrivateZone } from "../components/aws/private-zone.ts";
import { EdgeSecurityGroups } from "../components/aws/security-groups.ts";
import { Pki } from "../components/pki.ts";
import { createTlsTicketSeed } from "../components/tls-ticket-seed.ts";
import { renderLoadGeneratorUserData } from "../templates/cloud-init-load-generator.ts";
import { renderEmqxConf } from "../templates/emqx.ts";
import { renderHaproxyCfg } from "../templates/haproxy.ts";
import { awsHostPlans, type HaproxyFileSource, hostMetricsDestination } from "./aws-hosts.ts";
import { edgeCrls } from "./edge-crls.ts";
import {
    EMQX_MQTT_PORT,
    emqxDiscoveryName,
    emqxSpecsFor,
    HEALTH_URI,
    haproxySpecFor,
} from "./edge-specs.ts";
import { emqxListenerPlan } from "./emqx-listener-plan.ts";
import { edgePkiArgs } from "./pki-args.ts";
import type { StackConfig } from "./stack-config.ts";
import { haproxySourceCidrs } from "./stack-files.ts";

/** What the program knows besides the configuration. */
export interface AwsEdgeContext {
    /** Stack name: SSM paths, tags and the revocation list carry it. */
    readonly stack: string;
    /** `aws:region`, for default zones. */
    readonly region: string;
    /** When the program runs: picks the CRL refresh window. */
    readonly now: Date;
    /** The project directory (revocations/ lives there). */
    readonly projectDir: string;
}

export function createAwsEdge(stack: StackConfig, context: AwsEdgeContext) {
    const { config, secrets } = stack;
    const tags = { "mqtt-edge:stack": context.stack, "mqtt-edge:project": "mqtt-edge" };
    const zones = config.network.availabilityZones ?? [`${context.region}a`, `${context.region}b`];
    const existingVpc = config.network.existingVpc;

    const network = new EdgeNetwork("network", {
        ...(existingVpc
            ? {
                  existingVpc: {
                      vpcId: existingVpc.vpcId,
                      cidrBlock: existingVpc.cidrBlock,
                      publicSubnets: existingVpc.publicSubnets,
                      privateSubnets: existingVpc.privateSubnets,
                      ...(existingVpc.proxySubnets
                          ? { proxySubnets: existingVpc.proxySubnets }
                          : {}),
                  },
              }
            : { availabilityZones: zones, cidrBlock: config.network.vpcCidr }),
        natGatewayPerZone: config.network.natPerZone,
        region: context.region,
        tags,
    });
    const mqttPorts = emqxListenerPlan(config).ports;
    const groups = new EdgeSecurityGroups("groups", {
        vpcId: network.vpcId,
        devicePort: config.nlb.devicePort,
        haproxyHealthPort: config.haproxy.healthPort,
        clientCidrs: config.network.clientCidrs,
        // HAProxy checks EMQX with PROXY LOCAL on the MQTT port itself (edge-specs.ts), so no
        // second port is opened from HAProxy to EMQX.
        emqxHealthCheckPort: EMQX_MQTT_PORT,
        emqxMqttPorts: {
            first: mqttPorts[0] ?? EMQX_MQTT_PORT,
            last: mqttPorts.at(-1) ?? EMQX_MQTT_PORT,
        },
        dashboardAdminCidrs: config.network.adminCidrs,
        tags,
    });
    const nlb = new DeviceNlb("nlb", {
        vpcId: network.vpcId,
        subnetIds: (config.nlb.internal ? network.privateSubnets : network.publicSubnets).map(
            (subnet) => subnet.id,
        ),
        securityGroupId: groups.nlbGroupId,
        internal: config.nlb.internal,
        devicePort: config.nlb.devicePort,
        healthCheckPort: config.haproxy.healthPort,
        healthCheckPath: HEALTH_URI,
        clientIpMode: config.nlb.clientIpMode,
        tcpIdleTimeoutSeconds: config.nlb.idleTimeoutSeconds,
        deregistrationDelaySeconds: config.nlb.deregistrationDelaySeconds,
        tags,
    });
    const zone = new EdgePrivateZone("zone", {
        zoneName: config.emqx.privateZone,
        vpcId: network.vpcId,
        tags,
    });

    // Devices reach the NLB by its own name until a custom domain points at it: both go in the
    // server certificates' SANs.
    const pki = new Pki("pki", edgePkiArgs(config, secrets, [nlb.dnsName]));
    const rootKeyPem = pki.rootKeyPem;
    const crls = edgeCrls(pki, context, {
        enabled: config.pki.crl,
        rootCrlPem: config.caRootCrlPem,
    });

    const serverKeyAlgorithms = pki.serverCertificates.map((c) => c.keyAlgorithm);
    const haproxySpec = haproxySpecFor(config, {
        serverKeyAlgorithms,
        withCrl: crls !== undefined,
    });
    // HAProxy pins the issuer the device CA really has (with an existing CA, its certificate's CN).
    const haproxyCfg = pki.deviceCaCommonName.apply((deviceIssuerCommonName) =>
        renderHaproxyCfg({
            ...haproxySpec,
            mqtts: { ...haproxySpec.mqtts, deviceIssuerCommonName },
        }),
    );
    const plans = awsHostPlans(config, context.stack, {
        serverKeyAlgorithms,
        withCrl: crls !== undefined,
    });
    const ticketSeed = createTlsTicketSeed("haproxy-tls-ticket-seed");
    const contentOf = (source: HaproxyFileSource): pulumi.Input<string> => {
        switch (source.kind) {
            case "server": {
                const certificate = pki.serverCertificates.find(
                    (c) => c.keyAlgorithm === source.algorithm,
                );
                if (!certificate) throw new Error(`no server certificate ${source.algorithm}`);
                return certificate.haproxyPem;
            }
            case "deviceCa":
                return pki.deviceCaCertPem;
            case "root":
                return pki.rootCertPem;
            case "crl":
                if (!crls) throw new Error("no CRLs in this stack");
                return crls.pem;
            case "tlsTicketSeed":
                return ticketSeed;
            case "tlsTicketScript":
                return source.script;
        }
    };
    // Where the hosts' CloudWatch agents write, and the permissions that go with it.
    const hostMetrics = config.alarms.hostAgent
        ? new HostMetrics("metrics", { ...hostMetricsDestination(context.stack), tags })
        : undefined;
    const agentRoleStatements = hostMetrics
        ? { extraRoleStatements: hostMetrics.agentStatements }
        : {};

    const haproxy = new HaproxyFleet("haproxy", {
        ...plans.haproxy,
        ...(config.haproxy.minInstances !== undefined
            ? { minInstances: config.haproxy.minInstances }
            : {}),
        ...(config.haproxy.maxInstances !== undefined
            ? { maxInstances: config.haproxy.maxInstances }
            : {}),
        region: context.region,
        refresh: {
            instanceWarmupSeconds: config.haproxy.refreshWarmupSeconds,
            checkpointPercentages: config.haproxy.refreshCheckpointPercentages,
            checkpointDelaySeconds: config.haproxy.refreshCheckpointDelaySeconds,
        },
        instanceType: config.haproxy.instanceType,
        subnets: network.proxySubnets,
        securityGroupId: groups.haproxyGroupId,
        targetGroupArn: nlb.targetGroupArn,
        haproxyCfg,
        files: plans.haproxy.files.map(({ source, ...file }) => ({
            ...file,
            content: contentOf(source),
        })),
        ...agentRoleStatements,
        tags,
    });

    // One emqx.conf for every node: each host sets its own EMQX_NODE__NAME, which overrides
    // node.name (components/aws/emqx-cluster.ts), so the file is node 1's.
    const [firstNode] = emqxSpecsFor(config, { haproxySources: haproxySourceCidrs(config) });
    if (!firstNode) throw new Error("mqtt-edge:emqx.nodes must be at least 1");
    const emqx = new EmqxCluster("emqx", {
        ...plans.emqx,
        nodeCount: config.emqx.nodes,
        instanceType: config.emqx.instanceType,
        subnets: network.privateSubnets,
        securityGroupId: groups.emqxGroupId,
        zone: { zoneId: zone.zoneId, zoneName: zone.zoneName },
        emqxConf: renderEmqxConf(firstNode),
        ...(secrets.emqxLicenseKey ? { licenseKey: secrets.emqxLicenseKey } : {}),
        dataVolumeGiB: config.emqx.dataVolumeGiB,
        ...(config.emqx.refreshNode !== undefined ? { refreshNode: config.emqx.refreshNode } : {}),
        ...(config.emqx.discovery === "dns" ? { discoverySrvName: emqxDiscoveryName(config) } : {}),
        ...agentRoleStatements,
        tags,
    });

    // Load-test stacks only (npm run loadtest -- --scenario): the hosts that play the fleet.
    const generatorsConfig = config.loadGenerators;
    const generators = generatorsConfig
        ? new LoadGenerators("loadgen", {
              vpcId: network.vpcId,
              subnetIds: network.privateSubnets.map((subnet) => subnet.id),
              instanceType: generatorsConfig.instanceType,
              devicePort: config.nlb.devicePort,
              count: generatorsConfig.count,
              renderUserData: (generator, bucket) =>
                  renderLoadGeneratorUserData({
                      generator,
                      hostname: `loadgen-${generator + 1}`,
                      bucket,
                      maxDevices: generatorsConfig.devicesPerGenerator,
                      // The longest TTL a load-test stack may have (scripts/loadtest/plan.ts).
                      jobWaitSeconds: 7 * 24 * 3600,
                  }),
              tags,
          })
        : undefined;
    // Alarms and the dashboard read the same definitions (components/aws/alarm-definitions.ts).
    const alarmSources = {
        loadBalancerArnSuffix: nlb.arnSuffix,
        targetGroupArnSuffix: nlb.targetGroupArnSuffix,
        hostNamespace: hostMetricsDestination(context.stack).namespace,
    };
    const alarmThresholds = {
        desiredHaproxyHosts: config.haproxy.instances,
        unhealthyMinutes: config.alarms.unhealthyMinutes,
        // What the capacity model says the fleet holds (the lower of HAProxy and EMQX).
        fleetDeviceCapacity: fleetDeviceCapacity(config),
        capacityPercent: config.alarms.capacityPercent,
        emqxNodes: config.emqx.nodes,
        emqxServerLines: config.emqx.nodes * mqttPorts.length,
        memoryPercent: config.alarms.memoryPercent,
        fdPercent: config.alarms.fdPercent,
        ...(crls !== undefined ? { crlMinHours: config.alarms.crlMinHours } : {}),
        hostAgent: config.alarms.hostAgent,
    };
    const alarms = new EdgeAlarms("alarms", {
        namePrefix: `mqtt-edge-${context.stack}`,
        sources: alarmSources,
        thresholds: alarmThresholds,
        ...(config.alarms.email !== undefined ? { email: config.alarms.email } : {}),
        tags,
    });
    const dashboard = new EdgeDashboard("dashboard", {
        dashboardName: `mqtt-edge-${context.stack}`,
        region: context.region,
        sources: alarmSources,
        thresholds: alarmThresholds,
    });

    return {
        ...(generators
            ? {
                  loadGenerators: {
                      bucket: generators.bucket,
                      count: generatorsConfig?.count,
                      instanceIds: generators.instanceIds,
                  },
              }
            : {}),
        /** Where devices connect: the NLB's name and the configured domains, with the port. */
        deviceEndpoint: pulumi.interpolate`${nlb.dnsName}:${config.nlb.devicePort}`,
        deviceDomains: config.deviceDomains,
        nlbDnsName: nlb.dnsName,
        clientIpMode: nlb.clientIpMode,
        /** What devices trust to check HAProxy's certificate. */
        deviceTrustBundlePem: pki.deviceTrustBundlePem,
        rootCertPem: pki.rootCertPem,
        intermediateCertPem: pki.deviceCaCertPem,
        intermediateKeyPem: pki.deviceCaKeyPem,
        ...(rootKeyPem ? { rootKeyPem } : {}),
        /** A bring-your-own root's CRL as supplied (no root key here): `npm run crl` reads it. */
        ...(crls && config.caRootCrlPem !== undefined ? { rootCrlPem: config.caRootCrlPem } : {}),
        serverCertificatesPem: pki.serverCertificates.map((c) => c.fullChainPem),
        testDevices: pki.testDevices.map((d) => ({
            commonName: d.commonName,
            certPem: d.certPem,
            keyPem: d.keyPem,
        })),
        /** The HAProxy Auto Scaling group: its hosts come and go, so no per-host names or ids. */
        haproxyGroupName: haproxy.groupName,
        haproxyDesiredCapacity: haproxy.desiredCapacity,
        haproxyConfigHash: haproxy.configHash,
        /** The CRL file as the HAProxy hosts read it (`aws s3 cp <uri> -`), when CRLs are on. */
        ...(crls !== undefined
            ? { crlObjectUri: haproxy.objectUris.apply((uris) => uris["crl.pem"]) }
            : {}),
        emqxNodeNames: emqx.nodeNames,
        emqxHostnames: emqx.hostnames,
        emqxInstanceIds: emqx.instanceIds,
        emqxConfigHash: emqx.configHash,
        dashboardPortForwardCommand: emqx.dashboardPortForwardCommand,
        dashboardPassword: emqx.dashboardPassword,
        /** SNS topic every alarm notifies: subscribe to it (or set alarms.email). */
        alarmTopicArn: alarms.topicArn,
        alarmNames: alarms.alarmNames,
        /** The stack's CloudWatch dashboard. */
        monitoringDashboardUrl: dashboard.url,
    };
}
