/**
 * The `capacity` section of the stack configuration: the target the stack is sized for and
 * instance types the built-in table (capacity/instance-types.ts) lacks. The checks that use it
 * are in config-capacity-checks.ts.
 */
import { z } from "zod";

const count = (min: number, max: number) => {
    const error = `must be an integer from ${min} to ${max}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const instanceFacts = z.strictObject({
    vcpus: count(1, 1024).describe("vCPUs of the type."),
    memoryGiB: z
        .number({ error: "must be a number of GiB from 0.5 to 32768" })
        .min(0.5, { error: "must be a number of GiB from 0.5 to 32768" })
        .max(32_768, { error: "must be a number of GiB from 0.5 to 32768" })
        .describe("Memory of the type in GiB, as AWS lists it."),
});

export const capacitySchema = z
    .strictObject({
        targetDevices: count(1, 100_000_000)
            .optional()
            .describe(
                "Devices the stack is sized for: a warning when the HAProxy fleet or the EMQX cluster cannot hold them with capacity.spareHosts of each lost (npm run capacity).",
            ),
        stormSeconds: count(10, 86_400)
            .default(300)
            .describe(
                "Every device reconnects within this many seconds after an outage; more handshake CPU than the HAProxy hosts have is a warning.",
            ),
        spareHosts: count(0, 16)
            .default(0)
            .describe(
                "HAProxy hosts and EMQX nodes that may be lost while the rest still hold targetDevices; EMQX listener ports are sized so that the nodes left still reach maxconn.",
            ),
        instanceTypes: z
            .record(
                z.string().regex(/^[a-z0-9]+\.[a-z0-9]+$/, {
                    error: "must be an EC2 instance type such as c7i.large",
                }),
                instanceFacts,
            )
            .default({})
            .describe(
                "Instance types to add to (or correct in) the capacity model's table, e.g. {c8i.large: {vcpus: 2, memoryGiB: 4}}.",
            ),
    })
    .prefault({});
