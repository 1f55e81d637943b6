/**
 * Crls: the CRL file HAProxy's `crl-file` needs (root and device intermediate, concatenated),
 * built by `scripts/crl.ts` from the stack's reviewed revocation list. The root's CRL is signed
 * with the root key, or, for a bring-your-own root whose key stays with its owner, is the CRL
 * that owner issued (`rootCrlPem`), checked and passed through.
 *
 * It runs as a @pulumi/command local command so the CRL changes only when what it says changes:
 * the revocation list, the CA certificates, or the refresh window (pki/crl.ts `crlWindow`: a new
 * window every 20 days, each CRL valid 30). ECDSA signatures are randomised, so signing on every
 * `pulumi up` would hand HAProxy a new file, and a reload, each time. Inputs other than `triggers`
 * change in place and re-run `create` (facts-pulumi.md §7, pulumi-command commandController.go).
 * A `pulumi up` at least once per window keeps the CRLs fresh; `npm run crl -- --check` tells.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link Crls}. */
export interface CrlsArgs {
    /** Stack name: the list is `revocations/<stack>.json` (a missing file means none revoked). */
    readonly stack: string;
    /** Text of that file as the program read it, so an edit re-runs the build. */
    readonly revocationsText: string;
    /** Start of the current refresh window (ISO), from pki/crl.ts `crlWindow(now)`. */
    readonly windowStart: string;
    /** Root CA certificate. */
    readonly rootCertPem: pulumi.Input<string>;
    /**
     * Root CA key (secret), to sign the root's CRL: HAProxy needs a CRL from the root too, or it
     * refuses every device. Exactly one of this and {@link rootCrlPem}.
     */
    readonly rootKeyPem?: pulumi.Input<string>;
    /**
     * The root's CRL as its CA issued it (PEM, public), when the stack does not hold the root
     * key: it goes into the file next to the intermediate's. Changing it re-runs the build and
     * changes only the file's content. Exactly one of this and {@link rootKeyPem}.
     */
    readonly rootCrlPem?: string;
    /** Device intermediate certificate. */
    readonly deviceCaCertPem: pulumi.Input<string>;
    /** Device intermediate key (secret). */
    readonly deviceCaKeyPem: pulumi.Input<string>;
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export class Crls extends pulumi.ComponentResource {
    /** The concatenated PEM CRLs (public data). */
    public readonly pem: pulumi.Output<string>;

    constructor(name: string, args: CrlsArgs, opts?: pulumi.ComponentResourceOptions) {
        if (!STACK_NAME.test(args.stack)) {
            throw new Error(
                `Crls ${name}: stack ${JSON.stringify(args.stack)} is not allowed; use a Pulumi stack name (letters, digits, '.', '_', '-')`,
            );
        }
        if ((args.rootKeyPem === undefined) === (args.rootCrlPem === undefined)) {
            throw new Error(
                `Crls ${name}: rootKeyPem and rootCrlPem ${args.rootKeyPem === undefined ? "both missing" : "both given"}; allowed: exactly one (the root key signs its CRL here, or its CA's CRL is supplied)`,
            );
        }
        super("mqtt-edge:pki:Crls", name, {}, opts);
        // The CA material travels on stdin as the JSON `pulumi stack output --json` would give
        // (pki/stack-outputs.ts), never on the command line or in the environment.
        const stdin = pulumi.secret(
            pulumi
                .all([args.rootCertPem, args.rootKeyPem, args.deviceCaCertPem, args.deviceCaKeyPem])
                .apply(([rootCertPem, rootKeyPem, intermediateCertPem, intermediateKeyPem]) =>
                    JSON.stringify({
                        rootCertPem,
                        ...(rootKeyPem !== undefined ? { rootKeyPem } : {}),
                        ...(args.rootCrlPem !== undefined ? { rootCrlPem: args.rootCrlPem } : {}),
                        intermediateCertPem,
                        intermediateKeyPem,
                    }),
                ),
        );
        const inputsHash = pulumi
            .all([args.rootCertPem, args.deviceCaCertPem])
            .apply(([root, deviceCa]) =>
                createHash("sha256")
                    .update(
                        [
                            args.revocationsText,
                            args.windowStart,
                            root,
                            deviceCa,
                            args.rootCrlPem ?? "",
                        ].join("\0"),
                    )
                    .digest("hex"),
            );
        const build = new command.local.Command(
            `${name}-build`,
            {
                create: `node scripts/crl.ts --stack ${args.stack} --stack-outputs - --out -`,
                stdin,
                environment: { MQTT_EDGE_CRL_INPUTS: inputsHash },
                addPreviousOutputInEnv: false,
                logging: "stderr",
            },
            { parent: this },
        );
        this.pem = build.stdout;
        this.registerOutputs({ pem: this.pem });
    }
}
