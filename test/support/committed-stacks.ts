/**
 * The stack files committed to the repository. Tests that write a throwaway `Pulumi.<name>.yaml`
 * into the project folder (the render and capacity CLIs read stacks from there) run in parallel
 * with the tests that walk every stack, so those walk what git tracks, not what the folder holds.
 */
import { execFileSync } from "node:child_process";

export function committedStacks(projectDir: string): string[] {
    return execFileSync("git", ["ls-files", "--", "Pulumi.*.yaml"], {
        cwd: projectDir,
        encoding: "utf8",
    })
        .split("\n")
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}
