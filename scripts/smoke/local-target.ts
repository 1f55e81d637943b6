/**
 * `npm run smoke -- --local`: the same checks against a committed stack's own haproxy.cfg in a
 * real HAProxy on loopback, in front of PROXY-v2 broker stand-ins (local-edge/), with a local
 * trust chain of the stack's key algorithms. Proves the rendered config admits and refuses the
 * right devices without any cloud; it cannot prove anything about a deployed stack.
 */
import { LocalEdge } from "../../local-edge/local-edge.ts";
import { foreignCaCredentials } from "./refused-credentials.ts";
import { runSmokeChecks, type SmokeCheckResult, type SmokeTarget } from "./smoke-checks.ts";

/** The smoke target a running local edge presents: its endpoint, its root, fresh devices. */
export async function smokeTargetForLocalEdge(edge: LocalEdge): Promise<SmokeTarget> {
    const device = await edge.pki.issueDevice("mqtt-edge-smoke-device");
    const rootLeaf = await edge.pki.issueRootLeaf("mqtt-edge-smoke-root-leaf");
    return {
        host: edge.host,
        port: edge.port,
        serverName: edge.serverName,
        // The server certificates chain to the local root, as they chain to the stack's root.
        trustBundlePem: edge.pki.rootCertPem,
        device: {
            commonName: device.commonName,
            certificatePem: device.certificatePem,
            privateKeyPem: device.privateKeyPem,
        },
        foreignDevice: await foreignCaCredentials(),
        rootIssuedLeaf: {
            certificatePem: rootLeaf.certificatePem,
            privateKeyPem: rootLeaf.privateKeyPem,
        },
    };
}

/** Starts the stack's local edge, runs every check, and always ends the edge again. */
export async function runLocalSmoke(
    stack: string,
): Promise<{ where: string; results: SmokeCheckResult[] }> {
    const edge = await LocalEdge.start({ stack });
    try {
        const results = await runSmokeChecks(await smokeTargetForLocalEdge(edge));
        return { where: `${stack}'s haproxy.cfg on ${edge.host}:${edge.port} (local)`, results };
    } finally {
        await edge.close();
    }
}
