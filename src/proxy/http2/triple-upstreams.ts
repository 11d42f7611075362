import http2 from 'node:http2';
import type {ClientHttp2Session} from 'node:http2';
import type {BackendPort} from '../../core/backend.js';
import {errorMessage} from '../../core/errors.js';
import type {TunnelEventBus} from '../../core/events.js';

/**
 * Per-stream window we offer on both sides. A stream a slow consumer stops reading holds at most
 * this much in the process; the rest waits in the provider (HTTP/2 flow control end to end).
 */
export const STREAM_WINDOW = 1024 * 1024;
/**
 * Connection window: large enough that a few stalled streams cannot use up the window every other
 * stream on the shared session needs (the HTTP/2 default, 64 KiB, would let one do that).
 */
export const CONNECTION_WINDOW = 32 * 1024 * 1024;

/** One HTTP/2 session to one application's Triple port, shared by every consumer connection. */
export class TripleUpstream {
  readonly application: string;
  readonly session: ClientHttp2Session;
  readonly remote: string;
  /** Headers the port adds to every stream (BackendPort.requestHeaders). */
  readonly requestHeaders: (() => Readonly<Record<string, string>>) | undefined;
  readonly #state: {failure?: string};
  #draining = false;
  /** Waiting for the PING in flight to come back or for the session to end (afterRoundTrip). */
  #roundTripWaiters: (() => void)[] = [];

  constructor(application: string, session: ClientHttp2Session, remote: string, state: {failure?: string}, requestHeaders?: () => Readonly<Record<string, string>>) {
    this.application = application;
    this.session = session;
    this.remote = remote;
    this.requestHeaders = requestHeaders;
    this.#state = state;
    session.on('close', () => this.#roundTripOver());
  }

  /** Why the session ended when it did not end cleanly: the status message of its open streams. */
  get failure(): string | undefined {
    return this.#state.failure;
  }

  fail(reason: string): void {
    this.#state.failure ??= reason;
  }

  /** True while new streams may go here (no GOAWAY, not closed). */
  get usable(): boolean {
    return !this.#draining && !this.session.closed && !this.session.destroyed;
  }

  markDraining(): void {
    this.#draining = true;
  }

  /**
   * Calls `then` once a PING sent now has come back, or once the session ended: either way,
   * whatever the provider sent before it saw the PING (a GOAWAY included) has arrived by then, as
   * HTTP/2 frames arrive in order. Callers waiting at the same time share one PING.
   */
  afterRoundTrip(then: () => void): void {
    this.#roundTripWaiters.push(then);
    if (this.#roundTripWaiters.length > 1) return;
    if (this.session.destroyed) {
      queueMicrotask(() => this.#roundTripOver());
      return;
    }
    // The callback comes with the acknowledgement, or with ERR_HTTP2_PING_CANCEL when the session
    // ends first; a closing session does not send it and calls back on the next tick (returning
    // undefined). False means too many PINGs outstanding (not ours: we keep one) and no callback.
    if (this.session.ping(() => this.#roundTripOver()) === false) queueMicrotask(() => this.#roundTripOver());
  }

  /** The PING came back, or the session ended: the round trip is over for whoever waited. */
  #roundTripOver(): void {
    const waiters = this.#roundTripWaiters;
    if (waiters.length === 0) return;
    this.#roundTripWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

/**
 * The upstream side of Triple: one HTTP/2 session per application port, opened on demand over
 * the same Backend streams as Dubbo (a TCP socket, or a Kubernetes port-forward stream), reused by
 * all consumers, and replaced when it closes (pod change, provider restart) or says GOAWAY (the
 * provider is going away: the streams on it finish, new ones open a fresh session, as READONLY
 * drains a Dubbo upstream).
 */
export class TripleUpstreams {
  readonly #events: TunnelEventBus;
  /** The session each port's new streams go to, and the ones being opened. */
  readonly #current = new Map<BackendPort, TripleUpstream>();
  readonly #opening = new Map<BackendPort, Promise<TripleUpstream>>();
  readonly #open = new Set<TripleUpstream>();
  readonly #abort = new AbortController();

  constructor(events: TunnelEventBus) {
    this.#events = events;
  }

  /** The upstream (session) new streams to `port` use; rejects with the backend's error when it cannot be reached. */
  upstreamFor(application: string, port: BackendPort, connectionId: number): Promise<TripleUpstream> {
    if (this.#abort.signal.aborted) return Promise.reject(new Error('dubbo-tunnel is shutting down'));
    const current = this.#current.get(port);
    if (current?.usable === true) return Promise.resolve(current);
    let opening = this.#opening.get(port);
    if (opening === undefined) {
      // Every stream that arrives while the session is being opened waits for the same one.
      opening = this.#connect(application, port, connectionId).then((upstream) => {
        this.#current.set(port, upstream);
        return upstream;
      }).finally(() => this.#opening.delete(port));
      this.#opening.set(port, opening);
    }
    return opening;
  }

  /** Sessions open right now (tests, status). */
  get openCount(): number {
    return this.#open.size;
  }

  /** Closes every session at once; streams still on them end with the given reason. */
  close(reason = 'dubbo-tunnel is shutting down'): void {
    this.#abort.abort();
    for (const upstream of [...this.#open]) {
      upstream.fail(reason);
      upstream.session.destroy();
    }
    this.#current.clear();
  }

  async #connect(application: string, port: BackendPort, connectionId: number): Promise<TripleUpstream> {
    const opened = await port.connect(this.#abort.signal);
    const {stream, remote} = opened;
    if (this.#abort.signal.aborted) {
      stream.destroy();
      throw new Error('dubbo-tunnel is shutting down');
    }
    // Registered before http2 takes the stream, so the first words about a broken stream are ours
    // (the same as a Dubbo upstream's) and not "stream cancelled".
    const state: {failure?: string} = {};
    stream.on('error', (error: Error) => {
      state.failure ??= `${application}: connection to ${remote} failed: ${errorMessage(error)}`;
    });
    stream.on('close', () => {
      state.failure ??= `${application}: ${remote} closed the connection`;
    });
    const session = http2.connect('http://localhost', {
      createConnection: () => stream,
      settings: {enablePush: false, initialWindowSize: STREAM_WINDOW},
    });
    const upstream = new TripleUpstream(application, session, remote, state, port.requestHeaders?.bind(port));
    const forget = () => {
      if (this.#current.get(port) === upstream) this.#current.delete(port);
    };
    this.#open.add(upstream);
    session.on('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW));
    session.on('error', (error) => {
      upstream.fail(`${application}: connection to ${remote} failed: ${errorMessage(error)}`);
    });
    session.on('goaway', (code) => {
      upstream.markDraining();
      if (code !== http2.constants.NGHTTP2_NO_ERROR) upstream.fail(`${application}: ${remote} closed the connection (HTTP/2 GOAWAY code ${code})`);
      forget();
      // Node ends the session itself once the streams it still has are done.
      this.#events.log('info', `${application}: ${remote} is shutting down (HTTP/2 GOAWAY${code === 0 ? '' : ` code ${code}`}); new streams use a fresh connection`);
    });
    session.on('close', () => {
      upstream.fail(`${application}: ${remote} closed the connection`);
      upstream.markDraining();
      forget();
      this.#open.delete(upstream);
      this.#events.emit('upstream-closed', {application, remote, connectionId, reason: upstream.failure});
    });
    // The backend wants no new streams here (pod terminating, application deselected): the streams
    // on the session finish, new ones open a fresh session, as after a GOAWAY.
    opened.onRetire?.((reason) => {
      upstream.markDraining();
      forget();
      this.#events.log('info', `${application}: ${reason}`);
      if (!session.closed && !session.destroyed) session.close();
    });
    this.#events.emit('upstream-opened', {application, remote, connectionId});
    return upstream;
  }
}
