/**
 * Where things live inside the two images, in one place for the components, the tests and the
 * render CLI. Pure data.
 */
import type { HaproxyLayout } from "../../infra/edge-specs.ts";

/** Directory of the official haproxy image's config (its CMD reads haproxy.cfg from here). */
const haproxyDir = "/usr/local/etc/haproxy";

/**
 * Paths in the official haproxy:2.6 image. Every file sits directly in the image's config
 * directory, which exists, so an upload never depends on Docker creating parent directories. The
 * stats socket goes to /var/lib/haproxy, the one directory the image gives its `haproxy` user
 * (docker-library/haproxy 2.6/Dockerfile: `mkdir /var/lib/haproxy; chown haproxy:haproxy`). No pid
 * file: the container's PID 1 is the master. Logs go to stdout, i.e. `docker logs`.
 */
export const dockerHaproxyLayout: HaproxyLayout = {
    config: `${haproxyDir}/haproxy.cfg`,
    serverCertificate: (algorithm) => `${haproxyDir}/server-${algorithm}.pem`,
    deviceIntermediateCa: `${haproxyDir}/device-intermediate.pem`,
    rootCa: `${haproxyDir}/root.pem`,
    crl: `${haproxyDir}/crl.pem`,
    statsSocket: "/var/lib/haproxy/admin.sock",
    log: { kind: "stdout", level: "info" },
    // Inside the container; Docker publishes it on the host's 127.0.0.1 only.
    adminAddress: "0.0.0.0",
};

/** The image's `haproxy` user and group id (docker-library/haproxy 2.6/Dockerfile, `--uid 99`). */
export const HAPROXY_IMAGE_UID = "99";

/** emqx.conf in the emqx/emqx image (facts-emqx-haproxy.md §7: WORKDIR /opt/emqx). */
export const EMQX_CONFIG_PATH = "/opt/emqx/etc/emqx.conf";

/** The image's data directory (a VOLUME, writable by its `emqx` user, uid 1000). */
export const EMQX_CONTAINER_DATA_DIR = "/opt/emqx/data";

/** `emqx ctl status` exits 0 once the node runs (the docs' compose healthcheck). */
export const EMQX_HEALTH_COMMAND = ["CMD", "/opt/emqx/bin/emqx", "ctl", "status"] as const;

/** The emqx/emqx image for an EMQX version; 5.8.x is the last Apache-2.0 line. */
export function emqxImageFor(version: string): string {
    return `emqx/emqx:${version}`;
}
