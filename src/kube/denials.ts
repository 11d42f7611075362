import type {DubboTunnelError} from '../core/errors.js';

/**
 * Permissions the cluster is known to refuse before anyone tried (an access review at start-up said
 * so), shared by every backend of a KubeCluster: an application whose port-forwards will be refused
 * is not shown as ready. The first port-forward that works proves otherwise and clears it.
 */
export class KnownDenials {
  #portForward: DubboTunnelError | undefined;
  readonly #listeners = new Set<() => void>();

  get portForward(): DubboTunnelError | undefined {
    return this.#portForward;
  }

  setPortForward(denied: DubboTunnelError | undefined): void {
    if (denied === this.#portForward) return;
    this.#portForward = denied;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
