/**
 * The cloud-init renderers: every script passes `bash -n` and shellcheck, the fetch script run by
 * real bash writes byte-exact files and the same content hash Pulumi computes, limits follow the
 * connection count, and bad input is refused with a one-line error.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
    chmodSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    statSync,
    writeFileSync,
} from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { planSubnets } from "../../components/aws/subnet-plan.ts";
import { secretFindings } from "../../policy/rules/no-secrets-in-user-data.ts";
import {
    renderEmqxApplyScript,
    renderEmqxHostSettings,
    renderEmqxUserData,
} from "../../templates/cloud-init-emqx.ts";
import {
    renderHaproxyApplyScript,
    renderHaproxyUserData,
} from "../../templates/cloud-init-haproxy.ts";
import {
    hostFilesContentHash,
    renderFetchParametersScript,
    renderHostFileManifest,
} from "../../templates/cloud-init-host-files.ts";
import { fileDescriptorLimit, renderSysctlConf } from "../../templates/cloud-init-kernel-limits.ts";
import { lintBash } from "./lint-script.ts";

const haproxySpec = {
    architecture: "x86_64" as const,
    healthCheck: { port: 8080, path: "/healthz", sendProxy: false },
    lifecycleHook: { groupName: "mqtt-edge-dev-haproxy", hookName: "mqtt-edge-bootstrap" },
    maxconn: 500_000,
    configPath: "/etc/haproxy/haproxy.cfg",
    files: [
        {
            parameterName: "/mqtt-edge/dev/haproxy/haproxy.cfg",
            path: "/etc/haproxy/haproxy.cfg",
            mode: "0644",
            owner: "root:root",
        },
        {
            parameterName: "/mqtt-edge/dev/haproxy/server.pem",
            path: "/etc/haproxy/certs/server.pem",
            mode: "0600",
            owner: "root:root",
        },
        {
            parameterName: "/mqtt-edge/dev/haproxy/crl.pem",
            path: "/etc/haproxy/ca/crl.pem",
            mode: "0644",
            owner: "root:root",
        },
    ],
};

const emqxSpec = {
    hostname: "emqx-2.edge.internal",
    nodeName: "emqx@emqx-2.edge.internal",
    architecture: "arm64" as const,
    dataDir: "/var/lib/emqx",
    dataVolumeId: "vol-0123456789abcdef0",
    configPath: "/etc/emqx/emqx.conf",
    secretsEnvPath: "/etc/emqx/mqtt-edge-secrets.env",
    files: [
        {
            parameterName: "/mqtt-edge/dev/emqx/emqx.conf",
            path: "/etc/emqx/emqx.conf",
            mode: "0640",
            owner: "root:emqx",
        },
        {
            parameterName: "/mqtt-edge/dev/emqx/secrets.env",
            path: "/etc/emqx/mqtt-edge-secrets.env",
            mode: "0600",
            owner: "root:root",
        },
        {
            parameterName: "/mqtt-edge/dev/emqx/emqx-version",
            path: "/etc/mqtt-edge/emqx-version",
            mode: "0644",
            owner: "root:root",
        },
        {
            parameterName: "/mqtt-edge/dev/emqx/cluster-nodes",
            path: "/etc/mqtt-edge/emqx-cluster-nodes",
            mode: "0644",
            owner: "root:root",
        },
    ],
};

const emqxApplySpec = {
    secretsEnvPath: "/etc/emqx/mqtt-edge-secrets.env",
    nodeName: "emqx@emqx-2.edge.internal",
};

/** Lines with two or more blanks between non-blank characters (indentation does not count). */
function blankRuns(script: string): string[] {
    return script.split("\n").filter((line) => /\S {2,}\S|\S\t/.test(line));
}

describe("every rendered script passes bash -n and shellcheck", () => {
    const scripts: [string, string][] = [
        ["haproxy user-data", renderHaproxyUserData(haproxySpec)],
        [
            "haproxy apply script",
            renderHaproxyApplyScript({ configPath: "/etc/haproxy/haproxy.cfg" }),
        ],
        ["emqx user-data", renderEmqxUserData(emqxSpec)],
        ["emqx apply script", renderEmqxApplyScript(emqxApplySpec)],
        ["fetch script", renderFetchParametersScript()],
    ];
    for (const [label, script] of scripts) {
        test(label, () => {
            assert.ok(script.startsWith("#!/bin/bash\n"), `${label} starts with a bash shebang`);
            assert.equal(lintBash(script), "");
        });
    }

    // A line continuation inside a template literal once left `}             | socat` mid-line.
    for (const [label, script] of scripts) {
        test(`${label} reads as written by hand: no run of blanks inside a line`, () => {
            assert.deepEqual(blankRuns(script), []);
        });
    }

    test("the blank-run check finds one", () => {
        assert.deepEqual(blankRuns("ok line\n    indented is fine\n}             | socat\n"), [
            "}             | socat",
        ]);
    });

    test("the lint catches a broken script (the check above is not vacuous)", () => {
        assert.notEqual(
            lintBash(`${renderEmqxApplyScript(emqxApplySpec)}\nif [ $x = 1 ]; then\n`),
            "",
        );
    });
});

describe("user-data carries names, not content", () => {
    test("haproxy user-data lists every parameter, writes the manifest, runs the apply script at boot", () => {
        const userData = renderHaproxyUserData(haproxySpec);
        assert.ok(userData.includes(renderHostFileManifest(haproxySpec.files)));
        assert.match(userData, /^\/usr\/local\/sbin\/mqtt-edge-apply-haproxy --boot$/m);
        assert.match(userData, /^LimitNOFILE=1065984$/m);
        assert.match(userData, /install -y --no-install-recommends \\\n {4}haproxy awscli/);
        assert.match(
            userData,
            /amazon-ssm-\$\{region\}\/latest\/debian_amd64\/amazon-ssm-agent\.deb/,
        );
        // The agent first, so a host whose bootstrap fails later stays reachable; the apply
        // scripts leave a host alone until its bootstrap is done.
        assert.ok(
            userData.indexOf("systemctl enable --now amazon-ssm-agent") <
                userData.indexOf("apt-get update"),
        );
        assert.ok(
            userData.indexOf("systemctl enable --now amazon-ssm-agent") <
                userData.indexOf("mqtt-edge-apply-haproxy --boot"),
        );
        assert.deepEqual(secretFindings(userData), []);
    });

    test("emqx user-data pins the version, names the node, finds its volume, keeps the cookie out", () => {
        const userData = renderEmqxUserData(emqxSpec);
        assert.match(userData, /--name '\/mqtt-edge\/dev\/emqx\/emqx-version'/);
        assert.match(userData, /^ {4}"emqx=\$\{emqx_version\}"$/m);
        assert.match(userData, /^apt-mark hold emqx$/m);
        assert.match(userData, /^Environment=EMQX_NODE__NAME=emqx@emqx-2\.edge\.internal$/m);
        assert.match(userData, /^RequiresMountsFor=\/var\/lib\/emqx$/m);
        assert.ok(
            userData.indexOf("systemctl enable --now amazon-ssm-agent") <
                userData.indexOf("mqtt-edge-apply-emqx --boot"),
        );
        assert.ok(
            userData.includes(
                "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0",
            ),
        );
        assert.match(userData, /debian_arm64\/amazon-ssm-agent\.deb/);
        assert.doesNotMatch(userData, /COOKIE=|DEFAULT_PASSWORD=/);
        assert.deepEqual(secretFindings(userData), []);
    });
});

describe("the fetch script, run by bash against a fake AWS CLI", () => {
    const work = mkdtempSync(join(tmpdir(), "mqtt-edge-fetch-"));
    after(() => rmSync(work, { recursive: true, force: true }));

    test("writes byte-exact files with their modes and prints the hash Pulumi computes", () => {
        const contents = {
            "/p/haproxy.cfg": "global\n    maxconn 10\n",
            "/p/server.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n\n\n",
            "/p/odd": "tab\there 'quoted' \"double\" $HOME ünïcode no-newline",
        };
        const bin = join(work, "bin");
        mkdirSync(bin);
        writeFileSync(join(work, "values.json"), JSON.stringify(contents));
        // aws ssm get-parameter --name <n> --with-decryption --output json
        writeFileSync(
            join(bin, "aws"),
            `#!/usr/bin/env python3\nimport json, sys\nname = sys.argv[sys.argv.index("--name") + 1]\nvalues = json.load(open(${JSON.stringify(join(work, "values.json"))}))\nprint(json.dumps({"Parameter": {"Name": name, "Value": values[name]}}))\n`,
        );
        writeFileSync(join(bin, "curl"), "#!/bin/sh\necho eu-west-1\n");
        chmodSync(join(bin, "aws"), 0o755);
        chmodSync(join(bin, "curl"), 0o755);
        const script = join(work, "fetch");
        writeFileSync(script, renderFetchParametersScript(), { mode: 0o755 });
        const owner = `${userInfo().username}:${spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim()}`;
        const files = [
            {
                parameterName: "/p/haproxy.cfg",
                path: "/etc/haproxy/haproxy.cfg",
                mode: "0644",
                owner,
            },
            {
                parameterName: "/p/server.pem",
                path: "/etc/haproxy/certs/server.pem",
                mode: "0600",
                owner,
            },
            { parameterName: "/p/odd", path: "/etc/odd", mode: "0640", owner },
        ];
        writeFileSync(join(work, "manifest"), renderHostFileManifest(files));
        const staging = join(work, "staging");
        const run = spawnSync("bash", [script, join(work, "manifest"), staging], {
            encoding: "utf8",
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        });
        assert.equal(run.status, 0, run.stderr);
        for (const file of files) {
            const written = join(staging, file.path);
            assert.equal(
                readFileSync(written, "utf8"),
                contents[file.parameterName as keyof typeof contents],
            );
            assert.equal((statSync(written).mode & 0o777).toString(8).padStart(4, "0"), file.mode);
        }
        assert.equal(run.stdout.trim(), hostFilesContentHash(Object.values(contents)));
        assert.notEqual(run.stdout.trim(), hostFilesContentHash(Object.values(contents).reverse()));
    });
});

describe("limits follow the connection count", () => {
    test("HAProxy needs two descriptors per connection, EMQX one; never below Linux's nr_open", () => {
        assert.equal(
            fileDescriptorLimit({ maxConnections: 500_000, socketsPerConnection: 2 }),
            1_065_984,
        );
        assert.equal(
            fileDescriptorLimit({ maxConnections: 2_000_000, socketsPerConnection: 2 }),
            4_066_304,
        );
        assert.equal(
            fileDescriptorLimit({ maxConnections: 1000, socketsPerConnection: 1 }),
            1_048_576,
        );
        const sysctl = renderSysctlConf({ maxConnections: 2_000_000, socketsPerConnection: 2 });
        assert.match(sysctl, /^fs\.nr_open = 4066304$/m);
        assert.match(sysctl, /^fs\.file-max = 8132608$/m);
        assert.match(sysctl, /^net\.core\.somaxconn = 32768$/m);
    });
});

describe("subnet plan", () => {
    test("cuts a /16 into /21s: public blocks 0-7, proxy 8-15, private 16-23, one per zone", () => {
        assert.deepEqual(planSubnets("10.40.0.0/16", 3), [
            {
                publicCidr: "10.40.0.0/21",
                proxyCidr: "10.40.64.0/21",
                privateCidr: "10.40.128.0/21",
            },
            {
                publicCidr: "10.40.8.0/21",
                proxyCidr: "10.40.72.0/21",
                privateCidr: "10.40.136.0/21",
            },
            {
                publicCidr: "10.40.16.0/21",
                proxyCidr: "10.40.80.0/21",
                privateCidr: "10.40.144.0/21",
            },
        ]);
        assert.deepEqual(planSubnets("192.168.4.0/22", 2)[1], {
            publicCidr: "192.168.4.32/27",
            proxyCidr: "192.168.5.32/27",
            privateCidr: "192.168.6.32/27",
        });
    });
});

describe("bad input gets a one-line error naming the field, the value and what is allowed", () => {
    const cases: [string, () => unknown, RegExp][] = [
        [
            "maxconn 0",
            () => renderHaproxyUserData({ ...haproxySpec, maxconn: 0 }),
            /^maxconn: 0 is not allowed; it must be a whole number from 1 to 10000000$/,
        ],
        [
            "config not among files",
            () => renderHaproxyUserData({ ...haproxySpec, configPath: "/etc/other.cfg" }),
            /^files: no entry writes configPath "\/etc\/other.cfg"/,
        ],
        [
            "path with a space",
            () => renderHostFileManifest([{ ...haproxySpec.files[0]!, path: "/etc/my file" }]),
            /^files\[0\]\.path: "\/etc\/my file" is not allowed/,
        ],
        [
            "relative path",
            () => renderHostFileManifest([{ ...haproxySpec.files[0]!, path: "etc/x" }]),
            /^files\[0\]\.path: "etc\/x" is not allowed; it must be an absolute path/,
        ],
        [
            "bad mode",
            () => renderHostFileManifest([{ ...haproxySpec.files[0]!, mode: "644" }]),
            /^files\[0\]\.mode: "644" is not allowed; use a 4-digit octal mode/,
        ],
        [
            "duplicate path",
            () => renderHostFileManifest([haproxySpec.files[0]!, haproxySpec.files[0]!]),
            /^files\[1\]\.path: "\/etc\/haproxy\/haproxy.cfg" is listed twice/,
        ],
        [
            "node name not the host",
            () => renderEmqxUserData({ ...emqxSpec, nodeName: "emqx@10.0.0.1" }),
            /^nodeName: "emqx@10.0.0.1" is not allowed; it must be emqx@emqx-2.edge.internal/,
        ],
        [
            "version range",
            () =>
                renderEmqxHostSettings({
                    emqxVersion: "5.8",
                    maxConnections: 1000,
                    secretsEnvPath: "/etc/emqx/s.env",
                    nodeNames: ["emqx@emqx-1.e"],
                }),
            /^emqxVersion: "5.8" is not allowed; pin an exact version/,
        ],
        [
            "volume id",
            () => renderEmqxUserData({ ...emqxSpec, dataVolumeId: "disk1" }),
            /^dataVolumeId: "disk1" is not allowed/,
        ],
        [
            "vpc cidr",
            () => planSubnets("10.40.0.0/8", 2),
            /^vpcCidr: "10.40.0.0\/8" is not allowed; use an IPv4 CIDR from \/16 to \/22/,
        ],
        [
            "one zone",
            () => planSubnets("10.40.0.0/16", 1),
            /^availabilityZones: 1 zones is not allowed; use 2 to 8$/,
        ],
    ];
    for (const [label, run, message] of cases) {
        test(label, () => {
            assert.throws(run, (error: Error) => {
                assert.match(error.message, message);
                assert.ok(!error.message.includes("\n"), "one line");
                return true;
            });
        });
    }
});
