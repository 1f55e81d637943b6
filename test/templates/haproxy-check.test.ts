/**
 * Every supported variant of the rendered haproxy.cfg must pass the real HAProxy 2.6 check with
 * warnings as errors, against real certificate, CA and CRL files; a broken variant must not.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type HaproxySpec, renderHaproxyCfg } from "../../templates/haproxy.ts";
import { checkHaproxyConfig, withOwnResolver } from "../support/haproxy-check.ts";
import { type TestPkiFiles, writeTestPkiFiles } from "../support/test-pki-files.ts";
import { devLikeSpec, minimalSpec } from "./haproxy-specs.ts";

let pki: TestPkiFiles;
before(async () => {
    pki = await writeTestPkiFiles();
});
after(async () => {
    await pki?.remove();
});

async function assertValid(spec: HaproxySpec): Promise<string> {
    const config = renderHaproxyCfg(spec);
    const result = await checkHaproxyConfig(config);
    assert.equal(result.exitCode, 0, `haproxy -c -dW rejected:\n${result.output}\n---\n${config}`);
    assert.match(result.output, /Configuration file is valid/);
    return config;
}

describe("rendered haproxy.cfg passes `haproxy -c -dW` (Debian HAProxy 2.6)", () => {
    test("dev-like: maxconn 500000, three DNS-named servers, accept-proxy, CRL, admin", async () => {
        await assertValid(devLikeSpec(pki));
    });

    test("minimal: one IPv4 server, one certificate, stdout log, no admin, no CRL", async () => {
        const config = await assertValid(minimalSpec(pki));
        assert.doesNotMatch(config, /crl-file|frontend admin|resolvers dns resolve-prefer/);
    });

    test("leastconn balance", async () => {
        const spec = minimalSpec(pki);
        spec.backend.balance = "leastconn";
        assert.match(await assertValid(spec), /^ {4}balance leastconn$/m);
    });

    test("accept-proxy on", async () => {
        const spec = minimalSpec(pki);
        spec.acceptProxyFromLoadBalancer = true;
        assert.match(await assertValid(spec), / accept-proxy/);
    });

    test("crl-file with root and intermediate CRLs", async () => {
        const spec = minimalSpec(pki);
        spec.mqtts.crlPath = pki.crlPath;
        assert.match(await assertValid(spec), / crl-file /);
    });

    test("TLSv1.3 minimum", async () => {
        const spec = minimalSpec(pki);
        spec.mqtts.minTlsVersion = "TLSv1.3";
        assert.match(await assertValid(spec), / ssl-min-ver TLSv1\.3/);
    });

    test("two server certificates (ECDSA and RSA)", async () => {
        const spec = minimalSpec(pki);
        spec.mqtts.serverCertificatePaths = [pki.serverEcdsaPemPath, pki.serverRsaPemPath];
        assert.match(await assertValid(spec), / crt \S+ crt \S+ /);
    });

    test("HTTP status health check on a separate port", async () => {
        const spec = minimalSpec(pki);
        spec.backend.healthCheck = { kind: "http-status", port: 18083, path: "/status" };
        assert.match(await assertValid(spec), /check port 18083/);
    });

    test("explicit nameservers, syslog over UDP, threads, TLS cache size, slowstart", async () => {
        const spec = devLikeSpec(pki);
        spec.resolvers.nameservers = [
            { address: "127.0.0.53", port: 53 },
            { address: "127.0.0.54", port: 5353 },
        ];
        spec.process.log = {
            kind: "syslog",
            address: "127.0.0.1:514",
            facility: "local1",
            level: "notice",
        };
        await assertValid(spec);
    });

    test("two listener ports per EMQX node: one server line each, said in a comment", async () => {
        const spec = devLikeSpec(pki);
        const first = spec.backend.servers;
        spec.backend.servers = [
            ...first,
            ...first.map((s) => ({ ...s, name: `${s.name}-2`, port: s.port + 10 })),
        ];
        spec.backend.linesPerNode = 2;
        const config = await assertValid(spec);
        const backend = config.slice(config.indexOf("backend emqx"));
        assert.match(
            backend,
            /^ {4}# 2 lines per EMQX node, one per listener port: one source address opens at most 64512 connections to one address:port\n {4}server /m,
        );
        assert.equal(backend.match(/^ {4}server \S+-\d+-2 /gm)?.length, first.length);
        // one line per node renders no such comment
        assert.doesNotMatch(renderHaproxyCfg(devLikeSpec(pki)), /lines per EMQX node/);
    });

    test("an issuer CN with spaces and punctuation stays one quoted ACL pattern", async () => {
        const spec = minimalSpec(pki);
        spec.mqtts.deviceIssuerCommonName = "ACME (EU) Devices: Issuing CA 2, v=3";
        await assertValid(spec);
    });
});

describe("`haproxy -c` really checks what we render", () => {
    test("a misspelt bind option is rejected", async () => {
        const config = renderHaproxyCfg(minimalSpec(pki)).replace(
            "verify required",
            "verify requird",
        );
        const result = await checkHaproxyConfig(config);
        assert.notEqual(result.exitCode, 0);
        assert.match(result.output, /requird/);
    });

    test("a certificate file that does not exist is rejected", async () => {
        const spec = minimalSpec(pki);
        spec.mqtts.serverCertificatePaths = [`${pki.dir}/missing.pem`];
        const result = await checkHaproxyConfig(renderHaproxyCfg(spec));
        assert.notEqual(result.exitCode, 0);
        assert.match(result.output, /missing\.pem/);
    });

    test("a server name that does not resolve yet passes even with warnings as errors", async () => {
        const spec = minimalSpec(pki);
        spec.backend.servers = [{ name: "emqx-9", host: "emqx-9.invalid", port: 1883 }];
        const config = renderHaproxyCfg(spec);
        assert.match(config, /server emqx-9 emqx-9\.invalid:1883 .*init-addr last,none/);

        const strict = await checkHaproxyConfig(config);
        assert.equal(strict.exitCode, 0, strict.output);

        // With the libc lookup the same file warns (fatal under -dW), and without `none` it
        // fails outright: a node that is not up yet would stop HAProxy.
        const withLibc = await checkHaproxyConfig(
            config.replace("init-addr last,none", "init-addr last,libc,none"),
        );
        assert.notEqual(withLibc.exitCode, 0);
        assert.match(withLibc.output, /could not resolve address 'emqx-9\.invalid'/);
        const withoutNone = await checkHaproxyConfig(
            config.replace("init-addr last,none", "init-addr last,libc"),
            { warningsAreErrors: false },
        );
        assert.notEqual(withoutNone.exitCode, 0);
    });

    test("the check owns its resolver: only parse-resolv-conf becomes a loopback nameserver", () => {
        const config = renderHaproxyCfg(devLikeSpec(pki));
        assert.match(config, /^\s+parse-resolv-conf$/m, "the dev-like spec reads resolv.conf");
        const owned = withOwnResolver(config, 5353);
        assert.doesNotMatch(owned, /parse-resolv-conf/);
        assert.match(owned, /^\s+nameserver check-owned 127\.0\.0\.1:5353$/m);
        // Nothing else changes: the same lines but the one.
        const changed = config.split("\n").filter((line, i) => line !== owned.split("\n")[i]);
        assert.equal(changed.length, 1, changed.join("\n"));
    });
});
