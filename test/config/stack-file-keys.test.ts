/**
 * Stack files with keys Pulumi lets through but nobody reads: each is one line naming the key,
 * before anything is rendered. Keys the schema accepts (whoever adds them) always pass.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError, parseEdgeConfig } from "../../infra/config.ts";
import { stackSchema } from "../../infra/config-schema.ts";
import { readStackFile } from "../../infra/stack-file.ts";
import { checkConfigNamespace, editDistance } from "../../infra/stack-file-keys.ts";

describe("stack file keys", () => {
    let dir: string;
    before(async () => {
        dir = await mkdtemp(join(tmpdir(), "mqtt-edge-stack-keys-"));
    });
    after(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    /** Writes Pulumi.<stack>.yaml with `text` and reads it as the render CLI does. */
    async function read(stack: string, text: string) {
        await writeFile(join(dir, `Pulumi.${stack}.yaml`), text);
        const file = readStackFile(dir, stack);
        return parseEdgeConfig(file.raw, {
            encryptedSecrets: file.secrets,
            plaintextSecrets: file.plaintextSecrets,
            awsRegion: file.providerConfig["aws:region"],
        });
    }

    async function refused(stack: string, text: string, pattern: RegExp): Promise<void> {
        await assert.rejects(
            () => read(stack, text),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError, String(e));
                assert.equal(e.message.split("\n").length, 1, e.message);
                assert.match(e.message, pattern);
                return true;
            },
        );
    }

    test("`conf:` instead of `config:` is an unknown top-level key", async () => {
        await refused(
            "conf",
            "conf:\n  mqtt-edge:haproxy:\n    maxconn: 1000\n",
            /Pulumi\.conf\.yaml: conf: unknown top-level key; allowed: secretsprovider, encryptedkey, encryptionsalt, config, environment/,
        );
    });

    test("a namespace typo (mqtt-egde:) is refused naming the key", async () => {
        await refused(
            "egde",
            "config:\n  mqtt-egde:haproxy:\n    maxconn: 1000\n",
            /^mqtt-egde:haproxy: unknown namespace "mqtt-egde"; allowed: mqtt-edge:haproxy/,
        );
    });

    test("the underscore spelling (mqtt_edge:) is refused naming the key", async () => {
        await refused(
            "underscore",
            "config:\n  mqtt_edge:target: docker\n",
            /^mqtt_edge:target: unknown namespace "mqtt_edge"; allowed: mqtt-edge:target/,
        );
    });

    test("provider namespaces and the secrets settings pass", async () => {
        const config = await read(
            "fine",
            "secretsprovider: passphrase\nencryptionsalt: v1:abc\nconfig:\n  aws:region: eu-west-1\n  pulumi:tags:\n    team: edge\n  mqtt-edge:haproxy:\n    maxconn: 1000\n",
        );
        assert.equal(config.haproxy.maxconn, 1000);
    });

    test("every key the schema has passes the namespace check (derived, not listed)", () => {
        for (const key of Object.keys(stackSchema.shape)) {
            assert.doesNotThrow(() => checkConfigNamespace(`mqtt-edge:${key}`), key);
        }
    });

    test("edit distance: typos within 2 of mqtt-edge are caught, other projects are not", () => {
        assert.equal(editDistance("mqtt-egde", "mqtt-edge"), 2);
        assert.equal(editDistance("mqt-edge", "mqtt-edge"), 1);
        assert.equal(editDistance("aws", "mqtt-edge"), 9);
        assert.throws(() => checkConfigNamespace("mqttedge:target"), /unknown namespace/);
        assert.throws(() => checkConfigNamespace("Mqtt-Edg:target"), /unknown namespace/);
        assert.doesNotThrow(() => checkConfigNamespace("mqtt-broker:target"));
    });

    test("availability zones of another region than aws:region are refused", async () => {
        await refused(
            "zones",
            "config:\n  aws:region: us-east-1\n  mqtt-edge:network:\n    availabilityZones: [eu-west-1a, eu-west-1b, eu-west-1c]\n",
            /^mqtt-edge:network\.availabilityZones = \["eu-west-1a","eu-west-1b","eu-west-1c"\]: "eu-west-1a" is not in aws:region us-east-1; allowed: zones of that region such as us-east-1a/,
        );
        const ok = await read(
            "zones-ok",
            "config:\n  aws:region: eu-west-1\n  mqtt-edge:network:\n    availabilityZones: [eu-west-1a, eu-west-1b]\n",
        );
        assert.deepEqual(ok.network.availabilityZones, ["eu-west-1a", "eu-west-1b"]);
    });

    test("a plaintext private key in the file is reported as plaintext, an encrypted one is not", async () => {
        await writeFile(
            join(dir, "Pulumi.keys.yaml"),
            "config:\n  mqtt-edge:caDeviceKeyPem: |\n    -----BEGIN PRIVATE KEY-----\n    x\n    -----END PRIVATE KEY-----\n  mqtt-edge:caRootKeyPem:\n    secure: v1:AAAA\n",
        );
        const file = readStackFile(dir, "keys");
        assert.deepEqual(file.plaintextSecrets, ["caDeviceKeyPem"]);
        assert.deepEqual(file.secrets, ["caRootKeyPem"]);
    });
});
