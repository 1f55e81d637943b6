/**
 * The EC2 instance settings every edge host shares: private subnet, no public IP, IMDSv2 only,
 * encrypted gp3 root volume, no key pair (access is Session Manager only).
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { packUserData } from "./user-data-packing.ts";

/** Per-host values; the rest is fixed policy. */
export interface HostInstanceSettings {
    /** AMI id. */
    readonly ami: pulumi.Input<string>;
    /** EC2 instance type. */
    readonly instanceType: string;
    /** Private subnet. */
    readonly subnetId: pulumi.Input<string>;
    /** Security group of the tier. */
    readonly securityGroupId: pulumi.Input<string>;
    /** Instance profile of the tier's HostRole. */
    readonly instanceProfileName: pulumi.Input<string>;
    /** Rendered bash user-data (no secrets); packed with gzip for EC2 (user-data-packing.ts). */
    readonly userData: pulumi.Input<string>;
    /** Root volume size in GiB. */
    readonly rootVolumeGiB: number;
    /** Tags, including Name and the config-group tag the association targets. */
    readonly tags: Record<string, pulumi.Input<string>>;
}

/** Builds aws.ec2.Instance args with the fixed security settings. */
export function hostInstanceArgs(settings: HostInstanceSettings): aws.ec2.InstanceArgs {
    if (!/^[a-z0-9-]+\.[a-z0-9]+$/.test(settings.instanceType)) {
        throw new Error(
            `instanceType: ${JSON.stringify(settings.instanceType)} is not allowed; use an EC2 instance type such as c7i.large`,
        );
    }
    if (
        !Number.isInteger(settings.rootVolumeGiB) ||
        settings.rootVolumeGiB < 8 ||
        settings.rootVolumeGiB > 1024
    ) {
        throw new Error(
            `rootVolumeGiB: ${settings.rootVolumeGiB} is not allowed; use a whole number from 8 to 1024`,
        );
    }
    return {
        ami: settings.ami,
        instanceType: settings.instanceType,
        subnetId: settings.subnetId,
        vpcSecurityGroupIds: [settings.securityGroupId],
        iamInstanceProfile: settings.instanceProfileName,
        associatePublicIpAddress: false,
        userDataBase64: pulumi
            .output(settings.userData)
            .apply((text) =>
                packUserData(
                    text,
                    `${typeof settings.tags.Name === "string" ? settings.tags.Name : "host"} user-data`,
                ),
            ),
        // A changed bootstrap is a new host, not a stop/start of the old one with a script that
        // cloud-init would not run again.
        userDataReplaceOnChange: true,
        metadataOptions: {
            httpEndpoint: "enabled",
            httpTokens: "required",
            httpPutResponseHopLimit: 1,
        },
        rootBlockDevice: {
            volumeType: "gp3",
            volumeSize: settings.rootVolumeGiB,
            encrypted: true,
            deleteOnTermination: true,
            // Not volumeTags: that would fight the tags of the separately managed EMQX data volume.
            tags: settings.tags,
        },
        tags: settings.tags,
    };
}
