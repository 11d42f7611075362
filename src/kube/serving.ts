import type {Wanted} from '../core/backend-source.js';
import type {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {KubeBackend} from './backend.js';
import type {KubeClient} from './client.js';
import type {ApiStall} from './api-stall.js';
import type {KnownDenials} from './denials.js';
import {applicationKey, resolveApplications} from './discovery.js';
import type {DiscoveryRules} from './discovery.js';
import type {EndpointTracker} from './endpoint-tracker.js';
import {toKubeError} from './errors.js';
import type {ResourceRef} from './errors.js';
import {ListWatch} from './list-watch.js';
import type {Ingress, KubeObject, Service} from './types.js';

export interface KubeTiming {
  /** How long requests in flight on a pod that stopped being ready may still finish (default 30 s). */
  drainLimitMs?: number;
  /** How long a port-forward may take to start (default 10 s). */
  portForwardTimeoutMs?: number;
  /** A port-forward set-up or a pulse without an answer for this long means a stalled API server (default 1.5 s). */
  stallAfterMs?: number;
  /** How often the API server is asked for /version to notice a stall while streams are open (default 3 s). */
  pulseIntervalMs?: number;
  /** A watch that sends no byte (not even a BOOKMARK) for this long counts as stalled (default 60 s). */
  watchInactivityMs?: number;
  /** How long a refused pods/portforward permission is believed before it is asked again (default 30 s). */
  permissionRecheckMs?: number;
}

/**
 * What one watch needs from its cluster (src/kube/cluster.ts): where to look and by which rules,
 * the shared endpoint watch and refused permissions, and where problems are said (each distinct
 * warning once per cluster, however often a watch event recomputes).
 */
export interface ServingScope {
  readonly client: KubeClient;
  /** The namespace searched; undefined with -A and with a namespace selector. */
  readonly namespace: string | undefined;
  /**
   * --namespace-selector (kubectl syntax, already checked): discover only in the namespaces whose
   * labels match, followed live by a watch of Namespaces.
   */
  readonly namespaceSelector?: string;
  /** The namespace that wins name clashes with -A. */
  readonly defaultNamespace: string;
  readonly rules: DiscoveryRules;
  readonly everyNamespace: boolean;
  readonly timing: KubeTiming;
  readonly denials: KnownDenials;
  readonly stall: ApiStall;
  /** Dial pod IPs instead of port-forwarding (inside the cluster). */
  readonly podNetwork: boolean;
  readonly endpoints: EndpointTracker;
  readonly events: TunnelEventBus;
  /** The collection's path in this scope: `/api/v1/namespaces/dev/services`, or `/api/v1/services` with -A. */
  path(group: string, version: string, resource: string): string;
  warn(warnings: readonly string[]): void;
  /** A list or watch failed after it had worked; the loop retries. */
  watchProblem(error: unknown, retryInMs: number, ref: ResourceRef): void;
}

/** With --source auto, a cluster where we may not read Ingresses still works through Services. */
export function ingressesSkipped(error: DubboTunnelError): string {
  return `skipping Ingresses: ${error.message}; discovering Services only (pass --source service to silence this)`;
}

/** One watch() call: the Ingress and Service watches and the backends they produce. */
export class Serving {
  readonly #scope: ServingScope;
  readonly #report: (backends: readonly KubeBackend[]) => void;
  #selection: Wanted;
  #services: ListWatch<Service> | undefined;
  #ingresses: ListWatch<Ingress> | undefined;
  /** With a namespace selector: the Namespaces that match it. */
  #namespaces: ListWatch<KubeObject> | undefined;
  /** The matching namespaces as last seen, to say which joined or left. */
  #matched: ReadonlySet<string> | undefined;
  /** applicationKey -> backend, for every selected application. */
  #backends = new Map<string, KubeBackend>();
  /** The backends last reported, to report only real changes. */
  #reported: readonly KubeBackend[] = [];
  readonly #missingWarned = new Set<string>();
  /** See WatchOptions.warnUnseen. */
  readonly #warnUnseen: boolean;
  #started = false;
  #stopped = false;

  constructor(scope: ServingScope, selection: Wanted, report: (backends: readonly KubeBackend[]) => void, warnUnseen = true) {
    this.#scope = scope;
    this.#report = report;
    this.#selection = selection;
    this.#warnUnseen = warnUnseen;
  }

  async start(): Promise<void> {
    const scope = this.#scope;
    const common = {
      confirmWatch: true,
      onChange: () => this.#recompute(),
      onError: (error: unknown, retryInMs: number, ref: ResourceRef) => scope.watchProblem(error, retryInMs, ref),
      onRecovered: () => scope.events.log('info', 'Kubernetes watch recovered'),
      ...(scope.timing.watchInactivityMs === undefined ? {} : {inactivityMs: scope.timing.watchInactivityMs}),
    };
    this.#services = new ListWatch<Service>(scope.client, {
      path: scope.path('', 'v1', 'services'),
      resource: {group: '', resource: 'services', namespace: scope.namespace},
      ...common,
    });
    const starts: Promise<unknown>[] = [this.#services.start(), scope.endpoints.start()];
    if (scope.namespaceSelector !== undefined) {
      // Namespaces come and go as their labels change: a label added brings a namespace's
      // applications in, a label removed takes them out (the watch says DELETED for an object that
      // stops matching), without a restart.
      this.#namespaces = new ListWatch<KubeObject>(scope.client, {
        path: '/api/v1/namespaces',
        resource: {group: '', resource: 'namespaces'},
        labelSelector: scope.namespaceSelector,
        ...common,
      });
      starts.push(this.#namespaces.start());
    }
    if (scope.rules.source !== 'service') {
      const ingresses = new ListWatch<Ingress>(scope.client, {
        path: scope.path('networking.k8s.io', 'v1', 'ingresses'),
        resource: {group: 'networking.k8s.io', resource: 'ingresses', namespace: scope.namespace},
        ...common,
      });
      this.#ingresses = ingresses;
      starts.push(ingresses.start().catch((error: unknown) => {
        const mapped = toKubeError(error, scope.client.scene);
        if (scope.rules.source === 'ingress' || (mapped.code !== 'DT_ERR_KUBE_FORBIDDEN' && mapped.code !== 'DT_ERR_KUBE_API')) throw mapped;
        scope.warn([ingressesSkipped(mapped)]);
        this.#ingresses = undefined;
      }));
    }
    const results = await Promise.allSettled(starts);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    // Only now, with Services, Ingresses and endpoints all listed: an earlier table would briefly
    // show Service-sourced applications that an Ingress then replaces, and pods as not ready.
    this.#started = true;
    this.#recompute();
  }

  setSelection(selection: Wanted): void {
    this.#selection = selection;
    this.#missingWarned.clear();
    this.#recompute();
  }

  #selected(application: string): boolean {
    const selection = this.#selection;
    if (selection === 'all') return true;
    return 'except' in selection ? !selection.except.has(application) : selection.has(application);
  }

  /** The namespaces a namespace selector matches now (logging the ones that joined or left); undefined without one. */
  #matchedNamespaces(): ReadonlySet<string> | undefined {
    if (this.#namespaces === undefined) return undefined;
    const now = new Set([...this.#namespaces.items.values()].map((namespace) => namespace.metadata?.name ?? ''));
    const before = this.#matched;
    this.#matched = now;
    const selector = this.#scope.namespaceSelector ?? '';
    for (const name of [...now].sort()) {
      if (!(before?.has(name) ?? false)) this.#scope.events.log('info', `namespace ${name} matches --namespace-selector '${selector}': discovering its applications`);
    }
    for (const name of [...(before ?? [])].sort()) {
      if (!now.has(name)) this.#scope.events.log('info', `namespace ${name} no longer matches --namespace-selector '${selector}': its applications leave (requests in flight are answered)`);
    }
    return now;
  }

  /** Rebuilds the application list from the caches and reports the backends if anything changed. */
  #recompute(): void {
    if (this.#stopped || !this.#started || !this.#services) return;
    const scope = this.#scope;
    const matched = this.#matchedNamespaces();
    const ingresses = this.#ingresses?.items.values() ?? [];
    const services = this.#services.items.values();
    const inScope = (object: KubeObject): boolean => matched?.has(object.metadata?.namespace ?? 'default') ?? true;
    const {applications, warnings} = resolveApplications({
      ingresses: matched === undefined ? ingresses : [...ingresses].filter(inScope),
      services: matched === undefined ? services : [...services].filter(inScope),
      rules: scope.rules,
      preferredNamespace: scope.defaultNamespace,
      everyNamespace: scope.everyNamespace,
    });
    scope.warn(warnings);
    if (this.#warnUnseen && this.#selection !== 'all' && !('except' in this.#selection)) {
      const found = new Set(applications.map((application) => application.application));
      for (const name of this.#selection) {
        if (found.has(name) || this.#missingWarned.has(name)) continue;
        this.#missingWarned.add(name);
        scope.events.log('warn', `application ${name} is selected but not discovered in ${scope.namespace === undefined ? 'any namespace' : `namespace ${scope.namespace}`}; it will be routed once it appears`);
      }
    }
    const next = new Map<string, KubeBackend>();
    for (const application of applications) {
      if (!this.#selected(application.application)) continue;
      const id = applicationKey(application);
      let backend = this.#backends.get(id);
      backend ??= new KubeBackend(application, {client: scope.client, endpoints: scope.endpoints, events: scope.events, timing: scope.timing, denials: scope.denials, stall: scope.stall, podNetwork: scope.podNetwork});
      next.set(id, backend);
    }
    const removed = [...this.#backends].filter(([id]) => !next.has(id)).map(([, backend]) => backend);
    this.#backends = next;
    this.#publish();
    const discovered = new Set(applications.map((application) => applicationKey(application)));
    // Requests in flight finish (the pods may well still be running); only new ones are not routed.
    for (const backend of removed) {
      const reason = discovered.has(applicationKey(backend.target)) ? 'deselected'
        : matched !== undefined && !matched.has(backend.target.namespace) ? `namespace ${backend.target.namespace} no longer matches the namespace selector`
          : 'no longer discovered in the cluster';
      backend.close(reason, {drain: true});
    }
  }

  /** Tells the owner what we offer now, when that changed (same backends in the same order = no change). */
  #publish(): void {
    const backends = [...this.#backends.values()];
    if (backends.length === this.#reported.length && backends.every((backend, i) => this.#reported[i] === backend)) return;
    this.#reported = backends;
    this.#report(backends);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all([this.#services?.stop(), this.#ingresses?.stop(), this.#namespaces?.stop()]);
    const ours = [...this.#backends.values()];
    this.#backends = new Map();
    if (this.#reported.length > 0) {
      this.#reported = [];
      this.#report([]);
    }
    for (const backend of ours) backend.close('dubbo-tunnel is shutting down');
  }
}
