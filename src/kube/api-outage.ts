import {BackendError} from '../core/errors.js';
import type {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {Backoff} from './list-watch.js';

/** Port-forwards fail at once until `retryAt` (then one attempt probes): the API server is unreachable, or stalled. */
interface Down {
  error: DubboTunnelError;
  retryAt: number;
  /** Set for a stall (the cluster's ApiStall): it ends with the stall, not with a retry of our own. */
  stalled?: boolean;
}

/**
 * One backend's view of an API server that cannot be reached for port-forwards: while it is down,
 * requests fail at once until the back-off's next retry, after which one attempt at a time probes
 * (the others still fail at once). The first stream that opens ends it.
 */
export class ApiOutage {
  readonly #application: string;
  readonly #events: TunnelEventBus;
  readonly #backoff: Backoff;
  #down: Down | undefined;
  #probing = false;

  constructor(application: string, events: TunnelEventBus, backoff = new Backoff()) {
    this.#application = application;
    this.#events = events;
    this.#backoff = backoff;
  }

  get isDown(): boolean {
    return this.#down !== undefined;
  }

  /**
   * Runs `open` unless the API server is down and no retry is due (or another attempt already
   * probes): then the answer is the outage's, at once. `stalled`: the cluster's stall right now.
   */
  async attempt<T>(stalled: DubboTunnelError | undefined, open: () => Promise<T>): Promise<T> {
    if (stalled !== undefined && this.#down?.error !== stalled) {
      // Seen elsewhere (another application, the watches): fail at once here too; a probe follows.
      this.stalled(stalled);
    }
    const down = this.#down;
    if (down && (Date.now() < down.retryAt || this.#probing)) throw this.#unreachable(down);
    const probing = down !== undefined;
    if (probing) this.#probing = true;
    try {
      return await open();
    } finally {
      if (probing) this.#probing = false;
    }
  }

  /** A port-forward failed because the API server cannot be reached. */
  unreachable(error: DubboTunnelError): void {
    // Back off like the watches do: during an outage every request would start an attempt.
    const delay = this.#backoff.next();
    if (this.#down === undefined) this.#events.log('warn', `${this.#application}: port-forwards fail because the API server cannot be reached (${error.message}); requests fail at once until a retry works (next in ${(delay / 1000).toFixed(1)} s, backing off)`);
    this.#down = {error, retryAt: Date.now() + delay};
  }

  /** The API server stalled: requests fail at once until the stall ends (or a retry is due). */
  stalled(error: DubboTunnelError): void {
    this.#down = {error, retryAt: Date.now() + this.#backoff.next(), stalled: true};
  }

  /** The cluster's stall ended: an outage that was only that stall is over. */
  stallEnded(): void {
    if (this.#down?.stalled === true) {
      this.#down = undefined;
      this.#backoff.reset();
    }
  }

  /** A stream opened: the API server answers. */
  worked(): void {
    if (this.#down !== undefined) this.#events.log('info', `${this.#application}: port-forwards work again`);
    this.#down = undefined;
    this.#backoff.reset();
  }

  /** The answer to requests while the API server is down, or undefined while it is not. */
  answer(): BackendError | undefined {
    return this.#down === undefined ? undefined : this.#unreachable(this.#down);
  }

  /** The answer to requests while port-forwards back off: at once, saying why and when the next try is. */
  #unreachable(down: Down): BackendError {
    // No countdown in the text: identical answers fold into one log line during an outage.
    if (down.stalled === true) {
      return new BackendError(`${this.#application}: ${down.error.message}; requests fail at once until it answers again`, {
        code: 'DT_ERR_KUBE_UNREACHABLE',
        ...(down.error.hint === undefined ? {} : {hint: down.error.hint}),
        cause: down.error,
      });
    }
    return new BackendError(`${this.#application}: the API server is unreachable (${down.error.message}); requests fail at once while port-forward attempts back off`, {
      code: 'DT_ERR_KUBE_UNREACHABLE',
      hint: down.error.hint ?? 'check the network path to the cluster (VPN, proxy); dubbo-tunnel keeps retrying',
      cause: down.error,
    });
  }
}
