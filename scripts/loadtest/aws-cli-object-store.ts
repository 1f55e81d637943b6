/**
 * ObjectStore on the AWS CLI (`aws s3 cp`), with the operator's own credentials, the ones
 * `pulumi up` used. Bodies go through stdin and stdout, never the command line or a temp file,
 * because device keys are among them.
 */
import { spawn } from "node:child_process";
import type { ObjectStore } from "./object-store.ts";

function aws(
    args: string[],
    env: NodeJS.ProcessEnv,
    stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn("aws", args, { env, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
        });
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            stderr += chunk;
        });
        child.on("error", (error: NodeJS.ErrnoException) =>
            reject(
                new Error(
                    error.code === "ENOENT"
                        ? "the aws CLI is not on PATH (cloud load tests exchange files with the generators through S3 with it)"
                        : error.message,
                ),
            ),
        );
        child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
        child.stdin.end(stdin ?? "");
    });
}

/** The bucket `bucket` in `region`. */
export function awsCliObjectStore(bucket: string, region: string): ObjectStore {
    const env = { ...process.env, AWS_REGION: region, AWS_DEFAULT_REGION: region };
    const url = (key: string) => `s3://${bucket}/${key}`;
    return {
        async put(key, body) {
            const r = await aws(["s3", "cp", "--only-show-errors", "-", url(key)], env, body);
            if (r.code !== 0) throw new Error(`aws s3 cp to ${url(key)}: ${r.stderr.trim()}`);
        },
        async get(key) {
            const r = await aws(["s3", "cp", "--only-show-errors", url(key), "-"], env);
            if (r.code === 0) return r.stdout;
            // A missing object: "(404)" / "Not Found" / "does not exist" depending on the CLI.
            if (/\(404\)|Not Found|does not exist|NoSuchKey/i.test(r.stderr)) return undefined;
            throw new Error(`aws s3 cp from ${url(key)}: ${r.stderr.trim()}`);
        },
    };
}
