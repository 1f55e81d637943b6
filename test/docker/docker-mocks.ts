/**
 * Pulumi mocks for the Docker target: the TLS fake makes real certificates, the local CRL command
 * really runs scripts/crl.ts (as `pulumi up` would), and docker and random resources answer with
 * the outputs the components read (image ids, names, passwords). Every registration is recorded
 * with its raw inputs (secret wrappers kept, to check what is secret) and its unwrapped inputs.
 * Import this module before the code under test; call `settle()` before asserting.
 */

import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { localCommandFake } from "../support/local-command-fake.ts";
import { composeMocks, type MockHandler, unwrapSecrets } from "../support/pulumi-mocks.ts";
import { createTlsFake } from "../support/tls-fake.ts";

/** One recorded registration. */
export interface DockerRecorded {
    /** Resource type token, e.g. `docker:index/container:Container`. */
    readonly type: string;
    /** Logical name. */
    readonly name: string;
    /** Inputs as serialized, secret wrappers included. */
    readonly rawInputs: Record<string, unknown>;
    /** Inputs with every secret wrapper removed. */
    readonly inputs: Record<string, unknown>;
}

/** Every registration since the last `reset()`. */
export const recorded: DockerRecorded[] = [];

/** Docker and random resource types the components declare. */
export const dockerTypes = {
    network: "docker:index/network:Network",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    volume: "docker:index/volume:Volume",
    container: "docker:index/container:Container",
    randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

const secretSignatureKey = "4dabf18193072939515e22adb298388d";

/** Whether a serialized input value is a Pulumi secret wrapper. */
export function isSecretInput(value: unknown): boolean {
    return typeof value === "object" && value !== null && secretSignatureKey in value;
}

function hex(text: string, length: number): string {
    return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** Mock image id of a RemoteImage named `imageName`. */
export function mockImageId(imageName: string): string {
    return `sha256:${hex(imageName, 64)}`;
}

/** Mock result of the RandomPassword with logical name `name`: letters and digits, as special: false gives. */
export function mockPassword(name: string): string {
    return `Rnd${hex(`${name}-secret`, 44)}`;
}

const dockerAndRandom: MockHandler = {
    handles: (type) => type.startsWith("docker:") || type.startsWith("random:"),
    async newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        switch (args.type) {
            case dockerTypes.remoteImage:
                return {
                    id: mockImageId(String(inputs.name)),
                    state: { ...inputs, imageId: mockImageId(String(inputs.name)) },
                };
            case dockerTypes.randomPassword:
                return { id: "none", state: { ...inputs, result: mockPassword(args.name) } };
            default:
                return { id: `${args.name}-id`, state: inputs };
        }
    },
};

const mocks = composeMocks([
    createTlsFake({ reuseRsaKeys: true }),
    localCommandFake,
    dockerAndRandom,
]);

await pulumi.runtime.setMocks(
    {
        newResource(args) {
            recorded.push({
                type: args.type,
                name: args.name,
                rawInputs: args.inputs as Record<string, unknown>,
                inputs: unwrapSecrets(args.inputs) as Record<string, unknown>,
            });
            return mocks.newResource(args);
        },
        call: (args) => mocks.call(args),
    },
    "mqtt-edge",
    "local",
    false,
);

/** Waits until every registration in flight has been answered. */
export async function settle(): Promise<void> {
    // waitForRPCs is exported by @pulumi/pulumi's runtime but not declared in its typings.
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
    await runtime.waitForRPCs();
}

/** Forgets what was recorded so far. */
export function reset(): void {
    recorded.length = 0;
}

/** Registrations of one type. */
export function ofType(type: string): DockerRecorded[] {
    return recorded.filter((resource) => resource.type === type);
}

/** The one registration named `name`; throws if there is none or more than one. */
export function named(name: string): DockerRecorded {
    const matches = recorded.filter((resource) => resource.name === name);
    if (matches.length !== 1) {
        throw new Error(`expected one resource named ${name}, found ${matches.length}`);
    }
    return matches[0] as DockerRecorded;
}

/** Resolves an Output's value (mocks run with preview off, so every value is known). */
export function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}
