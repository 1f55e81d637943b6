/**
 * The @pulumi/command local provider for Pulumi mocks, for real: runs `create` with its stdin and
 * environment in the project directory, as `pulumi up` would (components/crls.ts uses it).
 * There is no AWS account here: an `aws` stand-in first on PATH answers the one call a command
 * makes under mocks, the HAProxy refresh wait's DescribeInstanceRefreshes, as a new group does
 * ("None": no refresh yet), and refuses everything else.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MockHandler, unwrapSecrets } from "./pulumi-mocks.ts";

const projectDir = new URL("../../", import.meta.url).pathname;

const fakeBin = mkdtempSync(join(tmpdir(), "mqtt-edge-local-command-"));
writeFileSync(
    join(fakeBin, "aws"),
    '#!/bin/sh\ncase "$*" in\n*describe-instance-refreshes*) echo None ;;\n*) echo "aws $*: not available under mocks" >&2; exit 1 ;;\nesac\n',
);
chmodSync(join(fakeBin, "aws"), 0o755);

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
            env: {
                ...process.env,
                ...inputs.environment,
                PATH: `${fakeBin}:${process.env.PATH ?? ""}`,
            },
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
