/**
 * The two outside checks the CRL tests put a CRL file through, on the seed's cfssl chain:
 * OpenSSL's full-chain CRL check (what HAProxy turns on with a crl-file) and `haproxy -c` with
 * the file as crl-file.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CfsslChain } from "../support/cfssl-chain.ts";
import { openssl, type ProcessResult, runProcess } from "./run-process.ts";

/** `openssl verify -crl_check_all` of a device certificate with `crlPath` against the chain. */
export function verifyWithCrl(
    chain: CfsslChain,
    crlPath: string,
    certPath: string,
): Promise<ProcessResult> {
    return openssl([
        "verify",
        "-crl_check_all",
        "-CRLfile",
        crlPath,
        "-CAfile",
        chain.rootCert,
        "-untrusted",
        chain.intermediateCert,
        certPath,
    ]);
}

/**
 * Writes, under `work`, a haproxy.cfg whose device bind names the chain's CA files and `crlPath`
 * as crl-file (with the server's key and certificate in one PEM); returns its path.
 */
export async function writeCrlBindConfig(
    work: string,
    chain: CfsslChain,
    crlPath: string,
): Promise<string> {
    const serverPem = join(work, "server-allinone.pem");
    await writeFile(
        serverPem,
        (await readFile(chain.serverKey, "utf8")) + (await readFile(chain.serverCert, "utf8")),
    );
    const config = join(work, "haproxy.cfg");
    await writeFile(
        config,
        [
            "defaults",
            "    mode tcp",
            "    timeout connect 5s",
            "    timeout client 60s",
            "    timeout server 60s",
            "frontend mqtt-tls",
            // haproxy -c never binds, so the port number is never used.
            `    bind 127.0.0.1:18883 ssl crt ${serverPem} ca-file ${chain.intermediateCert} ca-verify-file ${chain.rootCert} verify required crl-file ${crlPath}`,
            "",
        ].join("\n"),
    );
    return config;
}

/** `haproxy -c -f <config>`. */
export function haproxyCheck(config: string): Promise<ProcessResult> {
    return runProcess("haproxy", ["-c", "-f", config]);
}
