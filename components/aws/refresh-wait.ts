/**
 * RefreshWait: makes `pulumi up` wait for the HAProxy group's instance refresh and fail when it
 * fails. The provider starts the refresh and returns (instance-refresh.ts); without this, `up`
 * would report success while the refresh is still replacing hosts, or after it rolled back.
 *
 * A local command that polls DescribeInstanceRefreshes with the AWS CLI where `pulumi up` runs
 * (the operator's credentials), re-run whenever the launch template version changes.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { requirePlainToken } from "../../templates/cloud-init-shell-quote.ts";

/** Arguments of {@link RefreshWait}. */
export interface RefreshWaitArgs {
    /** Name of the Auto Scaling group. */
    readonly groupName: string;
    /** AWS region of the group. */
    readonly region: string;
    /** The launch template version the group runs; a new one means a new refresh to wait for. */
    readonly launchTemplateVersion: pulumi.Input<number>;
    /** Longest wait, in seconds, before `up` fails with the refresh still running. */
    readonly timeoutSeconds: number;
}

/**
 * The poll script. Statuses from the DescribeInstanceRefreshes API reference: Pending,
 * InProgress, Cancelling, RollbackInProgress and Baking are still running; Successful is done;
 * Failed, Cancelled, RollbackSuccessful and RollbackFailed mean the new version is not what runs.
 * `None` (no refresh yet) is a new group, which the provider already waited for
 * (wait_for_elb_capacity).
 */
export function refreshWaitScript(
    groupName: string,
    region: string,
    timeoutSeconds: number,
): string {
    requirePlainToken("groupName", groupName);
    requirePlainToken("region", region);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 60 || timeoutSeconds > 86_400) {
        throw new Error(
            `timeoutSeconds: ${timeoutSeconds} is not allowed; use a whole number from 60 to 86400`,
        );
    }
    return `set -eu
deadline=$(( $(date +%s) + ${timeoutSeconds} ))
while :; do
    status=$(aws autoscaling describe-instance-refreshes --region ${region} --auto-scaling-group-name ${groupName} \\
        --max-records 1 --query 'InstanceRefreshes[0].Status' --output text)
    case "\${status}" in
        Successful | None) echo "instance refresh of ${groupName}: \${status}"; exit 0 ;;
        Pending | InProgress | Cancelling | RollbackInProgress | Baking) ;;
        *) echo "instance refresh of ${groupName} ended \${status}: the hosts do not run the new launch template; see aws autoscaling describe-instance-refreshes --auto-scaling-group-name ${groupName}" >&2; exit 1 ;;
    esac
    if [ "$(date +%s)" -ge "\${deadline}" ]; then
        echo "instance refresh of ${groupName} still \${status} after ${timeoutSeconds} s" >&2
        exit 1
    fi
    sleep 15
done
`;
}

/** The local command that waits for the group's refresh. */
export class RefreshWait extends pulumi.ComponentResource {
    /** What the poll printed last: the refresh status it ended on. */
    public readonly result: pulumi.Output<string>;

    constructor(name: string, args: RefreshWaitArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:RefreshWait", name, {}, opts);
        const wait = new command.local.Command(
            `${name}-poll`,
            {
                create: refreshWaitScript(args.groupName, args.region, args.timeoutSeconds),
                interpreter: ["/bin/sh", "-c"],
                triggers: [args.launchTemplateVersion],
                logging: "stdoutAndStderr",
            },
            { parent: this, customTimeouts: { create: `${args.timeoutSeconds + 60}s` } },
        );
        this.result = wait.stdout;
        this.registerOutputs({ result: this.result });
    }
}
