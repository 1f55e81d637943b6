/**
 * A deployed stack as a smoke target, from the JSON `pulumi stack output --show-secrets --json`
 * prints: the endpoint, the name its certificate carries, the trust bundle, a test device and,
 * when exported, the root key for the root-issued-leaf refusal. Works for both targets: AWS
 * exports `deviceEndpoint` as `<nlb name>:<port>` (the NLB name is in the server SANs), Docker as
 * `127.0.0.1:<docker.devicePort>` with `deviceServerName` beside it.
 */
import { loadIssuingCa } from "../../pki/ca.ts";
import { PkiInputError } from "../../pki/input-error.ts";
import { issueDeviceCertificate } from "../../pki/issue.ts";
import { defaultDeviceKeySpec } from "../../pki/keys.ts";
import { type StackOutputs, stackOutputPem } from "../../pki/stack-outputs.ts";
import { foreignCaCredentials, rootIssuedCredentials } from "./refused-credentials.ts";
import type { SmokeTarget } from "./smoke-checks.ts";

/** `host:port` of `deviceEndpoint`; a one-line error naming the output otherwise. */
export function parseDeviceEndpoint(
    outputs: StackOutputs,
    source: string,
): { host: string; port: number } {
    const value = outputs.deviceEndpoint;
    const match = typeof value === "string" ? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value) : null;
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65_535) {
        throw new PkiInputError(
            `--stack-outputs ${source}: output deviceEndpoint is ${value === undefined ? "missing" : JSON.stringify(value)}; allowed: "<host>:<port>" as the mqtt-edge program exports it`,
        );
    }
    return { host: match[1] as string, port };
}

interface TestDeviceOutput {
    commonName: string;
    certPem: string;
    keyPem: string;
}

function firstTestDevice(outputs: StackOutputs): TestDeviceOutput | undefined {
    const devices = outputs.testDevices;
    if (!Array.isArray(devices)) return undefined;
    return devices.find(
        (d): d is TestDeviceOutput =>
            typeof d === "object" &&
            d !== null &&
            typeof d.commonName === "string" &&
            typeof d.certPem === "string" &&
            typeof d.keyPem === "string" &&
            d.keyPem.includes("-----BEGIN "),
    );
}

/** Builds the target; issues a device certificate from the intermediate when no test device is exported. */
export async function smokeTargetFromOutputs(
    outputs: StackOutputs,
    source: string,
): Promise<SmokeTarget> {
    const { host, port } = parseDeviceEndpoint(outputs, source);
    const serverName =
        typeof outputs.deviceServerName === "string" ? outputs.deviceServerName : host;
    const trustBundle = outputs.deviceTrustBundlePem;
    if (typeof trustBundle !== "string" || !trustBundle.includes("-----BEGIN CERTIFICATE-----")) {
        throw new PkiInputError(
            `--stack-outputs ${source}: output deviceTrustBundlePem is missing or not PEM; allowed: the PEM the mqtt-edge program exports`,
        );
    }
    const exported = firstTestDevice(outputs);
    const device = exported
        ? {
              commonName: exported.commonName,
              certificatePem: exported.certPem,
              privateKeyPem: exported.keyPem,
          }
        : await deviceFromIntermediate(outputs, source);
    const rootKey = outputs.rootKeyPem;
    const rootIssuedLeaf =
        typeof rootKey === "string" && rootKey.includes("-----BEGIN ")
            ? await rootIssuedCredentials(stackOutputPem(outputs, "rootCertPem", source), rootKey)
            : undefined;
    return {
        host,
        port,
        serverName,
        trustBundlePem: trustBundle,
        device,
        foreignDevice: await foreignCaCredentials(),
        ...(rootIssuedLeaf ? { rootIssuedLeaf } : {}),
    };
}

async function deviceFromIntermediate(outputs: StackOutputs, source: string) {
    if (outputs.intermediateKeyPem === undefined) {
        throw new PkiInputError(
            `--stack-outputs ${source}: no testDevices with keys and no intermediateKeyPem; allowed: outputs from pulumi stack output --show-secrets --json of a stack with pki.testDevices >= 1`,
        );
    }
    const ca = await loadIssuingCa(
        stackOutputPem(outputs, "intermediateCertPem", source),
        stackOutputPem(outputs, "intermediateKeyPem", source),
        { certificate: "intermediateCertPem", privateKey: "intermediateKeyPem" },
        "certificates",
    );
    const issued = await issueDeviceCertificate(ca, {
        commonName: "mqtt-edge-smoke-device",
        validityDays: 1,
        keySpec: defaultDeviceKeySpec,
    });
    return {
        commonName: issued.commonName,
        certificatePem: issued.certificatePem,
        privateKeyPem: issued.privateKeyPem,
    };
}
