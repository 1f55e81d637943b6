/**
 * TLS session resumption across the fleet, with the rendered haproxy.cfg in real HAProxy: a
 * ticket from HAProxy A resumes on HAProxy B that holds the same ticket keys file, and on A after
 * a graceful reload; the rendered rotation script (templates/tls-ticket-keys.ts) moves a running
 * HAProxy to the next epoch through the runtime API, and a ticket older than the window (two
 * epochs) gets a full handshake - still admitted, with a new ticket.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { connectDevice, type DeviceTls } from "../../scripts/bench/mqtt-connect.ts";
import { renderHaproxyCfg } from "../../templates/haproxy.ts";
import type { HaproxySpec } from "../../templates/haproxy-spec.ts";
import {
    renderTicketKeyScript,
    renderTicketKeysFile,
    TICKET_SEED_BYTES,
} from "../../templates/tls-ticket-keys.ts";
import { EDGE_SERVER_NAME, EdgeHarness } from "./harness/edge-harness.ts";
import { HaproxyProcess } from "./harness/haproxy-process.ts";
import { findFreePort } from "./harness/loopback-endpoints.ts";

const run = promisify(execFile);
const periodSeconds = 3600;
const seed = Buffer.alloc(TICKET_SEED_BYTES, 7).toString("hex");
// Middle of an epoch, so no real clock tick can move the test between epochs.
const epochStart = Math.floor(Date.now() / 1000 / periodSeconds) * periodSeconds;
const now = Math.floor(Date.now() / 1000);

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface TicketFiles {
    seedPath: string;
    keysPath: string;
}

/** Puts the seed and the current keys next to the edge's files and names them in the spec. */
function withSharedTicketKeys(spec: HaproxySpec, files: TicketFiles[]): void {
    const dir = dirname(spec.process.statsSocketPath);
    const paths = {
        seedPath: join(dir, "tls-ticket-seed"),
        keysPath: join(dir, "tls-ticket-keys"),
    };
    writeFileSync(paths.seedPath, `${seed}\n`, { mode: 0o600 });
    writeFileSync(paths.keysPath, renderTicketKeysFile(seed, now, periodSeconds), { mode: 0o600 });
    spec.mqtts.tlsTicketKeysPath = paths.keysPath;
    spec.process.tlsSessionLifetimeMs = periodSeconds * 1000;
    files.push(paths);
}

/** A second HAProxy with A's spec: same certificates, CAs, CRLs and ticket keys, own ports. */
async function startSecondHaproxy(edge: EdgeHarness): Promise<{ port: number }> {
    const dir = await mkdtemp(join(tmpdir(), "mqtt-edge-e2e-haproxy-b-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const spec = structuredClone(edge.spec);
    const address = spec.mqtts.bind.address;
    spec.mqtts.bind.port = await findFreePort(address);
    spec.health.bind.port = await findFreePort(address);
    spec.process.statsSocketPath = join(dir, "admin.sock");
    const configPath = join(dir, "haproxy.cfg");
    await writeFile(configPath, renderHaproxyCfg(spec), { mode: 0o600 });
    const haproxy = await HaproxyProcess.start({
        configPath,
        statsSocketPath: spec.process.statsSocketPath,
        masterSocketPath: join(dir, "master.sock"),
    });
    cleanups.push(() => haproxy.stop());
    return { port: spec.mqtts.bind.port };
}

test("a TLS session from one HAProxy resumes on another with the same keys, after a reload, and not once its key rotated out", async (t) => {
    const ticketFiles: TicketFiles[] = [];
    const edge = await EdgeHarness.start({
        brokerCount: 1,
        customize: (spec) => withSharedTicketKeys(spec, ticketFiles),
    });
    cleanups.push(() => edge.close());
    const [files] = ticketFiles;
    assert.ok(files);
    await edge.withDiagnostics(t, async () => {
        const credentials = await edge.pki.device("resuming-device");
        const device: DeviceTls = {
            ca: await readFile(edge.pki.rootCaPath, "utf8"),
            cert: credentials.certificatePem,
            key: credentials.privateKeyPem,
            servername: EDGE_SERVER_NAME,
        };
        const host = edge.mqttsAddress;
        const onA = (session?: Buffer) =>
            connectDevice(host, edge.mqttsPort, device, "resuming-device", session);

        const first = await onA();
        assert.equal(first.resumed, false, "the first connect is a full handshake");
        assert.ok(first.session, "HAProxy hands out a session ticket");
        assert.equal((await onA(first.session)).resumed, true, "resumes on the same HAProxy");

        const b = await startSecondHaproxy(edge);
        const onB = await connectDevice(host, b.port, device, "resuming-device", first.session);
        assert.equal(onB.resumed, true, "a ticket from A resumes on B, which shares the keys");
        const tls12 = { ...device, maxVersion: "TLSv1.2" as const };
        const first12 = await connectDevice(host, edge.mqttsPort, tls12, "resuming-device");
        const onB12 = await connectDevice(host, b.port, tls12, "resuming-device", first12.session);
        assert.equal(onB12.resumed, true, "a TLS 1.2 ticket from A resumes on B too");

        await edge.reload(() => undefined);
        const afterReload = await onA(first.session);
        assert.equal(afterReload.resumed, true, "resumes on A's new worker after a reload");

        // The rotation script on A's host, with the clock moved on by one and by two epochs.
        const script = join(dirname(files.keysPath), "tls-ticket-keys.sh");
        await writeFile(
            script,
            renderTicketKeyScript({
                seedPath: files.seedPath,
                keysPath: files.keysPath,
                statsSocketPath: edge.spec.process.statsSocketPath,
                periodSeconds,
            }),
            { mode: 0o700 },
        );
        const rotateTo = async (epochs: number) => {
            const at = epochStart + epochs * periodSeconds + periodSeconds / 2;
            await run(script, ["--now", String(at)]);
            const live = await edge.haproxy.runtime(`show tls-keys ${files.keysPath}`);
            const expected = renderTicketKeysFile(seed, at, periodSeconds).trim().split("\n");
            assert.deepEqual(
                live
                    .split("\n")
                    .filter((line) => /^\d+\.\d+ /.test(line))
                    .map((line) => line.split(" ")[1]),
                expected,
                `HAProxy holds the keys of epoch +${epochs} after the script ran`,
            );
            assert.equal(await readFile(files.keysPath, "utf8"), `${expected.join("\n")}\n`);
        };
        await rotateTo(1);
        const nextEpoch = await onA(afterReload.session);
        assert.equal(nextEpoch.resumed, true, "one epoch later the ticket's key is still held");
        await rotateTo(3);
        const expired = await onA(nextEpoch.session);
        assert.equal(expired.resumed, false, "a ticket older than the window: full handshake");
        assert.equal((await onA(expired.session)).resumed, true, "and its new ticket resumes");
        assert.equal(
            (await connectDevice(host, b.port, device, "resuming-device", expired.session)).resumed,
            false,
            "B, not rotated, does not know the new epoch's keys: the fleet must rotate together",
        );
    });
});

test("the ticket key script and the template derive the same keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mqtt-edge-ticket-keys-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const seedPath = join(dir, "seed");
    const keysPath = join(dir, "keys", "tls-ticket-keys");
    await writeFile(seedPath, `${seed}\n`, { mode: 0o600 });
    const script = join(dir, "script.sh");
    await writeFile(
        script,
        renderTicketKeyScript({
            seedPath,
            keysPath,
            statsSocketPath: join(dir, "absent.sock"),
            periodSeconds: 600,
        }),
        { mode: 0o700 },
    );
    for (const at of [1_800_000_123, 1_800_000_723]) {
        await run(script, ["--file-only", "--now", String(at)]);
        assert.equal(await readFile(keysPath, "utf8"), renderTicketKeysFile(seed, at, 600));
    }
    await assert.rejects(run(script, ["--now", "soon"]), /--now: soon is not allowed/);
});
