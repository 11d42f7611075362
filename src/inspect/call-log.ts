/**
 * The recent calls: a bounded ring of decoded CallRecords kept in step with the bus's
 * `call-captured` events. Capturing costs the request path a copy of each call's bytes, so it is
 * on only while someone holds the log open (the calls view) or holds the CallCapture itself (a
 * recording). Decoding is never done on the request path: captured calls are queued and decoded
 * on the following turns of the event loop, a slice at a time.
 */
import {CAPTURE_LIMIT_BYTES} from '../core/calls.js';
import type {CallCapture, CapturedCall} from '../core/calls.js';
import type {TunnelEventBus} from '../core/events.js';
import {errorMessage} from '../core/errors.js';
import type {CallLogView, CallRecord} from './call-record.js';
import {decodeCall} from './decode-call.js';
import {Redaction} from './redaction.js';

export const DEFAULT_CALL_LOG_SIZE = 500;
export const DEFAULT_CALL_LOG_BYTES = 64 * 1024 * 1024;
/** Calls decoded in one turn of the event loop: a burst is decoded in slices of this many, so sockets are served between them. */
export const DECODE_BATCH = 200;
/** Subscribers hear of new calls at most this often: a busy consumer must not re-render a view per call. */
export const CALL_LOG_NOTIFY_MS = 100;
/**
 * While only the view reads the log (no recording), decoding may take this many milliseconds of
 * each DECODE_WINDOW_MS: decoding runs on the thread that forwards, and a person reading the view
 * cannot follow thousands of calls a second anyway. Past it the oldest calls not yet decoded are
 * skipped (counted), the newest are decoded in the next window. A recording keeps every call.
 */
export const DECODE_BUDGET_MS = 20;
export const DECODE_WINDOW_MS = 100;

export interface CallLogOptions {
  readonly bus: TunnelEventBus;
  readonly capture: CallCapture;
  /** Calls kept overall (default 500). */
  readonly size?: number;
  /** Calls kept of one application (default: `size`), so a busy one cannot push every other out. */
  readonly perApplication?: number;
  /**
   * Captured bytes the kept calls may weigh together (default 64 MiB): values are kept whole, so
   * 500 calls near the capture bound would otherwise hold hundreds of MiB. The oldest go first.
   */
  readonly maxBytes?: number;
  readonly redaction?: Redaction;
  /** For tests: how often subscribers may hear of new calls (default 100 ms). */
  readonly notifyMs?: number;
  /** For tests: the decoding budget per window while nothing records (defaults DECODE_BUDGET_MS, DECODE_WINDOW_MS). */
  readonly decodeBudgetMs?: number;
  readonly decodeWindowMs?: number;
}

export class CallLog implements CallLogView {
  readonly #bus: TunnelEventBus;
  readonly #capture: CallCapture;
  readonly #size: number;
  readonly #perApplication: number;
  readonly #maxBytes: number;
  readonly #redaction: Redaction;
  readonly #notifyMs: number;
  readonly #budgetMs: number;
  readonly #windowMs: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  /** Milliseconds spent decoding in the current window (counted only while nothing records). */
  #spentMs = 0;
  /** Waits for the next window once the budget is spent. */
  #budgetTimer: NodeJS.Timeout | undefined;
  /**
   * Calls the view never got: captured but skipped, or not captured at all while the budget was
   * spent (see DECODE_BUDGET_MS).
   */
  #skipped = 0;
  /** How many views hold the log open, and the capture they hold through it (let go while paused). */
  #viewers = 0;
  #viewHold: (() => void) | undefined;
  /** The budget is spent: the views' capture is let go until the next window, so nothing is copied. */
  #paused = false;
  readonly #onCompletedWhilePaused = (): void => {
    // A call not captured; one that was (it arrived before the pause) is taken back off in #onCaptured.
    this.#skipped++;
  };
  #records: CallRecord[] = [];
  /** What the kept calls' captures weighed (keptBytes), against `maxBytes`. */
  #bytes = 0;
  /** Snapshot handed out until the ring changes (the view compares it by identity). */
  #snapshot: readonly CallRecord[] | undefined;
  #pending: CapturedCall[] = [];
  #decodeScheduled: NodeJS.Immediate | undefined;
  #notifyTimer: NodeJS.Timeout | undefined;
  #lastNotify = Number.NEGATIVE_INFINITY;
  #seq = 0;
  readonly #subscribers = new Set<() => void>();
  readonly #recordListeners = new Set<(record: CallRecord) => void>();
  readonly #onCaptured = (call: CapturedCall): void => {
    if (this.#paused) this.#skipped--;
    this.#pending.push(call);
    // Waiting for the next window: what is waiting beyond the ring's size would be trimmed right
    // after it is decoded, so it is not kept (a call holds up to two captures of 256 KiB).
    if (this.#budgetTimer !== undefined && this.#pending.length > 2 * this.#size) this.#skipOldestPending();
    this.#scheduleDecode();
  };

  constructor(options: CallLogOptions) {
    this.#bus = options.bus;
    this.#capture = options.capture;
    this.#size = Math.max(1, options.size ?? DEFAULT_CALL_LOG_SIZE);
    this.#perApplication = Math.max(1, Math.min(this.#size, options.perApplication ?? this.#size));
    this.#maxBytes = options.maxBytes ?? DEFAULT_CALL_LOG_BYTES;
    this.#redaction = options.redaction ?? new Redaction();
    this.#notifyMs = options.notifyMs ?? CALL_LOG_NOTIFY_MS;
    this.#budgetMs = options.decodeBudgetMs ?? DECODE_BUDGET_MS;
    this.#windowMs = options.decodeWindowMs ?? DECODE_WINDOW_MS;
    this.#bus.on('call-captured', this.#onCaptured);
  }

  snapshot(): readonly CallRecord[] {
    if (this.#snapshot === undefined) {
      this.#trim();
      this.#snapshot = [...this.#records];
    }
    return this.#snapshot;
  }

  skipped(): number {
    return this.#skipped;
  }

  subscribe(listener: () => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  open(): () => void {
    this.#viewers++;
    if (this.#viewers === 1 && !this.#paused) this.#viewHold = this.#capture.hold();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#viewers--;
      if (this.#viewers > 0) return;
      this.#viewHold?.();
      this.#viewHold = undefined;
    };
  }

  /** `listener` gets every decoded record, in order, as it is decoded (a recording writes them). */
  onRecord(listener: (record: CallRecord) => void): () => void {
    this.#recordListeners.add(listener);
    return () => this.#recordListeners.delete(listener);
  }

  /** Decodes what was captured so far right away (a recording that stops, tests). */
  flush(): void {
    if (this.#decodeScheduled !== undefined) {
      clearImmediate(this.#decodeScheduled);
      this.#decodeScheduled = undefined;
    }
    clearTimeout(this.#budgetTimer);
    this.#budgetTimer = undefined;
    this.#resumeCapture();
    this.#decodePending();
  }

  /** Stops listening to the bus; calls captured but not yet decoded are decoded first. */
  close(): void {
    this.#bus.off('call-captured', this.#onCaptured);
    this.flush();
    if (this.#notifyTimer !== undefined) clearTimeout(this.#notifyTimer);
    this.#notifyTimer = undefined;
  }

  #scheduleDecode(): void {
    if (this.#budgetTimer !== undefined) return;
    this.#decodeScheduled ??= setImmediate(() => {
      this.#decodeScheduled = undefined;
      this.#decodeSlice();
    });
  }

  /** One turn's decoding: a slice, within the window's budget while nothing records. */
  #decodeSlice(): void {
    if (this.#recordListeners.size > 0) {
      this.#decodePending(DECODE_BATCH);
    } else {
      const now = performance.now();
      if (now - this.#windowStart >= this.#windowMs) {
        this.#windowStart = now;
        this.#spentMs = 0;
      }
      // The window's first slice always runs: at least one call per window is decoded.
      if (this.#spentMs > 0 && this.#spentMs >= this.#budgetMs) {
        this.#skipOldestPending();
        this.#pauseCapture();
        this.#budgetTimer = setTimeout(() => {
          this.#budgetTimer = undefined;
          this.#resumeCapture();
          this.#scheduleDecode();
        }, Math.max(1, this.#windowStart + this.#windowMs - now));
        this.#budgetTimer.unref();
        return;
      }
      this.#decodePending(DECODE_BATCH, now + Math.max(0, this.#budgetMs - this.#spentMs));
      this.#spentMs += performance.now() - now;
    }
    if (this.#pending.length > 0) this.#scheduleDecode();
  }

  /**
   * Lets go of the views' capture until the next window: calls that would only be skipped are not
   * copied either (a large call's copies are most of what the log costs). Calls completed
   * meanwhile are counted as skipped. A recording holds the capture on by itself.
   */
  #pauseCapture(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#viewHold?.();
    this.#viewHold = undefined;
    this.#bus.on('request-completed', this.#onCompletedWhilePaused);
  }

  #resumeCapture(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#bus.off('request-completed', this.#onCompletedWhilePaused);
    if (this.#viewers > 0) this.#viewHold = this.#capture.hold();
    this.#snapshot = undefined;
    this.#scheduleNotify();
  }

  /** Skips the oldest calls waiting beyond the ring's size: the ring would trim them once decoded. */
  #skipOldestPending(): void {
    const over = this.#pending.length - this.#size;
    if (over <= 0) return;
    this.#pending = this.#pending.slice(over);
    this.#skipped += over;
    this.#snapshot = undefined;
    this.#scheduleNotify();
  }

  /** Decodes up to `limit` captured calls, oldest first; with a `deadline` (performance.now()), stops after the call that passes it. */
  #decodePending(limit = Number.POSITIVE_INFINITY, deadline = Number.POSITIVE_INFINITY): void {
    if (this.#pending.length === 0) return;
    let taken = 0;
    while (taken < this.#pending.length && taken < limit) {
      const call = this.#pending[taken++] as CapturedCall;
      const record = decodeCall(call, ++this.#seq, this.#redaction);
      this.#add(record);
      for (const listener of this.#recordListeners) {
        try {
          listener(record);
        } catch (error) {
          // One failing reader (a recording whose disk is full) must not stop the others or the log.
          this.#bus.log('warn', `a reader of call records failed: ${errorMessage(error)}`);
        }
      }
      if (deadline !== Number.POSITIVE_INFINITY && performance.now() >= deadline) break;
    }
    this.#pending = taken === this.#pending.length ? [] : this.#pending.slice(taken);
    this.#snapshot = undefined;
    this.#scheduleNotify();
  }

  /**
   * Keeps the record; the bounds are applied in batches (`#trim`), once a quarter of the ring more
   * has come in, so a call costs no shifting of the whole ring (the ring is a few hundred calls,
   * and a busy consumer sends thousands a second while the view is open).
   */
  #add(record: CallRecord): void {
    this.#records.push(record);
    this.#bytes += keptBytes(record);
    if (this.#records.length >= this.#size + Math.ceil(this.#size / 4) || this.#bytes > this.#maxBytes + this.#maxBytes / 4) this.#trim();
  }

  /** The newest calls within every bound: the ring's size, the per-application share, the kept bytes. */
  #trim(): void {
    const kept: CallRecord[] = [];
    const perApplication = new Map<string | undefined, number>();
    let bytes = 0;
    for (let index = this.#records.length - 1; index >= 0 && kept.length < this.#size; index--) {
      const record = this.#records[index] as CallRecord;
      const count = perApplication.get(record.application) ?? 0;
      if (count >= this.#perApplication) continue;
      const weight = keptBytes(record);
      if (kept.length > 0 && bytes + weight > this.#maxBytes) break;
      perApplication.set(record.application, count + 1);
      bytes += weight;
      kept.push(record);
    }
    this.#records = kept.reverse();
    this.#bytes = bytes;
  }

  #scheduleNotify(): void {
    if (this.#notifyTimer !== undefined) return;
    const wait = this.#lastNotify + this.#notifyMs - performance.now();
    if (wait <= 0) {
      this.#notify();
      return;
    }
    this.#notifyTimer = setTimeout(() => {
      this.#notifyTimer = undefined;
      this.#notify();
    }, wait);
    this.#notifyTimer.unref();
  }

  #notify(): void {
    this.#lastNotify = performance.now();
    for (const listener of this.#subscribers) listener();
  }
}

/** What a record's captures weighed: its sizes, each as far as the capture bound kept it. */
function keptBytes(record: CallRecord): number {
  return Math.min(record.requestBytes, CAPTURE_LIMIT_BYTES) + Math.min(record.answerBytes, CAPTURE_LIMIT_BYTES);
}
