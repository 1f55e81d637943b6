/**
 * The @pulumi/command local provider for Pulumi mocks, for real: runs `create` with its stdin and
 * environment in the project directory, as `pulumi up` would (components/crls.ts uses it).
 */
import { spawnSync } from "node:child_process";
import { type MockHandler, unwrapSecrets } from "./pulumi-mocks.ts";

const projectDir = new URL("../../", import.meta.url).pathname;

export const localCommandFake: MockHandler = {
    handles: (type) => type === "command:local:Command",
    async newResource(args) {
        const inputs = unwrapSecrets(args.inputs) as {
            create: string;
            stdin?: string;
            environment?: Record<string, string>;
        };
        const result = spawnSync("/bin/sh", ["-c", inputs.create], {
            cwd: projectDir,
            input: inputs.stdin ?? "",
            env: { ...process.env, ...inputs.environment },
            encoding: "utf8",
            timeout: 60_000,
        });
        if (result.status !== 0) {
            throw new Error(`local command failed (${result.status}): ${result.stderr}`);
        }
        return {
            id: `${args.name}-id`,
            state: { ...args.inputs, stdout: result.stdout, stderr: result.stderr },
        };
    },
};
