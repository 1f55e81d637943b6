/**
 * One progress line for any batch an operator waits on (device certificates, load-test devices,
 * benchmark rounds): count, rate and time left, redrawn in place on a terminal.
 *
 * It stays silent for the first {@link ProgressOptions.delayMs} (a batch that ends sooner needs no
 * progress), when the stream is not a terminal (CI logs and pipes get no carriage-return noise;
 * the command's own summary line says what was done) and when the operator asked for quiet.
 *
 * `MQTT_EDGE_PROGRESS_AFTER_MS` sets that delay for every command (e.g. `0`: draw from the first
 * item, which is how the tests see the line on a real terminal without a batch long enough to
 * pass 2 s on any machine).
 */
import { PkiInputError, quoteValue } from "../pki/input-error.ts";

/** The environment variable that overrides {@link DEFAULT_DELAY_MS}. */
export const PROGRESS_AFTER_ENV = "MQTT_EDGE_PROGRESS_AFTER_MS";
/** A batch that ends sooner than this needs no progress line. */
export const DEFAULT_DELAY_MS = 2000;

/**
 * The delay from {@link PROGRESS_AFTER_ENV}, or the default when it is unset; throws a one-line
 * {@link PkiInputError} for anything but a whole number of milliseconds.
 */
export function progressDelayFromEnv(env: NodeJS.ProcessEnv = process.env): number {
    const raw = env[PROGRESS_AFTER_ENV];
    if (raw === undefined || raw === "") return DEFAULT_DELAY_MS;
    if (!/^\d{1,9}$/.test(raw)) {
        throw new PkiInputError(
            `${PROGRESS_AFTER_ENV}=${quoteValue(raw)}: not a number of milliseconds; allowed: an integer from 0 to 999999999 (default ${DEFAULT_DELAY_MS})`,
        );
    }
    return Number(raw);
}

/** Where the line is drawn: normally process.stderr. */
export interface ProgressStream {
    /** True on a terminal; the line is drawn only then. */
    readonly isTTY?: boolean | undefined;
    write(text: string): unknown;
}

export interface ProgressOptions {
    /** How many items the batch has. */
    readonly total: number;
    /** What an item is, plural, e.g. "certificates". */
    readonly unit: string;
    /** Prefix of the line, e.g. "cert:device". */
    readonly label: string;
    /** Default process.stderr. */
    readonly stream?: ProgressStream;
    /** --quiet: never draw. */
    readonly quiet?: boolean;
    /** Silent until the batch has run this long (default: {@link progressDelayFromEnv}). */
    readonly delayMs?: number;
    /** At most one redraw per this many ms (default 250). */
    readonly intervalMs?: number;
    /** Clock in ms (default performance.now), for tests. */
    readonly now?: () => number;
}

/** Tracks a batch and draws its progress line. */
export class Progress {
    readonly #options: Required<Omit<ProgressOptions, "stream">> & { stream: ProgressStream };
    readonly #started: number;
    #done = 0;
    #lastDraw = Number.NEGATIVE_INFINITY;
    #drawn = false;

    constructor(options: ProgressOptions) {
        this.#options = {
            stream: options.stream ?? process.stderr,
            quiet: options.quiet ?? false,
            delayMs: options.delayMs ?? progressDelayFromEnv(),
            intervalMs: options.intervalMs ?? 250,
            now: options.now ?? (() => performance.now()),
            total: options.total,
            unit: options.unit,
            label: options.label,
        };
        this.#started = this.#options.now();
    }

    /** Whether anything will ever be drawn. */
    get enabled(): boolean {
        return !this.#options.quiet && this.#options.stream.isTTY === true;
    }

    /** Counts `count` more finished items and redraws when due. */
    tick(count = 1): void {
        this.#done += count;
        if (!this.enabled) return;
        const now = this.#options.now();
        if (now - this.#started < this.#options.delayMs) return;
        if (now - this.#lastDraw < this.#options.intervalMs && this.#done < this.#options.total) {
            return;
        }
        this.#lastDraw = now;
        this.#drawn = true;
        // \r and erase-line (ECMA-48 EL, CSI 2K): the line is redrawn in place.
        this.#options.stream.write(`\r\u001b[2K${this.line(now)}`);
    }

    /** Ends the line, if one was drawn, so the command's next output starts on its own line. */
    finish(): void {
        if (this.#drawn) this.#options.stream.write("\n");
        this.#drawn = false;
    }

    /** e.g. `cert:device: 1200/5000 certificates (24%), 180/s, about 21 s left`. */
    line(now: number = this.#options.now()): string {
        const { total, unit, label } = this.#options;
        const seconds = Math.max((now - this.#started) / 1000, 0.001);
        const rate = this.#done / seconds;
        const percent = total === 0 ? 100 : Math.floor((this.#done * 100) / total);
        const left =
            this.#done >= total
                ? "done"
                : rate > 0
                  ? `about ${formatDuration((total - this.#done) / rate)} left`
                  : "estimating";
        return `${label}: ${this.#done}/${total} ${unit} (${percent}%), ${formatRate(rate)}/s, ${left}`;
    }
}

function formatRate(rate: number): string {
    return rate >= 10 ? String(Math.round(rate)) : rate.toFixed(1);
}

/** `42 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(seconds: number): string {
    const s = Math.ceil(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
