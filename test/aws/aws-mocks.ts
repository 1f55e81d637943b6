/**
 * Pulumi mocks for the AWS components: records every resource registration and answers with the
 * outputs the components read (ids, ARNs, private IPs, DNS names, random results). Import this
 * module before the components; call `settle()` before asserting on `created`.
 */
import * as pulumi from "@pulumi/pulumi";
import { answerAwsInvoke, awsResourceOutputs, MOCK_AMI_ID } from "../support/aws-fake.ts";

export { MOCK_AMI_ID };

/** One recorded registration, secret inputs unwrapped. */
export interface Recorded {
    /** Resource type token, e.g. `aws:ec2/instance:Instance`. */
    type: string;
    /** Logical name. */
    name: string;
    /** Inputs as the component passed them, secrets unwrapped. */
    inputs: Record<string, unknown>;
    /** Names of top-level inputs that arrived as secrets. */
    secretInputs: string[];
}

/** Every registration since the last `reset()`. */
export const created: Recorded[] = [];

/** Every getAmi request, to check the owner and filters. */
export const amiQueries: Record<string, unknown>[] = [];

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function isSecretWrapper(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && SECRET_SIG in value;
}

/** Recursively removes Pulumi's secret wrappers from mock inputs. */
export function unwrap(value: unknown): unknown {
    if (isSecretWrapper(value)) {
        return unwrap(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(unwrap);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
    }
    return value;
}

await pulumi.runtime.setMocks(
    {
        newResource(args) {
            const secretInputs = Object.entries(args.inputs)
                .filter(([, value]) => isSecretWrapper(value))
                .map(([key]) => key);
            const inputs = unwrap(args.inputs) as Record<string, unknown>;
            created.push({ type: args.type, name: args.name, inputs, secretInputs });
            return awsResourceOutputs(args.type, args.name, inputs);
        },
        call(args) {
            if (args.token === "aws:ec2/getAmi:getAmi") {
                amiQueries.push(unwrap(args.inputs) as Record<string, unknown>);
            }
            const answer = answerAwsInvoke(args.token);
            if (answer) return answer;
            throw new Error(`unexpected invoke ${args.token} in AWS component tests`);
        },
    },
    "mqtt-edge",
    "test",
    false,
);

/** Waits until every registration and invoke in flight has been answered. */
export async function settle(): Promise<void> {
    // waitForRPCs is exported by @pulumi/pulumi's runtime but not declared in its typings.
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
    await runtime.waitForRPCs();
}

/** Forgets what was recorded so far. */
export function reset(): void {
    created.length = 0;
    amiQueries.length = 0;
}

/** Resolves an Output's value (mocks run with preview off, so every value is known). */
export function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** Whether an Output is marked secret. */
export function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
    return pulumi.isSecret(output);
}

/** Registrations of one type. */
export function ofType(type: string): Recorded[] {
    return created.filter((resource) => resource.type === type);
}

/** The one registration named `name`; throws if there is none or more than one. */
export function named(name: string): Recorded {
    const matches = created.filter((resource) => resource.name === name);
    if (matches.length !== 1) {
        throw new Error(`expected one resource named ${name}, found ${matches.length}`);
    }
    return matches[0]!;
}

/** `type name` of every recorded resource, sorted, for comparing resource sets. */
export function resourceSet(): string[] {
    return created.map((resource) => `${resource.type} ${resource.name}`).sort();
}

/** For beforeEach: lets registrations still in flight land, then forgets everything recorded. */
export async function settleAndReset(): Promise<void> {
    await settle();
    reset();
}
