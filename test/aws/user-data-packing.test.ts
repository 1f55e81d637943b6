/**
 * User-data packed for EC2 (components/aws/user-data-packing.ts): under the 16 KB EC2 takes
 * for every host the committed stacks declare, the same bytes on every run, the script back
 * intact, and one line when a script would not fit.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import {
    packUserData,
    USER_DATA_LIMIT_BYTES,
    unpackUserData,
} from "../../components/aws/user-data-packing.ts";
import { runProgram } from "../program/program-process.ts";
import type { ProgramRun } from "../program/run-program.ts";

const HOST_TYPES = ["aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"];

describe("user-data packing", () => {
    test("every host of dev and of a load test fits EC2's limit, packed; plain, none would", async () => {
        const runs: ProgramRun[] = await Promise.all([
            runProgram("dev"),
            runProgram("dev", ['loadGenerators={"count":2,"devicesPerGenerator":40000}']),
        ]);
        let unpackedOver = 0;
        let hosts = 0;
        for (const run of runs) {
            for (const resource of run.resources.filter((r) => HOST_TYPES.includes(r.type))) {
                const packed = resource.inputs.userDataBase64 ?? resource.inputs.userData;
                assert.equal(typeof packed, "string", resource.name);
                const bytes = Buffer.from(String(packed), "base64");
                assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], `${resource.name}: gzip`);
                assert.ok(
                    bytes.length <= USER_DATA_LIMIT_BYTES,
                    `${resource.name}: ${bytes.length}`,
                );
                const script = unpackUserData(String(packed));
                assert.match(script, /^#!\/bin\/bash\n/, resource.name);
                if (Buffer.byteLength(script) > USER_DATA_LIMIT_BYTES) unpackedOver++;
                hosts++;
            }
        }
        assert.ok(hosts >= 6, `launch template, 3 EMQX nodes, 2 generators: saw ${hosts}`);
        // Why packing exists: the HAProxy bootstrap alone is past the limit in plain text.
        assert.ok(unpackedOver >= 1, "some script over 16 KB plain");
    });

    test("the same script packs to the same bytes: a re-run plans no change", () => {
        const script = `#!/bin/bash\n${"echo steady\n".repeat(500)}`;
        assert.equal(packUserData(script, "x"), packUserData(script, "x"));
        assert.equal(unpackUserData(packUserData(script, "x")), script);
    });

    test("a script that would not fit is refused in one line naming it, its size and the limit", () => {
        const noise = randomBytes(20_000).toString("base64");
        assert.throws(
            () => packUserData(`#!/bin/bash\n# ${noise}\n`, "haproxy-launch user-data"),
            (e: Error) =>
                !e.message.includes("\n") &&
                /^haproxy-launch user-data: user-data is \d+ bytes gzip-compressed \(\d+ plain\); EC2 takes at most 16384$/.test(
                    e.message,
                ),
        );
    });
});
