/**
 * The CRL file the HAProxy hosts read is an S3 object; the stack names it in the plain output
 * `crlObjectUri`, and the scheduled CRL refresh checks exactly that object.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runProgram } from "./program-process.ts";

test("crlObjectUri is the declared CRL object, plain, and the refresh workflow checks it", async () => {
    const run = await runProgram("dev");
    const object = run.resources.find(
        (r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2" && r.name.endsWith("crl.pem"),
    );
    assert.ok(object, "a CRL object");
    const output = run.outputs.crlObjectUri;
    assert.ok(output, "the crlObjectUri output");
    assert.equal(output.secret, false);
    assert.equal(output.value, `s3://${object.inputs.bucket}/${object.inputs.key}`);
    assert.equal(object.inputs.key, "mqtt-edge/dev/haproxy/crl.pem");

    const workflow = readFileSync(
        new URL("../../.github/workflows/crl-refresh.yml", import.meta.url),
        "utf8",
    );
    assert.match(workflow, /pulumi stack output crlObjectUri /);
    assert.match(workflow, /aws s3 cp "\$\{uri\}" crl\.pem/);
    assert.doesNotMatch(workflow, /ssm get-parameter/, "CRLs are no SSM parameter any more");
});
