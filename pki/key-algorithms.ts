/**
 * The key algorithms a stack can choose for its CAs and server certificates: one list for the
 * configuration schema, the local PKI the tests and benchmarks build, and the capacity model's
 * per-algorithm figures.
 */
export const KEY_ALGORITHMS = [
    "ecdsa-p256",
    "ecdsa-p384",
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
] as const;

/** One of {@link KEY_ALGORITHMS}. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
