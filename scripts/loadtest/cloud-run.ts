/**
 * The cloud scenario, once the load-test stack with its generators is up: issue the devices'
 * certificates from the stack's intermediate, hand each generator its code, certificates and
 * job through the stack's bucket (the job last, with one start time for all), wait for every
 * result, merge them into one report. The teardown stays with run.ts: this only returns an
 * exit code, and throws nothing it could leave a stack behind for.
 */
import { type IssuingCa, loadIssuingCa } from "../../pki/ca.ts";
import { loadGeneratorObjects } from "../../templates/cloud-init-load-generator.ts";
import { awsCliObjectStore } from "./aws-cli-object-store.ts";
import { issueDeviceBatch } from "./device-batch.ts";
import type { EdgeTarget } from "./generator/device-session.ts";
import type { HostDevicesFile, HostJobFile } from "./generator/host-main.ts";
import type { GeneratorResult } from "./generator/scenario-job.ts";
import { generatorCode } from "./generator-code.ts";
import type { ObjectStore } from "./object-store.ts";
import type { LoadtestPlan } from "./plan.ts";
import { buildReport, type LoadtestReport } from "./report.ts";
import { scenarioPassed, writeReportFiles } from "./report-files.ts";
import type { LoadtestWorkload } from "./run.ts";
import { generatorJobs, type ScenarioPlan } from "./scenario-plan.ts";
import { summaryLines } from "./summary.ts";
import type { StackOutput } from "./workspace.ts";

/** What the cloud scenario uses from its surroundings. */
export interface CloudScenarioDeps {
    /** Opens the stack's bucket. */
    openStore: (bucket: string) => ObjectStore;
    /** Status lines. */
    log: (line: string) => void;
    /** Where the summary goes. */
    stderr: { write(text: string): unknown };
    /** Aborted on SIGINT/SIGTERM. */
    interrupt: AbortSignal;
    /** Wall clock, ms since 1970. */
    now: () => number;
    /** Waits `ms` or until the interruption. */
    sleep: (ms: number, signal: AbortSignal) => Promise<void>;
    /** The CA that signs the devices; default the stack's intermediate from its outputs. */
    deviceCa?: (outputs: Readonly<Record<string, StackOutput>>) => Promise<IssuingCa>;
}

/** The scenario and where its results go. */
export interface CloudScenarioRequest {
    plan: ScenarioPlan;
    runId: string;
    outDir: string;
    /** The stack's mqtt.keepaliveSeconds. */
    keepaliveSeconds: number;
    /** ms between handing out the jobs and the common start; default START_LEAD_MS. */
    startLeadMs?: number;
}

/**
 * Time between handing out the jobs and the common start, once every generator said it is up:
 * a host polls for its job every 5 s, then fetches the code and its certificates.
 */
export const START_LEAD_MS = 30_000;
/**
 * How long the generators may take to boot (apt-get of nodejs and awscli) after `up` returned:
 * instances count as created before cloud-init has run.
 */
export const READY_TIMEOUT_MS = 15 * 60_000;
/** How often the orchestration looks for results. */
export const RESULT_POLL_MS = 10_000;
/** Slack after the scenario's own bound before a missing result is given up on. */
export const RESULT_GRACE_MS = 300_000;

function stringOutput(outputs: Readonly<Record<string, StackOutput>>, name: string): string {
    const value = outputs[name]?.value;
    if (typeof value !== "string" || value === "") {
        throw new Error(`the stack has no ${name} output; is it an aws stack of this project?`);
    }
    return value;
}

/** The device endpoint `host:port` as a target. */
export function targetFromOutputs(outputs: Readonly<Record<string, StackOutput>>): EdgeTarget {
    const endpoint = stringOutput(outputs, "deviceEndpoint");
    const colon = endpoint.lastIndexOf(":");
    const host = endpoint.slice(0, colon);
    const port = Number(endpoint.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port)) {
        throw new Error(`deviceEndpoint ${JSON.stringify(endpoint)} is not host:port`);
    }
    // The NLB's own DNS name is in the server certificates' SANs (infra/aws-edge.ts); a target
    // that needs another name exports deviceServerName (run.ts passes it on as well).
    const serverName = outputs.deviceServerName?.value;
    return {
        host,
        port,
        serverName: typeof serverName === "string" && serverName !== "" ? serverName : host,
        trustBundlePem: stringOutput(outputs, "deviceTrustBundlePem"),
    };
}

function generatorsOutput(outputs: Readonly<Record<string, StackOutput>>): {
    bucket: string;
    count: number;
} {
    const value = outputs.loadGenerators?.value as
        | { bucket?: unknown; count?: unknown }
        | undefined;
    if (typeof value?.bucket !== "string" || typeof value.count !== "number") {
        throw new Error("the stack has no loadGenerators output (bucket, count)");
    }
    return { bucket: value.bucket, count: value.count };
}

/** The device intermediate from the stack outputs (its key is a secret output). */
function stackIntermediate(outputs: Readonly<Record<string, StackOutput>>): Promise<IssuingCa> {
    return loadIssuingCa(
        stringOutput(outputs, "intermediateCertPem"),
        stringOutput(outputs, "intermediateKeyPem"),
        { certificate: "output intermediateCertPem", privateKey: "output intermediateKeyPem" },
        "certificates",
    );
}

/** Polls until every key exists or the deadline passes; resolves to the keys still missing. */
async function waitForObjects(
    store: ObjectStore,
    keys: readonly string[],
    deadline: number,
    deps: Pick<CloudScenarioDeps, "now" | "sleep" | "interrupt">,
): Promise<string[]> {
    const missing = new Set(keys);
    while (missing.size > 0 && !deps.interrupt.aborted) {
        for (const key of [...missing]) {
            if ((await store.get(key)) !== undefined) missing.delete(key);
        }
        if (missing.size === 0 || deps.now() > deadline) break;
        await deps.sleep(RESULT_POLL_MS, deps.interrupt);
    }
    return [...missing];
}

/** Runs the scenario on the generators; resolves to the exit code. */
export async function runCloudScenario(
    request: CloudScenarioRequest,
    outputs: Readonly<Record<string, StackOutput>>,
    deps: CloudScenarioDeps,
): Promise<{ report: LoadtestReport | undefined; exitCode: number }> {
    const { plan, runId } = request;
    const { log } = deps;
    const target = targetFromOutputs(outputs);
    const generators = generatorsOutput(outputs);
    if (generators.count !== plan.generators) {
        throw new Error(
            `the stack has ${generators.count} generators, the scenario was planned for ${plan.generators}`,
        );
    }
    const store = deps.openStore(generators.bucket);
    const ca = await (deps.deviceCa ?? stackIntermediate)(outputs);
    log(`loadtest: issuing ${plan.devices} device certificates from the stack's intermediate`);
    const batch = await issueDeviceBatch(
        ca,
        runId,
        plan.devices,
        plan.scenario === "steady-publish" ? plan.generators : 0,
        (issued, total) => log(`loadtest: issued ${issued}/${total} certificates`),
    );
    deps.interrupt.throwIfAborted();
    log(
        `loadtest: uploading the generator and the certificates to s3://${generators.bucket}/input/`,
    );
    for (const [file, code] of Object.entries(generatorCode())) {
        await store.put(loadGeneratorObjects.code(file), code);
    }
    const notReady = await waitForObjects(
        store,
        Array.from({ length: plan.generators }, (_, n) => loadGeneratorObjects.ready(n)),
        deps.now() + READY_TIMEOUT_MS,
        deps,
    );
    deps.interrupt.throwIfAborted();
    if (notReady.length > 0) {
        log(
            `loadtest: generator(s) ${notReady.map((key) => /ready-(\d+)/.exec(key)?.[1]).join(", ")} did not come up within ${READY_TIMEOUT_MS / 60_000} min (their bootstrap log: /var/log/mqtt-edge-bootstrap.log on the instance); no job was handed out`,
        );
        return { report: undefined, exitCode: 1 };
    }
    const startAt = deps.now() + (request.startLeadMs ?? START_LEAD_MS);
    const jobs = generatorJobs(plan, runId, request.keepaliveSeconds, startAt);
    for (const job of jobs) {
        const devices: HostDevicesFile = {
            devices: batch.devices.slice(job.firstDevice, job.firstDevice + job.devices),
            ...(batch.subscribers[job.generator]
                ? { subscriber: batch.subscribers[job.generator] }
                : {}),
        };
        await store.put(loadGeneratorObjects.devices(job.generator), JSON.stringify(devices));
    }
    // Jobs last: a generator that sees its job finds everything else in place.
    for (const job of jobs) {
        const file: HostJobFile = { job, target };
        await store.put(loadGeneratorObjects.job(job.generator), JSON.stringify(file));
    }
    log(
        `loadtest: ${jobs.length} generator(s) start at ${new Date(startAt).toISOString()}; waiting for their results (at most until ${new Date(startAt + plan.boundSeconds * 1000 + RESULT_GRACE_MS).toISOString()})`,
    );
    const results = new Map<number, GeneratorResult>();
    const deadline = startAt + plan.boundSeconds * 1000 + RESULT_GRACE_MS;
    while (results.size < jobs.length && !deps.interrupt.aborted) {
        for (const job of jobs) {
            if (results.has(job.generator)) continue;
            const text = await store.get(loadGeneratorObjects.result(job.generator));
            if (text === undefined) continue;
            results.set(job.generator, JSON.parse(text) as GeneratorResult);
            log(
                `loadtest: result of generator ${job.generator} is in (${results.size}/${jobs.length})`,
            );
        }
        if (results.size === jobs.length || deps.now() > deadline) break;
        await deps.sleep(RESULT_POLL_MS, deps.interrupt);
    }
    deps.interrupt.throwIfAborted();
    const missing = jobs.filter((j) => !results.has(j.generator)).map((j) => j.generator);
    for (const generator of missing) {
        // The generator's own log says why (it holds counts and errors, never a key).
        const text = await store.get(loadGeneratorObjects.log(generator)).catch(() => undefined);
        const tail = (text ?? "(no log uploaded)").trimEnd().split("\n").slice(-5);
        log(`loadtest: no result from generator ${generator} by the deadline; its log ends:`);
        for (const line of tail) log(`  ${line}`);
    }
    if (results.size === 0) return { report: undefined, exitCode: 1 };
    const ordered = [...results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
    const report = buildReport(ordered, "cloud");
    writeReportFiles(request.outDir, report, ordered);
    for (const line of summaryLines(report, request.outDir)) deps.stderr.write(`${line}\n`);
    return { report, exitCode: missing.length === 0 && scenarioPassed(report) ? 0 : 1 };
}

/** Waits `ms`, or less when `signal` aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
        if (signal.aborted) return resolve();
        const timer = setTimeout(done, ms);
        function done(): void {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
        }
        signal.addEventListener("abort", done, { once: true });
    });
}

/**
 * The CLI's workload for `--scenario` without `--local`: the scenario on the stack's generators,
 * with the bucket reached through the AWS CLI in the stack's `aws:region`.
 */
export function cloudScenarioWorkload(
    plan: ScenarioPlan,
    outDir: string,
    stackPlan: LoadtestPlan,
    runId: string,
    io: Pick<CloudScenarioDeps, "log" | "stderr" | "interrupt">,
): LoadtestWorkload {
    const region = stackPlan.config["aws:region"]?.value ?? "";
    return async (outputs) => {
        const { exitCode } = await runCloudScenario(
            { plan, runId, outDir, keepaliveSeconds: stackPlan.keepaliveSeconds },
            outputs,
            {
                ...io,
                openStore: (bucket) => awsCliObjectStore(bucket, region),
                now: Date.now,
                sleep: abortableSleep,
            },
        );
        return exitCode;
    };
}
