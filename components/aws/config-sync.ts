/**
 * ConfigSync: how a changed config reaches running hosts. An SSM Command document runs the
 * host's apply script with the expected content hash; a State Manager association targets the
 * group's instances by tag and carries that hash as a parameter. Pulumi updates the association
 * whenever the hash changes, and State Manager runs an association immediately after it is
 * updated ("By default, when you update an association, the system runs it immediately after it
 * is updated", UpdateAssociation ApplyOnlyAtCronInterval,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_UpdateAssociation.html).
 * It also runs on instances that join the group later, and on a schedule (drift repair: a host
 * whose files were changed by hand, or whose run failed, is put back; a run on a host that already
 * has the content is a no-op). One host at a time, stop at the first error.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link ConfigSync}. */
export interface ConfigSyncArgs {
    /** Tag key that selects the hosts, e.g. `mqtt-edge:config-group`. */
    readonly targetTagKey: string;
    /** Tag value of this group's hosts. */
    readonly targetTagValue: pulumi.Input<string>;
    /** Absolute path of the apply script the host's user-data installed. */
    readonly applyScriptPath: string;
    /** SHA-256 of the group's files (HostParameters.contentHash); a change re-runs the association. */
    readonly contentHash: pulumi.Input<string>;
    /** How long one host may take to apply, in seconds. */
    readonly hostTimeoutSeconds: number;
    /**
     * State Manager schedule for drift repair, default every 30 minutes. The association still runs
     * immediately after every update (ApplyOnlyAtCronInterval stays false).
     */
    readonly scheduleExpression?: string;
    /** What the association does, for the document description. */
    readonly description: string;
    /** Tags for the document and the association. */
    readonly tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Longest run of the apply script on one host. aws:runShellScript allows up to 172800 s; eight
 * hours is far beyond any bounded apply and still ends a stuck one the same working day.
 */
const MAX_HOST_TIMEOUT_SECONDS = 28_800;

/** Drift repair: how often State Manager re-applies a group's files by default. */
export const DEFAULT_SYNC_SCHEDULE = "rate(30 minutes)";

/** Builds the SSM Command document (schema 2.2) that runs the apply script. */
export function applyDocumentContent(
    applyScriptPath: string,
    hostTimeoutSeconds: number,
    description: string,
): string {
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(applyScriptPath)) {
        throw new Error(
            `applyScriptPath: ${JSON.stringify(applyScriptPath)} is not allowed; use an absolute path of plain characters`,
        );
    }
    if (
        !Number.isInteger(hostTimeoutSeconds) ||
        hostTimeoutSeconds < 60 ||
        hostTimeoutSeconds > MAX_HOST_TIMEOUT_SECONDS
    ) {
        throw new Error(
            `hostTimeoutSeconds: ${hostTimeoutSeconds} is not allowed; use a whole number from 60 to ${MAX_HOST_TIMEOUT_SECONDS}`,
        );
    }
    return JSON.stringify({
        schemaVersion: "2.2",
        description,
        parameters: {
            contentHash: {
                type: "String",
                description: "SHA-256 of the files the host must end up with",
                allowedPattern: "^[0-9a-f]{64}$",
            },
        },
        mainSteps: [
            {
                action: "aws:runShellScript",
                name: "apply",
                inputs: {
                    timeoutSeconds: String(hostTimeoutSeconds),
                    runCommand: [`${applyScriptPath} --expect-hash {{ contentHash }}`],
                },
            },
        ],
    });
}

/** The document and the association of one host group. */
export class ConfigSync extends pulumi.ComponentResource {
    /** Name of the SSM document, for `aws ssm send-command` by hand. */
    public readonly documentName: pulumi.Output<string>;
    /** Id of the association, for `aws ssm start-associations-once`. */
    public readonly associationId: pulumi.Output<string>;

    constructor(name: string, args: ConfigSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mqtt-edge:aws:ConfigSync", name, {}, opts);
        const document = new aws.ssm.Document(
            `${name}-apply`,
            {
                documentType: "Command",
                documentFormat: "JSON",
                content: applyDocumentContent(
                    args.applyScriptPath,
                    args.hostTimeoutSeconds,
                    args.description,
                ),
                tags: args.tags,
            },
            { parent: this },
        );
        const association = new aws.ssm.Association(
            `${name}-apply`,
            {
                name: document.name,
                targets: [{ key: `tag:${args.targetTagKey}`, values: [args.targetTagValue] }],
                parameters: { contentHash: args.contentHash },
                // One host at a time, and the first failure stops the roll: a config that fails
                // `haproxy -c` or keeps an EMQX node down never reaches the next host.
                scheduleExpression: args.scheduleExpression ?? DEFAULT_SYNC_SCHEDULE,
                maxConcurrency: "1",
                maxErrors: "0",
                complianceSeverity: "HIGH",
                tags: args.tags,
            },
            { parent: this },
        );
        this.documentName = document.name;
        this.associationId = association.associationId;
        this.registerOutputs({
            documentName: this.documentName,
            associationId: this.associationId,
        });
    }
}
