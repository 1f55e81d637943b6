/**
 * `npm run loadtest`, for everything that must fail before Pulumi is touched: one line on
 * stderr, exit 2, and no stack file written. No Pulumi CLI is needed (or used: the child's PATH
 * is empty). One refusal of each kind runs as a child process; the rest call the CLI's own
 * parseMode and refusalLine in this process.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { loadLoadGeneratorFigures } from "../../capacity/figures.ts";
import { parseMode, refusalLine } from "../../scripts/loadtest/cli-mode.ts";
import { planGeneratorHosts } from "../../scripts/loadtest/generator-hosts.ts";
import { planLoadtest } from "../../scripts/loadtest/plan.ts";
import { planScenario } from "../../scripts/loadtest/scenario-plan.ts";

const run = promisify(execFile);
const projectDir = new URL("../../", import.meta.url).pathname;
const script = join(projectDir, "scripts/loadtest.ts");
let emptyDir = "";

before(async () => {
    emptyDir = await mkdtemp(join(tmpdir(), "loadtest-cli-"));
});
after(async () => {
    await rm(emptyDir, { recursive: true, force: true });
});

async function loadtest(args: string[]) {
    // An empty PATH and HOME: whatever is installed on the machine, no pulumi binary can be found.
    const env = { PATH: emptyDir, HOME: emptyDir, PULUMI_HOME: emptyDir };
    try {
        const { stdout, stderr } = await run(process.execPath, [script, ...args], {
            env,
            // A guard against a hang, not a speed check: a busy CI machine needs tens of seconds
            // to start several Node processes at once.
            timeout: 90_000,
        });
        return { code: 0, stdout, stderr };
    } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
}

const stackFiles = async () =>
    (await readdir(projectDir)).filter((f) => /^Pulumi\.loadtest-/.test(f));

describe("loadtest CLI refuses bad input with one line and exit 2", { concurrency: 4 }, () => {
    const cases: Array<[string, string[], RegExp]> = [
        ["an unknown flag", ["--bogus"], /^loadtest: Unknown option '--bogus'; usage: /],
        ["a missing --base", ["--run", "true"], /^loadtest: --base <stack> is required; usage/],
        ["a missing --run", ["--base", "local"], /^loadtest: --run "<command>" is required/],
        [
            "a bad id",
            ["--base", "local", "--id", "Bad_Id", "--run", "true"],
            /^loadtest: --id "Bad_Id" is not valid: /,
        ],
        [
            "a bad ttl",
            ["--base", "local", "--ttl", "0", "--run", "true"],
            /^loadtest: --ttl "0" is not valid: /,
        ],
        [
            "a --set that is not JSON",
            ["--base", "local", "--set", "emqx.version=5.8.9", "--run", "true"],
            /^loadtest: --set emqx\.version="5\.8\.9": the value must be JSON/,
        ],
        [
            "a --set the schema refuses",
            ["--base", "local", "--set", "haproxy.instances=0", "--run", "true"],
            /^loadtest: mqtt-edge:haproxy\.instances = 0: must be an integer/,
        ],
        [
            "an unknown base stack",
            ["--base", "nosuch", "--run", "true"],
            /^loadtest: unknown stack "nosuch": no .*Pulumi\.nosuch\.yaml; stacks here: .*local/,
        ],
        [
            "--janitor with run flags",
            ["--janitor", "--base", "local"],
            /^loadtest: --janitor takes only --now; drop --base/,
        ],
        [
            "a bad --now",
            ["--janitor", "--now", "yesterday"],
            /^loadtest: --now "yesterday" is not valid/,
        ],
        [
            "--run with a scenario",
            ["--base", "dev", "--run", "true", "--scenario", "connect-storm"],
            /^loadtest: --run and --scenario do not go together/,
        ],
        [
            "--local with stack flags",
            ["--local", "--scenario", "connect-storm", "--set", "emqx.nodes=5"],
            /^loadtest: --local runs on this machine with no stack to raise; drop --set/,
        ],
        ["--local without a scenario", ["--local"], /^loadtest: --local needs --scenario <name>/],
        [
            "--out without a scenario",
            ["--base", "dev", "--run", "true", "--out", "x"],
            /^loadtest: --out is only for --scenario runs/,
        ],
        [
            "an unknown scenario",
            ["--local", "--scenario", "storm"],
            /^loadtest: --scenario "storm" is not valid: one of connect-storm, reconnect-storm, steady-publish\n$/,
        ],
        [
            "a cloud scenario on a docker base stack",
            ["--base", "local", "--scenario", "connect-storm", "--devices", "10"],
            /^loadtest: mqtt-edge:loadGenerators = .*: is only for target aws/,
        ],
        [
            "--generators too few for the connect rate",
            [
                "--base",
                "dev",
                "--scenario",
                "connect-storm",
                "--devices",
                "100000",
                "--rate",
                "2000",
                "--generators",
                "2",
            ],
            /^loadtest: --generators 2 gives each generator 50,000 devices at 1,000 connects\/s, which no c7i type carries \(.*\); raise --generators to \d+\n$/,
        ],
        [
            "a load-generator type too small for the plan",
            [
                "--base",
                "dev",
                "--scenario",
                "connect-storm",
                "--devices",
                "100000",
                "--rate",
                "100",
                "--set",
                'loadGenerators.instanceType="c7i.large"',
            ],
            /^loadtest: --set loadGenerators\.instanceType="c7i\.large" is too small for 50,000 devices at 50 connects\/s per generator \(needs [\d.]+ GiB of memory, has 4\); allowed: c7i\.\w+ or larger, or more --generators\n$/,
        ],
        [
            "a --set of the generator count with a scenario",
            ["--base", "dev", "--scenario", "connect-storm", "--set", "loadGenerators.count=3"],
            /^loadtest: --set loadGenerators\.count is not allowed with --scenario: the scenario sets it \(use --generators <k>\); usage: /,
        ],
        [
            "a --set of the whole generators map with a scenario",
            [
                "--base",
                "dev",
                "--scenario",
                "connect-storm",
                "--set",
                'loadGenerators={"count":1,"devicesPerGenerator":10}',
            ],
            /^loadtest: --set loadGenerators\.count is not allowed with --scenario/,
        ],
        [
            "a Graviton generator family",
            ["--base", "dev", "--scenario", "connect-storm", "--generator-family", "c7g"],
            /^loadtest: --generator-family "c7g" is not valid: one of c7i, c6i, m7i, r7i/,
        ],
        [
            "--generator-family on a local run",
            ["--local", "--scenario", "connect-storm", "--generator-family", "m7i"],
            /^loadtest: --generator-family is only for cloud runs/,
        ],
        [
            "--now without --janitor",
            ["--base", "local", "--now", "2026-01-01T00:00:00Z", "--run", "x"],
            /--now is only for --janitor/,
        ],
    ];
    // Each child process costs a Node start-up and the whole import graph (seconds on a busy
    // machine), so one refusal of each way out runs as a process: a usage error, a flag value, a
    // stack-schema refusal, a refusal after the stack's plan, the generators' sizing. The others
    // go through the same parseMode and refusalLine in this process.
    const asProcess = new Set([
        "an unknown flag",
        "a bad ttl",
        "a --set the schema refuses",
        "a cloud scenario on a docker base stack",
        "--generators too few for the connect rate",
    ]);
    for (const [what, args, expected] of cases) {
        if (asProcess.has(what)) {
            test(`${what} (child process)`, async () => {
                const result = await loadtest(args);
                assert.equal(result.code, 2, result.stderr);
                assert.equal(result.stdout, "");
                assert.match(result.stderr, expected);
                assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
            });
            continue;
        }
        test(what, () => {
            let line: string | undefined;
            try {
                const mode = parseMode(args, projectDir);
                // As the CLI does before it opens the workspace (launchLoadtest, the cloud workload).
                if (mode.kind === "run" || mode.kind === "cloud-scenario")
                    planLoadtest(mode.request);
            } catch (e) {
                line = refusalLine(e);
                if (line === undefined) throw e;
            }
            assert.ok(line !== undefined, "refused");
            assert.match(`${line}\n`, expected);
            assert.equal(line.split("\n").length, 1, line);
        });
    }

    test("--dry-run prints the stack and the generators' sizing, creates nothing, needs no Pulumi CLI", async () => {
        const devices = 100_000;
        const rate = 2000;
        const result = await loadtest([
            "--base",
            "dev",
            "--id",
            "dry",
            "--scenario",
            "connect-storm",
            "--devices",
            String(devices),
            "--rate",
            String(rate),
            "--dry-run",
        ]);
        assert.equal(result.code, 0, result.stderr);
        const expected = planGeneratorHosts(
            planScenario(
                { scenario: "connect-storm", devices: String(devices), rate: String(rate) },
                "cloud",
            ),
            { explicitCount: false },
            loadLoadGeneratorFigures(),
        );
        const lines = result.stdout.trimEnd().split("\n");
        assert.match(
            lines[0] ?? "",
            /^loadtest: dry run: would create stack loadtest-dry \(target aws, /,
        );
        assert.ok(
            lines.some((line) =>
                line.startsWith(
                    `loadtest: ${expected.count} load generators x ${expected.instanceType} (the smallest c7i type that fits) for ${expected.load.devices.toLocaleString("en-US")} devices`,
                ),
            ),
            result.stdout,
        );
        assert.equal(
            lines.at(-1),
            `loadtest: mqtt-edge:loadGenerators = ${JSON.stringify({ count: expected.count, instanceType: expected.instanceType, devicesPerGenerator: expected.load.devices })}`,
        );
        assert.deepEqual(await stackFiles(), []);
    });

    test("valid input reaches the workspace only then, and without a Pulumi CLI exits 1 in one line", async () => {
        const result = await loadtest(["--base", "local", "--id", "nocli", "--run", "true"]);
        assert.equal(result.code, 1, result.stderr);
        assert.equal(
            result.stderr.trim(),
            `loadtest: cannot open the Pulumi workspace in ${projectDir.replace(/\/$/, "")}: the pulumi CLI is not on PATH`,
        );
        assert.deepEqual(await stackFiles(), []);
    });
});
