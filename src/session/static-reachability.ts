import type {BackendState} from '../core/backend.js';
import type {TunnelEventBus} from '../core/events.js';
import type {StaticBackend} from '../proxy/static-backend.js';

export interface ReachabilityTiming {
  /** How long one TCP connect may take (default 1 s: a local or LAN provider answers in milliseconds). */
  probeTimeoutMs?: number;
  /** The first delay before an unreachable address is probed again, doubled up to `retryMaxMs` (defaults 0.5 s and 10 s). */
  retryFirstMs?: number;
  retryMaxMs?: number;
}

const PROBE_TIMEOUT_MS = 1000;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;

/** One followed backend: its last reported state and the timer of its next probe. */
interface Followed {
  state: {state: BackendState; detail: string} | undefined;
  timer: NodeJS.Timeout | undefined;
  delayMs: number;
  stopped: boolean;
  /** A probe is running (a failed connect meanwhile needs no second one). */
  probing: boolean;
}

/**
 * Whether the `--backend` addresses accept connections, said as each application's state: `ready`
 * only once a TCP connect to its address worked (a fixed address says nothing about a provider
 * being up). An address where nothing listens is `unreachable` and is probed again, backing off,
 * until it accepts a connection; calls meanwhile get the connect error as their answer. A probe is
 * a connect and an immediate close, which a Dubbo or Triple provider takes as a client that left.
 */
export class StaticReachability {
  readonly #events: TunnelEventBus;
  readonly #timing: Required<ReachabilityTiming>;
  readonly #followed = new Map<StaticBackend, Followed>();

  constructor(events: TunnelEventBus, timing: ReachabilityTiming = {}) {
    this.#events = events;
    this.#timing = {
      probeTimeoutMs: timing.probeTimeoutMs ?? PROBE_TIMEOUT_MS,
      retryFirstMs: timing.retryFirstMs ?? RETRY_FIRST_MS,
      retryMaxMs: timing.retryMaxMs ?? RETRY_MAX_MS,
    };
  }

  /**
   * Follows exactly these backends from now on (the others stop being probed). Resolves once every
   * newly followed one had its first probe, so the first state said is already the true one.
   */
  follow(backends: readonly StaticBackend[]): Promise<void> {
    const wanted = new Set(backends);
    for (const [backend, followed] of this.#followed) {
      if (wanted.has(backend)) continue;
      backend.whenConnectFails(undefined);
      this.#stop(followed);
      this.#followed.delete(backend);
    }
    const first: Promise<void>[] = [];
    for (const backend of backends) {
      const known = this.#followed.get(backend);
      if (known !== undefined) {
        // Wanted again: say its state again, as a newly chosen application's row needs one.
        if (known.state !== undefined) this.#emit(backend, known.state);
        continue;
      }
      const followed: Followed = {state: undefined, timer: undefined, delayMs: this.#timing.retryFirstMs, stopped: false, probing: false};
      this.#followed.set(backend, followed);
      // A provider that was reachable may go away later: the first connect that fails for traffic
      // makes the state true again (unreachable, probed until it is back), not only the call's answer.
      backend.whenConnectFails(() => {
        if (followed.stopped || followed.probing || followed.timer !== undefined || followed.state?.state !== 'ready') return;
        followed.delayMs = this.#timing.retryFirstMs;
        void this.#probe(backend, followed);
      });
      first.push(this.#probe(backend, followed));
    }
    return Promise.all(first).then(() => undefined);
  }

  /** Stops every probe. */
  close(): void {
    for (const [backend, followed] of this.#followed) {
      backend.whenConnectFails(undefined);
      this.#stop(followed);
    }
    this.#followed.clear();
  }

  async #probe(backend: StaticBackend, followed: Followed): Promise<void> {
    const port = backend.hasDubboPort ? backend : (backend.triple ?? backend);
    const address = port.describe();
    let next: {state: BackendState; detail: string};
    followed.probing = true;
    try {
      const {stream} = await port.connect(AbortSignal.timeout(this.#timing.probeTimeoutMs));
      stream.destroy();
      next = {state: 'ready', detail: address};
    } catch (error) {
      next = {state: 'unreachable', detail: `${unreachableReason(error, address, this.#timing.probeTimeoutMs)}; checked again until it accepts connections`};
    } finally {
      followed.probing = false;
    }
    if (followed.stopped) return;
    if (followed.state?.state !== next.state || followed.state.detail !== next.detail) {
      followed.state = next;
      this.#emit(backend, next);
    }
    if (next.state === 'ready') return;
    followed.timer = setTimeout(() => {
      followed.timer = undefined;
      void this.#probe(backend, followed);
    }, followed.delayMs);
    followed.timer.unref();
    followed.delayMs = Math.min(followed.delayMs * 2, this.#timing.retryMaxMs);
  }

  #emit(backend: StaticBackend, {state, detail}: {state: BackendState; detail: string}): void {
    this.#events.emit('backend-state-changed', {application: backend.application, state, detail});
  }

  #stop(followed: Followed): void {
    followed.stopped = true;
    clearTimeout(followed.timer);
    followed.timer = undefined;
  }
}

/** `nothing listening on 127.0.0.1:20881`, or what else the connect said. */
function unreachableReason(error: unknown, address: string, timeoutMs: number): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = typeof cause === 'object' && cause !== null ? (cause as NodeJS.ErrnoException).code : undefined;
  if (code === 'ECONNREFUSED') return `nothing listening on ${address}`;
  if (code === 'ABORT_ERR' || (cause instanceof Error && (cause.name === 'AbortError' || cause.name === 'TimeoutError'))) return `no answer from ${address} within ${timeoutMs} ms`;
  return error instanceof Error ? error.message : String(error);
}
