import type {LogLevel, RequestCompleted} from '../core/events.js';

/**
 * The dashboard's recent log (StatsStore): its entries, and the ring that keeps what each event
 * carried and builds an entry only when a snapshot asks for it.
 */

export interface RequestLogEntry {
  readonly kind: 'request';
  /** Monotonic across both kinds of entries: sort key and React key. */
  readonly seq: number;
  readonly at: number;
  readonly application: string | undefined;
  /** `com.foo.UserService#getUser`, undefined when the body could not be read. */
  readonly target: string | undefined;
  readonly status: number | undefined;
  /** Dubbo's name of the status (`SERVICE_NOT_FOUND`); undefined for one-way requests or unknown bytes. */
  readonly statusName: string | undefined;
  readonly ms: number;
  readonly error: string | undefined;
  readonly code: string | undefined;
  readonly oneWay: boolean;
  /** True when the request failed (dubbo-tunnel answered with an error, or a non-OK status). */
  readonly failed: boolean;
}

export interface EventLogEntry {
  readonly kind: 'event';
  readonly seq: number;
  readonly at: number;
  readonly level: LogLevel;
  readonly application: string | undefined;
  readonly message: string;
}

export type LogEntry = RequestLogEntry | EventLogEntry;

export type EventInput = Omit<EventLogEntry, 'kind' | 'seq' | 'at'>;

/**
 * A ring of log items that stores what the event carried and builds the immutable entry only when
 * a snapshot needs it (and then keeps it, so each entry is built once).
 */
export class LogRing<Raw, Entry extends LogEntry> {
  readonly #raw: (Raw | undefined)[];
  readonly #built: (Entry | undefined)[];
  readonly #seq: Float64Array;
  readonly #at: Float64Array;
  readonly #build: (raw: Raw, seq: number, at: number) => Entry;
  #next = 0;
  #count = 0;

  constructor(size: number, build: (raw: Raw, seq: number, at: number) => Entry) {
    this.#raw = new Array<Raw | undefined>(size);
    this.#built = new Array<Entry | undefined>(size);
    this.#seq = new Float64Array(size);
    this.#at = new Float64Array(size);
    this.#build = build;
  }

  push(raw: Raw, seq: number, at: number): void {
    const i = this.#next;
    this.#raw[i] = raw;
    this.#built[i] = undefined;
    this.#seq[i] = seq;
    this.#at[i] = at;
    this.#next = i + 1 === this.#raw.length ? 0 : i + 1;
    if (this.#count < this.#raw.length) this.#count++;
  }

  /** Entries oldest first. */
  entries(): Entry[] {
    const size = this.#raw.length;
    const out = new Array<Entry>(this.#count);
    let i = (this.#next - this.#count + size) % size;
    for (let n = 0; n < this.#count; n++) {
      let entry = this.#built[i];
      if (entry === undefined) {
        entry = this.#build(this.#raw[i] as Raw, this.#seq[i] ?? 0, this.#at[i] ?? 0);
        this.#built[i] = entry;
      }
      out[n] = entry;
      i = i + 1 === size ? 0 : i + 1;
    }
    return out;
  }
}

export function buildRequestEntry(request: RequestCompleted, seq: number, at: number): RequestLogEntry {
  return Object.freeze({
    kind: 'request' as const,
    seq,
    at,
    application: request.application,
    target: request.target,
    status: request.status,
    statusName: request.statusName,
    ms: request.latencyMs,
    error: request.error,
    code: request.code,
    oneWay: request.oneWay,
    failed: !request.ok,
  });
}

export function buildEventEntry(event: EventInput, seq: number, at: number): EventLogEntry {
  return Object.freeze({kind: 'event' as const, seq, at, ...event});
}

/** Two logs, each oldest first, as one in `seq` order. */
export function mergeBySeq(a: readonly LogEntry[], b: readonly LogEntry[]): LogEntry[] {
  const out: LogEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const left = a[i];
    const right = b[j];
    if (right === undefined || (left !== undefined && left.seq < right.seq)) {
      if (left !== undefined) out.push(left);
      i++;
    } else {
      out.push(right);
      j++;
    }
  }
  return out;
}
