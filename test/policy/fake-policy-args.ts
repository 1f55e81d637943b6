/**
 * ResourceValidationArgs for calling a policy's validateResource directly, without the policy
 * gRPC server (facts-pulumi.md §9; the pulumi-policy repo tests its policies the same way).
 */
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

/** Builds the args the policy server would pass for one resource. */
export function fakeArgs(
    type: string,
    props: Record<string, unknown>,
    config: Record<string, unknown> = {},
    name = "resource",
): ResourceValidationArgs {
    return {
        type,
        props,
        urn: `urn:pulumi:test::mqtt-edge::${type}::${name}`,
        name,
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
        } as never,
        stackTags: new Map(),
        isType: (cls) => (cls as unknown as { __pulumiType?: string }).__pulumiType === type,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new Error(`not applicable: ${reason ?? ""}`);
        },
    };
}

/** Runs every validation of `policy` on one resource and returns the violation messages. */
export async function violations(
    policy: ResourceValidationPolicy,
    type: string,
    props: Record<string, unknown>,
    config: Record<string, unknown> = {},
    name = "resource",
): Promise<string[]> {
    const found: string[] = [];
    const validations = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : policy.validateResource
          ? [policy.validateResource]
          : [];
    for (const validate of validations) {
        await validate(fakeArgs(type, props, config, name), (message) => found.push(message));
    }
    return found;
}
