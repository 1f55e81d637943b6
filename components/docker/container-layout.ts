/**
 * Where things live inside the two images, in one place for the components, the tests and the
 * render CLI. Pure data.
 */
import type { HaproxyLayout } from "../../infra/edge-specs.ts";

/** Directory of the official haproxy image's config (its CMD reads haproxy.cfg from here). */
const haproxyDir = "/usr/local/etc/haproxy";

/**
 * Paths in the official haproxy:2.6 image. Every file sits directly in the image's config
 * directory, which exists, so an upload never depends on Docker creating parent directories. No pid
 * file: the container's PID 1 is the master. Logs go to stdout, i.e. `docker logs`; a chrooted
 * worker still writes to the descriptor it inherited.
 *
 * Privileges as on an AWS host: the container starts as root ({@link HAPROXY_CONTAINER_USER}), the
 * master binds and loads every file, and the workers drop to the image's `haproxy` account, chrooted
 * into /var/lib/haproxy, which the image creates for it (docker-library/haproxy@ec437dd
 * 2.6/Dockerfile: `useradd --uid 99 ... haproxy`, `mkdir /var/lib/haproxy; chown haproxy:haproxy`).
 * The stats socket is bound by the root master in /run (a directory of Debian's essential
 * base-files package, `dpkg -S /run`, so in the image's debian base), outside the chroot, so a
 * worker can neither reach nor replace it.
 */
export const dockerHaproxyLayout: HaproxyLayout = {
    config: `${haproxyDir}/haproxy.cfg`,
    serverCertificate: (algorithm) => `${haproxyDir}/server-${algorithm}.pem`,
    deviceIntermediateCa: `${haproxyDir}/device-intermediate.pem`,
    rootCa: `${haproxyDir}/root.pem`,
    crl: `${haproxyDir}/crl.pem`,
    statsSocket: "/run/haproxy-admin.sock",
    log: { kind: "stdout", level: "info" },
    // Inside the container; Docker publishes it on the host's 127.0.0.1 only.
    adminAddress: "0.0.0.0",
    workerPrivileges: { user: "haproxy", group: "haproxy", chroot: "/var/lib/haproxy" },
};

/**
 * The user the HAProxy container starts as, overriding the image's `USER haproxy`
 * (docker-library/haproxy@ec437dd 2.6/Dockerfile). With the image's user, the master would have to
 * read the server keys as uid 99, which holds only if the upload lands owned by 99. The
 * kreuzwerker provider v4.5.0, which @pulumi/docker 5.1.0 bridges (pulumi/pulumi-docker@v5.1.0
 * submodule `upstream` at kreuzwerker@5074970 = v4.5.0), writes the upload's tar header with name,
 * mode, size and time only (internal/provider/resource_docker_container_funcs.go) and has no
 * `owner`; the key would arrive root:root 0600 and HAProxy would exit. The pinned 5.2.0 SDK
 * documents `owner`/`group` on uploads, from a provider release whose source we could not read.
 * As root, the master reads the keys whoever owns them, and the workers still run as `haproxy`
 * (the rendered `user`/`group`/`chroot`).
 */
export const HAPROXY_CONTAINER_USER = "0:0";

/**
 * Owner and group declared for every HAProxy upload: root, the one owner that comes out the same
 * whether the provider applies `owner`/`group` or ignores them (v4.5.0 does; Docker then extracts
 * with the tar header's uid/gid, which it leaves at 0). Either way the files are root:root, and
 * the 0600 keys are readable by the root master alone.
 */
export const HAPROXY_UPLOAD_OWNER = "0";

/** emqx.conf in the emqx/emqx image (facts-emqx-haproxy.md §7: WORKDIR /opt/emqx). */
export const EMQX_CONFIG_PATH = "/opt/emqx/etc/emqx.conf";

/** The image's data directory (a VOLUME, writable by its `emqx` user, uid 1000). */
export const EMQX_CONTAINER_DATA_DIR = "/opt/emqx/data";

/** `emqx ctl status` exits 0 once the node runs (the docs' compose healthcheck). */
export const EMQX_HEALTH_COMMAND = ["CMD", "/opt/emqx/bin/emqx", "ctl", "status"] as const;

/**
 * The image for an EMQX version. 5.8.x is the last Apache-2.0 line, published as `emqx/emqx`.
 * From 5.9.0 EMQX ships one BSL-licensed build under the enterprise name (packagecloud
 * emqx/emqx-enterprise5 carries emqx-enterprise 5.9.0 and later; emqx/emqx's docker workflow
 * builds the `emqx-enterprise` profile for its `e*` release tags), so 5.9+ comes from
 * `emqx/emqx-enterprise`; clustering it needs `emqxLicenseKey`, which the configuration schema
 * already demands for both targets (infra/config-checks.ts).
 */
export function emqxImageFor(version: string): string {
    const match = /^(\d+)\.(\d+)\.\d+$/.exec(version);
    if (match === null) {
        throw new Error(
            `emqxImageFor: version ${JSON.stringify(version)} is not allowed; expected major.minor.patch such as 5.8.9`,
        );
    }
    const [major, minor] = [Number(match[1]), Number(match[2])];
    const licensed = major > 5 || (major === 5 && minor >= 9);
    return `${licensed ? "emqx/emqx-enterprise" : "emqx/emqx"}:${version}`;
}
