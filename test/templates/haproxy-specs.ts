/**
 * HaproxySpec builders for the template tests: a dev-like spec with production-sized limits and a
 * minimal loopback one. Each call returns a fresh object, so a test may change it freely.
 */
import type { HaproxySpec } from "../../templates/haproxy.ts";
import type { TestPkiFiles } from "../support/test-pki-files.ts";
import { testPkiNames } from "../support/test-pki-files.ts";

/** Production-like: maxconn 500000, three DNS-named nodes, accept-proxy, CRL, both certs, admin. */
export function devLikeSpec(pki: TestPkiFiles): HaproxySpec {
    return {
        process: {
            maxconn: 500_000,
            threads: 2,
            log: { kind: "syslog", address: "/dev/log", facility: "local0", level: "info" },
            statsSocketPath: `${pki.dir}/admin.sock`,
            // The Debian package creates this account; `haproxy -c` looks it up.
            runAs: { user: "haproxy", group: "haproxy", chroot: "/var/lib/haproxy" },
            pidFile: `${pki.dir}/haproxy.pid`,
            hardStopAfterMs: 15 * 60_000,
            tlsSessionCacheSize: 200_000,
        },
        timeouts: {
            connectMs: 5_000,
            clientMs: 180_000,
            serverMs: 180_000,
            clientFinMs: 30_000,
            serverFinMs: 30_000,
            queueMs: 5_000,
            checkMs: 3_000,
            httpRequestMs: 5_000,
        },
        acceptProxyFromLoadBalancer: true,
        mqtts: {
            bind: { address: "0.0.0.0", port: 8883 },
            maxconn: 500_000,
            serverCertificatePaths: [pki.serverEcdsaPemPath, pki.serverRsaPemPath],
            deviceIntermediateCaPath: pki.intermediateCaPath,
            rootCaPath: pki.rootCaPath,
            crlPath: pki.crlPath,
            deviceIssuerCommonName: testPkiNames.intermediate,
            minTlsVersion: "TLSv1.2",
        },
        backend: {
            balance: "roundrobin",
            // `localhost` is the one name every machine resolves; `haproxy -c -dW` turns the
            // "could not resolve" warning of any other name into an error.
            servers: [
                { name: "emqx-1", host: "localhost", port: 1883 },
                { name: "emqx-2", host: "localhost", port: 1884 },
                { name: "emqx-3", host: "localhost", port: 1885 },
            ],
            serverDefaults: {
                checkIntervalMs: 10_000,
                downCheckIntervalMs: 5_000,
                rise: 2,
                fall: 2,
                slowstartMs: 60_000,
                maxconn: 500_000,
                maxqueue: 10_000,
                weight: 100,
            },
            healthCheck: { kind: "proxy-connect" },
            shutdownSessionsOnMarkedDown: true,
        },
        resolvers: { nameservers: "resolv-conf", holdValidMs: 10_000, resolveIntervalMs: 1_000 },
        health: { bind: { address: "0.0.0.0", port: 8080 }, uri: "/healthz" },
        admin: {
            bind: { address: "127.0.0.1", port: 8405 },
            metricsPath: "/metrics",
            statsUri: "/stats",
        },
    };
}

/** Loopback-sized: one IPv4 node, one certificate, stdout log, no CRL, no admin, fast checks. */
export function minimalSpec(pki: TestPkiFiles): HaproxySpec {
    return {
        process: {
            maxconn: 200,
            log: { kind: "stdout", level: "info" },
            statsSocketPath: `${pki.dir}/admin.sock`,
            runAs: "starting-user",
            hardStopAfterMs: 5_000,
        },
        timeouts: {
            connectMs: 1_000,
            clientMs: 30_000,
            serverMs: 30_000,
            clientFinMs: 1_000,
            serverFinMs: 1_000,
            queueMs: 1_000,
            checkMs: 500,
            httpRequestMs: 1_000,
        },
        acceptProxyFromLoadBalancer: false,
        mqtts: {
            bind: { address: "127.0.0.1", port: 18883 },
            maxconn: 100,
            serverCertificatePaths: [pki.serverEcdsaPemPath],
            deviceIntermediateCaPath: pki.intermediateCaPath,
            rootCaPath: pki.rootCaPath,
            deviceIssuerCommonName: testPkiNames.intermediate,
            minTlsVersion: "TLSv1.2",
        },
        backend: {
            balance: "roundrobin",
            servers: [{ name: "node1", host: "127.0.0.1", port: 11883 }],
            serverDefaults: {
                checkIntervalMs: 200,
                downCheckIntervalMs: 200,
                rise: 1,
                fall: 1,
                slowstartMs: 0,
                maxconn: 100,
                maxqueue: 10,
                weight: 1,
            },
            healthCheck: { kind: "proxy-connect" },
            shutdownSessionsOnMarkedDown: false,
        },
        resolvers: { nameservers: "resolv-conf", holdValidMs: 10_000, resolveIntervalMs: 1_000 },
        health: { bind: { address: "127.0.0.1", port: 18080 }, uri: "/healthz" },
    };
}

/** PKI file paths for tests that only render (no file is read): the hosts' layout. */
export const renderOnlyPaths: TestPkiFiles = {
    dir: "/etc/haproxy",
    rootCaPath: "/etc/haproxy/ca/root.pem",
    intermediateCaPath: "/etc/haproxy/ca/device-intermediate.pem",
    serverEcdsaPemPath: "/etc/haproxy/certs/server-ecdsa.pem",
    serverRsaPemPath: "/etc/haproxy/certs/server-rsa.pem",
    crlPath: "/etc/haproxy/ca/crls.pem",
    deviceCertPath: "/unused",
    deviceKeyPath: "/unused",
    revokedDeviceCertPath: "/unused",
    revokedDeviceKeyPath: "/unused",
    rootIssuedDeviceCertPath: "/unused",
    rootIssuedDeviceKeyPath: "/unused",
    remove: async () => {},
};
