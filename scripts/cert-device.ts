/**
 * Issues device certificates from the device-issuing (intermediate) CA.
 *
 *   npm run cert:device -- --ca-cert CaIntermediate.pem --ca-key CaIntermediate-key.pem \
 *       --cn DEVICE-0001 --out ./certs
 *   pulumi stack output --show-secrets --json | npm run cert:device -- --stack-outputs - \
 *       --prefix DEVICE- --count 1000 --out ./certs
 *
 * Writes per device `<CN>.key` (PKCS#8, mode 0600), `<CN>.crt` and `<CN>.chain.pem` (device
 * cert + CA cert, + root when known). Everything is checked before the first file is written;
 * a bad input is one stderr line and exit 2, with the output folder untouched.
 */
import { closeSync, existsSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { assertSignedBy, type IssuingCa, loadIssuingCa, parseCertificatePem } from "../pki/ca.ts";
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
    commonNameProblem,
    commonNameRule,
    firstDuplicateCommonName,
    numberedCommonNames,
} from "../pki/common-name.ts";
import { PkiInputError, quoteValue } from "../pki/input-error.ts";
import { readInputFile } from "../pki/input-file.ts";
import { deviceNotAfter, issueDeviceCertificate } from "../pki/issue.ts";
import { type DeviceKeySpec, deviceCurves, deviceRsaBits } from "../pki/keys.ts";
import { toPem } from "../pki/pem.ts";
import { parseStackOutputs, stackOutputPem } from "../pki/stack-outputs.ts";
import { checkOutputDir, makeOutputDir } from "./output-path.ts";
import { Progress } from "./progress.ts";

/**
 * Default validity: 825 days (about 27 months). Long enough to rotate yearly with a quarter to
 * spare; short enough that a key lost with a device stops working on its own. CRLs cover the
 * time in between.
 */
const defaultValidityDays = 825;
const flagSpecs: Record<string, FlagSpec> = {
    "ca-cert": { type: "string", help: "<pem>  issuing CA certificate (the intermediate)" },
    "ca-key": { type: "string", help: "<pem>  issuing CA private key" },
    "stack-outputs": {
        type: "string",
        help: "<file|->  JSON of `pulumi stack output --show-secrets --json` (intermediateCertPem, intermediateKeyPem, rootCertPem) instead of --ca-cert/--ca-key",
    },
    "root-cert": {
        type: "string",
        help: "<pem>  root CA: check the CA chains to it and append it to <CN>.chain.pem",
    },
    cn: { type: "string", help: "<CN>  one device" },
    "cn-file": {
        type: "string",
        help: "<file>  one CN per line (blank lines and # comments ignored)",
    },
    prefix: { type: "string", help: "<p>  with --count: CNs <p>0001, <p>0002, ..." },
    count: { type: "string", help: "<n>  with --prefix: how many (1 to 100000)" },
    out: { type: "string", help: "<dir>  output folder (created with mode 0700 if missing)" },
    algorithm: { type: "string", help: "ecdsa|rsa  device key type (default ecdsa)" },
    curve: { type: "string", help: "P-256|P-384  ECDSA curve (default P-256)" },
    "rsa-bits": { type: "string", help: "2048|3072|4096  RSA key size (default 2048)" },
    days: {
        type: "string",
        help: `<n>  validity in days (default ${defaultValidityDays}, at most until the CA expires)`,
    },
    force: { type: "boolean", help: "replace existing output files" },
    quiet: {
        type: "boolean",
        help: "no progress line (it shows only on a terminal, for batches over 2 s)",
    },
    help: { type: "boolean", help: "show this help" },
};

const maxBatch = 100_000;
/** 100 years: beyond any CA we would meet; the real bound is the CA chain's own expiry. */
const maxValidityDays = 36_500;
const dayMs = 24 * 60 * 60 * 1000;

interface IssuePlan {
    ca: IssuingCa;
    root?: string;
    commonNames: string[];
    outDir: string;
    keySpec: DeviceKeySpec;
    validityDays: number;
    force: boolean;
    /** --quiet: no progress line. */
    quiet: boolean;
}

function keySpecFrom(flags: ParsedFlags): DeviceKeySpec {
    const algorithm = stringFlag(flags, "algorithm") ?? "ecdsa";
    const curve = stringFlag(flags, "curve");
    const bits = stringFlag(flags, "rsa-bits");
    if (algorithm === "ecdsa") {
        if (bits !== undefined) {
            throw new PkiInputError(
                `--rsa-bits ${quoteValue(bits)}: only for --algorithm rsa; allowed: --curve with ecdsa`,
            );
        }
        const chosen = curve ?? "P-256";
        const known = deviceCurves.find((candidate) => candidate === chosen);
        if (!known) {
            throw new PkiInputError(
                `--curve ${quoteValue(chosen)}: unknown curve; allowed: ${deviceCurves.join(", ")}`,
            );
        }
        return { algorithm: "ecdsa", curve: known };
    }
    if (algorithm === "rsa") {
        if (curve !== undefined) {
            throw new PkiInputError(
                `--curve ${quoteValue(curve)}: only for --algorithm ecdsa; allowed: --rsa-bits with rsa`,
            );
        }
        const chosen = Number(bits ?? "2048");
        const known = deviceRsaBits.find((candidate) => candidate === chosen);
        if (!known) {
            throw new PkiInputError(
                `--rsa-bits ${quoteValue(bits ?? "")}: unsupported size; allowed: ${deviceRsaBits.join(", ")}`,
            );
        }
        return { algorithm: "rsa", bits: known };
    }
    throw new PkiInputError(
        `--algorithm ${quoteValue(algorithm)}: unknown algorithm; allowed: ecdsa, rsa`,
    );
}

/** The CNs to issue, each validated; errors name where the CN came from. */
function commonNamesFrom(flags: ParsedFlags): string[] {
    const cn = stringFlag(flags, "cn");
    const cnFile = stringFlag(flags, "cn-file");
    const prefix = stringFlag(flags, "prefix");
    const countRaw = stringFlag(flags, "count");
    const sources = [
        cn !== undefined,
        cnFile !== undefined,
        prefix !== undefined || countRaw !== undefined,
    ].filter(Boolean).length;
    if (sources !== 1) {
        throw new PkiInputError(
            `device names: ${sources === 0 ? "none given" : "given more than one way"}; allowed: exactly one of --cn, --cn-file, --prefix with --count`,
        );
    }
    const named: { commonName: string; where: string }[] = [];
    if (cn !== undefined) {
        named.push({ commonName: cn, where: "--cn" });
    } else if (cnFile !== undefined) {
        const lines = readInputFile("--cn-file", cnFile).split("\n");
        lines.forEach((line, index) => {
            // Tolerate CRLF files; any other CR stays and is refused as a control character.
            const text = line.endsWith("\r") ? line.slice(0, -1) : line;
            if (text === "" || text.startsWith("#")) return;
            named.push({ commonName: text, where: `--cn-file ${cnFile} line ${index + 1}` });
        });
        if (named.length === 0) {
            throw new PkiInputError(
                `--cn-file ${quoteValue(cnFile)}: no CNs in file; allowed: one CN per line`,
            );
        }
    } else {
        if (prefix === undefined || countRaw === undefined) {
            throw new PkiInputError(
                `--prefix and --count: ${prefix === undefined ? "--prefix" : "--count"} missing; allowed: both together`,
            );
        }
        const count = integerFlag(flags, "count", 0, 1, maxBatch);
        for (const commonName of numberedCommonNames(prefix, count)) {
            named.push({ commonName, where: `--prefix ${quoteValue(prefix)} gives CN` });
        }
    }
    if (named.length > maxBatch) {
        throw new PkiInputError(
            `batch of ${named.length} CNs: too many; allowed: at most ${maxBatch} per run`,
        );
    }
    for (const { commonName, where } of named) {
        const problem = commonNameProblem(commonName);
        if (problem) {
            throw new PkiInputError(
                `${where} ${quoteValue(commonName)}: CN ${problem}; allowed: ${commonNameRule}`,
            );
        }
    }
    const commonNames = named.map((entry) => entry.commonName);
    const duplicate = firstDuplicateCommonName(commonNames);
    if (duplicate !== undefined) {
        throw new PkiInputError(
            `CN ${quoteValue(duplicate)}: listed twice in the batch (compared ignoring case); allowed: each CN once`,
        );
    }
    return commonNames;
}

/** Output file names per device. */
function outputFiles(
    outDir: string,
    commonName: string,
): { key: string; certificate: string; chain: string } {
    return {
        key: join(outDir, `${commonName}.key`),
        certificate: join(outDir, `${commonName}.crt`),
        chain: join(outDir, `${commonName}.chain.pem`),
    };
}

async function plan(flags: ParsedFlags): Promise<IssuePlan> {
    const outRaw = stringFlag(flags, "out");
    if (outRaw === undefined) throw new PkiInputError("--out: missing; allowed: --out <dir>");
    // Checked first: a bad --out is one line before any CA file is even read.
    const outDir = checkOutputDir("--out", outRaw);
    const keySpec = keySpecFrom(flags);
    const commonNames = commonNamesFrom(flags);

    const caCertPath = stringFlag(flags, "ca-cert");
    const caKeyPath = stringFlag(flags, "ca-key");
    const stackOutputsPath = stringFlag(flags, "stack-outputs");
    let caCertPem: string;
    let caKeyPem: string;
    let rootPem: string | undefined;
    let rootSource = "--root-cert";
    let caSources: { certificate: string; privateKey: string };
    if (stackOutputsPath !== undefined) {
        if (caCertPath !== undefined || caKeyPath !== undefined) {
            throw new PkiInputError(
                "--stack-outputs with --ca-cert/--ca-key: both given; allowed: one CA source",
            );
        }
        const outputs = parseStackOutputs(
            readInputFile("--stack-outputs", stackOutputsPath, true),
            stackOutputsPath,
        );
        caCertPem = stackOutputPem(outputs, "intermediateCertPem", stackOutputsPath);
        caKeyPem = stackOutputPem(outputs, "intermediateKeyPem", stackOutputsPath);
        if (outputs.rootCertPem !== undefined && stringFlag(flags, "root-cert") === undefined) {
            rootPem = stackOutputPem(outputs, "rootCertPem", stackOutputsPath);
            rootSource = `stack output rootCertPem`;
        }
        caSources = {
            certificate: "stack output intermediateCertPem",
            privateKey: "stack output intermediateKeyPem",
        };
    } else {
        if (caCertPath === undefined || caKeyPath === undefined) {
            throw new PkiInputError(
                `CA: ${caCertPath === undefined ? "--ca-cert" : "--ca-key"} missing; allowed: --ca-cert <pem> --ca-key <pem>, or --stack-outputs <file|->`,
            );
        }
        caCertPem = readInputFile("--ca-cert", caCertPath);
        caKeyPem = readInputFile("--ca-key", caKeyPath);
        caSources = { certificate: `--ca-cert ${caCertPath}`, privateKey: `--ca-key ${caKeyPath}` };
    }
    const rootPath = stringFlag(flags, "root-cert");
    if (rootPath !== undefined) {
        rootPem = readInputFile("--root-cert", rootPath);
        rootSource = `--root-cert ${rootPath}`;
    }

    const now = new Date();
    const ca = await loadIssuingCa(caCertPem, caKeyPem, caSources, "certificates", now);
    let root: string | undefined;
    // The chain is only as valid as its shortest-lived CA: the seed's cfssl root expires after
    // 5 years while its intermediate runs 80 (test/support/cfssl-chain.ts).
    let chainNotAfter = ca.certificate.notAfter;
    if (rootPem !== undefined) {
        const rootCertificate = parseCertificatePem(rootPem, rootSource);
        await assertSignedBy(ca.certificate, rootCertificate, {
            child: caSources.certificate,
            parent: rootSource,
        });
        // Only the certificate block itself goes into chain files (no comments or other blocks).
        root = toPem(rootCertificate.rawData, "CERTIFICATE");
        if (rootCertificate.notAfter < chainNotAfter) chainNotAfter = rootCertificate.notAfter;
    }

    const caDaysLeft = Math.floor((chainNotAfter.getTime() - now.getTime()) / dayMs);
    const validityDays = integerFlag(
        flags,
        "days",
        Math.min(defaultValidityDays, caDaysLeft),
        1,
        maxValidityDays,
    );
    if (deviceNotAfter(now, validityDays) > chainNotAfter) {
        throw new PkiInputError(
            `--days ${validityDays}: certificates would outlive their CA chain (expires ${chainNotAfter.toISOString()}); allowed: at most ${caDaysLeft}`,
        );
    }
    const force = flags.force === true;

    if (!force) {
        for (const commonName of commonNames) {
            for (const path of Object.values(outputFiles(outDir, commonName))) {
                if (existsSync(path)) {
                    throw new PkiInputError(
                        `output ${quoteValue(path)}: already exists; allowed: a new file, or --force to replace`,
                    );
                }
            }
        }
    }
    return {
        ca,
        root,
        commonNames,
        outDir,
        keySpec,
        validityDays,
        force,
        quiet: flags.quiet === true,
    };
}

/** Creates `path` with `mode` from the first byte on (O_CREAT|O_EXCL), so a key is never readable by others, not even briefly. */
function writeNewFile(path: string, content: string, mode: number, replace: boolean): void {
    if (replace && existsSync(path)) unlinkSync(path);
    const fd = openSync(path, "wx", mode);
    try {
        writeSync(fd, content);
    } finally {
        closeSync(fd);
    }
}

async function issueAll(issue: IssuePlan): Promise<void> {
    // Before the folder is made: a bad MQTT_EDGE_PROGRESS_AFTER_MS is refused with nothing written.
    const progress = new Progress({
        total: issue.commonNames.length,
        unit: "certificates",
        label: "cert:device",
        quiet: issue.quiet,
    });
    makeOutputDir("--out", issue.outDir, 0o700);
    for (const commonName of issue.commonNames) {
        const issued = await issueDeviceCertificate(issue.ca, {
            commonName,
            validityDays: issue.validityDays,
            keySpec: issue.keySpec,
        });
        if (issue.root !== undefined) {
            await assertSignedBy(issued.certificate, issue.ca.certificate, {
                child: `issued ${commonName}`,
                parent: "the CA",
            });
        }
        const files = outputFiles(issue.outDir, commonName);
        writeNewFile(files.key, issued.privateKeyPem, 0o600, issue.force);
        writeNewFile(files.certificate, issued.certificatePem, 0o644, issue.force);
        writeNewFile(
            files.chain,
            issued.certificatePem + issue.ca.certificatePem + (issue.root ?? ""),
            0o644,
            issue.force,
        );
        progress.tick();
    }
    progress.finish();
}

await runCli("cert:device", async () => {
    const flags = parseFlags(process.argv.slice(2), flagSpecs);
    if (flags.help === true) {
        process.stdout.write(
            cliHelp(
                {
                    usage: "npm run cert:device -- (--ca-cert <pem> --ca-key <pem> | --stack-outputs <file|->) (--cn <CN> | --cn-file <file> | --prefix <p> --count <n>) --out <dir> [flags]",
                    summary:
                        "Issues device certificates from the device (intermediate) CA: <CN>.key (mode 0600), <CN>.crt and <CN>.chain.pem per device. Everything is checked before the first file is written.",
                    examples: [
                        "npm run cert:device -- --ca-cert CaIntermediate.pem --ca-key CaIntermediate-key.pem --root-cert CaRoot.pem --cn DEVICE-0001 --out ./certs",
                        "pulumi stack output --show-secrets --json | npm run cert:device -- --stack-outputs - --prefix DEVICE- --count 1000 --out ./certs",
                    ],
                },
                flagSpecs,
            ),
        );
        return 0;
    }
    const issue = await plan(flags);
    await issueAll(issue);
    const what =
        issue.commonNames.length === 1
            ? `${issue.commonNames[0]}.crt, .key, .chain.pem`
            : `${issue.commonNames.length} device certificates`;
    process.stdout.write(`wrote ${what} to ${issue.outDir}\n`);
    return 0;
});
