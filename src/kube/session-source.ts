import type {DiscoveredApplication} from '../core/applications.js';
import type {BackendSource, Offer, Wanted} from '../core/backend-source.js';
import {KubeCluster} from './cluster.js';
import type {ClusterOptions, WatchHandle} from './cluster.js';

export interface KubeSourceOptions extends ClusterOptions {
  /**
   * How this source names its places in a session with several (`user-rpc@<where>`): `namespace`
   * (one context), `context` (several contexts, one namespace each), `both` (`context/namespace`),
   * or `none` (the only place of the session).
   */
  qualify: 'none' | 'namespace' | 'context' | 'both';
}

/**
 * One Kubernetes context and namespace (or all namespaces) as a session's route source. Loaded
 * lazily by the session (src/session/sources.ts), so a session without a cluster never loads
 * client-node.
 */
export async function openKubeSource(options: KubeSourceOptions): Promise<BackendSource> {
  // With -A every namespace's entry is offered: the session shows a clash instead of settling it here.
  const cluster = await KubeCluster.open({...options, everyNamespace: options.allNamespaces === true || options.namespaceSelector !== undefined});
  return new KubeSource(cluster, options.qualify);
}

class KubeSource implements BackendSource {
  readonly id: string;
  readonly title: string;
  readonly kind = 'cluster' as const;
  readonly context: string;
  readonly namespace: string;
  readonly #cluster: KubeCluster;
  readonly #qualify: KubeSourceOptions['qualify'];
  /** The session's only place (-A alone included): it says itself which selected names it lacks. */
  readonly #alone: boolean;
  #handle: WatchHandle | undefined;
  #closing: Promise<void> | undefined;

  constructor(cluster: KubeCluster, qualify: KubeSourceOptions['qualify']) {
    this.#cluster = cluster;
    this.#alone = qualify === 'none';
    // -A qualifies by namespace even as the only place: two namespaces may offer one name.
    this.#qualify = qualify === 'none' && cluster.namespace === undefined ? 'namespace' : qualify;
    this.context = cluster.contextName;
    this.namespace = cluster.namespace ?? '*';
    this.id = `${this.context}/${this.namespace}`;
    const where = cluster.namespaceSelector !== undefined ? `namespaces matching ${cluster.namespaceSelector}`
      : cluster.namespace === undefined ? 'all namespaces' : `namespace ${cluster.namespace}`;
    this.title = `context ${cluster.contextName} · ${where}`;
  }

  #where(namespace: string): string | undefined {
    switch (this.#qualify) {
      case 'none':
        return undefined;
      case 'namespace':
        return namespace;
      case 'context':
        return this.context;
      case 'both':
        return `${this.context}/${namespace}`;
    }
  }

  get place(): string | undefined {
    const namespace = this.#cluster.namespace ?? '<namespace>';
    return this.#qualify === 'none' ? undefined : this.#where(namespace);
  }

  owns(where: string): boolean {
    switch (this.#qualify) {
      case 'none':
        return false;
      case 'namespace':
        return this.#cluster.namespace === undefined || where === this.#cluster.namespace;
      case 'context':
        return where === this.context;
      case 'both':
        return this.#cluster.namespace === undefined ? where.startsWith(`${this.context}/`) : where === `${this.context}/${this.#cluster.namespace}`;
    }
  }

  async discover(): Promise<DiscoveredApplication[]> {
    const found = await this.#cluster.discover();
    if (found.length === 0) throw await this.#cluster.noBackendsError();
    return found.map((application) => {
      const where = this.#where(application.namespace);
      return where === undefined ? application : {...application, where};
    });
  }

  async start(wanted: Wanted, report: (offers: readonly Offer[]) => void): Promise<void> {
    this.#handle = await this.#cluster.watch(wanted, (backends) => {
      report(backends.map((backend) => ({backend, where: this.#where(backend.target.namespace)})));
    }, {warnUnseen: this.#alone});
  }

  setWanted(wanted: Wanted): void {
    this.#handle?.setSelection(wanted);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#handle?.stop();
      await this.#cluster.close();
    })();
    return this.#closing;
  }
}
