/**
 * The plain, fully explicit input of the haproxy.cfg renderer (templates/haproxy.ts).
 *
 * Every path, address, port, limit and duration that lands in the file comes from here: the AWS
 * fleet passes /etc/haproxy/... paths and production limits, the loopback test harness passes temp
 * paths, 127.x addresses, run-time ports and small limits. User-facing defaults live in the stack
 * configuration schema (infra/config.ts), not here.
 *
 * Durations are whole milliseconds; the renderer writes them with the largest exact unit.
 */

/** An IPv4 address and TCP port that HAProxy listens on. */
export interface HaproxyBindAddress {
    /** Dotted IPv4 address to listen on, `0.0.0.0` for every interface (e.g. `127.0.0.1`). */
    address: string;
    /** TCP port, 1-65535. */
    port: number;
}

/** Where HAProxy sends its log lines. */
export type HaproxyLogTarget =
    | {
          /** Write logs to standard output (tests, containers). */
          kind: "stdout";
          /** Lowest severity that is logged. */
          level: HaproxyLogLevel;
      }
    | {
          /** Send logs to a syslog receiver. */
          kind: "syslog";
          /** Absolute unix socket path (`/dev/log`) or `IPv4:port` of a UDP syslog receiver. */
          address: string;
          /** Syslog facility, e.g. `local0`. */
          facility: HaproxySyslogFacility;
          /** Lowest severity that is logged. */
          level: HaproxyLogLevel;
      };

/** Syslog severities HAProxy accepts, most to least severe. */
export type HaproxyLogLevel =
    | "emerg"
    | "alert"
    | "crit"
    | "err"
    | "warning"
    | "notice"
    | "info"
    | "debug";

/** Syslog facilities meant for local use. */
export type HaproxySyslogFacility =
    | "local0"
    | "local1"
    | "local2"
    | "local3"
    | "local4"
    | "local5"
    | "local6"
    | "local7"
    | "daemon"
    | "user";

/** Process-wide settings: limits, threads, logging and the management interfaces. */
export interface HaproxyProcessSpec {
    /**
     * Global `maxconn`: the most concurrent client connections the process accepts. HAProxy needs
     * two file descriptors per connection plus a few dozen (maxconn 12000 asked for 24033 on
     * 2.6.12), raises RLIMIT_NOFILE itself at start and refuses to start ("Cannot raise FD limit")
     * when the hard limit (systemd LimitNOFILE, fs.nr_open) is lower.
     */
    maxconn: number;
    /** `nbthread`: worker threads, 1-64 (the Debian build's MAX_THREADS); omit to use every CPU. */
    threads?: number;
    /** Where log lines go. */
    log: HaproxyLogTarget;
    /** Absolute path of the admin-level stats socket (runtime API: `set ssl crl-file`, `show stat`). */
    statsSocketPath: string;
    /**
     * Who the workers run as. Production (both targets) drops to an unprivileged account inside a
     * chroot; `"starting-user"` keeps whoever started HAProxy and is only for a HAProxy started
     * without root (a test on a developer's machine), which could not switch user anyway. There is
     * no default on purpose: a spec that forgets it must not get root workers.
     */
    runAs: HaproxyWorkerPrivileges | "starting-user";
    /** Absolute path where the master process writes its pid; omit for none. */
    pidFile?: string;
    /** `hard-stop-after`: how long an old worker may keep long-lived MQTT sessions after a reload. */
    hardStopAfterMs: number;
    /**
     * `tune.ssl.cachesize` in blocks of about 200 bytes; a session with a device certificate takes
     * several. The cache serves TLS 1.2 clients that resume by session id; tickets need none.
     * Omit for HAProxy's default (20000).
     */
    tlsSessionCacheSize?: number;
    /**
     * `tune.ssl.lifetime`: how long a TLS session (cached or in a ticket) may be resumed; OpenSSL
     * refuses older ones. Omit for HAProxy's default (300 s).
     */
    tlsSessionLifetimeMs?: number;
}

/**
 * The account and chroot the workers switch to. The master, started as root, binds every listener
 * and stats socket and loads every certificate, key, CA file and CRL before it forks; only the
 * workers change user (checked with haproxy 2.6.12: master uid 0, worker uid haproxy, worker root
 * the chroot). So keys stay root-owned 0600, and a reload, which the master performs, still reads
 * them. Inside the chroot a worker reaches no file by path: a unix-socket `log` target resolves
 * inside it (2.6.12: `log /x/log` went to `<chroot>/x/log`), and runtime API updates of
 * certificates and CRLs carry their content in the command, not a path.
 */
export interface HaproxyWorkerPrivileges {
    /** System user the workers run as, e.g. `haproxy` (Debian package and official image). */
    user: string;
    /** System group the workers run as. */
    group: string;
    /**
     * Absolute path of the directory the workers chroot into, e.g. `/var/lib/haproxy`; it should
     * hold nothing the workers need and nothing they can write to.
     */
    chroot: string;
}

/** Timeouts of the MQTT path. The MQTT keepalive ordering is checked by the config schema. */
export interface HaproxyTimeouts {
    /** `timeout connect`: TCP connect to an EMQX node. */
    connectMs: number;
    /**
     * `timeout client`: client inactivity; must exceed the MQTT keepalive. HAProxy 2.6 also bounds
     * the TLS handshake with it (`timeout client-hs` only exists from 2.8).
     */
    clientMs: number;
    /** `timeout server`: server inactivity; keep equal to clientMs for a TCP proxy. */
    serverMs: number;
    /** `timeout client-fin`: inactivity once the client half-closed. */
    clientFinMs: number;
    /** `timeout server-fin`: inactivity once the server half-closed. */
    serverFinMs: number;
    /** `timeout queue`: how long a connection may wait for a server slot. */
    queueMs: number;
    /** `timeout check`: read timeout of a health check once connected. */
    checkMs: number;
    /** `timeout http-request` on the HTTP health and admin frontends. */
    httpRequestMs: number;
}

/** The mutual-TLS MQTT frontend devices reach through the NLB. */
export interface HaproxyMqttsFrontendSpec {
    /** Where the MQTT-over-TLS listener binds. */
    bind: HaproxyBindAddress;
    /** Frontend `maxconn`; at most the process maxconn. */
    maxconn: number;
    /**
     * Server certificate PEM files (certificate, chain and key in one file), one `crt` each.
     * With several (e.g. ECDSA and RSA for the same names), HAProxy 2.6 picks by the client's
     * signature algorithms only when the client sends an SNI matching the certificates' names;
     * without SNI it always presents the first (LOCAL TEST, 2.6.12), so list first the one every
     * device supports.
     */
    serverCertificatePaths: string[];
    /** `ca-file`: the device intermediate CA, the only CA name advertised to clients. */
    deviceIntermediateCaPath: string;
    /** `ca-verify-file`: the root CA that ends the chain; used for verification, not advertised. */
    rootCaPath: string;
    /** `crl-file`: CRLs for every CA in the chain (root and intermediate) in one PEM; omit for none. */
    crlPath?: string;
    /**
     * `tls-ticket-keys`: file of session ticket keys shared by every HAProxy of the stack
     * (templates/tls-ticket-keys.ts), so tickets survive reloads and work on every instance.
     * Omit to let each process make its own random keys (no resumption across processes).
     */
    tlsTicketKeysPath?: string;
    /**
     * Common name of the device intermediate CA. Connections whose client certificate was issued by
     * any other CA (e.g. directly by the root, which `ca-verify-file` also trusts) are rejected.
     */
    deviceIssuerCommonName: string;
    /** Lowest TLS version offered to devices. */
    minTlsVersion: "TLSv1.2" | "TLSv1.3";
}

/** One EMQX node, addressed by DNS name (or IPv4) so replacing an instance changes no file. */
export interface HaproxyServerSpec {
    /** Server name in stats, logs and the runtime API (letters, digits, `_`, `.`, `-`). */
    name: string;
    /** DNS name or IPv4 address of the node's plain-TCP MQTT listener (proxy_protocol = true). */
    host: string;
    /** Port of that listener, normally 1883. */
    port: number;
}

/** How HAProxy decides that an EMQX node is up. */
export type HaproxyHealthCheck =
    | {
          /**
           * TCP connect to the traffic port. HAProxy sends `PROXY LOCAL` first because the server
           * has send-proxy-v2 and the check has no own port, so a listener that requires PROXY v2
           * accepts the check.
           */
          kind: "proxy-connect";
      }
    | {
          /** HTTP GET on a separate port without PROXY, e.g. EMQX's `GET /status` on 18083. */
          kind: "http-status";
          /** Port of the HTTP status endpoint. */
          port: number;
          /** Absolute request path, e.g. `/status`. */
          path: string;
      };

/** Settings every server in the backend shares (`default-server`). */
export interface HaproxyServerDefaults {
    /** `inter`: check interval while the server is up. */
    checkIntervalMs: number;
    /** `downinter`: check interval while the server is down. */
    downCheckIntervalMs: number;
    /** `rise`: consecutive good checks before a server is up. */
    rise: number;
    /** `fall`: consecutive failed checks before a server is down. */
    fall: number;
    /** `slowstart`: ramp-up time after a server comes back; 0 for none. */
    slowstartMs: number;
    /** Per-server `maxconn`; excess connections wait in the queue. */
    maxconn: number;
    /** Per-server `maxqueue`. */
    maxqueue: number;
    /** `weight`, 1-256. */
    weight: number;
}

/** The backend of EMQX nodes. */
export interface HaproxyBackendSpec {
    /** Load-balancing algorithm; `leastconn` suits long-lived sessions and uneven reconnects. */
    balance: "roundrobin" | "leastconn";
    /** The EMQX nodes, at least one, with unique names. */
    servers: HaproxyServerSpec[];
    /**
     * Server lines per EMQX node (one per listener port), when more than one: the file then says
     * why a node appears several times. Omit for one line per node.
     */
    linesPerNode?: number;
    /** Shared server settings. */
    serverDefaults: HaproxyServerDefaults;
    /** How nodes are checked. */
    healthCheck: HaproxyHealthCheck;
    /** Close the sessions of a node as soon as it is marked down, so devices reconnect elsewhere. */
    shutdownSessionsOnMarkedDown: boolean;
}

/** DNS resolution of server host names at run time. */
export interface HaproxyResolversSpec {
    /** `resolv-conf` reads the host's /etc/resolv.conf; or an explicit list of DNS servers. */
    nameservers: "resolv-conf" | HaproxyBindAddress[];
    /** `hold valid`: how long a resolved address is kept before it is asked for again. */
    holdValidMs: number;
    /** `timeout resolve`: delay between two resolutions of the same name. */
    resolveIntervalMs: number;
}

/** The HTTP health endpoint the NLB target group checks. */
export interface HaproxyHealthFrontendSpec {
    /** Where it binds; the NLB reaches it, so it gets accept-proxy when that is on. */
    bind: HaproxyBindAddress;
    /** `monitor-uri`: absolute path answered 200 while at least one EMQX node is up, else 503. */
    uri: string;
}

/** The private HTTP frontend for Prometheus and the stats page. */
export interface HaproxyAdminFrontendSpec {
    /** Where it binds; never reachable from the NLB. */
    bind: HaproxyBindAddress;
    /** Absolute path of the Prometheus exporter, e.g. `/metrics`. */
    metricsPath: string;
    /** Absolute path of the read-only stats page, e.g. `/stats`. */
    statsUri: string;
}

/** Everything haproxy.cfg is rendered from. */
export interface HaproxySpec {
    /** Process-wide settings. */
    process: HaproxyProcessSpec;
    /** Timeouts. */
    timeouts: HaproxyTimeouts;
    /**
     * The NLB prepends a PROXY v2 header (target group `proxy_protocol_v2`): every bind the NLB
     * reaches (MQTT and health) then requires it (`accept-proxy`); the admin bind never does.
     */
    acceptProxyFromLoadBalancer: boolean;
    /** The device-facing MQTT-over-mTLS frontend. */
    mqtts: HaproxyMqttsFrontendSpec;
    /** The EMQX backend. */
    backend: HaproxyBackendSpec;
    /** Run-time DNS for server host names. */
    resolvers: HaproxyResolversSpec;
    /** The NLB health endpoint. */
    health: HaproxyHealthFrontendSpec;
    /** The Prometheus/stats frontend; omit to render none. */
    admin?: HaproxyAdminFrontendSpec;
}
