/**
 * Ingress as the whole stack sees it: which security group a permission opens, and who the
 * sources are (CIDRs, other groups, prefix lists), resolved through the engine's property
 * dependencies. Those are known at preview even when the ids they stand for are not, so a stack
 * rule can tell the NLB's, HAProxy's and EMQX's groups apart before any of them exists.
 */
import type { PolicyResource } from "@pulumi/policy";
import { TIER_TAG } from "../../components/aws/edge-ports.ts";
import {
    type IngressPermission,
    ingressPermissions,
    readField,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
    UNKNOWN,
} from "./ingress-permissions.ts";

/** Who a permission admits besides CIDRs. */
export type PeerSource =
    /** A security group of this stack (its resource), or the target group itself (`self`). */
    | { kind: "group"; group: PolicyResource }
    /** A group id that is no resource of this stack. */
    | { kind: "foreign-group"; id: string }
    /** A managed prefix list. */
    | { kind: "prefix-list"; id: string }
    /** A source field whose value is not known at preview. */
    | { kind: "unknown"; field: string };

/** One permission with the group it opens and its non-CIDR sources. */
export interface GroupIngress {
    /** The resource declaring it (a group or a rule). */
    readonly resource: PolicyResource;
    /** The group it opens; undefined when that group is no resource of this stack. */
    readonly target: PolicyResource | undefined;
    /** Ports, protocol, CIDRs, unknown fields. */
    readonly permission: IngressPermission;
    /** Group, prefix-list and unknown sources. */
    readonly peers: PeerSource[];
}

/** Every ingress permission of the stack with its target group and peers. */
export function groupIngress(resources: readonly PolicyResource[]): GroupIngress[] {
    const found: GroupIngress[] = [];
    for (const resource of resources) {
        const permissions = ingressPermissions(resource.type, resource.props);
        if (permissions.length === 0) continue;
        const target =
            resource.type === SECURITY_GROUP
                ? resource
                : resource.propertyDependencies.securityGroupId?.[0];
        permissions.forEach((permission, index) => {
            found.push({ resource, target, permission, peers: peersOf(resource, target, index) });
        });
    }
    return found;
}

/** The tier tag of a security group resource, if any. */
export function tierOf(group: PolicyResource | undefined): string | undefined {
    const tags = readField(group?.props, "tags");
    if (tags === UNKNOWN || typeof tags !== "object" || tags === null) return undefined;
    const tier = readField(tags, TIER_TAG);
    return typeof tier === "string" ? tier : undefined;
}

/** Name of a group for messages: its tier, else its logical name. */
export function groupLabel(group: PolicyResource | undefined): string {
    if (!group) return "a group outside this stack";
    const tier = tierOf(group);
    return tier ? `the ${tier} group (${group.name})` : `group ${group.name}`;
}

function peersOf(
    resource: PolicyResource,
    target: PolicyResource | undefined,
    index: number,
): PeerSource[] {
    const props = resource.props;
    const peers: PeerSource[] = [];
    const groupField = (value: unknown, field: string, dependencies: PolicyResource[]) => {
        // The engine says which resources an id comes from, known or not at preview.
        if (dependencies.length > 0) {
            for (const group of dependencies) peers.push({ kind: "group", group });
            return;
        }
        if (value === UNKNOWN) {
            peers.push({ kind: "unknown", field });
            return;
        }
        const ids = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
        for (const id of ids) peers.push({ kind: "foreign-group", id: String(id) });
    };
    const prefixLists = (value: unknown, field: string) => {
        if (value === UNKNOWN) peers.push({ kind: "unknown", field });
        const ids = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
        for (const id of ids) peers.push({ kind: "prefix-list", id: String(id) });
    };
    switch (resource.type) {
        case SECURITY_GROUP_INGRESS_RULE:
            groupField(
                readField(props, "referencedSecurityGroupId"),
                "referencedSecurityGroupId",
                resource.propertyDependencies.referencedSecurityGroupId ?? [],
            );
            prefixLists(readField(props, "prefixListId"), "prefixListId");
            break;
        case SECURITY_GROUP_RULE:
            groupField(
                readField(props, "sourceSecurityGroupId"),
                "sourceSecurityGroupId",
                resource.propertyDependencies.sourceSecurityGroupId ?? [],
            );
            if (readField(props, "self") === true && target)
                peers.push({ kind: "group", group: target });
            prefixLists(readField(props, "prefixListIds"), "prefixListIds");
            break;
        case SECURITY_GROUP: {
            const entry = readField(readField(props, "ingress"), String(index));
            // Inline entries share one dependency list: any group any entry names.
            groupField(
                readField(entry, "securityGroups"),
                `ingress[${index}].securityGroups`,
                resource.propertyDependencies.ingress ?? [],
            );
            if (readField(entry, "self") === true) peers.push({ kind: "group", group: resource });
            prefixLists(readField(entry, "prefixListIds"), `ingress[${index}].prefixListIds`);
            break;
        }
    }
    return peers;
}
