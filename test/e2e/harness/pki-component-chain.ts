/**
 * The edge's trust chain as the stack makes it: the Pki component (components/pki.ts) run under
 * Pulumi mocks with the project's tls fake (test/support/tls-fake.ts), which makes real keys and
 * real X.509 following the tls provider's documented behaviour. The e2e tier then runs HAProxy
 * with exactly the root, device CA, device CA CN and server certificate the component outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { composeMocks } from "../../support/pulumi-mocks.ts";
import { createTlsFake } from "../../support/tls-fake.ts";

/** What the component outputs and HAProxy, devices and CRLs need. All PEM. */
export interface PkiComponentChain {
    /** Root CA certificate. */
    rootCertPem: string;
    /** Root CA key (signs the root CRL). Secret. */
    rootKeyPem: string;
    /** Device CA (intermediate) certificate. */
    deviceCaCertPem: string;
    /** Device CA key (signs device certificates and the device CA CRL). Secret. */
    deviceCaKeyPem: string;
    /** Device CA subject CN: what the rendered config pins as the only device issuer. */
    deviceCaCommonName: string;
    /** HAProxy `crt` file content: server certificate chain then key. Secret. */
    serverHaproxyPem: string;
}

let mocksReady: Promise<void> | undefined;

function settle<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/**
 * Builds a Pki component named `name` whose server certificate carries `dnsNames`. Mocks are set
 * once per process (each test file runs in its own process).
 */
export async function pkiComponentChain(
    name: string,
    dnsNames: string[],
): Promise<PkiComponentChain> {
    mocksReady ??= pulumi.runtime.setMocks(
        composeMocks([createTlsFake()]),
        "mqtt-edge",
        "e2e",
        false,
    );
    await mocksReady;
    // Imported after setMocks, as the component must see the mocked runtime.
    const { Pki } = await import("../../../components/pki.ts");
    const pki = new Pki(name, { dnsNames, serverKeyAlgorithms: ["ecdsa-p256"] });
    const [server] = pki.serverCertificates;
    if (server === undefined || pki.rootKeyPem === undefined) {
        throw new Error("the Pki component made no server certificate or root key");
    }
    return {
        rootCertPem: await settle(pki.rootCertPem),
        rootKeyPem: await settle(pki.rootKeyPem),
        deviceCaCertPem: await settle(pki.deviceCaCertPem),
        deviceCaKeyPem: await settle(pki.deviceCaKeyPem),
        deviceCaCommonName: await settle(pki.deviceCaCommonName),
        serverHaproxyPem: await settle(server.haproxyPem),
    };
}
