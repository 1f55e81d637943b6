/**
 * The HAProxy apply script run by real bash with the real fetch script (against a fake AWS CLI),
 * the real `haproxy -c` and a fake systemctl: a good config is installed and reloaded, an
 * unchanged one is left alone, a config HAProxy rejects is rolled back without a reload, and
 * content with an unexpected hash is never installed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
    chmodSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { renderHaproxyApplyScript } from "../../templates/cloud-init-haproxy.ts";
import {
    hostFilesContentHash,
    renderFetchParametersScript,
    renderHostFileManifest,
} from "../../templates/cloud-init-host-files.ts";

const work = mkdtempSync(join(tmpdir(), "mqtt-edge-apply-"));
after(() => rmSync(work, { recursive: true, force: true }));

const bin = join(work, "bin");
const etc = join(work, "etc");
mkdirSync(bin);
mkdirSync(etc);
const configPath = join(etc, "haproxy.cfg");
const crlPath = join(etc, "ca", "crl.pem");
const valuesPath = join(work, "values.json");
const systemctlLog = join(work, "systemctl.log");
const socatLog = join(work, "socat.log");
const socatAnswer = join(work, "socat-answer");
const statsSocket = join(work, "admin.sock");
const activeFlag = join(work, "haproxy-active");
const bootstrapDonePath = join(work, "bootstrap-done");

writeFileSync(
    join(bin, "aws"),
    `#!/usr/bin/env python3\nimport json, sys\nname = sys.argv[sys.argv.index("--name") + 1]\nprint(json.dumps({"Parameter": {"Value": json.load(open(${JSON.stringify(valuesPath)}))[name]}}))\n`,
);
writeFileSync(join(bin, "curl"), "#!/bin/sh\necho eu-west-1\n");
writeFileSync(
    join(bin, "systemctl"),
    `#!/bin/sh\necho "$*" >> ${systemctlLog}\nif [ "$1" = is-active ]; then test -e ${activeFlag}; exit $?; fi\nexit 0\n`,
);
// The runtime API stand-in: records what it was sent, answers like HAProxy 2.6 (or as told).
writeFileSync(
    join(bin, "socat"),
    `#!/bin/sh\necho "ARGS $*" >> ${socatLog}\ncat >> ${socatLog}\nif [ -e ${socatAnswer} ]; then cat ${socatAnswer}; exit 0; fi\nif tail -n 1 ${socatLog} | grep -q '^commit '; then echo 'Committing ... Success!'; else echo 'transaction created for CRL ...!'; fi\n`,
);
for (const tool of ["aws", "curl", "systemctl", "socat"]) chmodSync(join(bin, tool), 0o755);

const fetchScript = join(work, "fetch");
writeFileSync(fetchScript, renderFetchParametersScript(), { mode: 0o755 });
const owner = `${userInfo().username}:${spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim()}`;
const manifestPath = join(work, "manifest");
writeFileSync(
    manifestPath,
    renderHostFileManifest([
        { parameterName: "/t/haproxy.cfg", path: configPath, mode: "0644", owner },
        { parameterName: "/t/crl.pem", path: crlPath, mode: "0644", owner },
    ]),
);
const applyScript = join(work, "apply");
writeFileSync(
    applyScript,
    renderHaproxyApplyScript({
        configPath,
        manifestPath,
        fetchScriptPath: fetchScript,
        lockPath: join(work, "apply.lock"),
        workDir: work,
        runtimeApi: { statsSocketPath: statsSocket, crlPaths: [crlPath] },
        bootstrapDonePath,
    }),
    { mode: 0o755 },
);

function haproxyCfg(maxconn: number, extra = ""): string {
    return `global\n    maxconn ${maxconn}\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 180s\n    timeout server 180s\nfrontend devices\n    bind 127.0.0.1:18883\n    default_backend emqx\nbackend emqx\n${extra}    server emqx1 127.0.0.1:1883\n`;
}

/** Publishes new parameter values, runs the apply script, returns its result and systemctl calls. */
function apply(values: { cfg: string; crl: string }, args: string[] = []) {
    writeFileSync(
        valuesPath,
        JSON.stringify({ "/t/haproxy.cfg": values.cfg, "/t/crl.pem": values.crl }),
    );
    rmSync(systemctlLog, { force: true });
    rmSync(socatLog, { force: true });
    const run = spawnSync("bash", [applyScript, ...args], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    const calls = existsSync(systemctlLog)
        ? readFileSync(systemctlLog, "utf8").trim().split("\n")
        : [];
    const socat = existsSync(socatLog) ? readFileSync(socatLog, "utf8") : "";
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, calls, socat };
}

const first = { cfg: haproxyCfg(100), crl: "CRL v1\n" };
const second = { cfg: haproxyCfg(200), crl: "CRL v2\n" };

test("boot: installs the files, checks them, starts HAProxy", () => {
    const result = apply(first, ["--boot"]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(configPath, "utf8"), first.cfg);
    assert.equal(readFileSync(crlPath, "utf8"), first.crl);
    assert.deepEqual(result.calls, ["is-active --quiet haproxy", "restart haproxy"]);
});

test("State Manager before the bootstrap finished: nothing applied, the boot does it", () => {
    const result = apply(second, ["--expect-hash", hostFilesContentHash([second.cfg, second.crl])]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /bootstrap of this host not finished/);
    assert.equal(readFileSync(configPath, "utf8"), first.cfg);
    assert.deepEqual(result.calls, []);
    writeFileSync(bootstrapDonePath, "");
});

test("a new config with the expected hash is installed and reloaded gracefully", () => {
    writeFileSync(activeFlag, "");
    const result = apply(second, ["--expect-hash", hostFilesContentHash([second.cfg, second.crl])]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(configPath, "utf8"), second.cfg);
    assert.equal(readFileSync(crlPath, "utf8"), second.crl);
    assert.deepEqual(result.calls, ["is-active --quiet haproxy", "reload haproxy"]);
});

test("unchanged content: no reload", () => {
    const result = apply(second, ["--expect-hash", hostFilesContentHash([second.cfg, second.crl])]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /haproxy files unchanged/);
    assert.ok(
        !result.calls.some((call) => call.startsWith("reload") || call.startsWith("restart")),
    );
});

test("a config haproxy -c rejects is rolled back, HAProxy keeps running the old one, the run fails", () => {
    const broken = { cfg: haproxyCfg(300, "    no_such_keyword on\n"), crl: "CRL v3\n" };
    const result = apply(broken, ["--expect-hash", hostFilesContentHash([broken.cfg, broken.crl])]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /haproxy -c rejected the new files; restoring the previous ones/);
    assert.equal(readFileSync(configPath, "utf8"), second.cfg);
    assert.equal(readFileSync(crlPath, "utf8"), second.crl);
    assert.ok(
        !result.calls.some((call) => call.startsWith("reload") || call.startsWith("restart")),
    );
});

test("content whose hash is not the expected one is never installed", () => {
    const result = apply(first, [
        "--expect-hash",
        hostFilesContentHash([second.cfg, "something else\n"]),
    ]);
    assert.equal(result.status, 1);
    assert.match(
        result.stderr,
        /fetched content with hash [0-9a-f]{64}, expected [0-9a-f]{64}; not applying/,
    );
    assert.equal(readFileSync(configPath, "utf8"), second.cfg);
    assert.deepEqual(result.calls, []);
});

test("only the CRL changed: swapped through the runtime API, no reload, sessions kept", () => {
    writeFileSync(activeFlag, "");
    const next = {
        cfg: second.cfg,
        crl: "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    };
    const result = apply(next, ["--expect-hash", hostFilesContentHash([next.cfg, next.crl])]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(crlPath, "utf8"), next.crl);
    assert.match(result.stdout, /CRLs swapped through the runtime API, no reload/);
    assert.ok(!result.calls.some((call) => /^(reload|restart)/.test(call)), result.calls.join());
    // Exactly HAProxy's payload syntax: the PEM between `<<` and an empty line, then a commit.
    assert.equal(
        result.socat,
        `ARGS -t 10 - UNIX-CONNECT:${statsSocket}\nset ssl crl-file ${crlPath} <<\n${next.crl}\n` +
            `ARGS -t 10 - UNIX-CONNECT:${statsSocket}\ncommit ssl crl-file ${crlPath}\n`,
    );
});

test("a CRL the runtime API refuses falls back to a graceful reload", () => {
    writeFileSync(socatAnswer, "CRL file not found\n");
    try {
        const next = {
            cfg: second.cfg,
            crl: "-----BEGIN X509 CRL-----\nBBBB\n-----END X509 CRL-----\n",
        };
        const result = apply(next, ["--expect-hash", hostFilesContentHash([next.cfg, next.crl])]);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stderr, /set ssl crl-file .*: CRL file not found/);
        assert.deepEqual(result.calls, ["is-active --quiet haproxy", "reload haproxy"]);
    } finally {
        rmSync(socatAnswer, { force: true });
    }
});

test("haproxy.cfg and a CRL changed together: a reload, not the runtime API", () => {
    const next = {
        cfg: haproxyCfg(250),
        crl: "-----BEGIN X509 CRL-----\nCCCC\n-----END X509 CRL-----\n",
    };
    const result = apply(next, ["--expect-hash", hostFilesContentHash([next.cfg, next.crl])]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.socat, "");
    assert.deepEqual(result.calls, ["is-active --quiet haproxy", "reload haproxy"]);
});
