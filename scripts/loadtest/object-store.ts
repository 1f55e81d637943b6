/**
 * The load-test bucket as the orchestration sees it: put an object, get one back (or learn it is
 * not there yet). An interface, so the coordination (cloud-run.ts) is tested with a fake;
 * aws-cli-object-store.ts implements it with the AWS CLI.
 */

/** One bucket. */
export interface ObjectStore {
    /** Writes `body` to `key` (the bucket's default SSE-KMS encryption applies). */
    put(key: string, body: string): Promise<void>;
    /** The object's text, or undefined when there is no such object (yet). */
    get(key: string): Promise<string | undefined>;
}
