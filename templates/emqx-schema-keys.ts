/**
 * Every emqx.conf key path our renderer may write, with the kind of value EMQX's schema accepts for
 * it, taken from the schema modules of EMQX 5.8 (emqx/emqx tag v5.8.9, commit a8319fe2). The source
 * of each group is named next to it: file, schema clause and, where known, the line at v5.8.9.
 * `auditEmqxConfig` checks a parsed emqx.conf against this list, so a renderer change that writes a
 * misspelt or unknown key, or a value of the wrong kind, fails the tests instead of failing on the
 * broker (EMQX 5 only warns about unknown keys in some roots and ignores them).
 */

/** The kind of value a key takes, reduced to what our renderer writes. */
export type EmqxValueKind =
    | { readonly type: "boolean" }
    | { readonly type: "integer"; readonly min: number; readonly max: number }
    | { readonly type: "duration" }
    | { readonly type: "string" }
    | { readonly type: "enum"; readonly values: readonly string[] }
    | { readonly type: "ip_port" }
    | { readonly type: "string_array" };

/** One allowed key path. */
export interface EmqxSchemaKey {
    /** Dotted path; a `$name` segment matches any listener name (`listeners.tcp.$name.bind`). */
    readonly path: string;
    /** What the schema accepts there, narrowed to the form we write. */
    readonly kind: EmqxValueKind;
    /** Where the key is defined: file and schema clause (at emqx/emqx v5.8.9 unless noted). */
    readonly source: string;
    /** Schema marks it `sensitive`: must never be written in a file that is shown or logged. */
    readonly sensitive?: boolean;
    /** Only in this EMQX release and later (the key's app is absent from the 5.8 open-source build). */
    readonly since?: string;
}

const boolean: EmqxValueKind = { type: "boolean" };
const duration: EmqxValueKind = { type: "duration" };
const string: EmqxValueKind = { type: "string" };
const ipPort: EmqxValueKind = { type: "ip_port" };
const stringArray: EmqxValueKind = { type: "string_array" };
/** `pos_integer()`; the upper bound is ours (a signed 32-bit int), the schema has none. */
const positiveInteger: EmqxValueKind = { type: "integer", min: 1, max: 2_147_483_647 };
const peerCertSource: EmqxValueKind = {
    type: "enum",
    values: ["disabled", "cn", "dn", "crt", "pem", "md5"],
};

const confSchema = "apps/emqx_conf/src/emqx_conf_schema.erl";
const coreSchema = "apps/emqx/src/emqx_schema.erl";
const dashboardSchema = "apps/emqx_dashboard/src/emqx_dashboard_schema.erl";

/** The allow-list. */
export const emqxSchemaKeys: readonly EmqxSchemaKey[] = [
    // emqx_conf_schema.erl fields("node") (:420 at v5.8.9): name string(), cookie string()
    // required+sensitive, data_dir string() required, max_ports range(1024, 134217727).
    { path: "node.name", kind: string, source: `${confSchema} fields("node")` },
    { path: "node.cookie", kind: string, source: `${confSchema} fields("node")`, sensitive: true },
    { path: "node.data_dir", kind: string, source: `${confSchema} fields("node")` },
    {
        path: "node.max_ports",
        kind: { type: "integer", min: 1024, max: 134_217_727 },
        source: `${confSchema} fields("node")`,
    },
    // emqx_conf_schema.erl fields("cluster") (:208 at v5.8.9): name atom(), discovery_strategy
    // enum([manual, static, singleton, dns, etcd, k8s]); fields(cluster_static) seeds node_array()
    // (comma string or array of atoms); fields(cluster_dns) name string(), record_type
    // enum([a, aaaa, srv]).
    { path: "cluster.name", kind: string, source: `${confSchema} fields("cluster")` },
    {
        path: "cluster.discovery_strategy",
        kind: { type: "enum", values: ["manual", "static", "singleton", "dns", "etcd", "k8s"] },
        source: `${confSchema} fields("cluster")`,
    },
    {
        path: "cluster.static.seeds",
        kind: stringArray,
        source: `${confSchema} fields(cluster_static)`,
    },
    { path: "cluster.dns.name", kind: string, source: `${confSchema} fields(cluster_dns)` },
    {
        path: "cluster.dns.record_type",
        kind: { type: "enum", values: ["a", "aaaa", "srv"] },
        source: `${confSchema} fields(cluster_dns)`,
    },
    // emqx_schema.erl base_listener/1 (:1953): enable boolean() (alias enabled), bind ip_port(),
    // acceptors pos_integer(), max_connections union([infinity, pos_integer()]).
    { path: "listeners.tcp.$name.enable", kind: boolean, source: `${coreSchema} base_listener/1` },
    { path: "listeners.tcp.$name.bind", kind: ipPort, source: `${coreSchema} base_listener/1` },
    {
        path: "listeners.tcp.$name.acceptors",
        kind: positiveInteger,
        source: `${coreSchema} base_listener/1`,
    },
    {
        path: "listeners.tcp.$name.max_connections",
        kind: positiveInteger,
        source: `${coreSchema} base_listener/1`,
    },
    // emqx_schema.erl mqtt_listener/1 (:1879): access_rules array(string()) checked by
    // access_rules_validator/1, proxy_protocol boolean(), proxy_protocol_timeout duration().
    {
        path: "listeners.tcp.$name.access_rules",
        kind: stringArray,
        source: `${coreSchema} mqtt_listener/1`,
    },
    {
        path: "listeners.tcp.$name.proxy_protocol",
        kind: boolean,
        source: `${coreSchema} mqtt_listener/1`,
    },
    {
        path: "listeners.tcp.$name.proxy_protocol_timeout",
        kind: duration,
        source: `${coreSchema} mqtt_listener/1`,
    },
    // emqx_schema.erl fields("mqtt_tcp_listener") (:579) adds tcp_options = ref("tcp_opts");
    // fields("tcp_opts") (:990): backlog pos_integer().
    {
        path: "listeners.tcp.$name.tcp_options.backlog",
        kind: positiveInteger,
        source: `${coreSchema} fields("tcp_opts")`,
    },
    // The ssl/ws/wss "default" listeners are always injected (ensure_default_listener/2, :3566);
    // each kind reuses base_listener/1, so `enable = false` switches one off.
    { path: "listeners.ssl.$name.enable", kind: boolean, source: `${coreSchema} base_listener/1` },
    { path: "listeners.ws.$name.enable", kind: boolean, source: `${coreSchema} base_listener/1` },
    { path: "listeners.wss.$name.enable", kind: boolean, source: `${coreSchema} base_listener/1` },
    // emqx_schema.erl mqtt_general/0 (:3784-3799): peer_cert_as_username / peer_cert_as_clientid
    // enum([disabled, cn, dn, crt, pem, md5]).
    {
        path: "mqtt.peer_cert_as_username",
        kind: peerCertSource,
        source: `${coreSchema} mqtt_general/0`,
    },
    {
        path: "mqtt.peer_cert_as_clientid",
        kind: peerCertSource,
        source: `${coreSchema} mqtt_general/0`,
    },
    // emqx_dashboard_schema.erl fields("dashboard") and fields("http") (:230-250): listeners.http.bind
    // via bind/1 = ip_port() (port 0 disables), default_password binary() required+sensitive.
    {
        path: "dashboard.listeners.http.bind",
        kind: ipPort,
        source: `${dashboardSchema} fields("http"), bind/1`,
    },
    {
        path: "dashboard.default_password",
        kind: string,
        source: `${dashboardSchema} default_password/1`,
        sensitive: true,
    },
    // apps/emqx_prometheus/src/emqx_prometheus_schema.erl fields(recommend_setting):
    // enable_basic_auth boolean(), default false (added in 5.4, changes/v5.4.0 #11884).
    {
        path: "prometheus.enable_basic_auth",
        kind: boolean,
        source: "apps/emqx_prometheus/src/emqx_prometheus_schema.erl fields(recommend_setting)",
    },
    // apps/emqx_license/src/emqx_license_schema.erl fields(key_license): key union([default,
    // binary()]), sensitive. Business-source app: not in the 5.8 open-source build, in every 5.9+.
    {
        path: "license.key",
        kind: string,
        source: "apps/emqx_license/src/emqx_license_schema.erl fields(key_license)",
        sensitive: true,
        since: "5.9.0",
    },
];

const listenerNamePattern = /^[A-Za-z0-9_]+$/;

/** The allow-list entry for a dotted key path, or undefined if the path is not allowed. */
export function findEmqxSchemaKey(
    path: string,
    keys: readonly EmqxSchemaKey[] = emqxSchemaKeys,
): EmqxSchemaKey | undefined {
    const segments = path.split(".");
    return keys.find((key) => {
        const pattern = key.path.split(".");
        if (pattern.length !== segments.length) return false;
        return pattern.every((part, index) => {
            const segment = segments[index] ?? "";
            return part === "$name" ? listenerNamePattern.test(segment) : part === segment;
        });
    });
}

function versionNumber(version: string): number {
    const [major = 0, minor = 0, patch = 0] = version.split(".").map(Number);
    return (major * 1000 + minor) * 1000 + patch;
}

/** EMQX `duration()`: a whole number with a unit (we never write a bare number; that means ms). */
const durationPattern = /^\d+(ms|s|m|h|d)$/i;
const ipPortPattern = /^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/;

/** Why `value` does not fit `kind`, or undefined if it fits. */
export function describeKindMismatch(kind: EmqxValueKind, value: unknown): string | undefined {
    switch (kind.type) {
        case "boolean":
            return typeof value === "boolean" ? undefined : "expected true or false";
        case "integer":
            return typeof value === "number" &&
                Number.isInteger(value) &&
                value >= kind.min &&
                value <= kind.max
                ? undefined
                : `expected an integer from ${kind.min} to ${kind.max}`;
        case "duration":
            return typeof value === "string" && durationPattern.test(value)
                ? undefined
                : "expected a duration with a unit, such as 3s";
        case "string":
            return typeof value === "string" && value !== ""
                ? undefined
                : "expected a non-empty string";
        case "enum":
            return typeof value === "string" && kind.values.includes(value)
                ? undefined
                : `expected one of ${kind.values.join(", ")}`;
        case "ip_port":
            return typeof value === "string" && ipPortPattern.test(value)
                ? undefined
                : "expected <IPv4>:<port>";
        case "string_array":
            return Array.isArray(value) &&
                value.length > 0 &&
                value.every((item) => typeof item === "string" && item !== "")
                ? undefined
                : "expected a non-empty array of non-empty strings";
    }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every leaf of a parsed config as [dotted path, value]; arrays are leaves. */
export function listLeaves(config: unknown, prefix = ""): Array<[string, unknown]> {
    if (!isPlainObject(config)) return [[prefix, config]];
    return Object.entries(config).flatMap(([key, value]) =>
        listLeaves(value, prefix === "" ? key : `${prefix}.${key}`),
    );
}

/** What to audit against. */
export interface EmqxAuditOptions {
    /** EMQX release the file is for; keys with a later `since` are reported. */
    readonly version?: string;
    /** The allow-list; defaults to `emqxSchemaKeys` (tests pass a reduced list). */
    readonly keys?: readonly EmqxSchemaKey[];
}

/**
 * Checks a parsed emqx.conf (the object a HOCON parser returns) against the allow-list. Returns one
 * line per problem: a key not in the list, a key newer than the release, or a value of the wrong
 * kind (sensitive values are not shown). Empty means it passed.
 */
export function auditEmqxConfig(config: unknown, options: EmqxAuditOptions = {}): string[] {
    const problems: string[] = [];
    for (const [path, value] of listLeaves(config)) {
        const key = findEmqxSchemaKey(path, options.keys);
        if (key === undefined) {
            problems.push(
                `${path}: not in the EMQX 5.8 allow-list (templates/emqx-schema-keys.ts)`,
            );
            continue;
        }
        if (
            key.since !== undefined &&
            options.version !== undefined &&
            versionNumber(options.version) < versionNumber(key.since)
        ) {
            problems.push(`${path}: exists only from EMQX ${key.since}, not in ${options.version}`);
        }
        const mismatch = describeKindMismatch(key.kind, value);
        if (mismatch === undefined) continue;
        const shown = key.sensitive === true ? "<redacted>" : JSON.stringify(value);
        problems.push(`${path} = ${shown}: ${mismatch}`);
    }
    return problems;
}
