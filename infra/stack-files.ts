/**
 * Every file a stack renders for its hosts, keyed by a relative path: what `npm run render` writes
 * and what the tests check with the real programs. Pure: configuration in, texts out.
 */
import { planSubnets } from "../components/aws/subnet-plan.ts";
import { renderEmqxConf } from "../templates/emqx.ts";
import { renderHaproxyCfg } from "../templates/haproxy.ts";
import type { EdgeConfig } from "./config.ts";
import { emqxNodes, emqxSpecsFor, haproxySpecFor } from "./edge-specs.ts";

export interface StackFilesOptions {
    /** Stack name, for paths and names that carry it. */
    readonly stack: string;
}

/** HAProxy connects to EMQX from the private subnets; EMQX's access_rules admit only those. */
export function haproxySourceCidrs(config: EdgeConfig): string[] {
    const existing = config.network.existingVpc;
    if (existing) return existing.privateSubnets.map((subnet) => subnet.cidr);
    const zoneCount = config.network.availabilityZones?.length ?? 2;
    return planSubnets(config.network.vpcCidr, zoneCount).map((zone) => zone.privateCidr);
}

export function renderStackFiles(
    config: EdgeConfig,
    _options: StackFilesOptions,
): Map<string, string> {
    const files = new Map<string, string>();
    files.set(
        "haproxy/haproxy.cfg",
        renderHaproxyCfg(
            haproxySpecFor(config, {
                serverKeyAlgorithms: config.pki.serverKeyAlgorithms,
                withCrl: true,
            }),
        ),
    );
    const specs = emqxSpecsFor(config, { haproxySources: haproxySourceCidrs(config) });
    emqxNodes(config).forEach((node, i) => {
        const spec = specs[i];
        if (spec) files.set(`emqx/${node.hostname}.conf`, renderEmqxConf(spec));
    });
    return files;
}
