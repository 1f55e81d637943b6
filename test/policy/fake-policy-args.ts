/**
 * ResourceValidationArgs for calling a policy's validateResource directly, without the policy
 * gRPC server (facts-pulumi.md §9; the pulumi-policy repo tests its policies the same way).
 */
import type {
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";

/** @pulumi/policy's own proxy and sentinels (proxy.js ships without type declarations). */
const proxy = (await import("@pulumi/policy/proxy.js")) as unknown as {
    unknownCheckingProxy<T extends object>(props: T): T;
    unknownStringValue: string;
};

/** A value the engine does not know at preview, as the policy server hands it over. */
export const UNKNOWN_AT_PREVIEW = proxy.unknownStringValue;

/** Builds the args the policy server would pass for one resource. */
export function fakeArgs(
    type: string,
    props: Record<string, unknown>,
    config: Record<string, unknown> = {},
    name = "resource",
): ResourceValidationArgs {
    return {
        type,
        // As the policy server does (server.js): reading an unknown value throws.
        props: proxy.unknownCheckingProxy(props),
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

/** One resource of a fake stack: what the policy server knows about it. */
export interface FakeStackResource {
    readonly type: string;
    readonly name: string;
    readonly props: Record<string, unknown>;
    /** Top-level property -> the resources it depends on, by name or, where names repeat, `type::name`. */
    readonly dependsOn?: Record<string, readonly string[]>;
}

/** PolicyResources with their property dependencies resolved to one another. */
export function fakeStackResources(resources: readonly FakeStackResource[]): PolicyResource[] {
    const built = resources.map(
        (r): PolicyResource => ({
            type: r.type,
            name: r.name,
            urn: `urn:pulumi:test::mqtt-edge::${r.type}::${r.name}`,
            props: proxy.unknownCheckingProxy(r.props),
            opts: {} as never,
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        }),
    );
    const byName = new Map<string, PolicyResource>();
    for (const r of built) {
        byName.set(`${r.type}::${r.name}`, r);
        if (!byName.has(r.name)) byName.set(r.name, r);
    }
    resources.forEach((r, i) => {
        const resource = built[i] as PolicyResource;
        for (const [property, names] of Object.entries(r.dependsOn ?? {})) {
            resource.propertyDependencies[property] = names.map((name) => {
                const found = byName.get(name);
                if (!found)
                    throw new Error(
                        `fake stack: ${r.name}.${property} names ${name}, which is not in the stack`,
                    );
                return found;
            });
        }
    });
    return built;
}

/** Runs a stack policy over fake resources and returns the violation messages. */
export async function stackViolations(
    policy: StackValidationPolicy,
    resources: readonly FakeStackResource[],
    config: Record<string, unknown> = {},
): Promise<string[]> {
    const found: string[] = [];
    await policy.validateStack(
        {
            resources: fakeStackResources(resources),
            stackTags: new Map(),
            getConfig: <T extends object>() => config as T,
            notApplicable: (reason?: string): never => {
                throw new Error(`not applicable: ${reason ?? ""}`);
            },
        },
        (message) => found.push(message),
    );
    return found;
}
