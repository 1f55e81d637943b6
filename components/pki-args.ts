/**
 * Arguments of the Pki component and their checks. Everything here is plain data: the checks run
 * before the component registers anything, so a bad argument stops `pulumi up` with one line that
 * names the argument, the value and what is allowed.
 */
import type * as pulumi from "@pulumi/pulumi";

/**
 * Key algorithms we issue with. Never the tls provider's ECDSA default, P-224: it is no usual TLS
 * curve and many TLS stacks refuse it (shared/reference/facts-pulumi.md §1.1, from
 * hashicorp/terraform-provider-tls resource_private_key.go `Default: P224`).
 */
export const keyAlgorithms = [
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
    "ecdsa-p256",
    "ecdsa-p384",
] as const;

/** One of {@link keyAlgorithms}. */
export type KeyAlgorithm = (typeof keyAlgorithms)[number];

/** Who signs the HAProxy server certificate. */
export type ServerIssuer = "root" | "deviceCa";

/** Certificate lifetimes in hours. */
export interface PkiValidityHours {
    /** Root CA lifetime (default 262800 = 30 years, the seed's cfssl default expiry). */
    readonly root?: number;
    /** Device CA lifetime (default 87600 = 10 years); must be shorter than the root's. */
    readonly deviceCa?: number;
    /** Server certificate lifetime (default 8760 = 1 year); must be shorter than its issuer's. */
    readonly server?: number;
    /** Test device certificate lifetime (default 720 = 30 days); shorter than the device CA's. */
    readonly testDevice?: number;
}

/**
 * Rotation labels. Each is handed to Pulumi's `replacementTrigger` resource option: changing a
 * label (e.g. "2026-1" to "2027-1") replaces that resource and, through the tls provider's
 * replace-on-PEM-change rules, everything signed from it. See docs/pki.md for the cascade.
 */
export interface PkiRotation {
    /** New root key and root certificate (default "initial"). */
    readonly root?: string;
    /** New device CA key, so a new device CA certificate and new test device certificates. */
    readonly deviceCaKey?: string;
    /** New device CA certificate with the SAME key: device certificates stay valid. */
    readonly deviceCaCert?: string;
    /** New server keys and certificates. */
    readonly server?: string;
}

/** An existing CA chain (bring your own CA), e.g. one made with cfssl as the seed does. */
export interface ExistingCa {
    /** Root CA certificate, PEM: what devices trust and what HAProxy ends client chains at. */
    readonly rootCertPem: pulumi.Input<string>;
    /** Device CA (intermediate) certificate, PEM, signed by the root. */
    readonly deviceCaCertPem: pulumi.Input<string>;
    /** Device CA private key, PEM (PKCS#1, SEC1 or PKCS#8). Pass a Pulumi secret. */
    readonly deviceCaKeyPem: pulumi.Input<string>;
    /** Root CA private key, PEM; only needed to issue the server certificate from the root here. */
    readonly rootKeyPem?: pulumi.Input<string>;
    /** An existing server certificate, PEM (then no server certificate is issued here). */
    readonly serverCertPem?: pulumi.Input<string>;
    /** The private key of {@link serverCertPem}, PEM. Pass a Pulumi secret. */
    readonly serverKeyPem?: pulumi.Input<string>;
    /** CA certificates between {@link serverCertPem} and the root, PEM (none when root-issued). */
    readonly serverChainPem?: pulumi.Input<string>;
}

/** Arguments of the Pki component. */
export interface PkiArgs {
    /**
     * DNS names of the server certificate: the device-facing domain(s) and, on AWS, the NLB's DNS
     * name. Required and non-empty unless `existingCa.serverCertPem` is given. `*.` wildcards allowed.
     */
    readonly dnsNames?: pulumi.Input<string>[];
    /** Organization (O) of every subject we create (default "mqtt-edge"). */
    readonly organization?: string;
    /** Root CA common name (default "<name> Root CA"). */
    readonly rootCommonName?: string;
    /**
     * Device CA common name (default "<name> Device CA"). HAProxy pins client certificates to
     * this issuer CN, so keep it unique.
     */
    readonly deviceCaCommonName?: string;
    /** Root CA key algorithm (default "ecdsa-p384"). */
    readonly rootKeyAlgorithm?: KeyAlgorithm;
    /** Device CA key algorithm (default "ecdsa-p256": every device TLS stack has P-256). */
    readonly deviceCaKeyAlgorithm?: KeyAlgorithm;
    /**
     * Server certificates to issue, one per algorithm (default ["ecdsa-p256"]). At most one RSA and
     * one ECDSA: HAProxy serves ECDSA to clients that offer it and RSA to the others.
     */
    readonly serverKeyAlgorithms?: readonly KeyAlgorithm[];
    /**
     * Issuer of the server certificate (default "root", as the seed does). "deviceCa" is allowed
     * but then only the server_auth-only EKU keeps the server certificate from passing HAProxy's
     * client check, which pins the device CA's CN - see docs/pki.md.
     */
    readonly serverIssuer?: ServerIssuer;
    /** Number of test device certificates to issue from the device CA (default 0, at most 1000). */
    readonly testDeviceCount?: number;
    /** Key algorithm of the test devices (default "ecdsa-p256"). */
    readonly testDeviceKeyAlgorithm?: KeyAlgorithm;
    /** Test device common name prefix; device i gets "<prefix>-<i>" (default "<name>-test-device"). */
    readonly testDeviceCommonNamePrefix?: string;
    /** Certificate lifetimes in hours. */
    readonly validityHours?: PkiValidityHours;
    /** Rotation labels fed to `replacementTrigger`. */
    readonly rotation?: PkiRotation;
    /** Use this CA chain instead of generating root and device CA. */
    readonly existingCa?: ExistingCa;
}

/** PkiArgs with every default filled in and every check passed. */
export interface ResolvedPkiArgs {
    /** Server DNS names (empty when an existing server certificate is used). */
    readonly dnsNames: pulumi.Input<string>[];
    /** Organization of our subjects. */
    readonly organization: string;
    /** Root CA common name. */
    readonly rootCommonName: string;
    /** Device CA common name. */
    readonly deviceCaCommonName: string;
    /** Root key algorithm. */
    readonly rootKeyAlgorithm: KeyAlgorithm;
    /** Device CA key algorithm. */
    readonly deviceCaKeyAlgorithm: KeyAlgorithm;
    /** Server certificates to issue here (empty when an existing one is used). */
    readonly serverKeyAlgorithms: readonly KeyAlgorithm[];
    /** Issuer of the server certificates issued here. */
    readonly serverIssuer: ServerIssuer;
    /** Number of test devices. */
    readonly testDeviceCount: number;
    /** Test device key algorithm. */
    readonly testDeviceKeyAlgorithm: KeyAlgorithm;
    /** Test device common name prefix. */
    readonly testDeviceCommonNamePrefix: string;
    /** Lifetimes in hours. */
    readonly validityHours: Required<PkiValidityHours>;
    /** Rotation labels ("initial" when not given, so a first change really replaces). */
    readonly rotation: Required<PkiRotation>;
    /** The existing CA, if any. */
    readonly existingCa: ExistingCa | undefined;
}

const defaultValidityHours: Required<PkiValidityHours> = {
    root: 262_800,
    deviceCa: 87_600,
    server: 8_760,
    testDevice: 720,
};

/** Largest test device count: a test aid, not a way to provision a fleet. */
const maxTestDevices = 1000;

// RFC 1123 host names, plus one leading "*." wildcard label.
const dnsNamePattern =
    /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// X.520 ub-common-name (RFC 5280 Appendix A.1).
const maxCommonNameLength = 64;

function show(value: unknown): string {
    if (value === undefined) return "undefined";
    return JSON.stringify(value) ?? String(value);
}

/** Builds the one-line error every check throws. */
function argError(component: string, key: string, value: unknown, allowed: string): Error {
    return new Error(`Pki "${component}": ${key} is ${show(value)}; allowed: ${allowed}`);
}

function checkKeyAlgorithm(component: string, key: string, value: unknown): KeyAlgorithm {
    if (!(keyAlgorithms as readonly unknown[]).includes(value)) {
        throw argError(component, key, value, keyAlgorithms.join(", "));
    }
    return value as KeyAlgorithm;
}

function checkHours(component: string, key: string, value: unknown): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
        throw argError(component, key, value, "a whole number of hours, at least 1");
    }
    return value;
}

function checkName(component: string, key: string, value: unknown): string {
    if (typeof value !== "string" || value.trim() === "" || value.length > maxCommonNameLength) {
        throw argError(component, key, value, `1-${maxCommonNameLength} characters`);
    }
    if ([...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) {
        throw argError(component, key, value, "no control characters");
    }
    return value;
}

function checkRotation(component: string, key: string, value: unknown): string {
    if (value === undefined) return "initial";
    if (typeof value !== "string" || value.trim() === "") {
        throw argError(component, key, value, 'a non-empty label such as "2026-1"');
    }
    return value;
}

/** Checks one DNS name; used directly for plain values and inside `apply` for Outputs. */
export function checkDnsName(component: string, key: string, value: unknown): string {
    if (typeof value !== "string" || value.length > 253 || !dnsNamePattern.test(value)) {
        throw argError(
            component,
            key,
            value,
            "a DNS name such as mqtt.example.com or *.example.com",
        );
    }
    return value;
}

function isPresent<T>(value: T | undefined | null): value is T {
    return value !== undefined && value !== null;
}

/** Checks PkiArgs and fills in defaults; throws one line naming the first bad argument. */
export function resolvePkiArgs(component: string, args: PkiArgs): ResolvedPkiArgs {
    const existing = args.existingCa;
    if (isPresent(existing)) {
        for (const key of ["rootCertPem", "deviceCaCertPem", "deviceCaKeyPem"] as const) {
            if (!isPresent(existing[key]) || existing[key] === "") {
                throw argError(component, `existingCa.${key}`, existing[key], "a PEM string");
            }
        }
        if (isPresent(existing.serverCertPem) !== isPresent(existing.serverKeyPem)) {
            throw argError(
                component,
                "existingCa.serverKeyPem",
                isPresent(existing.serverKeyPem) ? "(set)" : undefined,
                "serverCertPem and serverKeyPem both set or both unset",
            );
        }
    }
    const usesExistingServer = isPresent(existing?.serverCertPem);

    const serverIssuer = args.serverIssuer ?? "root";
    if (serverIssuer !== "root" && serverIssuer !== "deviceCa") {
        throw argError(component, "serverIssuer", serverIssuer, "root, deviceCa");
    }
    if (isPresent(existing) && !usesExistingServer && serverIssuer === "root") {
        if (!isPresent(existing.rootKeyPem)) {
            throw argError(
                component,
                "existingCa.rootKeyPem",
                undefined,
                "the root key PEM to issue the server certificate from the root here, or " +
                    "existingCa.serverCertPem + serverKeyPem, or serverIssuer deviceCa",
            );
        }
    }

    let serverKeyAlgorithms: KeyAlgorithm[] = [];
    let dnsNames: pulumi.Input<string>[] = [];
    if (usesExistingServer) {
        if (isPresent(args.serverKeyAlgorithms)) {
            throw argError(
                component,
                "serverKeyAlgorithms",
                args.serverKeyAlgorithms,
                "unset when existingCa.serverCertPem is given",
            );
        }
    } else {
        const requested = args.serverKeyAlgorithms ?? ["ecdsa-p256"];
        if (!Array.isArray(requested) || requested.length === 0) {
            throw argError(component, "serverKeyAlgorithms", requested, "1 or 2 key algorithms");
        }
        serverKeyAlgorithms = requested.map((value, i) =>
            checkKeyAlgorithm(component, `serverKeyAlgorithms[${i}]`, value),
        );
        const families = serverKeyAlgorithms.map((a) => a.split("-")[0]);
        if (new Set(families).size !== families.length) {
            throw argError(
                component,
                "serverKeyAlgorithms",
                serverKeyAlgorithms,
                "at most one rsa-* and one ecdsa-* algorithm",
            );
        }
        const names = args.dnsNames;
        if (!Array.isArray(names) || names.length === 0) {
            throw argError(
                component,
                "dnsNames",
                names,
                "a non-empty list of DNS names for the server certificate",
            );
        }
        names.forEach((value, i) => {
            // Outputs are checked when they resolve (components/pki.ts).
            if (typeof value === "string") checkDnsName(component, `dnsNames[${i}]`, value);
        });
        dnsNames = names;
    }

    const testDeviceCount = args.testDeviceCount ?? 0;
    if (
        !Number.isInteger(testDeviceCount) ||
        testDeviceCount < 0 ||
        testDeviceCount > maxTestDevices
    ) {
        throw argError(component, "testDeviceCount", testDeviceCount, `0-${maxTestDevices}`);
    }

    const given = args.validityHours ?? {};
    const validityHours: Required<PkiValidityHours> = {
        root: checkHours(component, "validityHours.root", given.root ?? defaultValidityHours.root),
        deviceCa: checkHours(
            component,
            "validityHours.deviceCa",
            given.deviceCa ?? defaultValidityHours.deviceCa,
        ),
        server: checkHours(
            component,
            "validityHours.server",
            given.server ?? defaultValidityHours.server,
        ),
        testDevice: checkHours(
            component,
            "validityHours.testDevice",
            given.testDevice ?? defaultValidityHours.testDevice,
        ),
    };
    if (!isPresent(existing)) {
        // A certificate must not outlive its issuer; the child is created after the parent, so
        // an equal lifetime would already end a moment later.
        const issuerHours = serverIssuer === "root" ? validityHours.root : validityHours.deviceCa;
        const checks: [string, number, number, string][] = [
            ["validityHours.deviceCa", validityHours.deviceCa, validityHours.root, "root"],
            ["validityHours.server", validityHours.server, issuerHours, serverIssuer],
            [
                "validityHours.testDevice",
                validityHours.testDevice,
                validityHours.deviceCa,
                "deviceCa",
            ],
        ];
        for (const [key, hours, parentHours, parent] of checks) {
            if (hours >= parentHours) {
                throw argError(
                    component,
                    key,
                    hours,
                    `fewer hours than validityHours.${parent} (${parentHours})`,
                );
            }
        }
    }

    const rotation = args.rotation ?? {};
    if (isPresent(existing) && (isPresent(rotation.root) || isPresent(rotation.deviceCaKey))) {
        throw argError(
            component,
            isPresent(rotation.root) ? "rotation.root" : "rotation.deviceCaKey",
            rotation.root ?? rotation.deviceCaKey,
            "unset with existingCa (rotate the existing CA where it lives)",
        );
    }

    return {
        dnsNames,
        organization: checkName(component, "organization", args.organization ?? "mqtt-edge"),
        rootCommonName: checkName(
            component,
            "rootCommonName",
            args.rootCommonName ?? `${component} Root CA`,
        ),
        deviceCaCommonName: checkName(
            component,
            "deviceCaCommonName",
            args.deviceCaCommonName ?? `${component} Device CA`,
        ),
        rootKeyAlgorithm: checkKeyAlgorithm(
            component,
            "rootKeyAlgorithm",
            args.rootKeyAlgorithm ?? "ecdsa-p384",
        ),
        deviceCaKeyAlgorithm: checkKeyAlgorithm(
            component,
            "deviceCaKeyAlgorithm",
            args.deviceCaKeyAlgorithm ?? "ecdsa-p256",
        ),
        serverKeyAlgorithms,
        serverIssuer,
        testDeviceCount,
        testDeviceKeyAlgorithm: checkKeyAlgorithm(
            component,
            "testDeviceKeyAlgorithm",
            args.testDeviceKeyAlgorithm ?? "ecdsa-p256",
        ),
        testDeviceCommonNamePrefix: checkName(
            component,
            "testDeviceCommonNamePrefix",
            args.testDeviceCommonNamePrefix ?? `${component}-test-device`,
        ),
        validityHours,
        rotation: {
            root: checkRotation(component, "rotation.root", rotation.root),
            deviceCaKey: checkRotation(component, "rotation.deviceCaKey", rotation.deviceCaKey),
            deviceCaCert: checkRotation(component, "rotation.deviceCaCert", rotation.deviceCaCert),
            server: checkRotation(component, "rotation.server", rotation.server),
        },
        existingCa: existing ?? undefined,
    };
}

/** The tls.PrivateKey arguments for one of our key algorithms. */
export function privateKeyArgs(algorithm: KeyAlgorithm): {
    algorithm: "RSA" | "ECDSA";
    rsaBits?: number;
    ecdsaCurve?: "P256" | "P384";
} {
    switch (algorithm) {
        case "rsa-2048":
            return { algorithm: "RSA", rsaBits: 2048 };
        case "rsa-3072":
            return { algorithm: "RSA", rsaBits: 3072 };
        case "rsa-4096":
            return { algorithm: "RSA", rsaBits: 4096 };
        case "ecdsa-p256":
            return { algorithm: "ECDSA", ecdsaCurve: "P256" };
        case "ecdsa-p384":
            return { algorithm: "ECDSA", ecdsaCurve: "P384" };
    }
}
