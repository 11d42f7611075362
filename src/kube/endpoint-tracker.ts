import type {KubeClient} from './client.js';
import type {ResolvedServicePort} from './discovery.js';
import {targetsFromEndpoints, targetsFromSlices} from './endpoints.js';
import type {ServiceTargets} from './endpoints.js';
import type {DubboTunnelError} from '../core/errors.js';
import {KubeRequestError, toKubeError} from './errors.js';
import type {ResourceRef} from './errors.js';
import {ListWatch} from './list-watch.js';
import type {Backoff} from './list-watch.js';
import type {EndpointSlice, Endpoints, KubeList, KubeObject} from './types.js';

export type EndpointSource = 'endpointslices' | 'endpoints';

/** The pods behind one Service port, from endpoints listed or watched earlier. */
export type TargetsLookup = (namespace: string, service: string, servicePort: ResolvedServicePort) => ServiceTargets;

function endpointsPath(source: EndpointSource, namespace: string | undefined): string {
  const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return source === 'endpointslices' ? `/apis/discovery.k8s.io/v1${scope}/endpointslices` : `/api/v1${scope}/endpoints`;
}

function endpointsResource(source: EndpointSource, namespace: string | undefined): Omit<ResourceRef, 'verb'> {
  return source === 'endpointslices' ? {group: 'discovery.k8s.io', resource: 'endpointslices', namespace} : {group: '', resource: 'endpoints', namespace};
}

/**
 * One list of the endpoints in a scope, without a watch (one-shot discovery counts ready pods with
 * it): EndpointSlices, or core/v1 Endpoints where discovery.k8s.io is not served. Throws the
 * request's error.
 */
export async function listTargetsOnce(client: KubeClient, namespace: string | undefined): Promise<TargetsLookup> {
  try {
    const slices = await client.getJson<KubeList<EndpointSlice>>(endpointsPath('endpointslices', namespace), {}, {verb: 'list', ...endpointsResource('endpointslices', namespace)});
    const items = slices.items ?? [];
    return (ns, service, servicePort) => targetsFromSlices(items, ns, service, servicePort);
  } catch (error) {
    if (!(error instanceof KubeRequestError && error.status === 404)) throw error;
  }
  const list = await client.getJson<KubeList<Endpoints>>(endpointsPath('endpoints', namespace), {}, {verb: 'list', ...endpointsResource('endpoints', namespace)});
  const byKey = new Map((list.items ?? []).map((item) => [`${item.metadata?.namespace ?? ''}/${item.metadata?.name ?? ''}`, item]));
  return (ns, service, servicePort) => targetsFromEndpoints(byKey.get(`${ns}/${service}`), servicePort);
}

export interface EndpointTrackerOptions {
  /** undefined = all namespaces (needs cluster-wide list/watch). */
  namespace: string | undefined;
  onError?: (error: unknown, retryInMs: number, ref: ResourceRef) => void;
  onRecovered?: () => void;
  inactivityMs?: number;
  backoff?: () => Backoff;
}

/**
 * One shared, live view of which pods are ready behind which Service port: a list+watch of
 * EndpointSlices in the cluster's scope (one watch for all backends, like kubefwd's per-namespace
 * pod informer), or of core/v1 Endpoints where discovery.k8s.io is not served (404 on the group).
 */
export class EndpointTracker {
  readonly #client: KubeClient;
  readonly #options: EndpointTrackerOptions;
  readonly #listeners = new Set<() => void>();
  #watch: ListWatch<KubeObject> | undefined;
  #starting: Promise<void> | undefined;
  #source: EndpointSource = 'endpointslices';
  #stopped = false;
  #problem: DubboTunnelError | undefined;

  constructor(client: KubeClient, options: EndpointTrackerOptions) {
    this.#client = client;
    this.#options = options;
  }

  get source(): EndpointSource {
    return this.#source;
  }

  get started(): boolean {
    return this.#watch?.synced === true;
  }

  /**
   * Why the endpoint watch is failing right now (the API server unreachable, or silent for longer
   * than the inactivity limit: stalled), or undefined while it works. Listeners hear about changes.
   */
  get problem(): DubboTunnelError | undefined {
    return this.#problem;
  }

  #setProblem(problem: DubboTunnelError | undefined): void {
    if (problem?.message === this.#problem?.message) return;
    this.#problem = problem;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Lists and starts watching (once; concurrent callers share the attempt, a failed attempt can be retried). */
  start(): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('endpoint tracker stopped'));
    this.#starting ??= this.#start().catch((error: unknown) => {
      this.#starting = undefined;
      throw error;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      await this.#startWatch('endpointslices');
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.status === 404)) throw error;
      // discovery.k8s.io/v1 is not served (API servers before 1.21, or some proxies): use Endpoints.
      await this.#startWatch('endpoints');
    }
  }

  async #startWatch(source: EndpointSource): Promise<void> {
    const ns = this.#options.namespace;
    const watch = new ListWatch<KubeObject>(this.#client, {
      path: endpointsPath(source, ns),
      resource: endpointsResource(source, ns),
      onChange: () => {
        for (const listener of [...this.#listeners]) listener();
      },
      // Only watch() (and its backends) start the tracker: a refused watch fails it like a refused list.
      confirmWatch: true,
      onError: (error, retryInMs, ref) => {
        this.#options.onError?.(error, retryInMs, ref);
        this.#setProblem(toKubeError(error, this.#client.scene, ref));
      },
      onRecovered: () => {
        this.#options.onRecovered?.();
        this.#setProblem(undefined);
      },
      inactivityMs: this.#options.inactivityMs,
      backoff: this.#options.backoff?.(),
    });
    // Visible before start() resolves: the first onChange (right after the list) must see this cache.
    this.#source = source;
    this.#watch = watch;
    try {
      await watch.start();
    } catch (error) {
      this.#watch = undefined;
      throw error;
    }
    if (this.#stopped) {
      await watch.stop();
      throw new Error('endpoint tracker stopped');
    }
  }

  /** Pods behind a Service port, from the cache (empty until started). */
  targets(namespace: string, service: string, servicePort: ResolvedServicePort): ServiceTargets {
    const items = this.#watch?.items;
    if (!items) return {all: [], ready: [], withoutPod: 0};
    if (this.#source === 'endpointslices') return targetsFromSlices(items.values(), namespace, service, servicePort);
    return targetsFromEndpoints(items.get(`${namespace}/${service}`), servicePort);
  }

  /** Called after every change of the cache. Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#listeners.clear();
    await this.#starting?.catch(() => {});
    await this.#watch?.stop();
  }
}
