/**
 * Root CRLs for the seed's cfssl chain, made with cfssl itself (`cfssl gencrl`), as the operator of
 * a bring-your-own CA whose root key stays elsewhere would get them, plus the wrong ones a test
 * must see refused: another issuer's, one with the root's name but another key's signature, one
 * that revokes the intermediate, and one close to its nextUpdate.
 *
 * What Debian's cfssl 1.2.0 `gencrl` does, seen when writing this: it prints the CRL as base64 DER
 * without PEM armour; its serials file is read as DECIMAL numbers (a hex serial is misread); the
 * optional TIME argument (seconds until nextUpdate, default one week) is only honoured when given
 * as `-` on stdin (as a file argument it fails with "open <n>: no such file").
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CfsslChain } from "./cfssl-chain.ts";

const run = promisify(execFile);

/** The CRLs, PEM text each. */
export interface CfsslRootCrls {
    /** Signed by the root, nothing revoked, nextUpdate in 30 days. */
    valid: string;
    /** Signed by the root, nextUpdate in 7 days (cfssl's default): inside the 10-day window. */
    dueSoon: string;
    /** Signed by the root, revokes the device intermediate. */
    revokesIntermediate: string;
    /** Issued and signed by the intermediate: another issuer. */
    otherIssuer: string;
    /** Names the root as issuer, signed by an unrelated key with the same subject. */
    forged: string;
}

function pemOf(base64: string): string {
    const lines = base64.replace(/\s+/g, "").match(/.{1,64}/g) ?? [];
    return `-----BEGIN X509 CRL-----\n${lines.join("\n")}\n-----END X509 CRL-----\n`;
}

async function gencrl(
    dir: string,
    serialsDecimal: readonly string[],
    cert: string,
    key: string,
    seconds?: number,
): Promise<string> {
    const serials = join(dir, `serials-${Math.random().toString(36).slice(2)}.txt`);
    await writeFile(serials, serialsDecimal.map((s) => `${s}\n`).join(""));
    const args = ["gencrl", serials, cert, key, ...(seconds === undefined ? [] : ["-"])];
    const out = await new Promise<string>((resolve, reject) => {
        const child = execFile(
            "cfssl",
            args,
            { timeout: 30_000, killSignal: "SIGKILL" },
            (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
        );
        child.stdin?.end(seconds === undefined ? "" : String(seconds));
    });
    return pemOf(out);
}

export async function makeCfsslRootCrls(chain: CfsslChain, dir: string): Promise<CfsslRootCrls> {
    const intermediate = new X509Certificate(await readFile(chain.intermediateCert, "utf8"));
    const intermediateSerial = BigInt(`0x${intermediate.serialNumber}`).toString(10);
    const root = new X509Certificate(await readFile(chain.rootCert, "utf8"));
    // Same subject as the root, in openssl's `-subj` form (the DN lines reversed into a path).
    const rootSubject = `/${root.subject.split("\n").join("/")}`;
    const forgedKey = join(dir, "forged-root-key.pem");
    const forgedCert = join(dir, "forged-root.pem");
    await run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        forgedKey,
        "-out",
        forgedCert,
        "-subj",
        rootSubject,
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    const month = 30 * 86_400;
    return {
        valid: await gencrl(dir, [], chain.rootCert, chain.rootKey, month),
        dueSoon: await gencrl(dir, [], chain.rootCert, chain.rootKey),
        revokesIntermediate: await gencrl(
            dir,
            [intermediateSerial],
            chain.rootCert,
            chain.rootKey,
            month,
        ),
        otherIssuer: await gencrl(dir, [], chain.intermediateCert, chain.intermediateKey, month),
        forged: await gencrl(dir, [], forgedCert, forgedKey, month),
    };
}
