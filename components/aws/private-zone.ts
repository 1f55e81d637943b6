/**
 * EdgePrivateZone: the Route53 private hosted zone that names the hosts (`emqx-1.<zone>`,
 * `haproxy-1.<zone>`). Configs carry these names, never IPs, so a replaced instance changes a
 * record and no rendered file.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link EdgePrivateZone}. */
export interface EdgePrivateZoneArgs {
    /** Zone name, e.g. `edge.internal`. */
    readonly zoneName: string;
    /** VPC the zone is visible in. */
    readonly vpcId: pulumi.Input<string>;
    /** Tags for the zone. */
    readonly tags?: Record<string, string>;
}

/** A private hosted zone bound to the edge VPC. */
export class EdgePrivateZone extends pulumi.ComponentResource {
    /** Route53 zone id, for the records of the host groups. */
    public readonly zoneId: pulumi.Output<string>;
    /** The zone name (plain, so node names can be rendered before anything exists). */
    public readonly zoneName: string;

    constructor(name: string, args: EdgePrivateZoneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:EdgePrivateZone", name, {}, opts);
        if (
            !/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(args.zoneName)
        ) {
            throw new Error(
                `zoneName: ${JSON.stringify(args.zoneName)} is not allowed; use a lower-case DNS name such as edge.internal`,
            );
        }
        const zone = new aws.route53.Zone(
            `${name}-zone`,
            {
                name: args.zoneName,
                comment: "mqtt-edge host names",
                vpcs: [{ vpcId: args.vpcId }],
                tags: args.tags,
            },
            { parent: this },
        );
        this.zoneId = zone.zoneId;
        this.zoneName = args.zoneName;
        this.registerOutputs({ zoneId: this.zoneId });
    }
}
