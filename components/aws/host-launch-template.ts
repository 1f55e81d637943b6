/**
 * The launch template settings of the HAProxy group: the same fixed policy as a single host
 * (host-instance.ts): private subnet, no public IP, IMDSv2 only, encrypted gp3 root volume, no key
 * pair. The user-data goes in base64 as the EC2 API wants it for launch templates.
 */

import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { hostInstanceArgs } from "./host-instance.ts";
import { packUserData } from "./user-data-packing.ts";

/** Values every host of the group shares; the rest is fixed policy. */
export interface HostLaunchTemplateSettings {
    /** AMI id. */
    readonly ami: pulumi.Input<string>;
    /** EC2 instance type. */
    readonly instanceType: string;
    /** Security group of the tier. */
    readonly securityGroupId: pulumi.Input<string>;
    /** Instance profile of the tier's HostRole. */
    readonly instanceProfileName: pulumi.Input<string>;
    /** Rendered bash user-data (no secrets), as text. */
    readonly userData: pulumi.Input<string>;
    /** Root volume size in GiB. */
    readonly rootVolumeGiB: number;
    /** Tags for the template, and for every instance and volume it launches. */
    readonly tags: Record<string, string>;
}

/** Builds aws.ec2.LaunchTemplate args with the fixed security settings. */
export function hostLaunchTemplateArgs(
    settings: HostLaunchTemplateSettings,
): aws.ec2.LaunchTemplateArgs {
    // The same checks and the same values as a single host: one place decides what a host is.
    const host = hostInstanceArgs({ ...settings, subnetId: "subnet-00000000" });
    return {
        imageId: settings.ami,
        instanceType: settings.instanceType,
        iamInstanceProfile: { name: settings.instanceProfileName },
        networkInterfaces: [
            {
                deviceIndex: 0,
                associatePublicIpAddress: "false",
                securityGroups: [settings.securityGroupId],
                deleteOnTermination: "true",
            },
        ],
        // The launch template takes base64; packed with gzip to fit EC2's 16 KB.
        userData: pulumi
            .output(settings.userData)
            .apply((text) => packUserData(text, "launch template user-data")),
        metadataOptions: host.metadataOptions,
        blockDeviceMappings: [
            {
                // Debian's AMIs boot from /dev/xvda.
                deviceName: "/dev/xvda",
                ebs: {
                    volumeType: "gp3",
                    volumeSize: settings.rootVolumeGiB,
                    encrypted: "true",
                    deleteOnTermination: "true",
                },
            },
        ],
        tagSpecifications: [
            { resourceType: "instance", tags: settings.tags },
            { resourceType: "volume", tags: settings.tags },
        ],
        // Each change is a new version; the group names the version explicitly (instance
        // refresh rollback needs that), so the default version does not matter.
        updateDefaultVersion: true,
        tags: settings.tags,
    };
}
