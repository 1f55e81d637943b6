/**
 * Composition for `mqtt-edge:target: docker`: the whole chain on one Docker engine.
 *
 *   127.0.0.1:<devicePort> ──mTLS──► HAProxy (fixed IP) ──TCP + PROXY v2──► emqx-1..N.<zone>
 *   127.0.0.1:<healthPort>, <metricsPort>: HAProxy        127.0.0.1:<dashboardPort>: emqx-1
 *
 * The same templates, specs, PKI and CRLs as AWS (infra/edge-specs.ts, infra/pki-args.ts,
 * components/crls.ts) with the images' paths. Settings are checked before anything is declared.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    dockerHaproxyLayout,
    EMQX_CONTAINER_DATA_DIR,
    emqxImageFor,
} from "../components/docker/container-layout.ts";
import { planDockerAddresses } from "../components/docker/docker-address-plan.ts";
import {
    type DockerSettings,
    resolveDockerSettings,
} from "../components/docker/docker-settings.ts";
import { DockerEdgeNetwork } from "../components/docker/edge-network.ts";
import { DockerEmqxCluster } from "../components/docker/emqx-cluster.ts";
import { DockerHaproxy, type DockerHaproxyFile } from "../components/docker/haproxy-container.ts";
import { Pki } from "../components/pki.ts";
import { stackOutputNames } from "../pki/stack-outputs.ts";
import { renderEmqxConf } from "../templates/emqx.ts";
import { renderHaproxyCfg } from "../templates/haproxy.ts";
import { ConfigError } from "./config.ts";
import { edgeCrls } from "./edge-crls.ts";
import {
    EMQX_DASHBOARD_PORT,
    emqxNodes,
    emqxSpecsFor,
    HEALTH_URI,
    haproxySpecFor,
} from "./edge-specs.ts";
import { edgePkiArgs } from "./pki-args.ts";
import type { StackConfig } from "./stack-config.ts";

export type { DockerSettings } from "../components/docker/docker-settings.ts";
export { resolveDockerSettings } from "../components/docker/docker-settings.ts";

/** What the program knows besides the configuration (infra/index.ts passes it). */
export interface DockerEdgeContext {
    /** Stack name: container, volume and network names, labels and the revocation list carry it. */
    readonly stack: string;
    /** When the program runs: picks the CRL refresh window. */
    readonly now: Date;
    /** The project directory (revocations/ lives there). */
    readonly projectDir: string;
    /** Docker-only settings (until infra/config.ts has them: `stack.config.docker`); defaults otherwise. */
    readonly docker?: Partial<DockerSettings>;
}

/** One test device as exported: its key is a secret, its certificate is not. */
export interface DockerTestDeviceOutput {
    /** The device's CN, which EMQX sees as username and client id. */
    readonly commonName: string;
    /** Device certificate, PEM. */
    readonly certPem: pulumi.Output<string>;
    /** Device private key, PEM. SECRET. */
    readonly keyPem: pulumi.Output<string>;
}

/** The stack outputs of a Docker edge. */
export interface DockerEdgeOutputs {
    /** Always "docker". */
    readonly target: "docker";
    /** Where devices connect, `127.0.0.1:<devicePort>`. */
    readonly deviceEndpoint: string;
    /** Host name to connect with so the server certificate's name matches (its first DNS name). */
    readonly deviceServerName: string;
    /** HAProxy's health endpoint (200 while an EMQX node is up). */
    readonly healthUrl: string;
    /** HAProxy's Prometheus exporter. */
    readonly metricsUrl: string;
    /** EMQX dashboard of node 1; user `admin`, password in `emqxDashboardPassword`. */
    readonly dashboardUrl: string;
    /** Initial dashboard password of `admin`. SECRET. */
    readonly emqxDashboardPassword: pulumi.Output<string>;
    /** What devices trust to check HAProxy's certificate (the root CA), PEM. */
    readonly deviceTrustBundlePem: pulumi.Output<string>;
    /** Root CA certificate, PEM. */
    readonly rootCertPem: pulumi.Output<string>;
    /** Root CA key, PEM, for `npm run crl` (absent for an existing CA given without it). SECRET. */
    readonly rootKeyPem?: pulumi.Output<string>;
    /** The root's CRL as supplied with an existing CA given without its root key, PEM. */
    readonly rootCrlPem?: string;
    /** Device intermediate CA certificate, PEM (for `npm run cert:device`). */
    readonly intermediateCertPem: pulumi.Output<string>;
    /** Device intermediate CA key, PEM (for `npm run cert:device`). SECRET. */
    readonly intermediateKeyPem: pulumi.Output<string>;
    /** Test devices issued in the stack. */
    readonly testDevices: readonly DockerTestDeviceOutput[];
    /** EMQX node names in index order. */
    readonly emqxNodeNames: readonly string[];
    /** Docker names of the containers, for `docker logs` and `docker exec`. */
    readonly containers: { readonly haproxy: string; readonly emqx: readonly string[] };
}

/**
 * Declares the Docker edge for a validated stack configuration and returns the stack outputs:
 * the stack's PKI and CRLs (as on AWS), the network, the EMQX nodes and HAProxy. A wrong Docker
 * setting throws a one-line ConfigError before anything is declared.
 */
export function createDockerEdge(
    stack: StackConfig,
    context: DockerEdgeContext,
): DockerEdgeOutputs {
    const { config, secrets } = stack;
    const settings = resolveDockerSettings(config, context.docker);
    const addresses = planDockerAddresses(settings.subnet);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(context.stack)) {
        throw new ConfigError(
            `stack name ${JSON.stringify(context.stack)} is not allowed for the docker target; Docker names take letters, digits, '_', '.', '-'`,
        );
    }
    const namePrefix = `mqtt-edge-${context.stack}`;
    const labels = { "mqtt-edge.stack": context.stack };
    const id = "docker-edge";

    // Devices on this machine connect by the configured names (localhost in Pulumi.local.yaml).
    const pki = new Pki("pki", edgePkiArgs(config, secrets, []));
    const rootKeyPem = pki.rootKeyPem;
    const crls = edgeCrls(pki, context, {
        enabled: config.pki.crl,
        rootCrlPem: config.caRootCrlPem,
    });

    const network = new DockerEdgeNetwork(`${id}-network`, {
        networkName: namePrefix,
        addresses,
        labels,
    });

    const nodes = emqxNodes(config);
    const emqxSpecs = emqxSpecsFor(config, {
        haproxySources: [addresses.haproxyAddress],
        dataDir: EMQX_CONTAINER_DATA_DIR,
    });
    const emqx = new DockerEmqxCluster(`${id}-emqx`, {
        nodes: nodes.map((node, i) => {
            const spec = emqxSpecs[i];
            if (spec === undefined) throw new Error(`no emqx.conf spec for ${node.nodeName}`);
            return { ...node, emqxConf: renderEmqxConf(spec) };
        }),
        image: emqxImageFor(config.emqx.version),
        networkName: network.name,
        namePrefix,
        dashboardHostPort: settings.dashboardPort,
        dashboardPort: EMQX_DASHBOARD_PORT,
        maxConnections: config.emqx.maxConnections,
        ...(secrets.emqxLicenseKey ? { licenseKey: secrets.emqxLicenseKey } : {}),
        labels,
    });

    const layout = dockerHaproxyLayout;
    const spec = haproxySpecFor(config, {
        serverKeyAlgorithms: pki.serverCertificates.map((cert) => cert.keyAlgorithm),
        withCrl: crls !== undefined,
        layout,
    });
    // HAProxy pins the issuer the device CA really has (with a bring-your-own CA, its certificate's CN).
    const haproxyCfg = pki.deviceCaCommonName.apply((deviceIssuerCommonName) =>
        renderHaproxyCfg({ ...spec, mqtts: { ...spec.mqtts, deviceIssuerCommonName } }),
    );
    const files: DockerHaproxyFile[] = [
        ...pki.serverCertificates.map((cert) => ({
            path: layout.serverCertificate(cert.keyAlgorithm),
            content: cert.haproxyPem,
            secret: true,
        })),
        { path: layout.deviceIntermediateCa, content: pki.deviceCaCertPem, secret: false },
        { path: layout.rootCa, content: pki.rootCertPem, secret: false },
        ...(crls === undefined ? [] : [{ path: layout.crl, content: crls.pem, secret: false }]),
    ];
    const haproxy = new DockerHaproxy(
        `${id}-haproxy`,
        {
            image: settings.haproxyImage,
            containerName: `${namePrefix}-haproxy`,
            networkName: network.name,
            address: addresses.haproxyAddress,
            configPath: layout.config,
            haproxyCfg,
            files,
            ports: [
                { containerPort: config.nlb.devicePort, hostPort: settings.devicePort },
                { containerPort: config.haproxy.healthPort, hostPort: settings.healthPort },
                { containerPort: config.haproxy.metricsPort, hostPort: settings.metricsPort },
            ],
            maxconn: config.haproxy.maxconn,
            labels,
        },
        // Devices are only sent on once every node reported running.
        { dependsOn: [...emqx.containers] },
    );

    return {
        target: "docker",
        deviceEndpoint: `127.0.0.1:${settings.devicePort}`,
        deviceServerName: config.deviceDomains[0] ?? "localhost",
        healthUrl: `http://127.0.0.1:${settings.healthPort}${HEALTH_URI}`,
        metricsUrl: `http://127.0.0.1:${settings.metricsPort}${spec.admin?.metricsPath ?? "/metrics"}`,
        dashboardUrl: `http://127.0.0.1:${settings.dashboardPort}/`,
        emqxDashboardPassword: emqx.dashboardPassword,
        deviceTrustBundlePem: pki.deviceTrustBundlePem,
        [stackOutputNames.rootCertPem]: pki.rootCertPem,
        ...(rootKeyPem ? { [stackOutputNames.rootKeyPem]: pulumi.secret(rootKeyPem) } : {}),
        ...(crls && config.caRootCrlPem !== undefined
            ? { [stackOutputNames.rootCrlPem]: config.caRootCrlPem }
            : {}),
        [stackOutputNames.intermediateCertPem]: pki.deviceCaCertPem,
        [stackOutputNames.intermediateKeyPem]: pulumi.secret(pki.deviceCaKeyPem),
        testDevices: pki.testDevices.map((device) => ({
            commonName: device.commonName,
            certPem: device.certPem,
            keyPem: pulumi.secret(device.keyPem),
        })),
        emqxNodeNames: emqx.nodeNames,
        containers: { haproxy: haproxy.containerName, emqx: emqx.containerNames },
    };
}
