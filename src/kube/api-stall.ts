import {DubboTunnelError} from '../core/errors.js';

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
