import type {Writable} from 'node:stream';
import {DubboTunnelError} from '../core/errors.js';
import type {Backend} from '../core/backend.js';
import type {TunnelEventBus} from '../core/events.js';
import {createRouteTable} from '../router/route-table.js';
import type {RouteSource} from '../router/route-table.js';
import {KubeBackend} from './backend.js';
import {KubeClient} from './client.js';
import {
  applicationKey, DEFAULT_APPLICATION_ANNOTATION, DEFAULT_INGRESS_CLASS, DUBBO_DEFAULT_PORT,
  LEGACY_INGRESS_CLASS_ANNOTATION, resolveApplications,
} from './discovery.js';
import type {DiscoveryRules, KubeApplication, SourceMode} from './discovery.js';
import {KnownDenials} from './denials.js';
import {EndpointTracker} from './endpoint-tracker.js';
import {targetsFromEndpoints, targetsFromSlices} from './endpoints.js';
import type {ServiceTargets} from './endpoints.js';
import {EXEC_TIMEOUT_ENV, KubeRequestError, toKubeError} from './errors.js';
import type {ResourceRef} from './errors.js';
import {loadKubeconfig, routeExecPluginIo} from './kubeconfig.js';
import {parseLabelSelector} from './label-selector.js';
import {ListWatch} from './list-watch.js';
import type {EndpointSlice, Endpoints, Ingress, KubeList, KubeObject, Service} from './types.js';

export type {KubeApplication, SourceMode} from './discovery.js';

export interface ClusterOptions {
  /** --kubeconfig (one file); default KUBECONFIG, then ~/.kube/config. */
  kubeconfig?: string;
  /** --context; default the kubeconfig's current-context. */
  context?: string;
  /** -n; default the context's namespace, else `default`. */
  namespace?: string;
  /** -A: discover in every namespace (needs cluster-wide list/watch). */
  allNamespaces?: boolean;
  /** Where backends come from; default `auto` (Ingresses of the class and Services with a Dubbo port). */
  source?: SourceMode;
  /** -l: label selector for Services (kubectl syntax). */
  selector?: string;
  /** Ingress class that marks Dubbo backends; default `dubbo`. */
  ingressClass?: string;
  /** Annotation holding the real application name; default `dubbo-tunnel.io/application`. */
  applicationAnnotation?: string;
  events: TunnelEventBus;
  env?: NodeJS.ProcessEnv;
  /**
   * Report an application name found in several namespaces (-A) once per namespace instead of
   * keeping the preferred one; a session shows such clashes and lets the user choose.
   */
  everyNamespace?: boolean;
  /** Where exec credential plugins' stderr goes (login prompts); default process.stderr, null = drop. */
  execStderr?: Writable | null;
  /** A person is at the terminal and nothing else reads stdin: plugins may prompt on it. Default false. */
  interactive?: boolean;
  /**
   * Bound on one run of an exec credentials plugin (default: DUBBO_TUNNEL_EXEC_TIMEOUT_MS from `env`,
   * else 60 s, long enough for a browser login).
   */
  execTimeoutMs?: number;
  /** Time limits; the defaults suit real clusters, tests shorten them. */
  timing?: KubeTiming;
  /**
   * Called once, when the first watch() (or serve()) is live: `up` runs the doctor's permission and
   * backend checks on this cluster there and logs what fails (src/doctor/after-start.ts).
   */
  onWatching?: (cluster: KubeCluster, events: TunnelEventBus) => void;
}

export interface KubeTiming {
  /** How long requests in flight on a pod that stopped being ready may still finish (default 30 s). */
  drainLimitMs?: number;
  /** How long a port-forward may take to start (default 10 s). */
  portForwardTimeoutMs?: number;
  /** A watch that sends no byte (not even a BOOKMARK) for this long counts as stalled (default 60 s). */
  watchInactivityMs?: number;
}

/** What `serve()` returns: live routing for the selected applications until `stop()`. */
export interface ServeHandle {
  /** Change which applications are routed ('all' = every discovered one); takes effect at once. */
  setSelection(selection: Selection): void;
  /** The applications discovered right now (all of them, selected or not), sorted by name. */
  applications(): KubeApplication[];
  /** Stops watching, removes our routes from the table and closes every stream we opened. */
  stop(): Promise<void>;
}

/** These applications; every one found ('all'); or every one but these (a session's local overrides). */
export type Selection = ReadonlySet<string> | 'all' | {readonly except: ReadonlySet<string>};

/**
 * One Kubernetes context: discovery (`discover()` one-shot, `serve()` live) and the backends that
 * port-forward to ready pods. The only entry point the CLI needs.
 */
export class KubeCluster {
  readonly contextName: string;
  /** The namespace searched; undefined with -A (all namespaces). */
  readonly namespace: string | undefined;
  /** The namespace that wins name clashes with -A (the context's, or -n). */
  readonly defaultNamespace: string;
  readonly server: string;
  readonly rules: DiscoveryRules;
  readonly client: KubeClient;
  /** See ClusterOptions.everyNamespace. */
  readonly everyNamespace: boolean;
  readonly #events: TunnelEventBus;
  readonly #endpoints: EndpointTracker;
  readonly #serving = new Set<Serving>();
  readonly #warned = new Set<string>();
  /** @internal Permissions known to be refused, shared by the backends. */
  readonly denials = new KnownDenials();
  #onWatching: ClusterOptions['onWatching'];
  /** @internal Time limits for backends and watches. */
  readonly timing: KubeTiming;

  private constructor(input: {client: KubeClient; contextName: string; namespace: string | undefined; defaultNamespace: string; rules: DiscoveryRules; events: TunnelEventBus; everyNamespace: boolean; timing?: KubeTiming; onWatching?: ClusterOptions['onWatching']}) {
    this.timing = input.timing ?? {};
    this.#onWatching = input.onWatching;
    this.client = input.client;
    this.everyNamespace = input.everyNamespace;
    this.contextName = input.contextName;
    this.namespace = input.namespace;
    this.defaultNamespace = input.defaultNamespace;
    this.server = input.client.server;
    this.rules = input.rules;
    this.#events = input.events;
    this.#endpoints = new EndpointTracker(this.client, {
      namespace: this.namespace,
      onError: (error, retryInMs, ref) => this.watchProblem(error, retryInMs, ref),
      onRecovered: () => this.#events.log('info', `watching ${this.#scopeText()} endpoints again`),
      ...(this.timing.watchInactivityMs === undefined ? {} : {inactivityMs: this.timing.watchInactivityMs}),
    });
  }

  /**
   * Loads the kubeconfig for the context and gets its credentials once (exec plugins run here, one
   * at a time, with their stderr shown). Throws DubboTunnelError: DT_ERR_KUBECONFIG, DT_ERR_KUBE_CONTEXT,
   * DT_ERR_KUBE_UNAUTHORIZED (credential plugin failed), DT_ERR_BAD_ARGUMENT (bad -l or --source).
   */
  static async open(options: ClusterOptions): Promise<KubeCluster> {
    const source = options.source ?? 'auto';
    if (source !== 'auto' && source !== 'ingress' && source !== 'service') {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--source must be ingress, service or auto, not '${String(source)}'`);
    }
    if (options.allNamespaces === true && options.namespace !== undefined) {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '-n/--namespace and -A/--all-namespaces cannot be used together');
    }
    const rules: DiscoveryRules = {
      source,
      ingressClass: options.ingressClass ?? DEFAULT_INGRESS_CLASS,
      applicationAnnotation: options.applicationAnnotation ?? DEFAULT_APPLICATION_ANNOTATION,
      ...(options.selector === undefined || options.selector.trim() === '' ? {} : {selector: parseLabelSelector(options.selector)}),
    };
    const loaded = loadKubeconfig({kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace, env: options.env});
    const exec = routeExecPluginIo(loaded.kc, {
      stderr: options.execStderr,
      interactive: options.interactive,
      timeoutMs: options.execTimeoutMs ?? execTimeoutFromEnv(options.env ?? process.env),
    });
    const client = new KubeClient(loaded.kc, {
      server: loaded.server, contextName: loaded.contextName, onUnauthorized: () => exec.forgetCredentials(),
      onWaiting: (message, answered) => options.events.log(answered ? 'info' : 'warn', message),
    });
    try {
      // Credentials first, before any list and before a UI takes the terminal: an exec plugin runs
      // here, and its prompt (device code, password) is seen and answered now.
      await client.connectionOptions();
    } catch (error) {
      throw toKubeError(error, client.scene);
    }
    return new KubeCluster({
      client,
      contextName: loaded.contextName,
      namespace: options.allNamespaces === true ? undefined : loaded.namespace,
      defaultNamespace: loaded.namespace,
      rules,
      events: options.events,
      everyNamespace: options.everyNamespace ?? false,
      ...(options.timing === undefined ? {} : {timing: options.timing}),
      ...(options.onWatching === undefined ? {} : {onWatching: options.onWatching}),
    });
  }

  /** One-shot discovery (for `ls` and pickers), with ready pod counts. Warnings go to the event bus. */
  async discover(): Promise<KubeApplication[]> {
    const [ingresses, services] = await Promise.all([this.#listIngresses(), this.#list<Service>(this.path('', 'v1', 'services'), {group: '', resource: 'services'})]);
    const {applications, warnings} = resolveApplications({ingresses, services, rules: this.rules, preferredNamespace: this.defaultNamespace, everyNamespace: this.everyNamespace});
    this.warn(warnings);
    const endpoints = await this.#listEndpointsOnce();
    return applications.map((application) => {
      if (application.problem !== undefined || !application.servicePort) return {...application, readyPods: 0};
      if (!endpoints) return application;
      return {...application, readyPods: endpoints(application).ready.length};
    });
  }

  /**
   * Live backends for the selected applications: watches Ingresses and Services and calls `report`
   * (synchronously) with every backend it offers whenever that set changes; each application's
   * KubeBackend follows its ready pods through the shared EndpointSlice watch. A backend that leaves
   * the set is closed right after the report that dropped it. It never writes a route table: the
   * session merges reports (src/session/publisher.ts).
   * Resolves once the first lists succeeded; rejects (with the mapped error) when they fail.
   */
  async watch(selection: Selection, report: (backends: readonly KubeBackend[]) => void): Promise<ServeHandle> {
    const serving = new Serving(this, selection, this.#events, report);
    this.#serving.add(serving);
    try {
      await serving.start(this.#endpoints);
    } catch (error) {
      this.#serving.delete(serving);
      await serving.stop();
      throw toKubeError(error, this.client.scene);
    }
    const onWatching = this.#onWatching;
    this.#onWatching = undefined;
    onWatching?.(this, this.#events);
    return {
      setSelection: (next) => serving.setSelection(next),
      applications: () => serving.applications(),
      stop: async () => {
        this.#serving.delete(serving);
        await serving.stop();
      },
    };
  }

  /**
   * watch() for a caller with one cluster and a RouteSource of its own (tests, tools): keeps
   * `routes` up to date, emitting 'routes-changed'. Backends already in `routes` that are not ours
   * are kept and win name clashes; stop() removes only ours. `up` goes through the session instead.
   */
  async serve(routes: RouteSource, selection: Selection): Promise<ServeHandle> {
    const ours = new WeakSet<Backend>();
    let published: string | undefined;
    const publish = (backends: readonly KubeBackend[]): void => {
      for (const backend of backends) ours.add(backend);
      const current = routes.current;
      const foreign = [...current.backends.values()].filter((backend) => !ours.has(backend));
      const taken = new Set(foreign.map((backend) => backend.application));
      const table = createRouteTable([...foreign, ...backends.filter((backend) => !taken.has(backend.application))], current.interfaces);
      const changed = table.backends.size !== current.backends.size || [...table.backends].some(([name, backend]) => current.backends.get(name) !== backend);
      if (!changed) return;
      routes.set(table);
      const names = [...table.backends.keys()].sort();
      if (names.join('\n') !== published) {
        published = names.join('\n');
        this.#events.emit('routes-changed', {applications: names});
      }
    };
    return this.watch(selection, publish);
  }

  /** The DT_ERR_NO_BACKENDS error for an empty discovery: what was searched and how to mark a backend. */
  async noBackendsError(): Promise<DubboTunnelError> {
    const where = this.namespace === undefined ? 'any namespace' : `namespace ${this.namespace}`;
    if (this.namespace !== undefined) {
      try {
        await this.client.getJson(`/api/v1/namespaces/${encodeURIComponent(this.namespace)}`, {}, {verb: 'get', group: '', resource: 'namespaces', name: this.namespace});
      } catch (error) {
        if (error instanceof KubeRequestError && error.status === 404) {
          return new DubboTunnelError('DT_ERR_NO_BACKENDS', `namespace ${this.namespace} does not exist in context '${this.contextName}'`, {
            hint: 'check the name with `kubectl get namespaces`, or pass another -n/--namespace (or -A for all)',
          });
        }
        // Not allowed to read namespaces: fine, the generic message below still helps.
      }
    }
    const searched: string[] = [];
    if (this.rules.source !== 'service') {
      searched.push(`Ingresses of class ${this.rules.ingressClass} (spec.ingressClassName or annotation ${LEGACY_INGRESS_CLASS_ANNOTATION})`);
    }
    if (this.rules.source !== 'ingress') {
      searched.push(`Services with a port named dubbo or dubbo-* or port ${DUBBO_DEFAULT_PORT}${this.rules.selector === undefined ? '' : ' matching -l'}`);
    }
    return new DubboTunnelError('DT_ERR_NO_BACKENDS', `no Dubbo backends found in ${where} of context '${this.contextName}' (searched ${searched.join(' and ')})`, {
      hint: `mark a backend: name its Service port \`dubbo\` (ports: [{name: dubbo, port: ${DUBBO_DEFAULT_PORT}}]), or create an Ingress with ingressClassName: ${this.rules.ingressClass} and the application name as host; or try another namespace (-n, -A). See docs/kubernetes.md`,
    });
  }

  /**
   * An access review said port-forwards will be refused (`pods/portforward`): until one works after
   * all, the applications show this error instead of "ready".
   */
  reportPortForwardDenied(error: DubboTunnelError): void {
    this.denials.setPortForward(error);
  }

  /** Stops every serve() and the endpoint watch. */
  async close(): Promise<void> {
    await Promise.all([...this.#serving].map((serving) => serving.stop()));
    this.#serving.clear();
    await this.#endpoints.stop();
  }

  // ------------------------------------------------------------------ internals shared with Serving

  /** @internal `/api/v1/namespaces/dev/services`, or `/api/v1/services` with -A. */
  path(group: string, version: string, resource: string): string {
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    return this.namespace === undefined ? `${base}/${resource}` : `${base}/namespaces/${encodeURIComponent(this.namespace)}/${resource}`;
  }

  #scopeText(): string {
    return this.namespace === undefined ? 'all namespaces\'' : `namespace ${this.namespace}'s`;
  }

  async #list<T extends KubeObject>(pathname: string, resource: Omit<ResourceRef, 'verb'>): Promise<T[]> {
    const ref: ResourceRef = {verb: 'list', ...resource, namespace: this.namespace};
    try {
      const list = await this.client.getJson<KubeList<T>>(pathname, {}, ref);
      return list.items ?? [];
    } catch (error) {
      throw toKubeError(error, this.client.scene, ref);
    }
  }

  async #listIngresses(): Promise<Ingress[]> {
    if (this.rules.source === 'service') return [];
    try {
      return await this.#list<Ingress>(this.path('networking.k8s.io', 'v1', 'ingresses'), {group: 'networking.k8s.io', resource: 'ingresses'});
    } catch (error) {
      if (this.rules.source === 'ingress' || !(error instanceof DubboTunnelError) || (error.code !== 'DT_ERR_KUBE_FORBIDDEN' && error.code !== 'DT_ERR_KUBE_API')) throw error;
      this.warnIngressesSkipped(error);
      return [];
    }
  }

  /** @internal With --source auto, a cluster where we may not read Ingresses still works through Services. */
  warnIngressesSkipped(error: DubboTunnelError): void {
    this.warn([`skipping Ingresses: ${error.message}; discovering Services only (pass --source service to silence this)`]);
  }

  /** Ready counts for `discover()`: one list of EndpointSlices (or Endpoints); undefined if not allowed. */
  async #listEndpointsOnce(): Promise<((application: KubeApplication) => ServiceTargets) | undefined> {
    try {
      const slices = await this.client.getJson<KubeList<EndpointSlice>>(this.path('discovery.k8s.io', 'v1', 'endpointslices'), {}, {verb: 'list', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: this.namespace});
      const items = slices.items ?? [];
      return (application) => application.servicePort ? targetsFromSlices(items, application.namespace, application.service, application.servicePort) : {all: [], ready: [], withoutPod: 0};
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.status === 404)) {
        this.warn([`cannot count ready pods: ${toKubeError(error, this.client.scene).message}`]);
        return undefined;
      }
    }
    try {
      const list = await this.client.getJson<KubeList<Endpoints>>(this.path('', 'v1', 'endpoints'), {}, {verb: 'list', group: '', resource: 'endpoints', namespace: this.namespace});
      const byKey = new Map((list.items ?? []).map((item) => [`${item.metadata?.namespace ?? ''}/${item.metadata?.name ?? ''}`, item]));
      return (application) => application.servicePort ? targetsFromEndpoints(byKey.get(`${application.namespace}/${application.service}`), application.servicePort) : {all: [], ready: [], withoutPod: 0};
    } catch (error) {
      this.warn([`cannot count ready pods: ${toKubeError(error, this.client.scene).message}`]);
      return undefined;
    }
  }

  /** @internal A list or watch failed after it had worked; the loop retries. */
  watchProblem(error: unknown, retryInMs: number, ref: ResourceRef): void {
    const mapped = toKubeError(error, this.client.scene, ref);
    this.#events.log('warn', `${mapped.message}; retrying in ${(retryInMs / 1000).toFixed(1)} s${mapped.hint === undefined ? '' : ` (${mapped.hint})`}`);
  }

  /** @internal Emits each distinct warning once per cluster (watch events recompute often). */
  warn(warnings: readonly string[]): void {
    for (const warning of warnings) {
      if (this.#warned.has(warning)) continue;
      this.#warned.add(warning);
      this.#events.log('warn', warning);
    }
  }
}

/** DUBBO_TUNNEL_EXEC_TIMEOUT_MS as a positive number of milliseconds; undefined when unset or not one. */
function execTimeoutFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env[EXEC_TIMEOUT_ENV];
  if (text === undefined || !/^\d+$/.test(text.trim()) || Number(text) <= 0) return undefined;
  return Number(text);
}

/** One watch() call: the Ingress and Service watches and the backends they produce. */
class Serving {
  readonly #cluster: KubeCluster;
  readonly #report: (backends: readonly KubeBackend[]) => void;
  readonly #events: TunnelEventBus;
  #selection: Selection;
  #services: ListWatch<Service> | undefined;
  #ingresses: ListWatch<Ingress> | undefined;
  #endpoints: EndpointTracker | undefined;
  /** applicationKey -> backend, for every selected application. */
  #backends = new Map<string, KubeBackend>();
  #applications: KubeApplication[] = [];
  /** The backends last reported, to report only real changes. */
  #reported: readonly KubeBackend[] = [];
  readonly #missingWarned = new Set<string>();
  #started = false;
  #stopped = false;

  constructor(cluster: KubeCluster, selection: Selection, events: TunnelEventBus, report: (backends: readonly KubeBackend[]) => void) {
    this.#cluster = cluster;
    this.#report = report;
    this.#selection = selection;
    this.#events = events;
  }

  async start(endpoints: EndpointTracker): Promise<void> {
    const cluster = this.#cluster;
    const common = {
      confirmWatch: true,
      onChange: () => this.#recompute(),
      onError: (error: unknown, retryInMs: number, ref: ResourceRef) => cluster.watchProblem(error, retryInMs, ref),
      onRecovered: () => this.#events.log('info', 'Kubernetes watch recovered'),
      ...(cluster.timing.watchInactivityMs === undefined ? {} : {inactivityMs: cluster.timing.watchInactivityMs}),
    };
    this.#services = new ListWatch<Service>(cluster.client, {
      path: cluster.path('', 'v1', 'services'),
      resource: {group: '', resource: 'services', namespace: cluster.namespace},
      ...common,
    });
    const starts: Promise<unknown>[] = [this.#services.start(), endpoints.start()];
    if (cluster.rules.source !== 'service') {
      const ingresses = new ListWatch<Ingress>(cluster.client, {
        path: cluster.path('networking.k8s.io', 'v1', 'ingresses'),
        resource: {group: 'networking.k8s.io', resource: 'ingresses', namespace: cluster.namespace},
        ...common,
      });
      this.#ingresses = ingresses;
      starts.push(ingresses.start().catch((error: unknown) => {
        const mapped = toKubeError(error, cluster.client.scene);
        if (cluster.rules.source === 'ingress' || (mapped.code !== 'DT_ERR_KUBE_FORBIDDEN' && mapped.code !== 'DT_ERR_KUBE_API')) throw mapped;
        cluster.warnIngressesSkipped(mapped);
        this.#ingresses = undefined;
      }));
    }
    this.#endpoints = endpoints;
    const results = await Promise.allSettled(starts);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    // Only now, with Services, Ingresses and endpoints all listed: an earlier table would briefly
    // show Service-sourced applications that an Ingress then replaces, and pods as not ready.
    this.#started = true;
    this.#recompute();
  }

  setSelection(selection: Selection): void {
    this.#selection = selection;
    this.#missingWarned.clear();
    this.#recompute();
  }

  applications(): KubeApplication[] {
    const endpoints = this.#endpoints;
    return this.#applications.map((application) => {
      if (application.problem !== undefined || !application.servicePort || !endpoints) return {...application, readyPods: 0};
      return {...application, readyPods: endpoints.targets(application.namespace, application.service, application.servicePort).ready.length};
    });
  }

  #selected(application: string): boolean {
    const selection = this.#selection;
    if (selection === 'all') return true;
    return 'except' in selection ? !selection.except.has(application) : selection.has(application);
  }

  /** Rebuilds the application list from the caches and swaps in a new table if anything changed. */
  #recompute(): void {
    if (this.#stopped || !this.#started || !this.#services || !this.#endpoints) return;
    const cluster = this.#cluster;
    const {applications, warnings} = resolveApplications({
      ingresses: this.#ingresses?.items.values() ?? [],
      services: this.#services.items.values(),
      rules: cluster.rules,
      preferredNamespace: cluster.defaultNamespace,
      everyNamespace: cluster.everyNamespace,
    });
    cluster.warn(warnings);
    this.#applications = applications;
    if (this.#selection !== 'all' && !('except' in this.#selection)) {
      const found = new Set(applications.map((application) => application.application));
      for (const name of this.#selection) {
        if (found.has(name) || this.#missingWarned.has(name)) continue;
        this.#missingWarned.add(name);
        this.#events.log('warn', `application ${name} is selected but not discovered in ${cluster.namespace === undefined ? 'any namespace' : `namespace ${cluster.namespace}`}; it will be routed once it appears`);
      }
    }
    const next = new Map<string, KubeBackend>();
    for (const application of applications) {
      if (!this.#selected(application.application)) continue;
      const id = applicationKey(application);
      let backend = this.#backends.get(id);
      backend ??= new KubeBackend(application, {client: cluster.client, endpoints: this.#endpoints, events: this.#events, timing: cluster.timing, denials: cluster.denials});
      next.set(id, backend);
    }
    const removed = [...this.#backends].filter(([id]) => !next.has(id)).map(([, backend]) => backend);
    this.#backends = next;
    this.#publish();
    const discovered = new Set(applications.map((application) => applicationKey(application)));
    // Requests in flight finish (the pods may well still be running); only new ones are not routed.
    for (const backend of removed) backend.close(discovered.has(applicationKey(backend.target)) ? 'deselected' : 'no longer discovered in the cluster', {drain: true});
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
    await Promise.all([this.#services?.stop(), this.#ingresses?.stop()]);
    const ours = [...this.#backends.values()];
    this.#backends = new Map();
    if (this.#reported.length > 0) {
      this.#reported = [];
      this.#report([]);
    }
    for (const backend of ours) backend.close('dubbo-tunnel is shutting down');
  }
}
