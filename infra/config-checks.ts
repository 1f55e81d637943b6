/**
 * Rules of the stack configuration that involve more than one key. Each failure names the key to
 * change, its value and what is allowed.
 */
import type { EdgeConfig } from "./config.ts";
import { fail } from "./config-errors.ts";

/** Rules that involve more than one key. Each names the key to change. */
export function checkCrossFields(c: EdgeConfig): void {
    const { haproxy, mqtt, nlb, emqx, pki } = c;
    if (c.loadGenerators !== undefined && c.target !== "aws") {
        fail(
            "loadGenerators",
            c.loadGenerators,
            `is only for target aws (this stack's target is ${c.target}); a local load test runs with npm run loadtest -- --local`,
        );
    }
    // EMQX closes a silent client after keepalive x 1.5 (mqtt.keepalive_multiplier, emqx_schema.erl@v5.8.9);
    // an idle timeout on the path shorter than that cuts healthy devices that are between PINGREQs.
    const keepaliveWindow = Math.ceil(mqtt.keepaliveSeconds * 1.5);
    for (const key of ["clientTimeoutSeconds", "serverTimeoutSeconds"] as const) {
        if (haproxy[key] <= keepaliveWindow) {
            fail(
                `haproxy.${key}`,
                haproxy[key],
                `must exceed 1.5 x mqtt.keepaliveSeconds (${mqtt.keepaliveSeconds}), i.e. be at least ${keepaliveWindow + 1}`,
            );
        }
    }
    // A device learns that its HAProxy is gone only when its keepalive window passes; its ticket
    // must still be valid then, or the reconnect storm after an instance loss is all full handshakes.
    if (haproxy.tlsSessionLifetimeSeconds <= keepaliveWindow) {
        fail(
            "haproxy.tlsSessionLifetimeSeconds",
            haproxy.tlsSessionLifetimeSeconds,
            `must exceed 1.5 x mqtt.keepaliveSeconds (${mqtt.keepaliveSeconds}), i.e. be at least ${keepaliveWindow + 1}`,
        );
    }
    const longestHaproxyTimeout = Math.max(
        haproxy.clientTimeoutSeconds,
        haproxy.serverTimeoutSeconds,
    );
    if (c.target === "aws" && nlb.idleTimeoutSeconds <= longestHaproxyTimeout) {
        fail(
            "nlb.idleTimeoutSeconds",
            nlb.idleTimeoutSeconds,
            `must exceed the HAProxy client/server timeout (${longestHaproxyTimeout}), or the NLB resets sessions HAProxy still holds`,
        );
    }
    if (haproxy.minInstances !== undefined && haproxy.minInstances > haproxy.instances) {
        fail(
            "haproxy.minInstances",
            haproxy.minInstances,
            `must not exceed haproxy.instances (${haproxy.instances})`,
        );
    }
    if (haproxy.maxInstances !== undefined && haproxy.maxInstances < haproxy.instances) {
        fail(
            "haproxy.maxInstances",
            haproxy.maxInstances,
            `must be at least haproxy.instances (${haproxy.instances})`,
        );
    }
    const checkpoints = haproxy.refreshCheckpointPercentages;
    if (
        checkpoints.some((value, i) => i > 0 && value <= (checkpoints[i - 1] as number)) ||
        (checkpoints.length > 0 && checkpoints.at(-1) !== 100)
    ) {
        fail(
            "haproxy.refreshCheckpointPercentages",
            checkpoints,
            "must be ascending and end with 100, or be []",
        );
    }
    if (emqx.refreshNode !== undefined && emqx.refreshNode > emqx.nodes) {
        fail(
            "emqx.refreshNode",
            emqx.refreshNode,
            `must be a node index from 1 to emqx.nodes (${emqx.nodes})`,
        );
    }
    if (haproxy.frontendMaxconn > haproxy.maxconn) {
        fail(
            "haproxy.frontendMaxconn",
            haproxy.frontendMaxconn,
            `must not exceed haproxy.maxconn (${haproxy.maxconn})`,
        );
    }
    if (haproxy.serverMaxconn > haproxy.frontendMaxconn) {
        fail(
            "haproxy.serverMaxconn",
            haproxy.serverMaxconn,
            `must not exceed the frontend maxconn (${haproxy.frontendMaxconn})`,
        );
    }
    // Checks that depend on the EMQX listener ports are in config-capacity-checks.ts.
    if (haproxy.checkDownIntervalSeconds > haproxy.checkIntervalSeconds) {
        fail(
            "haproxy.checkDownIntervalSeconds",
            haproxy.checkDownIntervalSeconds,
            `must not exceed haproxy.checkIntervalSeconds (${haproxy.checkIntervalSeconds})`,
        );
    }
    const ports = new Map<number, string>();
    for (const [key, port] of [
        ["nlb.devicePort", nlb.devicePort],
        ["haproxy.healthPort", haproxy.healthPort],
        ["haproxy.metricsPort", haproxy.metricsPort],
    ] as const) {
        const other = ports.get(port);
        if (other) fail(key, port, `must differ from ${other} (${port})`);
        ports.set(port, key);
    }
    if (compareVersions(emqx.version, "5.9.0") >= 0 && emqx.nodes > 1 && !c.emqxLicenseKey) {
        fail(
            "emqx.version",
            emqx.version,
            "needs mqtt-edge:emqxLicenseKey for more than one node (EMQX 5.9+ is BSL and licenses clustering); use 5.8.x or set the key",
        );
    }
    if (pki.intermediateCommonName === pki.rootCommonName) {
        fail(
            "pki.intermediateCommonName",
            pki.intermediateCommonName,
            "must differ from pki.rootCommonName, or HAProxy's issuer pinning would admit root-issued certificates",
        );
    }
    if (pki.intermediateValidityHours > pki.rootValidityHours) {
        fail(
            "pki.intermediateValidityHours",
            pki.intermediateValidityHours,
            `must not exceed pki.rootValidityHours (${pki.rootValidityHours})`,
        );
    }
    const ecdsa = pki.serverKeyAlgorithms.filter((a) => a.startsWith("ecdsa")).length;
    if (ecdsa > 1 || pki.serverKeyAlgorithms.length - ecdsa > 1) {
        fail(
            "pki.serverKeyAlgorithms",
            pki.serverKeyAlgorithms,
            "must name at most one ECDSA and at most one RSA algorithm",
        );
    }
    const zones = c.network.availabilityZones;
    if (zones && new Set(zones).size !== zones.length) {
        fail("network.availabilityZones", zones, "must not repeat a zone");
    }
}
/** Compares dotted numeric versions: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}
