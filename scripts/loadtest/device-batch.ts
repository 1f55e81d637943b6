/**
 * One distinct certificate per simulated device, issued in batch from the stack's device
 * intermediate with the project's own issuer (pki/issue.ts). Distinct, because EMQX derives the
 * client id from the CN (peer_cert_as_clientid = cn): a fleet sharing one certificate would kick
 * itself out connection by connection. Issued once per run and reused by every phase of it (a
 * reconnect presents the same certificate, as a real device does).
 */
import type { IssuingCa } from "../../pki/ca.ts";
import { commonNameProblem } from "../../pki/common-name.ts";
import { issueDeviceCertificate } from "../../pki/issue.ts";
import type { DeviceCredential } from "./generator/device-session.ts";

/** A run's devices and, for steady-publish, one subscriber per generator. */
export interface DeviceBatch {
    /** One per device, device n at index n. */
    readonly devices: readonly DeviceCredential[];
    /** Subscribers (CNs no device has), one per generator. */
    readonly subscribers: readonly DeviceCredential[];
}

/** Certificates live as long as a load test may (the janitor's longest TTL is a week). */
const VALIDITY_DAYS = 8;
/** Signings in flight at once: enough to keep the thread pool busy, few enough to stay small. */
const CONCURRENCY = 8;

/** The CN of device `n` (0-based) of run `runId`: `lt-<runId>-d000001`. */
export function deviceCommonName(runId: string, n: number): string {
    return `lt-${runId}-d${String(n + 1).padStart(6, "0")}`;
}

/** The CN of generator `g`'s subscriber. */
export function subscriberCommonName(runId: string, g: number): string {
    return `lt-${runId}-s${String(g + 1).padStart(3, "0")}`;
}

/**
 * Issues `count` device certificates (and `subscribers` more) from `ca`, P-256 keys. Each
 * certificate PEM carries the intermediate after it, so HAProxy, which trusts the root and the
 * intermediate by file, gets the whole chain from the device too.
 */
export async function issueDeviceBatch(
    ca: IssuingCa,
    runId: string,
    count: number,
    subscribers: number,
    onProgress?: (issued: number, total: number) => void,
): Promise<DeviceBatch> {
    const problem = commonNameProblem(deviceCommonName(runId, count));
    if (problem !== undefined) {
        throw new Error(
            `run id ${JSON.stringify(runId)} makes device names that are not valid CNs (${problem})`,
        );
    }
    const names = [
        ...Array.from({ length: count }, (_, n) => deviceCommonName(runId, n)),
        ...Array.from({ length: subscribers }, (_, g) => subscriberCommonName(runId, g)),
    ];
    const issued: DeviceCredential[] = new Array(names.length);
    const now = new Date();
    let next = 0;
    let done = 0;
    const worker = async () => {
        while (next < names.length) {
            const index = next++;
            const commonName = names[index] as string;
            const certificate = await issueDeviceCertificate(ca, {
                commonName,
                validityDays: VALIDITY_DAYS,
                keySpec: { algorithm: "ecdsa", curve: "P-256" },
                now,
            });
            issued[index] = {
                commonName,
                certificatePem: certificate.certificatePem + ca.certificatePem,
                privateKeyPem: certificate.privateKeyPem,
            };
            done += 1;
            if (done % 500 === 0 || done === names.length) onProgress?.(done, names.length);
        }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return { devices: issued.slice(0, count), subscribers: issued.slice(count) };
}
