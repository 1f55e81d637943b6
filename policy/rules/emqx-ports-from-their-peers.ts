/**
 * EMQX's ports only from the groups that need them (components/aws/edge-ports.ts): 1883 from
 * HAProxy (EMQX trusts the PROXY v2 header it receives there, device identity included), 4370
 * and 5370 from the EMQX group itself, 18083 from no group (SSM port forwarding). Any other
 * group, a group outside the stack, a prefix list or a CIDR fails; so does a source not known at
 * preview, which is reported instead of skipped. The dashboard may be opened to CIDRs listed in
 * the policy config, and to those only.
 */
import type { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { EMQX_DASHBOARD_PORT, EMQX_PORT_PEERS } from "../../components/aws/edge-ports.ts";
import { groupIngress, groupLabel, tierOf } from "./group-ingress.ts";
import { admitsTcpPort, describePorts } from "./ingress-permissions.ts";

/** Configuration of the rule. */
export interface EmqxPortsFromTheirPeersConfig {
    /** CIDRs that may reach the dashboard directly (network.adminCidrs); default none. */
    dashboardAdminCidrs?: string[];
}

/** The validation, exported for unit tests. */
export function validateEmqxPortsFromTheirPeers(
    args: StackValidationArgs,
    report: ReportViolation,
): void {
    const adminCidrs = args.getConfig<EmqxPortsFromTheirPeersConfig>().dashboardAdminCidrs ?? [];
    for (const { resource, target, permission, peers } of groupIngress(args.resources)) {
        if (tierOf(target) !== "emqx") continue;
        for (const { port, listener, fromTiers } of EMQX_PORT_PEERS) {
            if (!admitsTcpPort(permission, port)) continue;
            const allowed = fromTiers.length > 0 ? `the ${fromTiers.join(", ")} group` : "no group";
            const refuse = (what: string) =>
                report(
                    `${resource.name} ${permission.where}: opens ${describePorts(permission)} (EMQX ${listener}, ${port}) to ${what}; ${port} may only be reached from ${allowed}`,
                    resource.urn,
                );
            for (const field of permission.unknown) refuse(`${field}, not known at preview`);
            for (const cidr of permission.cidrs) {
                if (!(port === EMQX_DASHBOARD_PORT && adminCidrs.includes(cidr))) refuse(cidr);
            }
            for (const peer of peers) {
                if (peer.kind === "unknown") refuse(`${peer.field}, not known at preview`);
                else if (peer.kind === "prefix-list") refuse(`prefix list ${peer.id}`);
                else if (peer.kind === "foreign-group")
                    refuse(`group ${peer.id} outside this stack`);
                else if (!fromTiers.some((tier) => tier === tierOf(peer.group))) {
                    refuse(groupLabel(peer.group));
                }
            }
        }
    }
}

/** Policy: EMQX ports from their peers only. */
export const emqxPortsFromTheirPeers: StackValidationPolicy = {
    name: "emqx-ports-from-their-peers",
    description:
        "EMQX 1883 only from HAProxy, 4370/5370 only from EMQX, 18083 from no group; no other group, prefix list, CIDR or unknown source.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            dashboardAdminCidrs: { type: "array", items: { type: "string" }, default: [] },
        },
    },
    validateStack: validateEmqxPortsFromTheirPeers,
};
