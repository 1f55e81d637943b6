/**
 * Keys of a stack file that Pulumi itself lets through but that are almost certainly typos: a
 * top-level section other than the five Pulumi reads (`conf:` for `config:`), and a config
 * namespace a keystroke or two away from ours (`mqtt-egde:haproxy`, `mqtt_edge:target`). Pulumi
 * hands such keys to nobody, so the defaults would silently render in their place.
 *
 * The keys under our namespace are checked by the schema itself (strict objects), so whatever
 * key the schema gains is accepted here without a change.
 */
import { CONFIG_NAMESPACE, ConfigError } from "./config-errors.ts";

/**
 * The attributes of `Pulumi.<stack>.yaml` (Pulumi docs, "Stack settings file reference":
 * secretsprovider, encryptedkey, encryptionsalt, config, environment).
 */
export const STACK_FILE_SECTIONS = [
    "secretsprovider",
    "encryptedkey",
    "encryptionsalt",
    "config",
    "environment",
] as const;

/** Namespaces this close (edit distance) to ours, or to its underscore spelling, are typos. */
export const NAMESPACE_TYPO_DISTANCE = 2;

/** Throws one line naming the first top-level key of a stack file Pulumi does not read. */
export function checkStackFileSections(path: string, doc: Record<string, unknown>): void {
    for (const key of Object.keys(doc)) {
        if (!(STACK_FILE_SECTIONS as readonly string[]).includes(key)) {
            throw new ConfigError(
                `${path}: ${key}: unknown top-level key; allowed: ${STACK_FILE_SECTIONS.join(", ")} (project settings go under config: as ${CONFIG_NAMESPACE}:<key>)`,
            );
        }
    }
}

/**
 * Throws one line when `fullKey`'s namespace looks like a misspelt `mqtt-edge`. Other namespaces
 * (aws:, pulumi:, docker:) pass.
 */
export function checkConfigNamespace(fullKey: string): void {
    const colon = fullKey.indexOf(":");
    if (colon < 0) return;
    const namespace = fullKey.slice(0, colon);
    if (namespace === CONFIG_NAMESPACE) return;
    const close = [CONFIG_NAMESPACE, CONFIG_NAMESPACE.replaceAll("-", "_")].some(
        // Case does not count: `Mqtt-Edge:` is as much a typo as `mqtt-egde:`.
        (name) => editDistance(namespace.toLowerCase(), name) <= NAMESPACE_TYPO_DISTANCE,
    );
    if (close) {
        const key = fullKey.slice(colon + 1);
        throw new ConfigError(
            `${fullKey}: unknown namespace ${JSON.stringify(namespace)}; allowed: ${CONFIG_NAMESPACE}:${key} (this project reads only ${CONFIG_NAMESPACE}:<key>)`,
        );
    }
}

/** Levenshtein distance: insertions, deletions and substitutions each count one. */
export function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
            current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
        }
        previous = current;
    }
    return previous[b.length] ?? 0;
}
