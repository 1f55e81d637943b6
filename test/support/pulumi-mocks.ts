/**
 * Pulumi mocks assembled from parts: each part (the TLS fake, the AWS and random fake, the local
 * command fake, the Docker fake) answers the resource types and invokes it claims.
 */
import type * as pulumi from "@pulumi/pulumi";

type MockResourceArgs = pulumi.runtime.MockResourceArgs;
type MockResourceResult = pulumi.runtime.MockResourceResult;
type MockCallArgs = pulumi.runtime.MockCallArgs;
type MockCallResult = pulumi.runtime.MockCallResult;

/** One part of a composed mock: answers the resource types (and invokes) it claims. */
export interface MockHandler {
    /** Whether this handler answers `newResource` for the resource type token `type`. */
    handles(type: string): boolean;
    /** Creates the resource: the id and the full state (inputs plus computed outputs). */
    newResource(args: MockResourceArgs): Promise<MockResourceResult>;
    /** Whether this handler answers the invoke `token` (absent: it answers none). */
    handlesCall?(token: string): boolean;
    /** Answers an invoke this handler claims. */
    call?(args: MockCallArgs): MockCallResult | Promise<MockCallResult>;
}

// Mock inputs carry secrets as {<sig key>: <secret sig>, value} (facts-pulumi §2.2.4); these are
// the constants of @pulumi/pulumi runtime/rpc.ts (specialSigKey, specialSecretSig).
const secretSignatureKey = "4dabf18193072939515e22adb298388d";
const secretSignature = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces every secret wrapper in a mock input tree by the value it wraps. */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[secretSignatureKey] === secretSignature) return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/**
 * Builds Pulumi mocks from handlers: the first handler that claims a type (or invoke token)
 * answers it. Resources nobody claims get `{ id: "<name>-id", state: inputs }`; invokes nobody
 * claims return their inputs.
 */
export function composeMocks(handlers: readonly MockHandler[]): pulumi.runtime.Mocks {
    return {
        newResource: (args) => {
            const handler = handlers.find((h) => h.handles(args.type));
            if (handler) return handler.newResource(args);
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => {
            const handler = handlers.find((h) => h.handlesCall?.(args.token));
            if (handler?.call) return handler.call(args);
            return args.inputs;
        },
    };
}
