import {DubboTunnelError} from '../core/errors.js';
import type {KubeClient} from './client.js';

/**
 * How long a port-forward set-up may go without an answer before the API server counts as stalled:
 * above a normal set-up (a few hundred milliseconds), and close to a Java consumer's default
 * timeout (1 s), so its next calls get our answer at once instead of timing out one by one.
 */
export const PORT_FORWARD_STALL_MS = 1500;

const STALL_HINT = 'the API server, or a proxy or VPN on the way, accepts connections but does not answer; check the cluster and the network path (dubbo-tunnel keeps trying and recovers by itself)';

/**
 * Where a sign of a stall was seen: a port-forward set-up, or a request of the watches and lists.
 * Each kind ends with an answer of its own kind (a port-forward that works also ends the other):
 * watches that still send bookmarks say nothing about port-forwards that get no answer.
 */
export type StallSign = 'port-forward' | 'request';

/**
 * Whether the API server of one cluster has stalled: it accepts connections but answers nothing (a
 * stopped process, a hung proxy or VPN). Shared by every backend of a KubeCluster: once one sign of
 * it is seen (a port-forward set-up or an API request without an answer for too long), every
 * application of the cluster shows `stalled` and new requests to them are answered at once with
 * DT_ERR_KUBE_UNREACHABLE instead of each waiting for the consumer's own timeout, until the API
 * server answers again.
 */
export class ApiStall {
  readonly #server: string;
  readonly #signs = new Map<StallSign, DubboTunnelError>();
  readonly #listeners = new Set<() => void>();

  constructor(server: string) {
    this.#server = server;
  }

  /** Why the API server counts as stalled now (a port-forward's sign first), or undefined while it answers. */
  get current(): DubboTunnelError | undefined {
    return this.#signs.get('port-forward') ?? this.#signs.get('request');
  }

  /** A sign of a stall: `what` had no answer (`no answer for 3 s to GET /api/v1/...`). The first sign's words stay until it ends. */
  report(sign: StallSign, what: string): void {
    if (this.#signs.has(sign)) return;
    const before = this.current;
    this.#signs.set(sign, new DubboTunnelError('DT_ERR_KUBE_UNREACHABLE', `the API server ${this.#server} has stalled (${what})`, {hint: STALL_HINT}));
    if (this.current !== before) this.#changed();
  }

  /** An answer came: the stall seen by that kind of request is over (every stall, for a port-forward). */
  answered(sign: StallSign): void {
    const before = this.current;
    if (sign === 'port-forward') this.#signs.clear();
    else this.#signs.delete(sign);
    if (this.current !== before) this.#changed();
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/**
 * How often the API server is asked for its version while applications are served. Streams that are
 * already open go through it too, but say nothing when it stalls (their requests just wait): this
 * small request, answered at once by a healthy server, is what notices a stall when no port-forward
 * is being set up.
 */
export const PULSE_INTERVAL_MS = 3000;
/** A pulse without an answer is given up after this long, and the next one is sent. */
const PULSE_TIMEOUT_MS = 5000;

/**
 * Asks `GET /version` every `intervalMs` (one at a time) and reports a stall when an answer takes
 * longer than `stallAfterMs`; every answer ends a stall seen by requests (KubeClient's onAnswered).
 * Returns the function that stops it.
 */
export function startPulse(client: KubeClient, stall: ApiStall, options: {intervalMs?: number; stallAfterMs?: number} = {}): () => void {
  const intervalMs = options.intervalMs ?? PULSE_INTERVAL_MS;
  const stallAfterMs = options.stallAfterMs ?? PORT_FORWARD_STALL_MS;
  const stop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const beat = async (): Promise<void> => {
    const late = setTimeout(() => stall.report('request', `no answer to GET /version within ${(stallAfterMs / 1000).toFixed(1)} s`), stallAfterMs);
    try {
      await client.getJson('/version', {}, {verb: 'get', group: '', resource: 'version'}, {signal: stop.signal, timeoutMs: Math.max(PULSE_TIMEOUT_MS, stallAfterMs)});
    } catch {
      // An error status is an answer (KubeClient said so); a refused connection is an outage, which
      // the port-forwards and watches report; a timeout leaves the stall as it is.
    } finally {
      clearTimeout(late);
    }
    if (stop.signal.aborted) return;
    timer = setTimeout(() => void beat(), intervalMs);
    timer.unref();
  };
  timer = setTimeout(() => void beat(), intervalMs);
  timer.unref();
  return () => {
    stop.abort();
    clearTimeout(timer);
  };
}
