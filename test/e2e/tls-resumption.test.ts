/**
 * TLS session resumption across the fleet, with the dev stack's own haproxy.cfg in real HAProxy
 * (local-edge/): a ticket from HAProxy A resumes on HAProxy B of the same stack, which holds the
 * same ticket keys, and on A after a graceful reload; the rendered rotation script
 * (templates/tls-ticket-keys.ts) moves a running HAProxy to the next epoch through the runtime
 * API, and a ticket older than the window (two epochs) gets a full handshake - still admitted,
 * with a new ticket.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { LocalEdge } from "../../local-edge/local-edge.ts";
import { connectDevice, type DeviceTls } from "../../scripts/bench/mqtt-connect.ts";
import {
    renderTicketKeyScript,
    renderTicketKeysFile,
    TICKET_SEED_BYTES,
} from "../../templates/tls-ticket-keys.ts";

const run = promisify(execFile);
const seed = Buffer.alloc(TICKET_SEED_BYTES, 7).toString("hex");

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test("a TLS session from one HAProxy resumes on another of the stack, after a reload, and not once its key rotated out", async () => {
    const edge = await LocalEdge.start({ stack: "dev", brokerCount: 1, tlsTicketSeed: seed });
    cleanups.push(() => edge.close());
    const keysPath = edge.spec.mqtts.tlsTicketKeysPath;
    assert.ok(keysPath, "the dev stack's haproxy.cfg names shared ticket keys");
    const periodSeconds = edge.config.haproxy.tlsSessionLifetimeSeconds;
    assert.ok(edge.haproxyCfg.includes(` tls-ticket-keys ${keysPath} `));

    const credentials = await edge.pki.issueDevice("resuming-device");
    const device: DeviceTls = {
        ca: edge.pki.rootCertPem,
        cert: credentials.certificatePem,
        key: credentials.privateKeyPem,
        servername: edge.serverName,
    };
    const onA = (session?: Buffer) =>
        connectDevice(edge.host, edge.port, device, "resuming-device", session);

    const first = await onA();
    assert.equal(first.resumed, false, "the first connect is a full handshake");
    assert.ok(first.session, "HAProxy hands out a session ticket");
    assert.equal((await onA(first.session)).resumed, true, "resumes on the same HAProxy");

    const b = await edge.startPeer();
    const onB = (tls: DeviceTls, session?: Buffer) =>
        connectDevice(b.host, b.port, tls, "resuming-device", session);
    assert.equal((await onB(device, first.session)).resumed, true, "a ticket from A resumes on B");
    const tls12 = { ...device, maxVersion: "TLSv1.2" as const };
    const first12 = await connectDevice(edge.host, edge.port, tls12, "resuming-device");
    assert.equal((await onB(tls12, first12.session)).resumed, true, "TLS 1.2 tickets too");

    await edge.reload();
    const afterReload = await onA(first.session);
    assert.equal(afterReload.resumed, true, "resumes on A's new worker after a reload");

    // The rotation script on A's host, with the clock moved on by one and by three epochs.
    const seedPath = join(dirname(keysPath), "tls-ticket-seed");
    await writeFile(seedPath, `${seed}\n`, { mode: 0o600 });
    const script = join(dirname(keysPath), "tls-ticket-keys.sh");
    const statsSocketPath = edge.spec.process.statsSocketPath;
    await writeFile(
        script,
        renderTicketKeyScript({ seedPath, keysPath, statsSocketPath, periodSeconds }),
        { mode: 0o700 },
    );
    // The epoch the edge started in (the clock may have crossed a boundary since).
    const startKeys = await readFile(keysPath, "utf8");
    const now = Math.floor(Date.now() / 1000 / periodSeconds);
    const startEpoch = [now, now - 1].find(
        (epoch) => renderTicketKeysFile(seed, epoch * periodSeconds, periodSeconds) === startKeys,
    );
    assert.ok(startEpoch !== undefined, "the edge holds the keys derived from the seed");
    const epochStart = startEpoch * periodSeconds;
    const rotateTo = async (epochs: number) => {
        const at = epochStart + epochs * periodSeconds + periodSeconds / 2;
        await run(script, ["--now", String(at)]);
        const live = await edge.haproxy.runtime(`show tls-keys ${keysPath}`);
        const expected = renderTicketKeysFile(seed, at, periodSeconds).trim().split("\n");
        assert.deepEqual(
            live
                .split("\n")
                .filter((line) => /^\d+\.\d+ /.test(line))
                .map((line) => line.split(" ")[1]),
            expected,
            `HAProxy holds the keys of epoch +${epochs} after the script ran`,
        );
        assert.equal(await readFile(keysPath, "utf8"), `${expected.join("\n")}\n`);
    };
    await rotateTo(1);
    const nextEpoch = await onA(afterReload.session);
    assert.equal(nextEpoch.resumed, true, "one epoch later the ticket's key is still held");
    await rotateTo(3);
    const expired = await onA(nextEpoch.session);
    assert.equal(expired.resumed, false, "a ticket older than the window: full handshake");
    assert.equal((await onA(expired.session)).resumed, true, "and its new ticket resumes");
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
