/**
 * vCPUs and memory of common EC2 instance types, for the capacity model. A stack adds or corrects
 * types under `capacity.instanceTypes`; a type in neither place cannot be sized and is refused.
 *
 * Source: https://aws.amazon.com/ec2/instance-types/ (compute optimized: 2 GiB per vCPU; general
 * purpose: 4 GiB; memory optimized: 8 GiB; sizes large = 2 vCPUs up to 16xlarge = 64, medium = 1
 * on Graviton). An Intel vCPU (c7i, c6i, m7i, r7i) is one hyperthread, a Graviton vCPU (c7g, c6g,
 * m7g) a whole core; the model counts vCPUs alike because the CPU figures were measured on one
 * x86 hyperthread-sized core (capacity/measured-figures.json).
 */

/** What the model needs to know of an instance type. */
export interface InstanceFacts {
    /** vCPUs. */
    readonly vcpus: number;
    /** Memory in GiB as AWS lists it (before the OS takes its share). */
    readonly memoryGiB: number;
}

const gibPerVcpu = { c7i: 2, c6i: 2, c7g: 2, c6g: 2, m7i: 4, m7g: 4, r7i: 8 } as const;
const sizes = {
    large: 2,
    xlarge: 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "12xlarge": 48,
    "16xlarge": 64,
} as const;
/** Graviton families also come in medium (1 vCPU). */
const gravitonFamilies = new Set(["c7g", "c6g", "m7g"]);

/** Families in the built-in table, in the order the fleet search reports them. */
export const TABLE_FAMILIES = Object.keys(gibPerVcpu) as (keyof typeof gibPerVcpu)[];

function buildTable(): Map<string, InstanceFacts> {
    const table = new Map<string, InstanceFacts>();
    for (const family of TABLE_FAMILIES) {
        const ratio = gibPerVcpu[family];
        if (gravitonFamilies.has(family)) {
            table.set(`${family}.medium`, { vcpus: 1, memoryGiB: ratio });
        }
        for (const [size, vcpus] of Object.entries(sizes)) {
            table.set(`${family}.${size}`, { vcpus, memoryGiB: vcpus * ratio });
        }
    }
    return table;
}

/** The built-in table: c7i, c6i, c7g, c6g, m7i, m7g, r7i from large (medium) to 16xlarge. */
export const INSTANCE_TABLE: ReadonlyMap<string, InstanceFacts> = buildTable();

/** The table with a stack's own entries on top (they win over the built-in ones). */
export function instanceTable(
    extra: Readonly<Record<string, InstanceFacts>> = {},
): ReadonlyMap<string, InstanceFacts> {
    return new Map([...INSTANCE_TABLE, ...Object.entries(extra)]);
}
