import {DubboTunnelError} from '../core/errors.js';

/**
 * How long a port-forward set-up may go without an answer before the API server counts as stalled:
 * above a normal set-up (a few hundred milliseconds), and close to a Java consumer's default
 * timeout (1 s), so its next calls get our answer at once instead of timing out one by one.
 */
export const PORT_FORWARD_STALL_MS = 1500;

const STALL_HINT = 'the API server, or a proxy or VPN on the way, accepts connections but does not answer; check the cluster and the network path (dubbo-tunnel keeps trying and recovers by itself)';

/**
 * Whether the API server of one cluster has stalled: it accepts connections but answers nothing (a
 * stopped process, a hung proxy or VPN). Shared by every backend of a KubeCluster: once one sign of
 * it is seen (a port-forward set-up or an API request without an answer for too long), every
 * application of the cluster shows `stalled` and new requests to them are answered at once with
 * DT_ERR_KUBE_UNREACHABLE instead of each waiting for the consumer's own timeout. Any answer from
 * the API server ends it.
 */
export class ApiStall {
  readonly #server: string;
  #current: DubboTunnelError | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(server: string) {
    this.#server = server;
  }

  /** Why the API server counts as stalled now, or undefined while it answers. */
  get current(): DubboTunnelError | undefined {
    return this.#current;
  }

  /** A sign of a stall: `what` had no answer (`no answer for 3 s to GET /api/v1/...`). The first sign's words stay until it ends. */
  report(what: string): void {
    if (this.#current !== undefined) return;
    this.#current = new DubboTunnelError('DT_ERR_KUBE_UNREACHABLE', `the API server ${this.#server} has stalled (${what})`, {hint: STALL_HINT});
    this.#changed();
  }

  /** The API server answered something: whatever stall there was is over. */
  answered(): void {
    if (this.#current === undefined) return;
    this.#current = undefined;
    this.#changed();
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
