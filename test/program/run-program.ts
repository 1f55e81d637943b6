/**
 * Runs the whole Pulumi program (infra/index.ts) for one committed stack file under mocks and
 * prints what it declared as JSON on stdout: every resource (type, name, unwrapped inputs, which
 * inputs were secret) and every stack output (value, secret or not).
 *
 *   node test/program/run-program.ts <stack> [<key.path>=<json> ...]
 *
 * Overrides change the stack file's values (e.g. `emqx.nodes=5`) for what-if comparisons. A
 * process per run, because a Pulumi program module is evaluated once per process. Fakes: the TLS
 * fake makes real certificates; AWS and random answers come from test/support/aws-fake.ts; the
 * local CRL command really runs (scripts/crl.ts), as `pulumi up` would run it.
 */

import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../infra/stack-file.ts";
import { answerAwsInvoke, awsResourceOutputs } from "../support/aws-fake.ts";
import { localCommandFake } from "../support/local-command-fake.ts";
import { composeMocks, type MockHandler, unwrapSecrets } from "../support/pulumi-mocks.ts";
import { createTlsFake } from "../support/tls-fake.ts";

const SECRET_KEY = "4dabf18193072939515e22adb298388d";
const projectDir = new URL("../../", import.meta.url).pathname;

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    secretInputs: string[];
}

export interface RecordedOutput {
    value: unknown;
    secret: boolean;
}

export interface ProgramRun {
    resources: RecordedResource[];
    outputs: Record<string, RecordedOutput>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
    const keys = path.split(".");
    let node = target;
    for (const key of keys.slice(0, -1)) {
        node[key] = { ...((node[key] as Record<string, unknown> | undefined) ?? {}) };
        node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1] as string] = value;
}

const aws: MockHandler = {
    handles: (type) => type.startsWith("aws:") || type.startsWith("random:"),
    async newResource(args) {
        return awsResourceOutputs(
            args.type,
            args.name,
            unwrapSecrets(args.inputs) as Record<string, unknown>,
        );
    },
    handlesCall: (token) => answerAwsInvoke(token) !== undefined,
    call: (args) => answerAwsInvoke(args.token) ?? {},
};

async function main(): Promise<void> {
    const [stack, ...overrides] = process.argv.slice(2);
    if (!stack) throw new Error("usage: run-program.ts <stack> [<key.path>=<json> ...]");
    const file = readStackFile(projectDir, stack);
    const raw = structuredClone(file.raw);
    for (const override of overrides) {
        const eq = override.indexOf("=");
        setPath(raw, override.slice(0, eq), JSON.parse(override.slice(eq + 1)));
    }
    const config: Record<string, string> = { ...file.providerConfig };
    for (const [key, value] of Object.entries(raw)) {
        config[`mqtt-edge:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    pulumi.runtime.setAllConfig(config);

    const resources: RecordedResource[] = [];
    const mocks = composeMocks([createTlsFake({ reuseRsaKeys: true }), localCommandFake, aws]);
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                resources.push({
                    type: args.type,
                    name: args.name,
                    inputs: unwrapSecrets(args.inputs) as Record<string, unknown>,
                    secretInputs: Object.entries(args.inputs)
                        .filter(([, v]) => typeof v === "object" && v !== null && SECRET_KEY in v)
                        .map(([k]) => k),
                });
                return mocks.newResource(args);
            },
            call: (args) => mocks.call(args),
        },
        "mqtt-edge",
        stack,
        false,
    );

    const program = (await import("../../infra/index.ts")) as unknown as {
        default: Record<string, unknown>;
    };
    const outputs: Record<string, RecordedOutput> = {};
    for (const [key, value] of Object.entries(program.default)) {
        const output: pulumi.Output<unknown> = pulumi.output(value as pulumi.Input<unknown>);
        outputs[key] = {
            value: await new Promise((resolve) => output.apply((v) => resolve(v))),
            secret: await pulumi.isSecret(output),
        };
    }
    const runtime = pulumi.runtime as unknown as { waitForRPCs(): Promise<void> };
    await runtime.waitForRPCs();
    process.stdout.write(JSON.stringify({ resources, outputs } satisfies ProgramRun));
}

await main();
