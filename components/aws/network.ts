/**
 * EdgeNetwork: the VPC the edge runs in. Either it creates one (public, proxy and private subnets
 * in every given zone, an internet gateway, NAT for the proxy and private subnets, and the
 * interface endpoints the SSM agent needs, an S3 gateway endpoint for the hosts' CRLs), or it
 * adopts an existing VPC and its subnets (bring your own route to S3 then). HAProxy
 * alone lives in the proxy subnets, so EMQX can admit exactly those (subnet-plan.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { planSubnets } from "./subnet-plan.ts";

/** A subnet and the zone it is in (plain, so hosts can be spread across zones up front). */
export interface SubnetRef {
    /** Subnet id. */
    readonly id: pulumi.Input<string>;
    /** Availability zone of the subnet, e.g. `eu-west-1a`. */
    readonly availabilityZone: string;
}

/** An existing VPC to adopt instead of creating one. */
export interface ExistingVpc {
    /** VPC id. */
    readonly vpcId: pulumi.Input<string>;
    /** Primary IPv4 CIDR of the VPC (the SSM endpoints admit HTTPS from it). */
    readonly cidrBlock: pulumi.Input<string>;
    /** Subnets for an internet-facing NLB, one per zone. */
    readonly publicSubnets: readonly SubnetRef[];
    /** Subnets for the hosts, one per zone; they need a route to the internet (NAT) or to endpoints and mirrors. */
    readonly privateSubnets: readonly SubnetRef[];
    /** Subnets for HAProxy alone, one per zone; default: the private subnets. */
    readonly proxySubnets?: readonly SubnetRef[];
}

/** Arguments of {@link EdgeNetwork}. */
export interface EdgeNetworkArgs {
    /** Zones to create subnets in (2-8); ignored with `existingVpc`. */
    readonly availabilityZones?: readonly string[];
    /** IPv4 CIDR of the created VPC, /16 to /22; default `10.40.0.0/16`. */
    readonly cidrBlock?: string;
    /** One NAT gateway per zone (survives a zone outage) instead of one for the VPC; default false. */
    readonly natGatewayPerZone?: boolean;
    /** Use this VPC and its subnets instead of creating them. */
    readonly existingVpc?: ExistingVpc;
    /**
     * Create interface endpoints for ssm, ssmmessages and ec2messages with private DNS, so the
     * SSM agent and parameter reads stay inside the VPC. Default: true for a created VPC, false
     * for an existing one (it may have them already; private DNS names cannot be registered twice).
     */
    readonly ssmEndpoints?: boolean;
    /** AWS region, for the endpoint service names; default: the provider's region. */
    readonly region?: pulumi.Input<string>;
    /** Tags for every resource. */
    readonly tags?: Record<string, string>;
}

/** Services the SSM agent talks to (Session Manager, Run Command, State Manager, Parameter Store). */
export const SSM_ENDPOINT_SERVICES = ["ssm", "ssmmessages", "ec2messages"] as const;

/** VPC, subnets, routing, SSM interface endpoints and the S3 gateway endpoint. */
export class EdgeNetwork extends pulumi.ComponentResource {
    /** VPC id. */
    public readonly vpcId: pulumi.Output<string>;
    /** Primary IPv4 CIDR of the VPC. */
    public readonly cidrBlock: pulumi.Output<string>;
    /** Public subnets, one per zone, in zone order. */
    public readonly publicSubnets: readonly SubnetRef[];
    /** Private subnets (EMQX, SSM endpoints), one per zone, in zone order. */
    public readonly privateSubnets: readonly SubnetRef[];
    /** Proxy subnets (HAProxy and nothing else), one per zone, in zone order. */
    public readonly proxySubnets: readonly SubnetRef[];

    constructor(name: string, args: EdgeNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:EdgeNetwork", name, {}, opts);
        const tags = args.tags ?? {};
        const withName = (suffix: string) => ({ ...tags, Name: `${name}-${suffix}` });

        if (args.existingVpc) {
            const existing = args.existingVpc;
            for (const [key, subnets] of [
                ["existingVpc.publicSubnets", existing.publicSubnets],
                ["existingVpc.privateSubnets", existing.privateSubnets],
            ] as const) {
                const zones = new Set(subnets.map((subnet) => subnet.availabilityZone));
                if (zones.size < 2) {
                    throw new Error(
                        `${key}: subnets in ${zones.size} zone(s) is not allowed; give subnets in at least two zones`,
                    );
                }
            }
            this.vpcId = pulumi.output(existing.vpcId);
            this.cidrBlock = pulumi.output(existing.cidrBlock);
            this.publicSubnets = existing.publicSubnets;
            this.privateSubnets = existing.privateSubnets;
            this.proxySubnets = existing.proxySubnets ?? existing.privateSubnets;
            if (args.ssmEndpoints === true) {
                this.createSsmEndpoints(name, args, withName);
            }
            this.registerOutputs({ vpcId: this.vpcId, cidrBlock: this.cidrBlock });
            return;
        }

        const zones = args.availabilityZones ?? [];
        if (new Set(zones).size !== zones.length) {
            throw new Error(
                `availabilityZones: ${JSON.stringify(zones)} is not allowed; list each zone once`,
            );
        }
        const cidrBlock = args.cidrBlock ?? "10.40.0.0/16";
        const plan = planSubnets(cidrBlock, zones.length);

        const vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock,
                // Both are needed for private DNS on the endpoints and for the private hosted zone.
                enableDnsSupport: true,
                enableDnsHostnames: true,
                tags: withName("vpc"),
            },
            { parent: this },
        );
        const gateway = new aws.ec2.InternetGateway(
            `${name}-igw`,
            { vpcId: vpc.id, tags: withName("igw") },
            { parent: this },
        );
        const publicRoutes = new aws.ec2.RouteTable(
            `${name}-public`,
            {
                vpcId: vpc.id,
                routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }],
                tags: withName("public"),
            },
            { parent: this },
        );

        const publicSubnets = zones.map((zone, index) => {
            const subnet = new aws.ec2.Subnet(
                `${name}-public-${index + 1}`,
                {
                    vpcId: vpc.id,
                    availabilityZone: zone,
                    cidrBlock: plan[index]?.publicCidr,
                    // Nothing we launch here needs a public IP: the NLB and NAT bring their own.
                    mapPublicIpOnLaunch: false,
                    tags: withName(`public-${index + 1}`),
                },
                { parent: this },
            );
            new aws.ec2.RouteTableAssociation(
                `${name}-public-${index + 1}`,
                { subnetId: subnet.id, routeTableId: publicRoutes.id },
                { parent: this },
            );
            return subnet;
        });

        const natCount = args.natGatewayPerZone ? zones.length : 1;
        const natGateways = publicSubnets.slice(0, natCount).map((publicSubnet, index) => {
            const address = new aws.ec2.Eip(
                `${name}-nat-${index + 1}`,
                { domain: "vpc", tags: withName(`nat-${index + 1}`) },
                { parent: this },
            );
            return new aws.ec2.NatGateway(
                `${name}-nat-${index + 1}`,
                {
                    allocationId: address.id,
                    subnetId: publicSubnet.id,
                    tags: withName(`nat-${index + 1}`),
                },
                { parent: this, dependsOn: [gateway] },
            );
        });

        const proxySubnets: SubnetRef[] = [];
        const privateRouteTables: aws.ec2.RouteTable[] = [];
        const privateSubnets = zones.map((zone, index) => {
            const subnet = new aws.ec2.Subnet(
                `${name}-private-${index + 1}`,
                {
                    vpcId: vpc.id,
                    availabilityZone: zone,
                    cidrBlock: plan[index]?.privateCidr,
                    mapPublicIpOnLaunch: false,
                    tags: withName(`private-${index + 1}`),
                },
                { parent: this },
            );
            const proxySubnet = new aws.ec2.Subnet(
                `${name}-proxy-${index + 1}`,
                {
                    vpcId: vpc.id,
                    availabilityZone: zone,
                    cidrBlock: plan[index]?.proxyCidr,
                    mapPublicIpOnLaunch: false,
                    tags: withName(`proxy-${index + 1}`),
                },
                { parent: this },
            );
            proxySubnets.push({ id: proxySubnet.id, availabilityZone: zone });
            const nat = roundRobin(natGateways, index);
            const routes = new aws.ec2.RouteTable(
                `${name}-private-${index + 1}`,
                {
                    vpcId: vpc.id,
                    routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
                    tags: withName(`private-${index + 1}`),
                },
                { parent: this },
            );
            privateRouteTables.push(routes);
            new aws.ec2.RouteTableAssociation(
                `${name}-private-${index + 1}`,
                { subnetId: subnet.id, routeTableId: routes.id },
                { parent: this },
            );
            // The zone's proxy subnet leaves through the same NAT route.
            new aws.ec2.RouteTableAssociation(
                `${name}-proxy-${index + 1}`,
                { subnetId: proxySubnet.id, routeTableId: routes.id },
                { parent: this },
            );
            return { id: subnet.id, availabilityZone: zone };
        });

        this.vpcId = vpc.id;
        this.cidrBlock = vpc.cidrBlock;
        this.publicSubnets = publicSubnets.map((subnet, index) => ({
            id: subnet.id,
            availabilityZone: roundRobin(zones, index),
        }));
        this.privateSubnets = privateSubnets;
        this.proxySubnets = proxySubnets;
        if (args.ssmEndpoints !== false) {
            this.createSsmEndpoints(name, args, withName);
        }
        // S3 through a gateway endpoint (free, no NAT): the hosts read their CRLs from S3. The
        // endpoint adds a prefix-list route to each table; the provider leaves such routes out of
        // a table's inline `routes` ("VPC endpoint routes are handled separately",
        // hashicorp/terraform-provider-aws internal/service/ec2/vpc_route_table*.go), so the
        // tables do not fight it.
        new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: vpc.id,
                serviceName: pulumi.interpolate`com.amazonaws.${this.endpointRegion(args)}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRouteTables.map((table) => table.id),
                tags: withName("s3"),
            },
            { parent: this },
        );
        this.registerOutputs({ vpcId: this.vpcId, cidrBlock: this.cidrBlock });
    }

    private endpointRegion(args: EdgeNetworkArgs): pulumi.Output<string> {
        return args.region !== undefined
            ? pulumi.output(args.region)
            : aws.getRegionOutput({}, { parent: this }).region;
    }

    private createSsmEndpoints(
        name: string,
        args: EdgeNetworkArgs,
        withName: (suffix: string) => Record<string, string>,
    ): void {
        const endpointGroup = new aws.ec2.SecurityGroup(
            `${name}-ssm-endpoints`,
            {
                vpcId: this.vpcId,
                description: "SSM interface endpoints: HTTPS from inside the VPC",
                tags: withName("ssm-endpoints"),
            },
            { parent: this },
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-ssm-endpoints-https`,
            {
                securityGroupId: endpointGroup.id,
                description: "HTTPS from hosts in the VPC",
                ipProtocol: "tcp",
                fromPort: 443,
                toPort: 443,
                cidrIpv4: this.cidrBlock,
            },
            { parent: this },
        );
        const region = this.endpointRegion(args);
        for (const service of SSM_ENDPOINT_SERVICES) {
            new aws.ec2.VpcEndpoint(
                `${name}-${service}`,
                {
                    vpcId: this.vpcId,
                    serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                    vpcEndpointType: "Interface",
                    privateDnsEnabled: true,
                    subnetIds: this.privateSubnets.map((subnet) => subnet.id),
                    securityGroupIds: [endpointGroup.id],
                    tags: withName(service),
                },
                { parent: this },
            );
        }
    }
}

/**
 * Element `index` of `items`, wrapping around: host n goes to zone n mod zones, so hosts spread
 * evenly over the zones. Throws on an empty list.
 */
export function roundRobin<T>(items: readonly T[], index: number): T {
    const item = items[index % items.length];
    if (item === undefined) {
        throw new Error("subnets: [] is not allowed; give at least one subnet per zone");
    }
    return item;
}
