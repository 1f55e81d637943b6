/** docs/operations.md keeps a section for every alarm a stack can have; each alarm links to it. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { edgeAlarmDefinitions } from "../../components/aws/alarm-definitions.ts";

const operations = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");

test("every alarm, with all of them switched on, has its own section in docs/operations.md", () => {
    const all = edgeAlarmDefinitions(
        {
            loadBalancerArnSuffix: "net/x/1",
            targetGroupArnSuffix: "targetgroup/x/1",
            hostNamespace: "mqtt-edge/x",
        },
        {
            desiredHaproxyHosts: 2,
            unhealthyMinutes: 5,
            fleetDeviceCapacity: 1000,
            capacityPercent: 80,
            emqxNodes: 3,
            memoryPercent: 85,
            fdPercent: 80,
            crlMinHours: 120,
            hostAgent: true,
        },
    );
    const sections = [...operations.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(sections.sort(), all.map((a) => a.id).sort());
});
