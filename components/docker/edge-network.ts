/**
 * DockerEdgeNetwork: the user-defined bridge network the chain runs on. Containers reach each other
 * by network alias through Docker's DNS (127.0.0.11), which is how EMQX seeds and HAProxy servers
 * name the nodes; nothing on it is published except what a container maps to 127.0.0.1.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerAddressPlan } from "./docker-address-plan.ts";

/** Arguments of {@link DockerEdgeNetwork}. */
export interface DockerEdgeNetworkArgs {
    /** Docker name of the network, unique on the engine, e.g. `mqtt-edge-local`. */
    readonly networkName: string;
    /** Subnet, gateway and the range Docker allocates from (docker-address-plan.ts). */
    readonly addresses: DockerAddressPlan;
    /** Labels on the network, e.g. the stack, so `docker network ls --filter label=` finds it. */
    readonly labels?: Readonly<Record<string, string>>;
}

/** One bridge network with a fixed IPAM plan. */
export class DockerEdgeNetwork extends pulumi.ComponentResource {
    /** The network's Docker name (use it in `networksAdvanced`). */
    public readonly name: pulumi.Output<string>;
    /** The address plan the network was created with. */
    public readonly addresses: DockerAddressPlan;

    constructor(name: string, args: DockerEdgeNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:docker:EdgeNetwork", name, {}, opts);
        this.addresses = args.addresses;
        const network = new docker.Network(
            `${name}-net`,
            {
                name: args.networkName,
                driver: "bridge",
                ipamConfigs: [
                    {
                        subnet: args.addresses.subnet,
                        gateway: args.addresses.gateway,
                        ipRange: args.addresses.dynamicRange,
                    },
                ],
                labels: Object.entries(args.labels ?? {}).map(([label, value]) => ({
                    label,
                    value,
                })),
            },
            { parent: this },
        );
        this.name = network.name;
        this.registerOutputs({ name: this.name, addresses: this.addresses });
    }
}
