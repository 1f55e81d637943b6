/**
 * The seed every HAProxy of a stack derives its TLS session ticket keys from
 * (templates/tls-ticket-keys.ts): 32 random bytes made once, kept in state as a secret and
 * delivered to the hosts like the server keys. Replacing it (a new resource name or `pulumi up
 * --replace`) makes every outstanding ticket worthless: devices do one full handshake each.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { TICKET_SEED_BYTES } from "../templates/tls-ticket-keys.ts";

/**
 * Creates `<name>` (random.RandomBytes) under `parent` and returns the seed as 64 lower-case hex
 * digits, a Pulumi secret (the provider marks `hex` secret too; this keeps it so either way).
 */
export function createTlsTicketSeed(name: string, parent?: pulumi.Resource): pulumi.Output<string> {
    const bytes = new random.RandomBytes(
        name,
        { length: TICKET_SEED_BYTES },
        parent ? { parent } : {},
    );
    return pulumi.secret(bytes.hex);
}
