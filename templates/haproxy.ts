/**
 * haproxy.cfg for the MQTT edge: devices -> NLB -> HAProxy (ends mutual TLS, pins the device
 * issuer) -> plain TCP + PROXY v2 carrying the device IP and certificate CN -> EMQX nodes.
 *
 * Pure: a validated plain spec in, text out. Every value is checked (templates/haproxy-values.ts)
 * before it is written, so no spec value can add a line, a comment or a directive.
 */

import { PORTS_PER_DESTINATION } from "../capacity/backend-ports.ts";
import type {
    HaproxyAdminFrontendSpec,
    HaproxyBackendSpec,
    HaproxyBindAddress,
    HaproxyHealthFrontendSpec,
    HaproxyLogTarget,
    HaproxyMqttsFrontendSpec,
    HaproxyProcessSpec,
    HaproxyResolversSpec,
    HaproxySpec,
    HaproxyTimeouts,
    HaproxyWorkerPrivileges,
} from "./haproxy-spec.ts";
import {
    checkAbsolutePath,
    checkBoolean,
    checkCommonName,
    checkHost,
    checkIdentifier,
    checkInteger,
    checkIpv4,
    checkList,
    checkMilliseconds,
    checkObject,
    checkOneOf,
    checkPort,
    checkSystemAccount,
    checkUnique,
    checkUriPath,
    failRule,
    formatMilliseconds,
    ipv4Pattern,
} from "./haproxy-values.ts";

export type * from "./haproxy-spec.ts";

/** Name of the EMQX backend: stats rows, `nbsrv()` and runtime API commands refer to it. */
export const haproxyBackendName = "emqx";
/** Name of the device-facing frontend in stats and logs. */
export const haproxyMqttsFrontendName = "mqtts";
/** Name of the `resolvers` section the servers use. */
export const haproxyResolversName = "dns";

// Upper bounds that catch unit mistakes (seconds typed as milliseconds and the like) while leaving
// room for any real deployment: one HAProxy process does not hold more than ~10M connections.
const maxConnections = 10_000_000;
// nbthread: the Debian 2.6 package is built with MAX_THREADS=64 (`haproxy -vv`).
const maxThreads = 64;
// sun_path is 108 bytes including the terminating NUL (unix(7)).
const maxUnixSocketPath = 107;
const maxServers = 256;
const maxCertificates = 8;
const maxNameservers = 8;

const indent = "    ";

const tcpLogFormat = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

function section(header: string, lines: string[]): string {
    return [header, ...lines.map((line) => `${indent}${line}`)].join("\n");
}

function bindAddress(field: string, bind: unknown): string {
    const value = checkObject(field, bind) as Partial<HaproxyBindAddress>;
    return `${checkIpv4(`${field}.address`, value.address)}:${checkPort(`${field}.port`, value.port)}`;
}

function syslogAddress(field: string, address: unknown): string {
    if (typeof address === "string" && address.startsWith("/")) {
        return checkAbsolutePath(field, address, maxUnixSocketPath);
    }
    const match = typeof address === "string" ? /^([0-9.]+):([0-9]{1,5})$/.exec(address) : null;
    if (match === null) {
        failRule(field, address, "an absolute unix socket path (/dev/log) or IPv4:port");
    }
    const [, ip = "", port = ""] = match;
    const portNumber = Number(port);
    if (!ipv4Pattern.test(ip) || portNumber < 1 || portNumber > 65_535) {
        failRule(field, address, "an absolute unix socket path (/dev/log) or IPv4:port");
    }
    return `${ip}:${portNumber}`;
}

function logLine(field: string, target: HaproxyLogTarget): string {
    checkObject(field, target);
    const levels = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"] as const;
    checkOneOf(`${field}.kind`, target.kind, ["stdout", "syslog"] as const);
    const level = checkOneOf(`${field}.level`, target.level, levels);
    if (target.kind === "stdout") {
        // `format raw` drops the syslog header, which only adds noise on a terminal or in a test.
        return `log stdout format raw local0 ${level}`;
    }
    const facility = checkOneOf(`${field}.facility`, target.facility, [
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
        "daemon",
        "user",
    ] as const);
    return `log ${syslogAddress(`${field}.address`, target.address)} ${facility} ${level}`;
}

/**
 * `user`, `group` and `chroot`: the workers leave root once the master has bound and loaded
 * everything (templates/haproxy-spec.ts, HaproxyWorkerPrivileges); nothing for "starting-user".
 */
function workerPrivilegeLines(field: string, runAs: unknown): string[] {
    if (runAs === "starting-user") return [];
    if (typeof runAs !== "object" || runAs === null || Array.isArray(runAs)) {
        failRule(field, runAs, '{ user, group, chroot } or "starting-user"');
    }
    const privileges = runAs as Partial<HaproxyWorkerPrivileges>;
    return [
        `user ${checkSystemAccount(`${field}.user`, privileges.user)}`,
        `group ${checkSystemAccount(`${field}.group`, privileges.group)}`,
        `chroot ${checkAbsolutePath(`${field}.chroot`, privileges.chroot)}`,
    ];
}

function renderGlobal(process: HaproxyProcessSpec): string {
    const field = "process";
    checkObject(field, process);
    const lines = [
        // Master-worker: a reload (SIGUSR2 to the master) starts new workers while old ones finish
        // their sessions, and the master reaps them; same as `-W` on the command line.
        "master-worker",
        // HAProxy sizes its fd limit from this (haproxy@v2.6.0 src/haproxy.c:1424 "each
        // connection needs two sockets"; 2.6.12 asked for 24033 fds at maxconn 12000) and raises
        // RLIMIT_NOFILE itself at start, refusing to start ("Cannot raise FD limit") when the
        // hard limit is lower. So no fd-hard-limit/ulimit-n here: the host's limit must allow it.
        `maxconn ${checkInteger(`${field}.maxconn`, process.maxconn, 1, maxConnections)}`,
    ];
    if (process.threads !== undefined) {
        lines.push(`nbthread ${checkInteger(`${field}.threads`, process.threads, 1, maxThreads)}`);
    }
    lines.push(logLine(`${field}.log`, process.log));
    const socket = checkAbsolutePath(
        `${field}.statsSocketPath`,
        process.statsSocketPath,
        maxUnixSocketPath,
    );
    // Admin level: operators and the revocation script replace CRLs at run time with
    // `set ssl crl-file` + `commit ssl crl-file`. Mode 600: only the socket's owner, the user
    // that starts HAProxy (root in production), may connect.
    lines.push(`stats socket ${socket} mode 600 level admin`);
    lines.push(...workerPrivilegeLines(`${field}.runAs`, process.runAs));
    if (process.pidFile !== undefined) {
        lines.push(`pidfile ${checkAbsolutePath(`${field}.pidFile`, process.pidFile)}`);
    }
    // MQTT sessions live for days; without a bound, every reload would leave an old worker behind
    // for as long as its last device stays connected.
    const hardStop = checkMilliseconds(`${field}.hardStopAfterMs`, process.hardStopAfterMs);
    lines.push(`hard-stop-after ${formatMilliseconds(hardStop)}`);
    if (process.tlsSessionCacheSize !== undefined) {
        const size = checkInteger(
            `${field}.tlsSessionCacheSize`,
            process.tlsSessionCacheSize,
            1,
            maxConnections,
        );
        lines.push(`tune.ssl.cachesize ${size}`);
    }
    if (process.tlsSessionLifetimeMs !== undefined) {
        const lifetime = checkMilliseconds(
            `${field}.tlsSessionLifetimeMs`,
            process.tlsSessionLifetimeMs,
        );
        lines.push(`tune.ssl.lifetime ${formatMilliseconds(lifetime)}`);
    }
    return section("global", lines);
}

function renderResolvers(resolvers: HaproxyResolversSpec): string {
    const field = "resolvers";
    checkObject(field, resolvers);
    const lines: string[] = [];
    if (resolvers.nameservers === "resolv-conf") {
        lines.push("parse-resolv-conf");
    } else {
        const list = checkList(`${field}.nameservers`, resolvers.nameservers, maxNameservers);
        list.forEach((nameserver, index) => {
            const address = bindAddress(`${field}.nameservers[${index}]`, nameserver);
            lines.push(`nameserver ns${index + 1} ${address}`);
        });
    }
    const hold = checkMilliseconds(`${field}.holdValidMs`, resolvers.holdValidMs);
    const interval = checkMilliseconds(`${field}.resolveIntervalMs`, resolvers.resolveIntervalMs);
    lines.push(
        `hold valid ${formatMilliseconds(hold)}`,
        `timeout resolve ${formatMilliseconds(interval)}`,
    );
    return section(`resolvers ${haproxyResolversName}`, lines);
}

function renderTcpDefaults(timeouts: HaproxyTimeouts): string {
    const field = "timeouts";
    checkObject(field, timeouts);
    const timeout = (name: string, key: keyof HaproxyTimeouts): string =>
        `timeout ${name} ${formatMilliseconds(checkMilliseconds(`${field}.${key}`, timeouts[key]))}`;
    return section("defaults mqtt", [
        "mode tcp",
        "log global",
        "option tcplog",
        timeout("connect", "connectMs"),
        timeout("client", "clientMs"),
        timeout("server", "serverMs"),
        timeout("client-fin", "clientFinMs"),
        timeout("server-fin", "serverFinMs"),
        timeout("queue", "queueMs"),
        timeout("check", "checkMs"),
    ]);
}

function renderMqttsFrontend(spec: HaproxySpec, processMaxconn: number): string {
    const field = "mqtts";
    const mqtts: HaproxyMqttsFrontendSpec = spec.mqtts;
    checkObject(field, mqtts);
    const acceptProxy = checkBoolean(
        "acceptProxyFromLoadBalancer",
        spec.acceptProxyFromLoadBalancer,
    );
    const certificates = checkList(
        `${field}.serverCertificatePaths`,
        mqtts.serverCertificatePaths,
        maxCertificates,
    ).map((path, index) => checkAbsolutePath(`${field}.serverCertificatePaths[${index}]`, path));
    checkUnique(`${field}.serverCertificatePaths`, certificates, "certificate path");
    const bindOptions = [
        `bind ${bindAddress(`${field}.bind`, mqtts.bind)}`,
        ...(acceptProxy ? ["accept-proxy"] : []),
        "ssl",
        ...certificates.map((path) => `crt ${path}`),
        // ca-file holds only the device intermediate: it is both a trust anchor and the CA name
        // list sent in the CertificateRequest; ca-verify-file adds the root to the verify store
        // without advertising it (hap-2.6 doc/configuration.txt, bind option "ca-verify-file").
        `ca-file ${checkAbsolutePath(`${field}.deviceIntermediateCaPath`, mqtts.deviceIntermediateCaPath)}`,
        `ca-verify-file ${checkAbsolutePath(`${field}.rootCaPath`, mqtts.rootCaPath)}`,
        "verify required",
    ];
    if (mqtts.crlPath !== undefined) {
        // HAProxy checks CRLs for every CA of the chain, so this file must hold the root's and the
        // intermediate's CRL (shared/reference/facts-emqx-haproxy.md section 10, LOCAL TEST).
        bindOptions.push(`crl-file ${checkAbsolutePath(`${field}.crlPath`, mqtts.crlPath)}`);
    }
    if (mqtts.tlsTicketKeysPath !== undefined) {
        const keys = checkAbsolutePath(`${field}.tlsTicketKeysPath`, mqtts.tlsTicketKeysPath);
        bindOptions.push(`tls-ticket-keys ${keys}`);
    }
    const minTls = checkOneOf(`${field}.minTlsVersion`, mqtts.minTlsVersion, [
        "TLSv1.2",
        "TLSv1.3",
    ] as const);
    bindOptions.push(`ssl-min-ver ${minTls}`);

    const maxconn = checkInteger(`${field}.maxconn`, mqtts.maxconn, 1, maxConnections);
    if (maxconn > processMaxconn) {
        failRule(`${field}.maxconn`, maxconn, `at most process.maxconn (${processMaxconn})`);
    }
    const issuer = checkCommonName(`${field}.deviceIssuerCommonName`, mqtts.deviceIssuerCommonName);
    return section(`frontend ${haproxyMqttsFrontendName}`, [
        bindOptions.join(" "),
        `maxconn ${maxconn}`,
        // ca-verify-file trusts the root, so `verify required` alone also admits a client
        // certificate signed directly by the root or by any other CA under it (LOCAL TEST in
        // shared/reference/facts-emqx-haproxy.md section 0.4). Only the device intermediate may
        // issue device identities. `tcp-request session` rules run once, right after the TLS
        // handshake and before a stream exists, so the rule needs no inspect-delay and a refused
        // connection costs no stream (verified on 2.6.12: a root-issued client certificate is
        // closed, an intermediate-issued one reaches the backend). Single quotes: no `$` expansion.
        `tcp-request session reject unless { ssl_c_i_dn(CN) -m str '${issuer}' }`,
        // The default TCP log line (haproxy src/log.c `default_tcp_log_format`, hap-2.6 doc section
        // 8.2.2) plus the device CN, so a log line names the device, not only its address.
        `log-format "${tcpLogFormat} %{+Q}[ssl_c_s_dn(CN)]"`,
        `default_backend ${haproxyBackendName}`,
    ]);
}

function renderBackend(backend: HaproxyBackendSpec): string {
    const field = "backend";
    checkObject(field, backend);
    const balance = checkOneOf(`${field}.balance`, backend.balance, [
        "roundrobin",
        "leastconn",
    ] as const);
    const defaults = checkObject(`${field}.serverDefaults`, backend.serverDefaults);
    const d = `${field}.serverDefaults`;
    const slowstart = checkMilliseconds(`${d}.slowstartMs`, defaults.slowstartMs, 0);
    const defaultServer = [
        "default-server",
        `inter ${formatMilliseconds(checkMilliseconds(`${d}.checkIntervalMs`, defaults.checkIntervalMs))}`,
        `downinter ${formatMilliseconds(checkMilliseconds(`${d}.downCheckIntervalMs`, defaults.downCheckIntervalMs))}`,
        `rise ${checkInteger(`${d}.rise`, defaults.rise, 1, 1000)}`,
        `fall ${checkInteger(`${d}.fall`, defaults.fall, 1, 1000)}`,
        ...(slowstart > 0 ? [`slowstart ${formatMilliseconds(slowstart)}`] : []),
        `maxconn ${checkInteger(`${d}.maxconn`, defaults.maxconn, 1, maxConnections)}`,
        `maxqueue ${checkInteger(`${d}.maxqueue`, defaults.maxqueue, 1, maxConnections)}`,
        `weight ${checkInteger(`${d}.weight`, defaults.weight, 1, 256)}`,
    ];
    if (
        checkBoolean(`${field}.shutdownSessionsOnMarkedDown`, backend.shutdownSessionsOnMarkedDown)
    ) {
        defaultServer.push("on-marked-down shutdown-sessions");
    }

    const lines = [`balance ${balance}`];
    const health = checkObject(`${field}.healthCheck`, backend.healthCheck);
    const healthKind = checkOneOf(`${field}.healthCheck.kind`, health.kind, [
        "proxy-connect",
        "http-status",
    ] as const);
    let checkOptions = "check";
    if (healthKind === "http-status") {
        const port = checkPort(`${field}.healthCheck.port`, health.port);
        const path = checkUriPath(`${field}.healthCheck.path`, health.path);
        // A check with its own port sends no PROXY header, which EMQX's dashboard port (18083,
        // GET /status answers 200 or 503) does not expect.
        lines.push(`option httpchk GET ${path}`, "http-check expect status 200");
        checkOptions = `check port ${port}`;
    }
    // proxy-connect: `check` without port/addr goes to the traffic port and, because the server
    // has send-proxy-v2*, opens with a PROXY v2 LOCAL header (hap-2.6 doc/configuration.txt,
    // server option "check-send-proxy"), which the PROXY-only EMQX listener accepts.
    lines.push(defaultServer.join(" "));

    const servers = checkList(`${field}.servers`, backend.servers, maxServers);
    if (backend.linesPerNode !== undefined) {
        const perNode = checkInteger(`${field}.linesPerNode`, backend.linesPerNode, 1, maxServers);
        if (perNode > 1) {
            // Said in the file because it explains why each node appears more than once.
            lines.push(
                `# ${perNode} lines per EMQX node, one per listener port: one source address opens at most ${PORTS_PER_DESTINATION} connections to one address:port`,
            );
        }
    }
    const names = servers.map((server, index) => {
        const s = checkObject(`${field}.servers[${index}]`, server);
        const name = checkIdentifier(`${field}.servers[${index}].name`, s.name);
        const host = checkHost(`${field}.servers[${index}].host`, s.host);
        const port = checkPort(`${field}.servers[${index}].port`, s.port);
        // send-proxy-v2-ssl-cn: PROXY v2 with the device IP plus an SSL TLV carrying the verified
        // client certificate CN, which EMQX maps to username/clientid (`peer_cert_as_* = cn`).
        // Only names are re-resolved at run time (an IPv4 address needs no DNS); HAProxy's
        // resolvers read no /etc/hosts, so a name must be in DNS to stay up past `hold nx`.
        // A name gets `init-addr last,none`: no libc lookup at start or under `haproxy -c`, so a
        // node that does not resolve yet neither stops HAProxy nor warns (which `-dW` would make
        // fatal); the server starts down and the resolvers section fills in its address within
        // `timeout resolve`. Checked with haproxy 2.6.12: `init-addr last,libc,none` warns
        // "could not resolve address", `last,none` does not.
        const resolve = ipv4Pattern.test(host)
            ? ""
            : ` resolvers ${haproxyResolversName} resolve-prefer ipv4 init-addr last,none`;
        lines.push(`server ${name} ${host}:${port} send-proxy-v2-ssl-cn ${checkOptions}${resolve}`);
        return name;
    });
    checkUnique(`${field}.servers[].name`, names, "server name");
    return section(`backend ${haproxyBackendName}`, lines);
}

function renderHttpDefaults(timeouts: HaproxyTimeouts): string {
    const request = checkMilliseconds("timeouts.httpRequestMs", timeouts.httpRequestMs);
    const t = formatMilliseconds(request);
    // These frontends answer by themselves (monitor, exporter, stats); short timeouts suffice.
    return section("defaults http", [
        "mode http",
        "log global",
        `timeout connect ${t}`,
        `timeout client ${t}`,
        `timeout server ${t}`,
        `timeout http-request ${t}`,
    ]);
}

function renderHealthFrontend(health: HaproxyHealthFrontendSpec, acceptProxy: boolean): string {
    const field = "health";
    checkObject(field, health);
    const bind = `bind ${bindAddress(`${field}.bind`, health.bind)}${acceptProxy ? " accept-proxy" : ""}`;
    return section("frontend health", [
        // NLB sends PROXY v2 on health-check connections too when the target group has it on.
        bind,
        `monitor-uri ${checkUriPath(`${field}.uri`, health.uri)}`,
        // 503 once no EMQX node is up, so the NLB stops sending devices to a HAProxy that can
        // only refuse them.
        `monitor fail if { nbsrv(${haproxyBackendName}) lt 1 }`,
        // One line per NLB probe per zone every few seconds is noise.
        "no log",
    ]);
}

function renderAdminFrontend(admin: HaproxyAdminFrontendSpec): string {
    const field = "admin";
    checkObject(field, admin);
    const metrics = checkUriPath(`${field}.metricsPath`, admin.metricsPath);
    const stats = checkUriPath(`${field}.statsUri`, admin.statsUri);
    if (metrics === stats) {
        failRule(`${field}.statsUri`, stats, `a path different from ${field}.metricsPath`);
    }
    return section("frontend admin", [
        // Private address only: never a bind the NLB reaches, so never accept-proxy.
        `bind ${bindAddress(`${field}.bind`, admin.bind)}`,
        // Built in the Debian package (`haproxy -vv`: "Built with the Prometheus exporter").
        `http-request use-service prometheus-exporter if { path ${metrics} }`,
        "stats enable",
        `stats uri ${stats}`,
        "stats refresh 10s",
        "no log",
    ]);
}

/** Two binds on one port collide when their addresses are equal or either is the wildcard. */
function checkDistinctBinds(binds: ReadonlyArray<readonly [string, HaproxyBindAddress]>): void {
    binds.forEach(([field, bind], index) => {
        for (const [otherField, other] of binds.slice(0, index)) {
            const overlap =
                bind.address === other.address ||
                bind.address === "0.0.0.0" ||
                other.address === "0.0.0.0";
            if (bind.port === other.port && overlap) {
                failRule(
                    field,
                    `${bind.address}:${bind.port}`,
                    `an address:port that does not overlap ${otherField}`,
                );
            }
        }
    });
}

/**
 * Renders haproxy.cfg from a fully explicit spec. Throws a one-line Error naming the field, the
 * bad value and the allowed form for any value that would not be safe or valid in the file.
 */
export function renderHaproxyCfg(spec: HaproxySpec): string {
    checkObject("spec", spec);
    checkObject("process", spec.process);
    checkObject("timeouts", spec.timeouts);
    const processMaxconn = checkInteger("process.maxconn", spec.process.maxconn, 1, maxConnections);
    const acceptProxy = checkBoolean(
        "acceptProxyFromLoadBalancer",
        spec.acceptProxyFromLoadBalancer,
    );
    const sections = [
        "# Rendered by mqtt-edge templates/haproxy.ts from a typed spec; change the spec, not this file.",
        renderGlobal(spec.process),
        renderResolvers(spec.resolvers),
        renderTcpDefaults(spec.timeouts),
        renderMqttsFrontend(spec, processMaxconn),
        renderBackend(spec.backend),
        renderHttpDefaults(spec.timeouts),
        renderHealthFrontend(spec.health, acceptProxy),
    ];
    if (spec.admin !== undefined) sections.push(renderAdminFrontend(spec.admin));
    checkDistinctBinds([
        ["mqtts.bind", spec.mqtts.bind],
        ["health.bind", spec.health.bind],
        ...(spec.admin ? ([["admin.bind", spec.admin.bind]] as const) : []),
    ]);
    return `${sections.join("\n\n")}\n`;
}
