import type {Socket} from 'node:net';
import type {TunnelEventBus, TunnelEvents} from '../core/events.js';

/**
 * How long a stop waits for the answers in flight by default. Dubbo's own provider waits 10 s for
 * the same (`dubbo.service.shutdown.wait`, DEFAULT_SERVER_SHUTDOWN_TIMEOUT), so a consumer's calls
 * get the time they would get from the provider itself.
 */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** How often the number of calls still in flight is looked at while a stop waits for them. */
const PROGRESS_MS = 250;

/** Why a stop's wait ended: every answer came, the bound passed, or a second stop asked not to wait. */
export type DrainEnd = TunnelEvents['drained'][0]['cause'];

/**
 * One stop's wait for the answers in flight, bounded by `timeoutMs`: `signal` aborts when the bound
 * passes or `atOnce` aborts (a second `q`, Ctrl-C or signal), and the connections then answer what
 * is left with an error. It says what it waits for on the bus ('draining', again while the number
 * changes, then 'drained'), so the dashboard and the plain output can show it.
 */
export class Drain {
  readonly timeoutMs: number;
  readonly #events: TunnelEventBus;
  readonly #inFlight: () => number;
  readonly #controller = new AbortController();
  readonly #atOnce: AbortSignal;
  readonly #onAtOnce = (): void => this.#end('at-once');
  readonly #bound: NodeJS.Timeout;
  readonly #progress: NodeJS.Timeout | undefined;
  #ended: {cause: DrainEnd; givenUp: number} | undefined;
  /** False when nothing was in flight at the start: then there is nothing to say either. */
  readonly #said: boolean;

  constructor(events: TunnelEventBus, timeoutMs: number, inFlight: () => number, atOnce: AbortSignal) {
    this.timeoutMs = timeoutMs;
    this.#events = events;
    this.#inFlight = inFlight;
    this.#atOnce = atOnce;
    const first = inFlight();
    this.#said = first > 0;
    if (this.#said) {
      events.emit('draining', {inFlight: first, timeoutMs});
      let last = first;
      this.#progress = setInterval(() => {
        const now = inFlight();
        if (now === last) return;
        last = now;
        events.emit('draining', {inFlight: now, timeoutMs});
      }, PROGRESS_MS);
      this.#progress.unref();
    }
    this.#bound = setTimeout(() => this.#end('timeout'), timeoutMs);
    this.#bound.unref();
    if (atOnce.aborted) this.#end('at-once');
    else atOnce.addEventListener('abort', this.#onAtOnce, {once: true});
  }

  /** Aborts when the wait must end although answers are still owed. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The connections are done (answered, or answered with an error): stops the timers and says how it ended. */
  finish(): void {
    clearTimeout(this.#bound);
    clearInterval(this.#progress);
    this.#atOnce.removeEventListener('abort', this.#onAtOnce);
    const ended = this.#ended ?? {cause: 'answered', givenUp: 0};
    if (this.#said) this.#events.emit('drained', {...ended, timeoutMs: this.timeoutMs});
  }

  #end(cause: Exclude<DrainEnd, 'answered'>): void {
    if (this.#ended !== undefined) return;
    // Counted before the abort: the connections answer these with an error right after it.
    const givenUp = this.#inFlight();
    this.#ended = givenUp > 0 ? {cause, givenUp} : {cause: 'answered', givenUp: 0};
    this.#controller.abort(cause === 'timeout' ? waitedTooLong(this.timeoutMs) : STOPPED_AT_ONCE);
  }
}

const STOPPED_AT_ONCE = 'dubbo-tunnel was stopped at once';

function waitedTooLong(timeoutMs: number): string {
  return `dubbo-tunnel stopped: no answer within the ${timeoutMs / 1000} s it waits on a stop (--drain-timeout)`;
}

/**
 * Why a connection's stop answers a call with an error rather than the provider's answer, in the
 * words the consumer reads: its own `timeoutMs` passed, or `cutShort` (a Drain's signal) says why.
 */
export function whyNotAnswered(timeoutMs: number, cutShort: AbortSignal | undefined): string {
  if (cutShort?.aborted !== true) return waitedTooLong(timeoutMs);
  return typeof cutShort.reason === 'string' ? cutShort.reason : STOPPED_AT_ONCE;
}

/**
 * A connection's part of a stop: waits until its last call is answered (it calls the `done` it was
 * given through `register`), its own `timeoutMs` passes, or `cutShort` aborts, whichever is first.
 * `register` gets `done` when the wait starts and undefined when it is over.
 */
export function waitUntilAnswered(timeoutMs: number, cutShort: AbortSignal | undefined, register: (done: (() => void) | undefined) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      cutShort?.removeEventListener('abort', done);
      register(undefined);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    cutShort?.addEventListener('abort', done, {once: true});
    register(done);
  });
}

/**
 * A connection's last step of a stop: `end` lets it go (the answers just written leave before the
 * FIN), and the promise settles once `socket` closed; a peer that keeps it open past a second is
 * cut off. `closed`: it is already gone, nothing to wait for.
 */
export function closeAfterAnswers(socket: Socket, closed: boolean, end: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (closed) {
      resolve();
      return;
    }
    socket.once('close', () => resolve());
    end();
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}
