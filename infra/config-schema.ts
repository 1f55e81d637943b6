/**
 * The schema of the stack configuration: one zod object per section, with every key's default,
 * allowed values and description (the README's reference table is generated from it).
 * Rules that span several keys are in config-checks.ts.
 */
import { z } from "zod";
import { KEY_ALGORITHMS } from "../pki/key-algorithms.ts";
import { capacitySchema } from "./config-capacity-schema.ts";

const int = (min: number, max: number) => {
    const error = `must be an integer from ${min} to ${max}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
    z.enum(values, { error: `must be one of: ${values.join(", ")}` });
const bool = () => z.boolean({ error: "must be true or false" });

/** A DNS name as it may appear in certificates and configs: letters, digits, hyphens, dots. */
const dnsName = () =>
    z
        .string({ error: "must be a DNS name" })
        .max(253, { error: "must be a DNS name of at most 253 characters" })
        .regex(
            /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
            {
                error: "must be a lower-case DNS name (letters, digits, hyphens, dots)",
            },
        );

const cidr = () =>
    z.string({ error: "must be an IPv4 CIDR such as 10.0.0.0/16" }).refine(isIpv4Cidr, {
        error: "must be an IPv4 CIDR such as 10.0.0.0/16",
    });

/** Subject names for the CAs land in certificates and in haproxy.cfg's issuer pinning. */
const subjectName = () =>
    z
        .string({ error: "must be a name of 1 to 64 printable characters" })
        .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/, {
            error: "must be 1 to 64 characters from letters, digits, space, dot, underscore, hyphen",
        });

/** A rotation label: any new value replaces what it guards (see docs/pki.md). */
const rotationLabel = () =>
    z
        .string({ error: "must be a label of 1 to 64 letters, digits, '.', '_', '-'" })
        .regex(/^[A-Za-z0-9._-]{1,64}$/, {
            error: "must be a label of 1 to 64 letters, digits, '.', '_', '-'",
        })
        .default("initial");

/**
 * Certificates a host group fetches sit in SSM SecureStrings (8 KB at most, the advanced tier);
 * the intermediate also rides in every server PEM, next to an RSA-4096 key. 2500 characters hold
 * an RSA-4096 CA certificate with room to spare (ours are about 1900), and keep the largest server
 * PEM under 8 KB (test/program/ssm-limits.test.ts).
 */
export const MAX_CA_CERT_PEM_CHARS = 2500;
/**
 * A supplied root CRL revokes CAs and the odd root-issued certificate, a handful of entries of
 * about 66 bytes; 64 KiB leaves room for hundreds. It travels with the other CRLs (an S3 object on
 * AWS), not in an SSM parameter of its own.
 */
export const MAX_ROOT_CRL_PEM_CHARS = 65_536;
/** At most this many device domains: each is a SAN of every server certificate. */
export const MAX_DEVICE_DOMAINS = 5;
/** The license key rides in the EMQX secrets env file, an SSM SecureString (8 KB at most). */
export const MAX_LICENSE_KEY_CHARS = 4096;

const pem = (label: string, what: string) =>
    z
        .string({ error: `must be a PEM ${what}` })
        .max(MAX_CA_CERT_PEM_CHARS, {
            error: `must be a PEM ${what} of at most ${MAX_CA_CERT_PEM_CHARS} characters (it is stored in SSM)`,
        })
        .refine(
            (v) => v.includes(`-----BEGIN ${label}-----`) && v.includes(`-----END ${label}-----`),
            {
                error: `must be a PEM ${what} (-----BEGIN ${label}-----)`,
            },
        );
const pemKey = () =>
    z
        .string({ error: "must be a PEM private key" })
        .refine((v) => /-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(v), {
            error: "must be a PEM private key (-----BEGIN PRIVATE KEY-----)",
        });

const existingSubnet = () =>
    z.strictObject({
        id: z.string().regex(/^subnet-[0-9a-f]{8,17}$/, {
            error: "must be a subnet id such as subnet-0123abcd",
        }),
        availabilityZone: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, {
            error: "must be a zone name such as eu-west-1a",
        }),
        cidr: cidr(),
    });

export function isIpv4Cidr(value: string): boolean {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
    if (!m) return false;
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    return octets.every((o) => o <= 255) && prefix <= 32;
}

const mqttSchema = z
    .strictObject({
        keepaliveSeconds: int(5, 3600)
            .default(60)
            .describe(
                "MQTT keepalive the fleet uses. EMQX drops a silent client after 1.5x this; every idle timeout on the path must outlive that.",
            ),
    })
    .prefault({});

const haproxySchema = z
    .strictObject({
        instances: int(1, 50)
            .default(2)
            .describe(
                "HAProxy instances: the Auto Scaling group's desired capacity, spread across the zones.",
            ),
        minInstances: int(0, 50)
            .optional()
            .describe(
                "Fewest HAProxy instances the Auto Scaling group keeps (at most instances); default 1.",
            ),
        maxInstances: int(1, 100)
            .optional()
            .describe(
                "Most HAProxy instances the Auto Scaling group may run (at least instances); default 100. Twice instances or more lets a roll launch every new host before it terminates an old one.",
            ),
        refreshWarmupSeconds: int(0, 3600)
            .default(120)
            .describe(
                "Instance refresh: seconds a new host serves before it counts as healthy and the roll moves on.",
            ),
        refreshCheckpointPercentages: z
            .array(int(1, 100), { error: "must be a list of whole percentages" })
            .default([])
            .describe(
                "Instance refresh: pause at these percentages of hosts replaced (ascending, ending with 100) for refreshCheckpointDelaySeconds; [] rolls without pauses.",
            ),
        refreshCheckpointDelaySeconds: int(0, 172_800)
            .default(600)
            .describe("Instance refresh: how long each checkpoint pauses."),
        instanceType: z
            .string()
            .regex(/^[a-z0-9]+\.[a-z0-9]+$/, {
                error: "must be an EC2 instance type such as c7i.large",
            })
            .default("c7i.large")
            .describe("EC2 instance type of the HAProxy hosts."),
        maxconn: int(1, 4_000_000)
            .default(90_000)
            .describe(
                "Global maxconn per instance: the devices one HAProxy host holds. The host's file-descriptor limit is sized from it (about two per connection); the capacity model refuses more than haproxy.instanceType has memory for (npm run capacity shows it: a c7i.large holds about 98,000 with the figures of 2026-12-01, hence the default; the seed's 500000 needs about 18 GiB).",
            ),
        frontendMaxconn: int(1, 4_000_000)
            .optional()
            .describe("maxconn of the device frontend; defaults to the global maxconn."),
        serverMaxconn: int(1, 4_000_000)
            .optional()
            .describe(
                "maxconn per EMQX server line (default-server); defaults to the frontend maxconn capped at 64512, the connections one source address can open to one EMQX port.",
            ),
        maxqueue: int(0, 1_000_000)
            .default(10_000)
            .describe("Per-server queue length once a server is at maxconn (0: unlimited)."),
        balance: oneOf(["roundrobin", "leastconn"])
            .default("roundrobin")
            .describe(
                "Balancing algorithm. leastconn suits very long sessions after a node comes back.",
            ),
        tlsMinVersion: oneOf(["TLSv1.2", "TLSv1.3"])
            .default("TLSv1.2")
            .describe("Lowest TLS version devices may use."),
        connectTimeoutSeconds: int(1, 60).default(5).describe("timeout connect to an EMQX node."),
        clientTimeoutSeconds: int(10, 86_400)
            .default(180)
            .describe("timeout client; must exceed 1.5x the MQTT keepalive."),
        serverTimeoutSeconds: int(10, 86_400)
            .default(180)
            .describe("timeout server; must exceed 1.5x the MQTT keepalive."),
        finTimeoutSeconds: int(1, 3600)
            .default(30)
            .describe("timeout client-fin and server-fin for half-closed connections."),
        queueTimeoutSeconds: int(1, 3600)
            .default(5)
            .describe("How long a device may wait in a queue for a free server slot."),
        checkIntervalSeconds: int(1, 3600).default(10).describe("Health check interval (inter)."),
        checkDownIntervalSeconds: int(1, 3600)
            .default(5)
            .describe("Health check interval while a server is down (downinter)."),
        checkRise: int(1, 100).default(2).describe("Successful checks before a server is up."),
        checkFall: int(1, 100).default(2).describe("Failed checks before a server is down."),
        slowstartSeconds: int(0, 3600)
            .default(60)
            .describe("Ramp-up after a server comes back (0: off)."),
        tlsSessionLifetimeSeconds: int(300, 86_400)
            .default(3600)
            .describe(
                "How long a device may resume its TLS session (tune.ssl.lifetime), and the rotation period of the session ticket keys every HAProxy of the stack shares; a ticket is refused after this. Must exceed 1.5x the MQTT keepalive, so a device that notices a lost connection can still resume.",
            ),
        hardStopAfterSeconds: int(1, 86_400)
            .default(900)
            .describe("After a reload, old workers holding MQTT sessions are stopped after this."),
        healthPort: int(1, 65_535).default(8080).describe("HTTP health frontend the NLB checks."),
        metricsPort: int(1, 65_535)
            .default(8405)
            .describe(
                "Prometheus exporter and stats page, on the host's loopback only (no authentication): reach it through SSM port forwarding.",
            ),
    })
    .prefault({});

const emqxSchema = z
    .strictObject({
        nodes: int(1, 32).default(3).describe("EMQX core nodes, spread across the zones."),
        version: z
            .string({ error: "must be an EMQX 5 version such as 5.8.9" })
            .regex(/^5\.\d{1,2}\.\d{1,3}$/, { error: "must be an EMQX 5 version such as 5.8.9" })
            .default("5.8.9")
            .describe(
                "EMQX version, pinned. 5.8.x is the last Apache-2.0 line (Docker image emqx/emqx); 5.9 and later are the BSL build (emqx/emqx-enterprise) and need emqxLicenseKey for a cluster.",
            ),
        repositoryKeyFingerprint: z
            .string({ error: "must be a key fingerprint of 40 hex digits" })
            .regex(/^[0-9A-Fa-f]{40}$/, { error: "must be a key fingerprint of 40 hex digits" })
            .optional()
            .describe(
                "AWS: fingerprint of EMQX's apt repository key (packagecloud emqx/emqx); the bootstrap refuses any other key. Unset: the key is trusted as downloaded, and every pulumi preview and npm run render warns about it (there is no built-in value: none could be obtained where this project is built).",
            ),
        instanceType: z
            .string()
            .regex(/^[a-z0-9]+\.[a-z0-9]+$/, {
                error: "must be an EC2 instance type such as c7i.xlarge",
            })
            .default("c7i.xlarge")
            .describe("EC2 instance type of the EMQX nodes."),
        maxConnections: int(1, 10_000_000)
            .default(250_000)
            .describe(
                "Most MQTT connections per node, shared evenly by its HAProxy-facing listeners (max_connections of each); the capacity model refuses more than emqx.instanceType holds (a c7i.xlarge about 416000).",
            ),
        acceptors: int(1, 1024).default(64).describe("TCP listener acceptors."),
        backlog: int(128, 1_048_576).default(16_384).describe("TCP listen backlog."),
        proxyProtocolTimeoutSeconds: int(1, 17)
            .default(3)
            .describe(
                "How long EMQX waits for the PROXY header (esockd caps it at 17 s); written with a unit.",
            ),
        discovery: oneOf(["static", "dns"])
            .default("static")
            .describe("Cluster discovery: static seeds by DNS name, or a DNS A record."),
        peerCertAs: oneOf(["cn", "dn", "disabled"])
            .default("cn")
            .describe(
                "mqtt.peer_cert_as_username and peer_cert_as_clientid: the device CN from PROXY v2 (dn gives the CN too behind a proxy).",
            ),
        dataVolumeGiB: int(8, 16_384).default(20).describe("EBS volume for the EMQX data dir."),
        refreshNode: int(1, 32)
            .optional()
            .describe(
                "AWS: the one EMQX node (index) whose instance follows changed user-data, AMI or instance type in this up (replaced, keeping its name and data volume). Unset: no node instance changes.",
            ),
        privateZone: dnsName()
            .default("emqx.internal")
            .describe("Route53 private zone; node i is emqx-i.<zone>."),
    })
    .prefault({});

const algorithms = KEY_ALGORITHMS;

const pkiSchema = z
    .strictObject({
        organization: subjectName().default("mqtt-edge").describe("O of every generated subject."),
        rootCommonName: subjectName()
            .default("mqtt-edge Root CA")
            .describe("CN of the generated root CA."),
        intermediateCommonName: subjectName()
            .default("mqtt-edge Device Intermediate CA")
            .describe(
                "CN of the device intermediate; HAProxy admits only certificates issued under this name.",
            ),
        caKeyAlgorithm: oneOf(algorithms)
            .default("rsa-3072")
            .describe(
                "Key algorithm of the root and intermediate CAs. HAProxy verifies about five CA signatures per device handshake (certificates and CRLs) and RSA verifies fastest, so rsa-3072, the smallest at 128-bit strength, costs least (docs/pki.md). Changing it replaces the whole chain: every device needs a new certificate.",
            ),
        serverKeyAlgorithms: z
            .array(oneOf(algorithms), { error: "must be a list of key algorithms" })
            .min(1, { error: "must name at least one key algorithm" })
            .max(2, { error: "must name at most two key algorithms (one ECDSA, one RSA)" })
            .default(["ecdsa-p256", "rsa-3072"])
            .describe(
                "Server certificates HAProxy presents; with one ECDSA and one RSA, each device gets what it supports (RSA only to devices that send SNI). HAProxy signs once per full handshake: ECDSA P-256 is the cheapest; rsa-3072 is the smallest RSA at 128-bit strength.",
            ),
        rootValidityHours: int(24, 876_000)
            .default(262_800)
            .describe("Root CA validity (the seed's 262800h)."),
        intermediateValidityHours: int(24, 876_000)
            .default(175_200)
            .describe("Device intermediate validity; keep it inside the root's."),
        serverValidityHours: int(24, 876_000)
            .default(8_760)
            .describe("Server certificate validity."),
        rotation: z
            .strictObject({
                root: rotationLabel().describe(
                    "Change to replace the root CA (and everything under it).",
                ),
                deviceCaKey: rotationLabel().describe(
                    "Change to replace the device intermediate's key and certificate; devices need new certificates.",
                ),
                deviceCaCert: rotationLabel().describe(
                    "Change to re-issue the device intermediate's certificate with the same key; devices keep theirs.",
                ),
                server: rotationLabel().describe(
                    "Change to replace the HAProxy server certificates.",
                ),
            })
            .prefault({}),
        testDevices: int(0, 100)
            .default(2)
            .describe("Device certificates issued in the stack for smoke and load tests."),
        crl: bool()
            .default(true)
            .describe(
                "Check device certificates against CRLs (root and device CA). A bring-your-own CA without caRootKeyPem needs caRootCrlPem for this, or false: revoked devices then still connect (docs/pki.md).",
            ),
        allowPlaintextKeys: bool()
            .default(false)
            .describe(
                "Accept caDeviceKeyPem / caRootKeyPem in plaintext in the stack file (throwaway stacks only); otherwise they must be set with pulumi config set --secret.",
            ),
    })
    .prefault({});

const networkSchema = z
    .strictObject({
        vpcCidr: cidr()
            .refine((v) => Number(v.split("/")[1]) >= 16 && Number(v.split("/")[1]) <= 22, {
                error: "must be a /16 to /22 block: it is cut into 32 subnets (public, proxy, private per zone)",
            })
            .default("10.40.0.0/16")
            .describe("CIDR of the VPC the stack creates (/16 to /22)."),
        availabilityZones: z
            .array(
                z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, { error: "must be a zone name" }),
            )
            .min(2, { error: "must list at least two availability zones" })
            .max(6, { error: "must list at most six availability zones" })
            .optional()
            .describe("Zones to use; default: the first two of the region."),
        existingVpc: z
            .strictObject({
                vpcId: z
                    .string()
                    .regex(/^vpc-[0-9a-f]{8,17}$/, {
                        error: "must be a VPC id such as vpc-0123abcd",
                    })
                    .describe("The VPC's id."),
                cidrBlock: cidr().describe("The VPC's primary CIDR (the SSM endpoints admit it)."),
                publicSubnets: z
                    .array(existingSubnet())
                    .min(2, { error: "must list at least two subnets" })
                    .describe("Subnets for an internet-facing NLB: {id, availabilityZone, cidr}."),
                privateSubnets: z
                    .array(existingSubnet())
                    .min(2, { error: "must list at least two subnets" })
                    .describe(
                        "Subnets for the EMQX hosts, {id, availabilityZone, cidr}; they need NAT or endpoints.",
                    ),
                proxySubnets: z
                    .array(existingSubnet())
                    .min(2, { error: "must list at least two subnets" })
                    .optional()
                    .describe(
                        "Subnets for HAProxy alone, {id, availabilityZone, cidr}; EMQX admits PROXY v2 only from these CIDRs (default: the private subnets, which then also hold EMQX).",
                    ),
            })
            .optional()
            .describe("Use this VPC instead of creating one (the keys below)."),
        natPerZone: bool()
            .default(false)
            .describe("One NAT gateway per zone (true) or one for the VPC."),
        clientCidrs: z
            .array(cidr())
            .min(1, { error: "must list at least one CIDR" })
            .default(["0.0.0.0/0"])
            .describe("Who may reach the device port."),
        adminCidrs: z
            .array(cidr())
            .default([])
            .describe(
                "Who may reach the EMQX dashboard directly; empty means SSM port forwarding only.",
            ),
    })
    .prefault({});

const nlbSchema = z
    .strictObject({
        internal: bool().default(false).describe("Internal NLB instead of internet-facing."),
        devicePort: int(1, 65_535).default(8883).describe("Port devices connect to."),
        clientIpMode: oneOf(["preserve", "proxy-v2"])
            .default("preserve")
            .describe(
                "preserve: HAProxy sees the device IP; proxy-v2: the NLB sends PROXY v2 and HAProxy gets accept-proxy on every bind it reaches.",
            ),
        idleTimeoutSeconds: int(60, 6000)
            .default(350)
            .describe("NLB TCP idle timeout; must exceed HAProxy's client timeout."),
        deregistrationDelaySeconds: int(0, 3600)
            .default(300)
            .describe("How long a deregistered HAProxy keeps its sessions before they are closed."),
    })
    .prefault({});

const dockerSchema = z
    .strictObject({
        devicePort: int(1, 65_535)
            .default(8883)
            .describe("docker target: host port on 127.0.0.1 devices connect to."),
        healthPort: int(1, 65_535)
            .default(8080)
            .describe("docker target: host port on 127.0.0.1 of HAProxy's /healthz."),
        metricsPort: int(1, 65_535)
            .default(8405)
            .describe("docker target: host port on 127.0.0.1 of HAProxy's /metrics and /stats."),
        dashboardPort: int(1, 65_535)
            .default(18_083)
            .describe("docker target: host port on 127.0.0.1 of EMQX node 1's dashboard."),
        subnet: cidr()
            .default("172.30.83.0/24")
            .describe(
                "docker target: private subnet (prefix 16-24) of the Docker network; HAProxy gets its second address.",
            ),
        haproxyImage: z
            .string()
            .regex(/^haproxy:2\.6\.\d{1,3}(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$/, {
                error: "must be an official haproxy 2.6 image pinned to a release, e.g. haproxy:2.6.33",
            })
            .default("haproxy:2.6.33")
            .describe(
                "docker target: HAProxy image, pinned to 2.6 (the line CI checks configs with).",
            ),
    })
    .prefault({});

/**
 * Load-generator hosts of a load-test stack (components/aws/load-generators.ts). `npm run loadtest
 * -- --scenario ...` sets it on the load-test stack it raises; a regular stack leaves it out.
 */
const loadGeneratorsSchema = z
    .strictObject({
        count: int(1, 50).describe(
            "load-test stacks, aws target: how many load-generator hosts (set by npm run loadtest --scenario).",
        ),
        instanceType: z
            .string()
            .regex(/^[a-z0-9]+\.[a-z0-9]+$/, {
                error: "must be an EC2 instance type such as c7i.xlarge",
            })
            .default("c7i.xlarge")
            .describe(
                "load-test stacks: EC2 instance type of the load generators; npm run loadtest --scenario sets the smallest that holds each generator's devices and connect rate (docs/loadtest.md).",
            ),
        devicesPerGenerator: int(1, 60_000)
            .default(50_000)
            .describe(
                "load-test stacks: most devices one generator opens (sizes its file-descriptor limit; one source address has about 64,500 ports).",
            ),
    })
    .optional()
    .describe("Load generators of a load-test stack; absent on regular stacks.");

const alarmsSchema = z
    .strictObject({
        email: z
            .string({ error: "must be an e-mail address such as ops@example.com" })
            .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, {
                error: "must be an e-mail address such as ops@example.com",
            })
            .optional()
            .describe(
                "aws target: subscribe this address to the alarm topic (AWS mails a confirmation link first).",
            ),
        hostAgent: bool()
            .default(true)
            .describe(
                "aws target: run the CloudWatch agent on every host (memory, descriptors, exporters, CRL deadline). Changing it changes user-data, which replaces the hosts.",
            ),
        capacityPercent: int(10, 100)
            .default(80)
            .describe(
                "aws target: alarm when active device flows exceed this share of what the fleet holds.",
            ),
        unhealthyMinutes: int(1, 60)
            .default(5)
            .describe(
                "aws target: alarm when an HAProxy host fails the NLB health check this long.",
            ),
        crlMinHours: int(1, 720)
            .default(120)
            .describe(
                "aws target: alarm when a CRL loaded in HAProxy is this close to its nextUpdate (default 5 days).",
            ),
        memoryPercent: int(50, 99)
            .default(85)
            .describe("aws target: alarm when a host uses more than this share of its memory."),
        fdPercent: int(50, 99)
            .default(80)
            .describe(
                "aws target: alarm when HAProxy or EMQX uses more than this share of its file-descriptor limit.",
            ),
    })
    .prefault({});

export const stackSchema = z.strictObject({
    target: oneOf(["aws", "docker"])
        .default("aws")
        .describe("Where the stack runs: AWS, or a Docker engine on one machine."),
    deviceDomains: z
        .array(dnsName())
        .min(1, { error: "must list at least one DNS name" })
        .max(MAX_DEVICE_DOMAINS, {
            error: `must list at most ${MAX_DEVICE_DOMAINS} DNS names (each is a SAN of the server certificates, stored in SSM)`,
        })
        .default(["mqtt.example.com"])
        .describe("DNS names devices connect to; they go into the server certificate's SANs."),
    ssmAgent: z
        .strictObject({
            version: z
                .string()
                .regex(/^\d+(\.\d+){3}$/, { error: "must be an exact version such as 3.3.1802.0" })
                .describe("SSM agent version, as in its download path."),
            sha256Amd64: z
                .string()
                .regex(/^[0-9a-f]{64}$/, { error: "must be 64 lower-case hex digits" })
                .describe("SHA-256 of that version's debian_amd64/amazon-ssm-agent.deb."),
            sha256Arm64: z
                .string()
                .regex(/^[0-9a-f]{64}$/, { error: "must be 64 lower-case hex digits" })
                .describe("SHA-256 of that version's debian_arm64/amazon-ssm-agent.deb."),
        })
        .optional()
        .describe(
            "AWS: install exactly this SSM agent and refuse a package with another SHA-256. Set or not, a package whose signature does not verify with AWS's SSM agent key (fingerprint DE92C7DA3E56E92331D62A36BC1F495C97DD04ED) is never installed; unset takes the latest package.",
        ),
    emqxLicenseKey: z
        .string()
        .min(1, { error: "must not be empty" })
        .max(MAX_LICENSE_KEY_CHARS, {
            error: `must be at most ${MAX_LICENSE_KEY_CHARS} characters (it is stored in SSM)`,
        })
        .optional()
        .describe("Secret. EMQX license key, required for a cluster on EMQX 5.9 and later."),
    caRootCertPem: pem("CERTIFICATE", "certificate")
        .optional()
        .describe(
            "Bring your own CA: the root certificate (PEM). Needs caDeviceCertPem and caDeviceKeyPem.",
        ),
    caDeviceCertPem: pem("CERTIFICATE", "certificate")
        .optional()
        .describe("Bring your own CA: the device intermediate certificate (PEM)."),
    caDeviceKeyPem: pemKey()
        .optional()
        .describe("Secret. Bring your own CA: the device intermediate's private key (PEM)."),
    caRootKeyPem: pemKey()
        .optional()
        .describe(
            "Secret. Bring your own CA: the root key, so the stack can issue the server certificate and the root CRL. Without it, supply caRootCrlPem or set pki.crl: false.",
        ),
    caRootCrlPem: z
        .string({ error: "must be a PEM CRL" })
        .max(MAX_ROOT_CRL_PEM_CHARS, {
            error: `must be a PEM CRL of at most ${MAX_ROOT_CRL_PEM_CHARS} characters`,
        })
        .refine((v) => v.includes("-----BEGIN X509 CRL-----"), {
            error: "must be a PEM CRL (-----BEGIN X509 CRL-----)",
        })
        .optional()
        .describe(
            "Bring your own CA without caRootKeyPem: a current CRL signed by that root (PEM, public). HAProxy needs a CRL from every CA in the chain; the stack signs the device CA's and ships this one with it. Replace it before its nextUpdate (docs/revocation.md).",
        ),
    mqtt: mqttSchema,
    haproxy: haproxySchema,
    emqx: emqxSchema,
    pki: pkiSchema,
    network: networkSchema,
    nlb: nlbSchema,
    docker: dockerSchema,
    loadGenerators: loadGeneratorsSchema,
    capacity: capacitySchema,
    alarms: alarmsSchema,
});
