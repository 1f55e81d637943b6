/**
 * The AMI every host boots: the newest official Debian 12 (bookworm) image. Debian 12 ships
 * HAProxy 2.6, the version our rendered haproxy.cfg is checked against (`haproxy -c` in CI).
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { HostArchitecture } from "../../templates/cloud-init-debian-host.ts";

/**
 * The Debian project's AWS account, which publishes the official images
 * (https://wiki.debian.org/Cloud/AmazonEC2Image). Pinning the owner keeps a look-alike image
 * from another account out of the filter.
 */
export const DEBIAN_AMI_OWNER = "136693071363";

/** Looks up the newest Debian 12 AMI for `architecture`, owned by the Debian account only. */
export function debian12AmiId(
    architecture: HostArchitecture,
    opts: pulumi.InvokeOutputOptions,
): pulumi.Output<string> {
    const arch = architecture === "x86_64" ? "amd64" : "arm64";
    return aws.ec2.getAmiOutput(
        {
            owners: [DEBIAN_AMI_OWNER],
            mostRecent: true,
            filters: [
                { name: "name", values: [`debian-12-${arch}-*`] },
                { name: "architecture", values: [architecture] },
                { name: "virtualization-type", values: ["hvm"] },
                { name: "root-device-type", values: ["ebs"] },
            ],
        },
        opts,
    ).id;
}
