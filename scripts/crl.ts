/**
 * Builds the CRL file HAProxy's `crl-file` needs - one CRL per CA in the chain, root AND
 * intermediate, concatenated - from a stack's revocation list; or checks how long an existing
 * one has left (for a cron or CI job). See docs/revocation.md.
 *
 *   npm run crl -- --stack dev --root-cert CaRoot.pem --root-key CaRoot-key.pem \
 *       --intermediate-cert CaIntermediate.pem --intermediate-key CaIntermediate-key.pem --out crl.pem
 *   pulumi stack output --show-secrets --json | npm run crl -- --stack dev --stack-outputs - --out crl.pem
 *   npm run crl -- --stack dev --root-cert CaRoot.pem --root-crl CaRoot.crl.pem \
 *       --intermediate-cert CaIntermediate.pem --intermediate-key CaIntermediate-key.pem --out crl.pem
 *   npm run crl -- --check crl.pem          # exit 1 when a CRL has under --refresh-days left
 *
 * With `--root-crl` (a bring-your-own root whose key stays with its owner) the root's CRL is the one
 * supplied, checked (pki/supplied-root-crl.ts) and passed through; only the intermediate's is signed.
 *
 * Dates follow the refresh policy in pki/crl.ts (valid 30 days, reissued with 10 left, on a
 * fixed 20-day grid), so rebuilding inside one window gives the same dates and CRL numbers.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
    assertSignedBy,
    type IssuingCa,
    loadIssuingCa,
    parseCertificatePem,
    subjectKeyIdOf,
} from "../pki/ca.ts";
import {
    cliHelp,
    type FlagSpec,
    integerFlag,
    type ParsedFlags,
    parseFlags,
    runCli,
    stringFlag,
} from "../pki/cli-flags.ts";
import {
    buildCrl,
    type CrlPolicy,
    checkCrlPolicy,
    crlDaysLeft,
    crlNumberFor,
    crlThisUpdate,
    crlWindow,
    defaultCrlPolicy,
    parseCrlPems,
} from "../pki/crl.ts";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";
import { readInputFile } from "../pki/input-file.ts";
import {
    emptyRevocationFile,
    parseRevocationFile,
    type RevocationFile,
} from "../pki/revocations.ts";
import {
    parseStackOutputs,
    type StackOutputName,
    stackOutputNames,
    stackOutputPem,
} from "../pki/stack-outputs.ts";
import {
    checkSuppliedRootCrl,
    type SuppliedRootCrl,
    SuppliedRootCrlError,
} from "../pki/supplied-root-crl.ts";
import { checkOutputFile } from "./output-path.ts";

const defaultRevocationsDir = fileURLToPath(new URL("../revocations/", import.meta.url));

const flagSpecs: Record<string, FlagSpec> = {
    stack: {
        type: "string",
        help: "<name>  read <dir>/<name>.json (a missing file means nothing revoked)",
    },
    revocations: { type: "string", help: "<file>  instead of --stack: the revocation file" },
    dir: {
        type: "string",
        help: "<dir>  revocation files folder (default: the repository's revocations/)",
    },
    "root-cert": { type: "string", help: "<pem>  root CA certificate" },
    "root-key": { type: "string", help: "<pem>  root CA private key" },
    "root-crl": {
        type: "string",
        help: "<pem>  instead of --root-key: the root's current CRL as its CA issued it (checked, then passed through)",
    },
    "intermediate-cert": {
        type: "string",
        help: "<pem>  intermediate (device-issuing) CA certificate",
    },
    "intermediate-key": { type: "string", help: "<pem>  intermediate CA private key" },
    "stack-outputs": {
        type: "string",
        help: "<file|->  instead of the CA files: `pulumi stack output --show-secrets --json` (rootKeyPem, or rootCrlPem for a root CRL supplied in the stack)",
    },
    out: {
        type: "string",
        help: "<file|->  write the concatenated PEM CRLs here (mode 0644: CRLs are public), or - for stdout",
    },
    check: {
        type: "string",
        help: "<crl.pem>  print days left per CRL; exit 1 if any is under --refresh-days",
    },
    "valid-days": {
        type: "string",
        help: `<n>  CRL validity (default ${defaultCrlPolicy.validityDays})`,
    },
    "refresh-days": {
        type: "string",
        help: `<n>  reissue when fewer days remain (default ${defaultCrlPolicy.refreshBeforeDays})`,
    },
    now: { type: "string", help: "<ISO time>  pretend it is this time (dry runs and tests)" },
    help: { type: "boolean", help: "show this help" },
};

function policyFrom(flags: ParsedFlags): CrlPolicy {
    const policy = {
        validityDays: integerFlag(flags, "valid-days", defaultCrlPolicy.validityDays, 1, 366),
        refreshBeforeDays: integerFlag(
            flags,
            "refresh-days",
            defaultCrlPolicy.refreshBeforeDays,
            0,
            365,
        ),
    };
    checkCrlPolicy(policy);
    return policy;
}

function nowFrom(flags: ParsedFlags): Date {
    const raw = stringFlag(flags, "now");
    if (raw === undefined) return new Date();
    const parsed = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(raw)
        ? new Date(raw)
        : new Date(Number.NaN);
    if (Number.isNaN(parsed.getTime())) {
        throw new PkiInputError(
            `--now ${quoteValue(raw)}: not an ISO 8601 UTC time; allowed: e.g. 2026-11-29T00:00:00Z`,
        );
    }
    return parsed;
}

/** `--check`: one line per CRL, exit 1 when any is due (or past due). */
function check(path: string, flags: ParsedFlags): number {
    for (const flag of [
        "stack",
        "revocations",
        "out",
        "stack-outputs",
        "root-cert",
        "root-key",
        "root-crl",
        "intermediate-cert",
        "intermediate-key",
    ]) {
        if (flags[flag] !== undefined) {
            throw new PkiInputError(
                `--${flag} with --check: not used when checking; allowed: --check <crl.pem> [--refresh-days <n>] [--now <time>]`,
            );
        }
    }
    const policy = policyFrom(flags);
    const now = nowFrom(flags);
    let due = 0;
    for (const crl of parseCrlPems(readInputFile("--check", path), `--check ${path}`)) {
        const daysLeft = crlDaysLeft(crl, now);
        const state =
            daysLeft <= 0 ? "EXPIRED" : daysLeft < policy.refreshBeforeDays ? "DUE" : "ok";
        if (state !== "ok") due++;
        process.stdout.write(
            `${state} ${crl.issuer}: nextUpdate ${crl.nextUpdate?.toISOString() ?? "none"}, ${daysLeft.toFixed(1)} days left (reissue under ${policy.refreshBeforeDays}), ${crl.revokedCount} revoked\n`,
        );
    }
    if (due > 0) {
        process.stderr.write(
            `crl: ${due} CRL(s) in ${path} need reissuing: run \`pulumi up\` (it rebuilds the CRLs the stack signs with npm run crl and the hosts swap the file in through the runtime API, no reload); a root CRL supplied as mqtt-edge:caRootCrlPem is not signed here: get a newer one from the root's CA and \`pulumi config set mqtt-edge:caRootCrlPem < root.crl.pem\` first (docs/revocation.md)\n`,
        );
        return 1;
    }
    return 0;
}

/** The root's side of the CRL file: its key (we sign its CRL) or its CRL as supplied. */
type RootCrlSource =
    | { kind: "key"; key: string; source: string }
    | { kind: "crl"; crl: string; source: string };

interface ChainPems {
    root: { cert: string; certSource: string; crl: RootCrlSource };
    intermediate: {
        cert: string;
        key: string;
        sources: { certificate: string; privateKey: string };
    };
}

function chainPemsFrom(flags: ParsedFlags): ChainPems {
    const fileFlags = [
        "root-cert",
        "root-key",
        "root-crl",
        "intermediate-cert",
        "intermediate-key",
    ] as const;
    const stackOutputs = stringFlag(flags, "stack-outputs");
    if (stackOutputs !== undefined) {
        const conflicting = fileFlags.find((flag) => flags[flag] !== undefined);
        if (conflicting) {
            throw new PkiInputError(
                `--${conflicting} with --stack-outputs: both given; allowed: one CA source`,
            );
        }
        const outputs = parseStackOutputs(
            readInputFile("--stack-outputs", stackOutputs, true),
            stackOutputs,
        );
        const pem = (name: StackOutputName) => stackOutputPem(outputs, name, stackOutputs);
        // A bring-your-own root without its key exports the CRL it was given instead.
        const suppliedCrl =
            outputs[stackOutputNames.rootKeyPem] === undefined &&
            outputs[stackOutputNames.rootCrlPem] !== undefined;
        return {
            root: {
                cert: pem("rootCertPem"),
                certSource: "stack output rootCertPem",
                crl: suppliedCrl
                    ? {
                          kind: "crl",
                          crl: pem("rootCrlPem"),
                          source: "stack output rootCrlPem",
                      }
                    : { kind: "key", key: pem("rootKeyPem"), source: "stack output rootKeyPem" },
            },
            intermediate: {
                cert: pem("intermediateCertPem"),
                key: pem("intermediateKeyPem"),
                sources: {
                    certificate: "stack output intermediateCertPem",
                    privateKey: "stack output intermediateKeyPem",
                },
            },
        };
    }
    if (flags["root-key"] !== undefined && flags["root-crl"] !== undefined) {
        throw new PkiInputError(
            "--root-crl with --root-key: both given; allowed: --root-key to sign the root's CRL here, or --root-crl to use the one its CA issued",
        );
    }
    const needed = ["root-cert", "intermediate-cert", "intermediate-key"] as const;
    const missing =
        needed.find((flag) => flags[flag] === undefined) ??
        (flags["root-crl"] === undefined && flags["root-key"] === undefined
            ? "root-key"
            : undefined);
    if (missing) {
        throw new PkiInputError(
            `--${missing}: missing (HAProxy needs a CRL from every CA in the chain); allowed: --root-cert (--root-key | --root-crl) --intermediate-cert --intermediate-key, or --stack-outputs <file|->`,
        );
    }
    const read = (flag: (typeof fileFlags)[number]) =>
        readInputFile(`--${flag}`, stringFlag(flags, flag) ?? "");
    const source = (flag: (typeof fileFlags)[number]) => `--${flag} ${stringFlag(flags, flag)}`;
    return {
        root: {
            cert: read("root-cert"),
            certSource: source("root-cert"),
            crl:
                flags["root-crl"] !== undefined
                    ? { kind: "crl", crl: read("root-crl"), source: source("root-crl") }
                    : { kind: "key", key: read("root-key"), source: source("root-key") },
        },
        intermediate: {
            cert: read("intermediate-cert"),
            key: read("intermediate-key"),
            sources: {
                certificate: source("intermediate-cert"),
                privateKey: source("intermediate-key"),
            },
        },
    };
}

/**
 * The root's CRL: signed here with its key, or the supplied one after the checks HAProxy would
 * otherwise fail every device on (issuer, signature, dates, the intermediate not revoked).
 */
async function rootCrlSide(
    pems: ChainPems,
    intermediate: IssuingCa,
    now: Date,
    policy: CrlPolicy,
): Promise<{ ca?: IssuingCa; supplied?: SuppliedRootCrl & { subject: string }; keyId: string }> {
    const rootCrl = pems.root.crl;
    if (rootCrl.kind === "key") {
        const ca = await loadIssuingCa(
            pems.root.cert,
            rootCrl.key,
            { certificate: pems.root.certSource, privateKey: rootCrl.source },
            "crls",
            now,
        );
        return { ca, keyId: ca.keyId };
    }
    const rootCertificate = parseCertificatePem(pems.root.cert, pems.root.certSource);
    await assertSignedBy(intermediate.certificate, rootCertificate, {
        child: pems.intermediate.sources.certificate,
        parent: pems.root.certSource,
    });
    try {
        const supplied = checkSuppliedRootCrl(
            rootCrl.crl,
            { rootCertPem: pems.root.cert, deviceCaCertPem: pems.intermediate.cert },
            {
                crl: rootCrl.source,
                root: pems.root.certSource,
                deviceCa: pems.intermediate.sources.certificate,
            },
            now,
            policy.refreshBeforeDays,
        );
        return {
            supplied: { ...supplied, subject: rootCertificate.subject },
            keyId: await subjectKeyIdOf(rootCertificate),
        };
    } catch (error) {
        if (!(error instanceof SuppliedRootCrlError)) throw error;
        throw new PkiInputError(`${rootCrl.source}: ${error.detail}`);
    }
}

function revocationsFrom(flags: ParsedFlags): { file: RevocationFile; source: string } {
    const stack = stringFlag(flags, "stack");
    const path = stringFlag(flags, "revocations");
    if ((stack === undefined) === (path === undefined)) {
        throw new PkiInputError(
            `revocation list: ${stack === undefined ? "none given" : "--stack and --revocations both given"}; allowed: --stack <name> or --revocations <file>`,
        );
    }
    if (path !== undefined) {
        return {
            file: parseRevocationFile(readInputFile("--revocations", path), path),
            source: path,
        };
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(stack ?? "")) {
        throw new PkiInputError(
            `--stack ${quoteValue(stack ?? "")}: not a stack name; allowed: letters, digits, - _ . (a Pulumi stack name)`,
        );
    }
    const stackPath = join(stringFlag(flags, "dir") ?? defaultRevocationsDir, `${stack}.json`);
    if (!existsSync(stackPath)) return { file: emptyRevocationFile(), source: stackPath };
    return {
        file: parseRevocationFile(readInputFile("--stack", stackPath), stackPath),
        source: stackPath,
    };
}

async function build(flags: ParsedFlags): Promise<number> {
    const outRaw = stringFlag(flags, "out");
    if (outRaw === undefined) throw new PkiInputError("--out: missing; allowed: --out <crl.pem>");
    // Checked before any CA is loaded: a bad --out is one line, and no temporary file is left.
    if (outRaw !== "-") checkOutputFile("--out", outRaw);
    const policy = policyFrom(flags);
    const now = nowFrom(flags);
    const { file, source } = revocationsFrom(flags);
    const pems = chainPemsFrom(flags);
    const intermediate = await loadIssuingCa(
        pems.intermediate.cert,
        pems.intermediate.key,
        pems.intermediate.sources,
        "crls",
        now,
    );
    const rootSide = await rootCrlSide(pems, intermediate, now, policy);
    const cas: IssuingCa[] =
        rootSide.ca === undefined ? [intermediate] : [intermediate, rootSide.ca];
    for (const entry of file.revoked) {
        if (entry.issuerKeyId === rootSide.keyId && rootSide.ca === undefined) {
            throw new PkiInputError(
                `${source}: serial ${entry.serial} (${entry.commonName}) was issued by the root (key id ${entry.issuerKeyId}), whose CRL is supplied (${pems.root.crl.source}); allowed: entries of the intermediate - revoke root-issued certificates at the root's CA and supply its new CRL`,
            );
        }
        if (!cas.some((ca) => ca.keyId === entry.issuerKeyId)) {
            throw new PkiInputError(
                `${source}: serial ${entry.serial} (${entry.commonName}) was issued by key id ${entry.issuerKeyId}, which is neither CA given (intermediate ${intermediate.keyId}, root ${rootSide.keyId}); allowed: entries of this chain's CAs`,
            );
        }
    }
    const window = crlWindow(now, policy);
    const pemParts: string[] = [];
    const summary: string[] = [];
    for (const ca of cas) {
        const entries = file.revoked.filter((entry) => entry.issuerKeyId === ca.keyId);
        const thisUpdate = crlThisUpdate(window, entries, now);
        const built = await buildCrl({
            ca,
            entries,
            thisUpdate,
            nextUpdate: window.nextUpdate,
            crlNumber: crlNumberFor(thisUpdate),
        });
        pemParts.push(built.pem);
        summary.push(
            `${ca.certificate.subject}: ${entries.length} revoked, thisUpdate ${thisUpdate.toISOString()}`,
        );
    }
    if (rootSide.supplied !== undefined) {
        const supplied = rootSide.supplied;
        for (const warning of supplied.warnings) process.stderr.write(`crl: ${warning}\n`);
        pemParts.push(supplied.pem);
        summary.push(
            `${supplied.subject}: supplied, ${supplied.revokedSerials.length} revoked, nextUpdate ${supplied.nextUpdate.toISOString()} (${supplied.daysLeft.toFixed(1)} days left)`,
        );
    }
    const dates = `nextUpdate ${window.nextUpdate.toISOString()}, reissue after ${window.reissueAfter.toISOString()}`;
    if (outRaw === "-") {
        // For the stack (components/crls.ts): the PEMs alone on stdout, the summary on stderr.
        process.stdout.write(pemParts.join(""));
        process.stderr.write(`crl: ${summary.join("; ")}; ${dates}\n`);
        return 0;
    }
    const out = resolve(outRaw);
    const temporary = `${out}.${process.pid}.tmp`;
    // Whole file or nothing: HAProxy (or a reload) must never read half a CRL file.
    writeFileSync(temporary, pemParts.join(""), { mode: 0o644 });
    renameSync(temporary, out);
    process.stdout.write(`wrote ${out}: ${summary.join("; ")}; ${dates}\n`);
    return 0;
}

await runCli("crl", async () => {
    const flags = parseFlags(process.argv.slice(2), flagSpecs);
    if (flags.help === true) {
        process.stdout.write(
            cliHelp(
                {
                    usage: "npm run crl -- (--stack <name> | --revocations <file>) (--stack-outputs <file|-> | --root-cert <pem> (--root-key <pem> | --root-crl <pem>) --intermediate-cert <pem> --intermediate-key <pem>) --out <crl.pem|->\n       npm run crl -- --check <crl.pem> [--refresh-days <n>]",
                    summary:
                        "Builds the CRL file HAProxy's crl-file needs (root and device CA CRLs, concatenated) from a stack's revocation list, or checks how many days an existing one has left.",
                    examples: [
                        "pulumi stack output --show-secrets --json | npm run crl -- --stack dev --stack-outputs - --out crl.pem",
                        "npm run crl -- --stack dev --root-cert CaRoot.pem --root-key CaRoot-key.pem --intermediate-cert CaIntermediate.pem --intermediate-key CaIntermediate-key.pem --out crl.pem",
                        "npm run crl -- --stack dev --root-cert CaRoot.pem --root-crl CaRoot.crl.pem --intermediate-cert CaIntermediate.pem --intermediate-key CaIntermediate-key.pem --out crl.pem",
                        "npm run crl -- --check /etc/haproxy/certs/crl.pem",
                    ],
                },
                flagSpecs,
            ),
        );
        return 0;
    }
    const checkPath = stringFlag(flags, "check");
    return checkPath !== undefined ? check(checkPath, flags) : build(flags);
});
