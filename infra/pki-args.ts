/**
 * The Pki component's arguments from the stack configuration: generated chain by default, or the
 * operator's own CA (caRootCertPem, caDeviceCertPem, caDeviceKeyPem[, caRootKeyPem]). The
 * configuration has already checked that chain (infra/config-existing-ca.ts); the component
 * checks it again, as it does for any caller.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { PkiArgs } from "../components/pki.ts";
import type { StackConfig } from "./stack-config.ts";

export function edgePkiArgs(
    config: StackConfig["config"],
    secrets: StackConfig["secrets"],
    extraDnsNames: pulumi.Input<string>[],
): PkiArgs {
    const pki = config.pki;
    const existingCa =
        config.caRootCertPem && config.caDeviceCertPem && secrets.caDeviceKeyPem
            ? {
                  rootCertPem: config.caRootCertPem,
                  deviceCaCertPem: config.caDeviceCertPem,
                  deviceCaKeyPem: secrets.caDeviceKeyPem,
                  ...(secrets.caRootKeyPem ? { rootKeyPem: secrets.caRootKeyPem } : {}),
              }
            : undefined;
    return {
        dnsNames: [...config.deviceDomains, ...extraDnsNames],
        organization: pki.organization,
        rootCommonName: pki.rootCommonName,
        deviceCaCommonName: pki.intermediateCommonName,
        rootKeyAlgorithm: pki.caKeyAlgorithm,
        deviceCaKeyAlgorithm: pki.caKeyAlgorithm,
        serverKeyAlgorithms: pki.serverKeyAlgorithms,
        testDeviceCount: pki.testDevices,
        testDeviceCommonNamePrefix: "test-device",
        validityHours: {
            root: pki.rootValidityHours,
            deviceCa: pki.intermediateValidityHours,
            server: pki.serverValidityHours,
        },
        // An existing CA is rotated where it lives; only the server certificate is ours to roll.
        rotation: existingCa ? { server: pki.rotation.server } : pki.rotation,
        // Without the root key the server certificate can only come from the device CA; its
        // serverAuth-only EKU keeps it from passing as a device (docs/pki.md, "Who signs").
        ...(existingCa && !existingCa.rootKeyPem ? { serverIssuer: "deviceCa" as const } : {}),
        ...(existingCa ? { existingCa } : {}),
    };
}
