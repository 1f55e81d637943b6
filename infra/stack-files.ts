/**
 * Every file a stack renders for its hosts (AWS) or containers (Docker), keyed by a relative path:
 * what `npm run render` writes and what the tests check with the real programs. Pure:
 * configuration in, texts out, through the same specs the program uses.
 */

import { FILES_BUCKET_PLACEHOLDER } from "../components/aws/host-plans.ts";
import {
    emqxHostFiles,
    emqxHostSettings,
    emqxUserData,
    haproxyUserData,
} from "../components/aws/host-user-data.ts";
import { planSubnets } from "../components/aws/subnet-plan.ts";
import {
    dockerHaproxyLayout,
    EMQX_CONTAINER_DATA_DIR,
} from "../components/docker/container-layout.ts";
import { planDockerAddresses } from "../components/docker/docker-address-plan.ts";
import { subjectCommonName } from "../pki/existing-ca-check.ts";
import { renderEmqxConf } from "../templates/emqx.ts";
import { renderHaproxyCfg } from "../templates/haproxy.ts";
import { awsHostPlans } from "./aws-hosts.ts";
import type { EdgeConfig } from "./config.ts";
import {
    awsHaproxyLayout,
    EMQX_DATA_DIR,
    emqxNodes,
    emqxSpecsFor,
    haproxySpecFor,
} from "./edge-specs.ts";

export interface StackFilesOptions {
    /** Stack name, for paths and names that carry it. */
    readonly stack: string;
}

/** Where HAProxy connects to EMQX from; EMQX's access_rules admit only those. */
export function haproxySourceCidrs(config: EdgeConfig): string[] {
    if (config.target === "docker")
        return [planDockerAddresses(config.docker.subnet).haproxyAddress];
    const existing = config.network.existingVpc;
    if (existing) {
        return (existing.proxySubnets ?? existing.privateSubnets).map((subnet) => subnet.cidr);
    }
    const zoneCount = config.network.availabilityZones?.length ?? 2;
    return planSubnets(config.network.vpcCidr, zoneCount).map((zone) => zone.proxyCidr);
}

/**
 * The issuer HAProxy pins: the device intermediate's CN as generated, or as it stands in an
 * existing intermediate's certificate (parseEdgeConfig has verified that certificate is a CA
 * signed by the given root, so this is never a leaf's CN).
 */
export function deviceIssuerCommonName(config: EdgeConfig): string {
    return config.caDeviceCertPem
        ? subjectCommonName(config.caDeviceCertPem)
        : config.pki.intermediateCommonName;
}

/**
 * Stands for each EMQX node's data volume id in rendered user-data: the volume exists only once
 * `pulumi up` created it. Everything else in user-data is known from the configuration.
 */
export const DATA_VOLUME_PLACEHOLDER = "vol-00000000000000000";

export function renderStackFiles(
    config: EdgeConfig,
    options: StackFilesOptions,
): Map<string, string> {
    const docker = config.target === "docker";
    // With an existing CA given without its root key, the configuration requires caRootCrlPem
    // or pki.crl: false, so pki.crl alone says whether the hosts get a crl-file.
    const withCrl = config.pki.crl;
    const files = new Map<string, string>();
    const spec = haproxySpecFor(config, {
        serverKeyAlgorithms: config.pki.serverKeyAlgorithms,
        withCrl,
        layout: docker ? dockerHaproxyLayout : awsHaproxyLayout,
    });
    files.set(
        "haproxy/haproxy.cfg",
        renderHaproxyCfg({
            ...spec,
            mqtts: { ...spec.mqtts, deviceIssuerCommonName: deviceIssuerCommonName(config) },
        }),
    );
    const specs = emqxSpecsFor(config, {
        haproxySources: haproxySourceCidrs(config),
        dataDir: docker ? EMQX_CONTAINER_DATA_DIR : EMQX_DATA_DIR,
    });
    emqxNodes(config).forEach((node, i) => {
        const nodeSpec = specs[i];
        if (nodeSpec) files.set(`emqx/${node.hostname}.conf`, renderEmqxConf(nodeSpec));
    });
    if (!docker) {
        const plans = awsHostPlans(config, options.stack, {
            serverKeyAlgorithms: config.pki.serverKeyAlgorithms,
            withCrl,
        });
        // One user-data for every host of the HAProxy group: its launch template's.
        // The bucket holding the CRLs is named by AWS at creation: a placeholder stands in.
        files.set(
            "cloud-init/haproxy.sh",
            haproxyUserData(plans.haproxy, FILES_BUCKET_PLACEHOLDER),
        );
        // The settings every EMQX node gets from SSM besides emqx.conf: version, peers, limits.
        const settings = emqxHostSettings(
            plans.emqx,
            emqxNodes(config).map((node) => node.nodeName),
        );
        for (const file of emqxHostFiles(plans.emqx)) {
            const content = settings[file.key];
            if (content !== undefined) files.set(`emqx-host-settings${file.path}`, content);
        }
        for (const node of emqxNodes(config)) {
            files.set(
                `cloud-init/${node.hostname}.sh`,
                emqxUserData(plans.emqx, node.hostname, DATA_VOLUME_PLACEHOLDER),
            );
        }
    }
    return files;
}
