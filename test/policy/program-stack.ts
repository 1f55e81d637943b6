/**
 * The resources a program run recorded (test/program/run-program.ts), as a fake stack for the
 * stack policies: under mocks there is no engine to report property dependencies, so a
 * top-level input that holds another resource's mock id or ARN counts as depending on it, which
 * is what the engine would report for an Output passed there.
 */
import { awsResourceOutputs } from "../support/aws-fake.ts";
import type { FakeStackResource } from "./fake-policy-args.ts";

/** A recorded resource: type, name and inputs. */
export interface RecordedInputs {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
}

/** How a fake stack names a resource: names repeat across types (the NLB and its group). */
export function stackKey(r: { readonly type: string; readonly name: string }): string {
    return `${r.type}::${r.name}`;
}

/** The recorded resources with their dependencies derived from mock ids and ARNs. */
export function programStack(resources: readonly RecordedInputs[]): FakeStackResource[] {
    // Mock ids repeat across types (`<name>-id`): a security group and a target group of the
    // same name share one, so a property about security groups picks the group.
    const owners = new Map<string, RecordedInputs[]>();
    const own = (value: string, r: RecordedInputs) =>
        owners.set(value, [...(owners.get(value) ?? []), r]);
    for (const r of resources) {
        if (!r.type.startsWith("aws:")) continue;
        const { id, state } = awsResourceOutputs(r.type, r.name, r.inputs);
        own(id, r);
        if (typeof state.arn === "string") own(state.arn, r);
    }
    const ownerOf = (value: unknown, property: string): string | undefined => {
        const candidates = typeof value === "string" ? (owners.get(value) ?? []) : [];
        const preferred = /securityGroup/i.test(property)
            ? candidates.filter((c) => c.type === "aws:ec2/securityGroup:SecurityGroup")
            : candidates;
        const owner = preferred[0] ?? candidates[0];
        return owner ? stackKey(owner) : undefined;
    };
    return resources.map((r) => {
        const dependsOn: Record<string, string[]> = {};
        for (const [property, value] of Object.entries(r.inputs)) {
            const values = Array.isArray(value) ? value : [value];
            const names = values
                .map((v) => ownerOf(v, property))
                .filter((key): key is string => key !== undefined && key !== stackKey(r));
            if (names.length > 0) dependsOn[property] = names;
        }
        return { type: r.type, name: r.name, props: r.inputs, dependsOn };
    });
}
