/**
 * The seed's edge as the benchmarks' reference: its CA chain made with cfssl exactly as the seed
 * document makes it (shared/seed section 3: RSA-2048 root, intermediate, device and server keys;
 * the server certificate signed by the root), and its haproxy.cfg frontend and backend (section
 * 4) with only addresses, ports, paths and limits changed for a loopback run. The seed has no CRL,
 * no issuer pinning and no session ticket keys.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

const subject = (cn: string, ou: string) => ({
    CN: cn,
    key: { algo: "rsa", size: 2048 },
    names: [{ C: "CN", L: "WuHan", O: "emqx", OU: ou, ST: "China" }],
});

/** The seed's cfssl inputs (section 3.1-3.4), as JSON files. */
const seedInputs: Record<string, unknown> = {
    "config.json": {
        signing: {
            default: { expiry: "262800h" },
            profiles: {
                intermediate: {
                    usages: ["cert sign", "crl sign"],
                    expiry: "700800h",
                    ca_constraint: { is_ca: true, max_path_len: 1 },
                },
                device: {
                    usages: [
                        "client auth",
                        "signing",
                        "digital signing",
                        "key encipherment",
                        "server auth",
                    ],
                    expiry: "262800h",
                },
            },
        },
    },
    "root.json": subject("emqx.com", "EMQX Root CA"),
    "intermediate.json": subject("emqx.com", "EMQX Intermediate CA"),
    "device-a-csr.json": subject("DEVICEAXXXXXXXX", "EMQX Device"),
    "emqx-server-csr.json": subject("emqx.xxx.com", "EMQX Server"),
};

/** The seed's four commands, in order. */
const seedCommands = [
    "cfssl gencert -initca root.json | cfssljson -bare CaRoot",
    "cfssl gencert -ca=CaRoot.pem -ca-key=CaRoot-key.pem -config=config.json -profile=intermediate intermediate.json | cfssljson -bare CaIntermediate",
    "cfssl gencert -ca=CaIntermediate.pem -ca-key=CaIntermediate-key.pem -config=config.json -profile=device device-a-csr.json | cfssljson -bare device-a",
    "cfssl gencert -ca=CaRoot.pem -ca-key=CaRoot-key.pem -config=config.json -profile=device emqx-server-csr.json | cfssljson -bare emqx-server",
];

/** The seed chain's files and the device identity, in `dir`. */
export interface SeedChain {
    /** Root CA certificate path (`ca-verify-file`). */
    readonly rootCaPath: string;
    /** Intermediate CA certificate path (`ca-file`). */
    readonly intermediateCaPath: string;
    /** Server certificate followed by its key (`crt`, the seed's server-allinone.pem). */
    readonly serverPemPath: string;
    /** Root certificate PEM, what the device trusts. */
    readonly rootPem: string;
    /** Device certificate PEM. */
    readonly deviceCertPem: string;
    /** Device key PEM. SECRET (a throwaway). */
    readonly deviceKeyPem: string;
}

/** Runs the seed's cfssl commands in `dir` (an empty temp dir). Needs Debian golang-cfssl. */
export async function makeSeedChain(dir: string): Promise<SeedChain> {
    for (const [name, content] of Object.entries(seedInputs)) {
        await writeFile(join(dir, name), JSON.stringify(content, null, 2));
    }
    for (const command of seedCommands) {
        await run("/bin/sh", ["-c", command], { cwd: dir, timeout: 60_000 }).catch((error) => {
            throw new Error(
                `seed chain: "${command}" failed (is golang-cfssl installed?): ${error}`,
            );
        });
    }
    const read = (name: string) => readFile(join(dir, name), "utf8");
    const serverPemPath = join(dir, "server-allinone.pem");
    await writeFile(
        serverPemPath,
        (await read("emqx-server.pem")) + (await read("emqx-server-key.pem")),
        {
            mode: 0o600,
        },
    );
    return {
        rootCaPath: join(dir, "CaRoot.pem"),
        intermediateCaPath: join(dir, "CaIntermediate.pem"),
        serverPemPath,
        rootPem: await read("CaRoot.pem"),
        deviceCertPem: await read("device-a.pem"),
        deviceKeyPem: await read("device-a-key.pem"),
    };
}

/** Where the seed's HAProxy listens and forwards in a loopback run. */
export interface SeedHaproxyInputs {
    readonly chain: SeedChain;
    readonly bind: { readonly address: string; readonly port: number };
    readonly brokers: ReadonlyArray<{
        readonly name: string;
        readonly address: string;
        readonly port: number;
    }>;
    readonly statsSocketPath: string;
    readonly maxconn: number;
    /** The same `log` line as the edge it is compared with, so both pay for the same logging. */
    readonly logLine: string;
}

/**
 * The seed's frontend and backend (section 4) with loopback endpoints. Global and defaults are
 * what the seed leaves to the Debian package (its timeouts), plus the stats socket the harness
 * needs and the process maxconn.
 */
export function renderSeedHaproxyCfg(inputs: SeedHaproxyInputs): string {
    const { chain, bind } = inputs;
    return [
        "global",
        "    master-worker",
        `    maxconn ${inputs.maxconn}`,
        `    ${inputs.logLine}`,
        `    stats socket ${inputs.statsSocketPath} mode 600 level admin`,
        "",
        "defaults",
        "    timeout connect 5000",
        "    timeout client 50000",
        "    timeout server 50000",
        "",
        "frontend emqx-tls",
        `    bind ${bind.address}:${bind.port} ssl crt ${chain.serverPemPath} ca-file ${chain.intermediateCaPath} ca-verify-file ${chain.rootCaPath} verify required`,
        "    mode tcp",
        "    log global",
        "    option tcplog",
        "    default_backend emqx-backend",
        "",
        "backend emqx-backend",
        "    mode tcp",
        "    option tcplog",
        "    balance roundrobin",
        `    default-server inter 10s downinter 5s rise 2 fall 2 slowstart 60s maxconn ${inputs.maxconn} maxqueue 10000 weight 100`,
        ...inputs.brokers.map(
            (b) =>
                `    server ${b.name} ${b.address}:${b.port} check-send-proxy send-proxy-v2 check inter 10s fall 2 rise 5`,
        ),
        "",
    ].join("\n");
}
