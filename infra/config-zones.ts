/**
 * Availability zones against the AWS region the provider is configured for. A zone of another
 * region renders fine and fails only when `pulumi up` asks EC2 for subnets there.
 */
import type { EdgeConfig } from "./config.ts";
import { fail } from "./config-errors.ts";

/** Checks `network.availabilityZones` and existing subnets' zones against `aws:region`, when known. */
export function checkZonesInRegion(c: EdgeConfig, awsRegion: string | undefined): void {
    if (c.target !== "aws" || awsRegion === undefined) return;
    // A zone name is its region's name plus one letter (e.g. eu-west-1a; AWS docs, "Regions and Zones").
    const inRegion = (zone: string) =>
        zone.length === awsRegion.length + 1 && zone.startsWith(awsRegion);
    const zones = c.network.availabilityZones ?? [];
    const stray = zones.find((zone) => !inRegion(zone));
    if (stray !== undefined) {
        fail(
            "network.availabilityZones",
            zones,
            `${JSON.stringify(stray)} is not in aws:region ${awsRegion}; allowed: zones of that region such as ${awsRegion}a, ${awsRegion}b`,
        );
    }
    const existing = c.network.existingVpc;
    if (existing === undefined) return;
    for (const group of ["publicSubnets", "privateSubnets", "proxySubnets"] as const) {
        (existing[group] ?? []).forEach((subnet, i) => {
            if (!inRegion(subnet.availabilityZone)) {
                fail(
                    `network.existingVpc.${group}[${i}].availabilityZone`,
                    subnet.availabilityZone,
                    `is not in aws:region ${awsRegion}; allowed: zones of that region such as ${awsRegion}a`,
                );
            }
        });
    }
}
