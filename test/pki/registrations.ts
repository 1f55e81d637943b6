/**
 * What the Pulumi runtime asks the (mock) engine to register, seen at the resource monitor: the
 * mocks' `newResource` gets neither the parent nor resource options such as `replacementTrigger`,
 * but the RegisterResourceRequest carries both.
 */
import * as pulumi from "@pulumi/pulumi";

/** One registerResource call. */
export interface Registration {
    /** Type token, e.g. `tls:index/privateKey:PrivateKey`. */
    type: string;
    /** Resource name. */
    name: string;
    /** URN of the parent ("" for none). */
    parent: string;
    /** The `replacementTrigger` option's value, undefined when not set. */
    replacementTrigger: unknown;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getReplacementTrigger(): { toJavaScript(): unknown } | undefined;
}

interface PatchableMonitor {
    registerResource(request: RegisterRequest, callback: unknown): unknown;
}

/** Starts recording registrations; call after `setMocks`, before creating resources. */
export function recordRegistrations(): Registration[] {
    const monitor = pulumi.runtime.getMonitor() as unknown as PatchableMonitor | undefined;
    if (monitor === undefined) throw new Error("recordRegistrations: call setMocks first");
    const registrations: Registration[] = [];
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request, callback) => {
        registrations.push({
            type: request.getType(),
            name: request.getName(),
            parent: request.getParent(),
            replacementTrigger: request.getReplacementTrigger()?.toJavaScript(),
        });
        return original(request, callback);
    };
    return registrations;
}

/** The value of an Output (mocks run with preview=false, so every value is known). */
export function settle<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}
