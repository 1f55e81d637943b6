/** A download without a pin is said once per preview or render, naming the key that pins it. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseEdgeConfig, supplyChainWarnings } from "../../infra/config.ts";

test("an AWS stack without emqx.repositoryKeyFingerprint gets one warning naming it; pinned or docker, none", () => {
    const warned: string[] = [];
    parseEdgeConfig({}, { onWarning: (line) => warned.push(line) });
    assert.equal(warned.length, 1);
    assert.match(
        warned[0] ?? "",
        /^mqtt-edge:emqx\.repositoryKeyFingerprint is not set: each EMQX node trusts the apt repository key it downloads at boot; .*the bootstrap refuses any other key$/,
    );
    const pinned = parseEdgeConfig({ emqx: { repositoryKeyFingerprint: "A".repeat(40) } });
    assert.deepEqual(supplyChainWarnings(pinned), []);
    assert.deepEqual(supplyChainWarnings(parseEdgeConfig({ target: "docker" })), []);
});
