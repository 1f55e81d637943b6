/**
 * Adds a certificate to a stack's revocation list, `revocations/<stack>.json`, to be reviewed
 * in a pull request; scripts/crl.ts then builds the CRLs HAProxy loads (docs/revocation.md).
 *
 *   npm run cert:revoke -- --stack dev --cert certs/DEVICE-0042.crt --reason keyCompromise
 *   npm run cert:revoke -- --stack dev --serial 4f3a... --cn DEVICE-0042 \
 *       --issuer-cert CaIntermediate.pem --reason cessationOfOperation
 *
 * Idempotent: revoking a listed certificate again changes nothing and exits 0.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { authorityKeyIdOf, commonNameOf, parseCertificatePem, subjectKeyIdOf } from "../pki/ca.ts";
import { cliHelp, type FlagSpec, parseFlags, runCli, stringFlag } from "../pki/cli-flags.ts";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";
import { readInputFile } from "../pki/input-file.ts";
import {
    addRevocation,
    emptyRevocationFile,
    formatRevocationFile,
    parseRevocationFile,
    type RevocationEntry,
    revocationReasons,
} from "../pki/revocations.ts";
import { normalizeSerialHex } from "../pki/serial.ts";

/** The repository's revocations/ folder, wherever the script is run from. */
const defaultRevocationsDir = fileURLToPath(new URL("../revocations/", import.meta.url));

const flagSpecs: Record<string, FlagSpec> = {
    stack: { type: "string", help: "<name>  Pulumi stack: edits <dir>/<name>.json" },
    cert: { type: "string", help: "<pem>  the certificate to revoke" },
    serial: { type: "string", help: "<hex>  instead of --cert: serial of the certificate" },
    cn: { type: "string", help: "<CN>  with --serial: its subject CN (for readers of the file)" },
    "issuer-cert": {
        type: "string",
        help: "<pem>  with --serial: the CA certificate that issued it",
    },
    reason: { type: "string", help: `<r>  RFC 5280 reason: ${revocationReasons.join("|")}` },
    dir: {
        type: "string",
        help: "<dir>  revocation files folder (default: the repository's revocations/)",
    },
    help: { type: "boolean", help: "show this help" },
};

/** Pulumi stack names: letters, digits, `-`, `_`, `.` (and we need it to be a safe file name). */
const stackNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

async function entryFrom(
    flags: Record<string, string | boolean>,
    revokedAt: string,
): Promise<Omit<RevocationEntry, "reason">> {
    const certPath = stringFlag(flags, "cert");
    const serialRaw = stringFlag(flags, "serial");
    if ((certPath === undefined) === (serialRaw === undefined)) {
        throw new PkiInputError(
            `certificate: ${certPath === undefined ? "none given" : "--cert and --serial both given"}; allowed: --cert <pem>, or --serial <hex> --cn <CN> --issuer-cert <pem>`,
        );
    }
    if (certPath !== undefined) {
        for (const flag of ["cn", "issuer-cert"]) {
            if (flags[flag] !== undefined) {
                throw new PkiInputError(
                    `--${flag}: only with --serial; allowed: --cert alone (serial, CN and issuer are read from it)`,
                );
            }
        }
        const certificate = parseCertificatePem(
            readInputFile("--cert", certPath),
            `--cert ${certPath}`,
        );
        const issuerKeyId = authorityKeyIdOf(certificate);
        if (!issuerKeyId) {
            throw new PkiInputError(
                `--cert ${quoteValue(certPath)}: certificate has no authorityKeyIdentifier key id; allowed: a certificate with one, or --serial with --issuer-cert`,
            );
        }
        const serial = normalizeSerialHex(certificate.serialNumber) ?? certificate.serialNumber;
        return { serial, commonName: commonNameOf(certificate), revokedAt, issuerKeyId };
    }
    const serial = normalizeSerialHex(serialRaw ?? "");
    if (serial === undefined) {
        throw new PkiInputError(
            `--serial ${quoteValue(serialRaw ?? "")}: not a serial number; allowed: hex digits (colons and 0x accepted), at most 20 bytes`,
        );
    }
    const commonName = stringFlag(flags, "cn");
    const issuerPath = stringFlag(flags, "issuer-cert");
    if (commonName === undefined || issuerPath === undefined) {
        throw new PkiInputError(
            `--serial: ${commonName === undefined ? "--cn" : "--issuer-cert"} missing; allowed: --serial <hex> --cn <CN> --issuer-cert <pem>`,
        );
    }
    const issuer = parseCertificatePem(
        readInputFile("--issuer-cert", issuerPath),
        `--issuer-cert ${issuerPath}`,
    );
    return { serial, commonName, revokedAt, issuerKeyId: await subjectKeyIdOf(issuer) };
}

await runCli("cert:revoke", async () => {
    const flags = parseFlags(process.argv.slice(2), flagSpecs);
    if (flags.help === true) {
        process.stdout.write(
            cliHelp(
                {
                    usage: "npm run cert:revoke -- --stack <name> (--cert <pem> | --serial <hex> --cn <CN> --issuer-cert <pem>) --reason <reason> [--dir <dir>]",
                    summary:
                        "Adds a device certificate to the stack's reviewed revocation list (revocations/<stack>.json); commit it, and `pulumi up` rebuilds the CRLs HAProxy checks.",
                    examples: [
                        "npm run cert:revoke -- --stack dev --cert certs/DEVICE-0001.crt --reason keyCompromise",
                        "npm run cert:revoke -- --stack dev --serial 4f1a09 --cn DEVICE-0002 --issuer-cert CaIntermediate.pem --reason cessationOfOperation",
                    ],
                },
                flagSpecs,
            ),
        );
        return 0;
    }
    const stack = stringFlag(flags, "stack");
    if (stack === undefined || !stackNamePattern.test(stack)) {
        throw new PkiInputError(
            `--stack ${quoteValue(stack ?? "")}: ${stack === undefined ? "missing" : "not a stack name"}; allowed: letters, digits, - _ . (a Pulumi stack name)`,
        );
    }
    const reason = stringFlag(flags, "reason");
    const knownReason = revocationReasons.find((candidate) => candidate === reason);
    if (knownReason === undefined) {
        throw new PkiInputError(
            `--reason ${quoteValue(reason ?? "")}: ${reason === undefined ? "missing" : "unknown reason"}; allowed: ${revocationReasons.join(", ")}`,
        );
    }
    const dir = stringFlag(flags, "dir") ?? defaultRevocationsDir;
    const path = join(dir, `${stack}.json`);
    const current = existsSync(path)
        ? parseRevocationFile(readInputFile("--stack file", path), path)
        : emptyRevocationFile();
    const entry: RevocationEntry = {
        ...(await entryFrom(flags, new Date().toISOString())),
        reason: knownReason,
    };
    const result = addRevocation(current, entry);
    const shown = relative(process.cwd(), path) || path;
    if (!result.added) {
        process.stdout.write(
            `already revoked: serial ${result.entry.serial} (${result.entry.commonName}, ${result.entry.reason}, ${result.entry.revokedAt}) in ${shown}\n`,
        );
        return 0;
    }
    // Write to a temporary file and rename: a crash never leaves half a JSON file to commit.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, formatRevocationFile(result.file), { mode: 0o644 });
    renameSync(temporary, path);
    process.stdout.write(
        `revoked serial ${entry.serial} (${entry.commonName}, ${entry.reason}) in ${shown}; commit it in a pull request, then \`pulumi up\` rebuilds the CRLs (npm run crl) and the hosts load them (docs/revocation.md)\n`,
    );
    return 0;
});
