/**
 * The one permission a host needs from EC2 Auto Scaling: completing the lifecycle action of its
 * own group (the EC2 Auto Scaling User Guide's lifecycle-hook tutorial scopes it the same way, to
 * `autoScalingGroup:*:autoScalingGroupName/<name>`). A separate inline policy, so the role's own
 * policies stay as they are.
 */

/** Policy document allowing autoscaling:CompleteLifecycleAction on the named group only. */
export function completeLifecyclePolicy(region: string, groupName: string): string {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
        throw new Error(
            `region: ${JSON.stringify(region)} is not allowed; use an AWS region such as eu-west-1`,
        );
    }
    if (!/^[A-Za-z0-9_.-]{1,200}$/.test(groupName)) {
        throw new Error(
            `groupName: ${JSON.stringify(groupName)} is not allowed; use 1 to 200 letters, digits and _.-`,
        );
    }
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "CompleteOwnLaunchHook",
                Effect: "Allow",
                Action: ["autoscaling:CompleteLifecycleAction"],
                Resource: [
                    `arn:aws:autoscaling:${region}:*:autoScalingGroup:*:autoScalingGroupName/${groupName}`,
                ],
            },
        ],
    });
}
