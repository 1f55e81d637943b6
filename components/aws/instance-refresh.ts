/**
 * How the HAProxy group replaces its instances when the launch template changes (user-data, AMI,
 * instance type), as the provider's `instanceRefresh` block. Pure, so the rules are tested
 * without a Pulumi program.
 *
 * Provider behaviour (hashicorp/terraform-provider-aws internal/service/autoscaling/group.go,
 * resourceGroupUpdate): a changed `launch_template` (id or version) makes the update call
 * StartInstanceRefresh with these preferences, after cancelling a refresh still in progress; it
 * does not wait for the refresh to finish, so the program waits for it itself (refresh-wait.ts).
 */
import type * as aws from "@pulumi/aws";

/** What an operator may tune about a roll. */
export interface RefreshSettings {
    /**
     * Seconds a new instance gets after it is InService before it counts as healthy capacity and
     * the refresh moves on; covers the NLB's health checks (3 x 10 s) and first connections.
     */
    readonly instanceWarmupSeconds: number;
    /**
     * Percentages of the group replaced at which the refresh pauses for `checkpointDelaySeconds`
     * (ascending, the last 100); empty: no pause. With 100 % minimum healthy, each step launches
     * before it terminates.
     */
    readonly checkpointPercentages: readonly number[];
    /** How long each checkpoint pauses. */
    readonly checkpointDelaySeconds: number;
}

export const DEFAULT_REFRESH_SETTINGS: RefreshSettings = {
    instanceWarmupSeconds: 120,
    checkpointPercentages: [],
    checkpointDelaySeconds: 300,
};

/**
 * The instance refresh block: Rolling, never below the desired capacity (min healthy 100 %,
 * launch before terminate up to 200 %), auto rollback to the previous launch template version
 * when a replacement fails (an instance that ABANDONs its lifecycle hook fails the refresh),
 * instances already on the new version skipped. Auto rollback needs a launch template with an
 * explicit version, which the group is given (EC2 Auto Scaling User Guide, "Undo changes with a
 * rollback": not with $Latest or $Default).
 */
export function instanceRefreshArgs(
    settings: RefreshSettings,
): aws.types.input.autoscaling.GroupInstanceRefresh {
    const { instanceWarmupSeconds, checkpointPercentages, checkpointDelaySeconds } = settings;
    if (
        !Number.isInteger(instanceWarmupSeconds) ||
        instanceWarmupSeconds < 0 ||
        instanceWarmupSeconds > 3600
    ) {
        throw new Error(
            `instanceWarmupSeconds: ${instanceWarmupSeconds} is not allowed; use a whole number from 0 to 3600`,
        );
    }
    const ascending = checkpointPercentages.every(
        (value, index) =>
            Number.isInteger(value) &&
            value >= 1 &&
            value <= 100 &&
            (index === 0 || value > (checkpointPercentages[index - 1] as number)),
    );
    if (!ascending || (checkpointPercentages.length > 0 && checkpointPercentages.at(-1) !== 100)) {
        throw new Error(
            `checkpointPercentages: ${JSON.stringify(checkpointPercentages)} is not allowed; use ascending whole percentages from 1 to 100 ending with 100, or []`,
        );
    }
    if (
        !Number.isInteger(checkpointDelaySeconds) ||
        checkpointDelaySeconds < 0 ||
        checkpointDelaySeconds > 172_800
    ) {
        throw new Error(
            `checkpointDelaySeconds: ${checkpointDelaySeconds} is not allowed; use a whole number from 0 to 172800`,
        );
    }
    return {
        strategy: "Rolling",
        preferences: {
            minHealthyPercentage: 100,
            maxHealthyPercentage: 200,
            instanceWarmup: String(instanceWarmupSeconds),
            autoRollback: true,
            skipMatching: true,
            scaleInProtectedInstances: "Refresh",
            standbyInstances: "Terminate",
            ...(checkpointPercentages.length > 0
                ? {
                      checkpointPercentages: [...checkpointPercentages],
                      checkpointDelay: String(checkpointDelaySeconds),
                  }
                : {}),
        },
    };
}
