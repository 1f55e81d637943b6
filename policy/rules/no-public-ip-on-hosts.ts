/**
 * HAProxy and EMQX hosts live in private subnets and are reached through the NLB and Session
 * Manager only. The flag must be false explicitly: left unset, the subnet's default decides.
 */
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "@pulumi/policy";

const INSTANCE = "aws:ec2/instance:Instance";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/** The validation, exported for unit tests. */
export function validateNoPublicIpOnHosts(
    args: ResourceValidationArgs,
    report: ReportViolation,
): void {
    if (args.type === INSTANCE && args.props.associatePublicIpAddress !== false) {
        report(
            `${args.name} associatePublicIpAddress: ${JSON.stringify(args.props.associatePublicIpAddress)} is not allowed; set it to false (hosts are reached through the NLB and Session Manager only)`,
        );
    }
    if (args.type === LAUNCH_TEMPLATE) {
        const interfaces = Array.isArray(args.props.networkInterfaces)
            ? args.props.networkInterfaces
            : [];
        interfaces.forEach((networkInterface: Record<string, unknown>, index: number) => {
            const value = networkInterface.associatePublicIpAddress;
            if (value === true || value === "true") {
                report(
                    `${args.name} networkInterfaces[${index}].associatePublicIpAddress: ${JSON.stringify(value)} is not allowed; set it to false`,
                );
            }
        });
    }
}

/** Policy: no public IPs on instances. */
export const noPublicIpOnHosts: ResourceValidationPolicy = {
    name: "no-public-ip-on-hosts",
    description:
        "HAProxy and EMQX instances get no public IP address (associatePublicIpAddress: false).",
    enforcementLevel: "mandatory",
    validateResource: validateNoPublicIpOnHosts,
};
