/**
 * World-open ingress belongs on the device NLB's security group and nowhere else: a 0.0.0.0/0
 * rule on the device port of the HAProxy or EMQX group would let devices (and anyone) skip the
 * NLB. The NLB's group is the one a load balancer of the stack lists in `securityGroups`, found
 * through the engine's property dependencies (known at preview). The port itself is judged by
 * no-world-ingress-except-device-port.
 */
import type {
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { groupIngress, groupLabel } from "./group-ingress.ts";
import { describePorts, isWorldCidr } from "./ingress-permissions.ts";

const LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer";

/** The validation, exported for unit tests. */
export function validateWorldIngressOnlyOnTheNlb(
    args: StackValidationArgs,
    report: ReportViolation,
): void {
    const nlbGroups = new Set<PolicyResource>(
        args.resources
            .filter((resource) => resource.type === LOAD_BALANCER)
            .flatMap((nlb) => nlb.propertyDependencies.securityGroups ?? []),
    );
    for (const { resource, target, permission } of groupIngress(args.resources)) {
        const world = permission.cidrs.filter(isWorldCidr);
        if (world.length > 0 && !(target && nlbGroups.has(target))) {
            report(
                `${resource.name} ${permission.where}: opens ${describePorts(permission)} on ${groupLabel(target)} to ${world.join(", ")}; only the NLB's security group may be open to the world`,
                resource.urn,
            );
        }
    }
}

/** Policy: world ingress on the NLB's group only. */
export const worldIngressOnlyOnTheNlb: StackValidationPolicy = {
    name: "world-ingress-only-on-the-nlb",
    description:
        "Ingress from 0.0.0.0/0 or ::/0 only on the security group of the stack's load balancer.",
    enforcementLevel: "mandatory",
    validateStack: validateWorldIngressOnlyOnTheNlb,
};
