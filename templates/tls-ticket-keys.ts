/**
 * TLS session ticket keys that every HAProxy of a stack shares, rotated on a clock without a
 * reload, so a device resumes its TLS session on any instance, after a reload and after an
 * instance is lost, and no ticket outlives the rotation window.
 *
 * How: one secret seed per stack (a Pulumi secret, delivered like the server keys). Time is cut
 * into epochs of `periodSeconds`; the key of epoch n is derived from the seed and n, so every host
 * computes the same keys with no coordination and a new host joins with the same keys. HAProxy
 * holds three keys (TLS_TICKETS_NO, default 3) and encrypts with the penultimate one (hap-2.6
 * doc/configuration.txt, bind option "tls-ticket-keys"): during epoch n it holds keys n-1, n, n+1
 * and encrypts with key n. A host whose clock runs ahead already encrypts with n+1, which the
 * others hold; a ticket of epoch n is refused from epoch n+2 on, when its key is overwritten.
 * `set ssl tls-key` (hap-2.6 doc/management.txt) moves a running HAProxy to the next epoch: the
 * new key becomes the last, the oldest is overwritten, nothing reloads.
 *
 * Pure: the key derivation (also used by tests to predict the hosts' keys) and the text of the
 * host script and its systemd timer.
 */
import { createHmac } from "node:crypto";
import { requireAbsolutePath, requireInteger, shellQuote } from "./cloud-init-shell-quote.ts";

/** 80-byte keys: HAProxy then uses AES-256 for the ticket (48 bytes would mean AES-128). */
export const TICKET_KEY_BYTES = 80;
/** Keys HAProxy holds per file (its TLS_TICKETS_NO build default; Debian keeps it). */
export const TICKET_KEYS_HELD = 3;
/** The seed is 32 random bytes, written to its file as 64 hex digits. */
export const TICKET_SEED_BYTES = 32;

const seedPattern = new RegExp(`^[0-9a-f]{${TICKET_SEED_BYTES * 2}}$`);

function checkSeed(seedHex: string): Buffer {
    const trimmed = seedHex.trim();
    if (!seedPattern.test(trimmed)) {
        // Never echo the value: it is a secret.
        throw new Error(
            `tls ticket seed: not ${TICKET_SEED_BYTES * 2} lower-case hex digits; allowed: the stack's generated seed`,
        );
    }
    return Buffer.from(trimmed, "hex");
}

/**
 * The ticket key of one epoch, base64 as HAProxy reads it: the first 80 bytes of
 * HMAC-SHA256(seed, "mqtt-edge tls-ticket-key <epoch> <block>") for blocks 1, 2, 3. The host
 * script computes the same with Python's hmac module.
 */
export function ticketKeyForEpoch(seedHex: string, epoch: number): string {
    const seed = checkSeed(seedHex);
    requireInteger("epoch", epoch, 0, Number.MAX_SAFE_INTEGER);
    const blocks = [1, 2, 3].map((block) =>
        createHmac("sha256", seed).update(`mqtt-edge tls-ticket-key ${epoch} ${block}`).digest(),
    );
    return Buffer.concat(blocks).subarray(0, TICKET_KEY_BYTES).toString("base64");
}

/** The epoch a moment falls in. */
export function ticketEpoch(unixSeconds: number, periodSeconds: number): number {
    return Math.floor(unixSeconds / periodSeconds);
}

/** The keys file HAProxy should hold at `unixSeconds`: keys n-1, n (encrypts), n+1; one per line. */
export function renderTicketKeysFile(
    seedHex: string,
    unixSeconds: number,
    periodSeconds: number,
): string {
    const epoch = ticketEpoch(unixSeconds, periodSeconds);
    return `${[epoch - 1, epoch, epoch + 1].map((n) => ticketKeyForEpoch(seedHex, n)).join("\n")}\n`;
}

/** Where the ticket key script finds and writes things on a host. */
export interface TicketKeyScriptSpec {
    /** File holding the stack's seed (64 hex digits), delivered with the other HAProxy files. */
    seedPath: string;
    /** The file haproxy.cfg names in `tls-ticket-keys`; kept current so a reload keeps the keys. */
    keysPath: string;
    /** HAProxy's admin stats socket, for `show tls-keys` and `set ssl tls-key`. */
    statsSocketPath: string;
    /** Epoch length in seconds; equal to `tune.ssl.lifetime` (see templates/haproxy.ts). */
    periodSeconds: number;
}

/** Where the script lives on the HAProxy hosts. */
export const TICKET_KEY_SCRIPT_PATH = "/usr/local/sbin/mqtt-edge-tls-ticket-keys";

/**
 * `mqtt-edge-tls-ticket-keys [--file-only] [--now <unix-seconds>]`: writes the keys of the current
 * epoch to the keys file and, unless `--file-only`, brings a running HAProxy to the same keys
 * through the runtime API. Idempotent; the timer runs it every minute. `--now` lets a test move
 * the clock.
 */
export function renderTicketKeyScript(spec: TicketKeyScriptSpec): string {
    const seedPath = requireAbsolutePath("seedPath", spec.seedPath);
    const keysPath = requireAbsolutePath("keysPath", spec.keysPath);
    const socket = requireAbsolutePath("statsSocketPath", spec.statsSocketPath);
    const period = requireInteger("periodSeconds", spec.periodSeconds, 60, 7 * 86_400);
    return `#!/bin/bash
# Keeps HAProxy's TLS session ticket keys equal on every HAProxy host of the stack and rotates
# them every ${period} s through the runtime API, without a reload.
# Rendered by templates/tls-ticket-keys.ts; run at boot (--file-only, before HAProxy starts) and
# every minute by mqtt-edge-tls-ticket-keys.timer.
set -euo pipefail

seed_file=${shellQuote(seedPath)}
keys_file=${shellQuote(keysPath)}
stats_socket=${shellQuote(socket)}
period=${period}
file_only=false
now=$(date +%s)
while [ "$#" -gt 0 ]; do
    case "$1" in
        --file-only) file_only=true ;;
        --now) now="$2"; shift ;;
        *) echo "unknown argument: $1 (allowed: --file-only, --now <unix-seconds>)" >&2; exit 2 ;;
    esac
    shift
done
case "\${now}" in
    ''|*[!0-9]*) echo "--now: \${now} is not allowed; use whole seconds since 1970" >&2; exit 2 ;;
esac

# The keys of epochs n-1, n and n+1, base64, one per line. Python reads the seed from its file,
# so the seed never shows in a process list.
ticket_keys() {
    python3 - "\${seed_file}" "$1" <<'PYTHON'
import base64, hashlib, hmac, sys
seed = bytes.fromhex(open(sys.argv[1]).read().strip())
epoch = int(sys.argv[2])
for n in (epoch - 1, epoch, epoch + 1):
    blocks = b"".join(
        hmac.new(seed, f"mqtt-edge tls-ticket-key {n} {block}".encode(), hashlib.sha256).digest()
        for block in (1, 2, 3)
    )
    print(base64.b64encode(blocks[:${TICKET_KEY_BYTES}]).decode())
PYTHON
}

epoch=$(( now / period ))
mapfile -t wanted < <(ticket_keys "\${epoch}")
if [ "\${#wanted[@]}" -ne 3 ]; then
    echo "could not derive the TLS ticket keys from \${seed_file}" >&2
    exit 1
fi

# Written first: HAProxy reads this file at start and on every reload.
umask 077
install -d -m 0700 "$(dirname "\${keys_file}")"
staged=$(mktemp "\${keys_file}.XXXXXX")
printf '%s\\n' "\${wanted[@]}" > "\${staged}"
mv -f "\${staged}" "\${keys_file}"

if [ "\${file_only}" = true ] || [ ! -S "\${stats_socket}" ]; then
    exit 0
fi

runtime() {
    printf '%s\\n' "$1" | socat -t 10 - "UNIX-CONNECT:\${stats_socket}"
}

# "show tls-keys <file>" lists the keys oldest first ("0.0 <key>", "0.1 <key>", "0.2 <key>").
live_keys() {
    runtime "show tls-keys \${keys_file}" | awk '$1 ~ /^[0-9]+\\.[0-9]+$/ { print $2 }'
}

mapfile -t live < <(live_keys)
if [ "\${live[*]-}" = "\${wanted[*]}" ]; then
    exit 0
fi
if [ "\${#live[@]}" -eq 3 ] && [ "\${live[1]}" = "\${wanted[0]}" ] && [ "\${live[2]}" = "\${wanted[1]}" ]; then
    # The usual case, one epoch later: one new key, the oldest is overwritten.
    next=("\${wanted[2]}")
else
    # Several epochs behind (the host slept) or unknown keys: set all three, oldest first.
    next=("\${wanted[@]}")
fi
for key in "\${next[@]}"; do
    answer=$(runtime "set ssl tls-key \${keys_file} \${key}")
    case "\${answer}" in
        *"TLS ticket key updated"*) ;;
        *) echo "set ssl tls-key \${keys_file}: \${answer}" >&2; exit 1 ;;
    esac
done

mapfile -t live < <(live_keys)
if [ "\${live[*]-}" != "\${wanted[*]}" ]; then
    echo "HAProxy holds other TLS ticket keys than epoch \${epoch} needs after the update" >&2
    exit 1
fi
echo "TLS ticket keys at epoch \${epoch} (every \${period} s)"
`;
}

/** systemd units that run the script every minute; the unit names are the file names. */
export function renderTicketKeyTimerUnits(scriptPath = TICKET_KEY_SCRIPT_PATH): {
    service: string;
    timer: string;
} {
    requireAbsolutePath("scriptPath", scriptPath);
    return {
        service: `[Unit]
Description=mqtt-edge: rotate HAProxy TLS session ticket keys
After=haproxy.service

[Service]
Type=oneshot
ExecStart=${scriptPath}
`,
        // Every minute: a host is at most a minute late into a new epoch, well inside the overlap.
        timer: `[Unit]
Description=mqtt-edge: rotate HAProxy TLS session ticket keys every minute

[Timer]
OnCalendar=*:*:00
AccuracySec=1s
Persistent=true

[Install]
WantedBy=timers.target
`,
    };
}
