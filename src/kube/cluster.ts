import type {Writable} from 'node:stream';
import type {Wanted} from '../core/backend-source.js';
import {DubboTunnelError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import type {KubeBackend} from './backend.js';
import {KubeClient} from './client.js';
import {
  DEFAULT_APPLICATION_ANNOTATION, DEFAULT_INGRESS_CLASS, DUBBO_DEFAULT_PORT,
  LEGACY_INGRESS_CLASS_ANNOTATION, resolveApplications,
} from './discovery.js';
import type {DiscoveryRules, KubeApplication, SourceMode} from './discovery.js';
import {canI} from './access-review.js';
import {ApiStall, startPulse} from './api-stall.js';
import {KnownDenials} from './denials.js';
import {EndpointTracker, listTargetsOnce} from './endpoint-tracker.js';
import type {TargetsLookup} from './endpoint-tracker.js';
import {EXEC_TIMEOUT_ENV, KubeRequestError, toKubeError} from './errors.js';
import type {ResourceRef} from './errors.js';
import {loadInClusterConfig, loadKubeconfig, routeExecPluginIo} from './kubeconfig.js';
import {parseLabelSelector} from './label-selector.js';
import {Serving, ingressesSkipped} from './serving.js';
import type {KubeTiming, ServingScope} from './serving.js';
import type {Ingress, KubeList, KubeObject, Service} from './types.js';

export type {KubeApplication, SourceMode} from './discovery.js';
export type {KubeTiming} from './serving.js';

/** How long the permission review before "ready" may take; without an answer the applications go on. */
const REVIEW_TIMEOUT_MS = 5000;

export interface ClusterOptions {
  /** --kubeconfig (one file); default KUBECONFIG, then ~/.kube/config. */
  kubeconfig?: string;
  /** --context; default the kubeconfig's current-context. */
  context?: string;
  /** -n; default the context's namespace, else `default`. */
  namespace?: string;
  /** -A: discover in every namespace (needs cluster-wide list/watch). */
  allNamespaces?: boolean;
  /**
   * --namespace-selector (kubectl syntax): discover in every namespace whose labels match, followed
   * live (needs cluster-wide list/watch, and list/watch on namespaces). Excludes -n and -A.
   */
  namespaceSelector?: string;
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
   * Called once, when the first watch() is live: `up` runs the doctor's permission and
   * backend checks on this cluster there and logs what fails (src/doctor/after-start.ts).
   */
  onWatching?: (cluster: KubeCluster, events: TunnelEventBus) => void;
  /**
   * Run inside a pod (the team gateway): the service account's credentials instead of a
   * kubeconfig (`serviceAccountDir` overrides where its token, ca.crt and namespace are read), and
   * upstreams dialled straight to pod IPs from the EndpointSlices instead of port-forwards.
   */
  inCluster?: {serviceAccountDir?: string};
}

export interface WatchOptions {
  /**
   * Warn about a selected application this cluster does not have (default true). A session with
   * several places says it itself, once no place has it: a name found in the other place is no news.
   */
  warnUnseen?: boolean;
}

/** What `watch()` returns: live backends for the wanted applications until `stop()`. */
export interface WatchHandle {
  /** Change which applications are offered ('all' = every discovered one); reports at once. */
  setSelection(selection: Wanted): void;
  /** Stops watching, reports that nothing is offered any more and closes every stream we opened. */
  stop(): Promise<void>;
}

/**
 * One Kubernetes context: discovery (`discover()` one-shot, `watch()` live, src/kube/serving.ts)
 * and the backends that port-forward to ready pods.
 */
export class KubeCluster {
  readonly contextName: string;
  /** The namespace searched; undefined with -A (all namespaces) and with a namespace selector. */
  readonly namespace: string | undefined;
  /** --namespace-selector as given: only namespaces whose labels match are searched. */
  readonly namespaceSelector: string | undefined;
  /** The namespace that wins name clashes with -A (the context's, or -n). */
  readonly defaultNamespace: string;
  readonly server: string;
  readonly rules: DiscoveryRules;
  readonly client: KubeClient;
  /** See ClusterOptions.everyNamespace. */
  readonly everyNamespace: boolean;
  /** -l as given (the error for an empty result names it). */
  readonly #selectorText: string | undefined;
  readonly #events: TunnelEventBus;
  readonly #endpoints: EndpointTracker;
  readonly #serving = new Set<Serving>();
  readonly #warned = new Set<string>();
  /** Whether the API server stalled, shared by the backends. */
  readonly #stall: ApiStall;
  readonly #unsubscribeStall: () => void;
  /** Stops the pulse that notices a stall while streams are open (started by the first watch()). */
  #stopPulse: (() => void) | undefined;
  /** Permissions known to be refused, shared by the backends. */
  readonly #denials: KnownDenials;
  #onWatching: ClusterOptions['onWatching'];
  /** Time limits for backends and watches. */
  readonly #timing: KubeTiming;
  /** Backends dial pod IPs (inside the cluster) instead of port-forwarding. */
  readonly #podNetwork: boolean;

  private constructor(input: {client: KubeClient; stall: ApiStall; contextName: string; namespace: string | undefined; namespaceSelector?: string; defaultNamespace: string; rules: DiscoveryRules; events: TunnelEventBus; everyNamespace: boolean; selectorText?: string; timing?: KubeTiming; onWatching?: ClusterOptions['onWatching']; podNetwork?: boolean}) {
    this.#timing = input.timing ?? {};
    this.#podNetwork = input.podNetwork ?? false;
    this.#selectorText = input.selectorText;
    this.#onWatching = input.onWatching;
    this.client = input.client;
    this.everyNamespace = input.everyNamespace;
    this.contextName = input.contextName;
    this.namespace = input.namespace;
    this.namespaceSelector = input.namespaceSelector;
    this.defaultNamespace = input.defaultNamespace;
    this.server = input.client.server;
    this.rules = input.rules;
    this.#events = input.events;
    this.#stall = input.stall;
    this.#unsubscribeStall = this.#stall.subscribe(() => {
      const stalled = this.#stall.current;
      if (stalled !== undefined) this.#events.log('warn', `${stalled.message}; requests to the applications of context '${this.contextName}' fail at once (${stalled.code}) until it answers again`);
      else this.#events.log('info', `the API server ${this.server} answers again; requests to the applications of context '${this.contextName}' are forwarded again`);
    });
    this.#denials = new KnownDenials((question) => canI(this.client, question, REVIEW_TIMEOUT_MS), this.#timing.permissionRecheckMs === undefined ? {} : {recheckMs: this.#timing.permissionRecheckMs});
    this.#endpoints = new EndpointTracker(this.client, {
      namespace: this.namespace,
      onError: (error, retryInMs, ref) => this.#watchProblem(error, retryInMs, ref),
      onRecovered: () => this.#events.log('info', `watching ${this.#scopeText()} endpoints again`),
      ...(this.#timing.watchInactivityMs === undefined ? {} : {inactivityMs: this.#timing.watchInactivityMs}),
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
    const namespaceSelector = options.namespaceSelector?.trim();
    if (namespaceSelector !== undefined) {
      if (options.namespace !== undefined || options.allNamespaces === true) {
        throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--namespace-selector cannot be used with -n/--namespace or -A/--all-namespaces');
      }
      if (namespaceSelector === '') throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '--namespace-selector needs at least one requirement (e.g. team=payments); use -A for every namespace');
      // Checked here, so a typo is a usage error at start, not a watch the API server refuses later.
      parseLabelSelector(namespaceSelector);
    }
    const rules: DiscoveryRules = {
      source,
      ingressClass: options.ingressClass ?? DEFAULT_INGRESS_CLASS,
      applicationAnnotation: options.applicationAnnotation ?? DEFAULT_APPLICATION_ANNOTATION,
      ...(options.selector === undefined || options.selector.trim() === '' ? {} : {selector: parseLabelSelector(options.selector)}),
    };
    const loaded = options.inCluster === undefined
      ? loadKubeconfig({kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace, env: options.env})
      : loadInClusterConfig({namespace: options.namespace, env: options.env, serviceAccountDir: options.inCluster.serviceAccountDir});
    const exec = routeExecPluginIo(loaded.kc, {
      stderr: options.execStderr,
      interactive: options.interactive,
      timeoutMs: options.execTimeoutMs ?? execTimeoutFromEnv(options.env ?? process.env),
    });
    const stall = new ApiStall(loaded.server.replace(/\/+$/, ''));
    const client = new KubeClient(loaded.kc, {
      server: loaded.server, contextName: loaded.contextName, onUnauthorized: () => exec.forgetCredentials(),
      onWaiting: (message, answered) => options.events.log(answered ? 'info' : 'warn', message),
      onStalled: (what) => stall.report('request', what),
      onAnswered: () => stall.answered('request'),
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
      stall,
      contextName: loaded.contextName,
      namespace: options.allNamespaces === true || namespaceSelector !== undefined ? undefined : loaded.namespace,
      ...(namespaceSelector === undefined ? {} : {namespaceSelector}),
      defaultNamespace: loaded.namespace,
      rules,
      events: options.events,
      everyNamespace: options.everyNamespace ?? false,
      ...(rules.selector === undefined || options.selector === undefined ? {} : {selectorText: options.selector.trim()}),
      ...(options.timing === undefined ? {} : {timing: options.timing}),
      ...(options.onWatching === undefined ? {} : {onWatching: options.onWatching}),
      podNetwork: options.inCluster !== undefined,
    });
  }

  /** One-shot discovery (for `ls` and pickers), with ready pod counts. Warnings go to the event bus. */
  async discover(): Promise<KubeApplication[]> {
    const [ingresses, services, selected] = await Promise.all([
      this.#listIngresses(), this.#list<Service>(this.#path('', 'v1', 'services'), {group: '', resource: 'services'}), this.#selectedNamespaces(),
    ]);
    const inScope = (object: KubeObject): boolean => selected?.has(object.metadata?.namespace ?? 'default') ?? true;
    const {applications, warnings} = resolveApplications({ingresses: ingresses.filter(inScope), services: services.filter(inScope), rules: this.rules, preferredNamespace: this.defaultNamespace, everyNamespace: this.everyNamespace});
    this.#warn(warnings);
    const targets = await this.#readyTargetsOnce();
    return applications.map((application) => {
      if (application.problem !== undefined || !application.servicePort) return {...application, readyPods: 0};
      if (!targets) return application;
      return {...application, readyPods: targets(application.namespace, application.service, application.servicePort).ready.length};
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
  async watch(selection: Wanted, report: (backends: readonly KubeBackend[]) => void, options: WatchOptions = {}): Promise<WatchHandle> {
    let offered = 0;
    const serving = new Serving(this.#servingScope(), selection, (backends) => {
      offered = backends.length;
      report(backends);
    }, options.warnUnseen);
    this.#serving.add(serving);
    let missing: DubboTunnelError | undefined;
    try {
      await serving.start();
      // A namespace that does not exist can never offer anything: fail as `ls` does instead of
      // listening forever (one extra request, only when nothing was found).
      if (offered === 0) missing = await this.missingNamespaceError();
    } catch (error) {
      this.#serving.delete(serving);
      await serving.stop();
      throw toKubeError(error, this.client.scene);
    }
    if (missing !== undefined) {
      this.#serving.delete(serving);
      await serving.stop();
      throw missing;
    }
    this.#stopPulse ??= startPulse(this.client, this.#stall, {
      ...(this.#timing.pulseIntervalMs === undefined ? {} : {intervalMs: this.#timing.pulseIntervalMs}),
      ...(this.#timing.stallAfterMs === undefined ? {} : {stallAfterMs: this.#timing.stallAfterMs}),
    });
    const onWatching = this.#onWatching;
    this.#onWatching = undefined;
    onWatching?.(this, this.#events);
    return {
      setSelection: (next) => serving.setSelection(next),
      stop: async () => {
        this.#serving.delete(serving);
        await serving.stop();
      },
    };
  }

  /**
   * DT_ERR_NO_BACKENDS when the namespace searched does not exist; undefined when it exists, with
   * -A, or when reading it is not allowed (then nothing can be said).
   */
  async missingNamespaceError(): Promise<DubboTunnelError | undefined> {
    if (this.namespace === undefined) return undefined;
    try {
      await this.client.getJson(`/api/v1/namespaces/${encodeURIComponent(this.namespace)}`, {}, {verb: 'get', group: '', resource: 'namespaces', name: this.namespace});
    } catch (error) {
      if (error instanceof KubeRequestError && error.status === 404) {
        return new DubboTunnelError('DT_ERR_NO_BACKENDS', `namespace ${this.namespace} does not exist in context '${this.contextName}'`, {
          hint: 'check the name with `kubectl get namespaces`, or pass another -n/--namespace (or -A for all)',
        });
      }
    }
    return undefined;
  }

  /** The DT_ERR_NO_BACKENDS error for an empty discovery: what was searched and how to mark a backend. */
  async noBackendsError(): Promise<DubboTunnelError> {
    const where = this.namespaceSelector !== undefined ? `the namespaces matching --namespace-selector '${this.namespaceSelector}'`
      : this.namespace === undefined ? 'any namespace' : `namespace ${this.namespace}`;
    const missing = await this.missingNamespaceError();
    if (missing !== undefined) return missing;
    const searched: string[] = [];
    if (this.rules.source !== 'service') {
      searched.push(`Ingresses of class ${this.rules.ingressClass} (spec.ingressClassName or annotation ${LEGACY_INGRESS_CLASS_ANNOTATION})`);
    }
    if (this.rules.source !== 'ingress') {
      searched.push(`Services with a port named dubbo or dubbo-* or port ${DUBBO_DEFAULT_PORT}${this.#selectorText === undefined ? '' : ` matching -l '${this.#selectorText}'`}`);
    }
    return new DubboTunnelError('DT_ERR_NO_BACKENDS', `no Dubbo backends found in ${where} of context '${this.contextName}' (searched ${searched.join(' and ')})`, {
      hint: `${this.#selectorText === undefined ? '' : `check -l '${this.#selectorText}' against the labels (kubectl get services --show-labels), or leave it out; `}mark a backend: name its Service port \`dubbo\` (ports: [{name: dubbo, port: ${DUBBO_DEFAULT_PORT}}]), or create an Ingress with ingressClassName: ${this.rules.ingressClass} and the application name as host; or try another namespace (-n, -A). See docs/kubernetes.md`,
    });
  }

  /**
   * An access review said port-forwards will be refused (`pods/portforward`): until one works after
   * all, the applications show this error instead of "ready".
   */
  reportPortForwardDenied(error: DubboTunnelError): void {
    this.#denials.setPortForward(error);
  }

  /** Stops every watch() and the endpoint watch. */
  async close(): Promise<void> {
    await Promise.all([...this.#serving].map((serving) => serving.stop()));
    this.#serving.clear();
    this.#denials.close();
    this.#stopPulse?.();
    this.#unsubscribeStall();
    await this.#endpoints.stop();
  }

  /** What a watch needs of this cluster, and nothing more. */
  #servingScope(): ServingScope {
    return {
      client: this.client,
      namespace: this.namespace,
      ...(this.namespaceSelector === undefined ? {} : {namespaceSelector: this.namespaceSelector}),
      defaultNamespace: this.defaultNamespace,
      rules: this.rules,
      everyNamespace: this.everyNamespace,
      timing: this.#timing,
      denials: this.#denials,
      stall: this.#stall,
      podNetwork: this.#podNetwork,
      endpoints: this.#endpoints,
      events: this.#events,
      path: (group, version, resource) => this.#path(group, version, resource),
      warn: (warnings) => this.#warn(warnings),
      watchProblem: (error, retryInMs, ref) => this.#watchProblem(error, retryInMs, ref),
    };
  }

  /** `/api/v1/namespaces/dev/services`, or `/api/v1/services` with -A. */
  #path(group: string, version: string, resource: string): string {
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
      return await this.#list<Ingress>(this.#path('networking.k8s.io', 'v1', 'ingresses'), {group: 'networking.k8s.io', resource: 'ingresses'});
    } catch (error) {
      if (this.rules.source === 'ingress' || !(error instanceof DubboTunnelError) || (error.code !== 'DT_ERR_KUBE_FORBIDDEN' && error.code !== 'DT_ERR_KUBE_API')) throw error;
      this.#warn([ingressesSkipped(error)]);
      return [];
    }
  }

  /** The namespaces --namespace-selector matches now (one list); undefined without a selector. */
  async #selectedNamespaces(): Promise<ReadonlySet<string> | undefined> {
    if (this.namespaceSelector === undefined) return undefined;
    const ref: ResourceRef = {verb: 'list', group: '', resource: 'namespaces'};
    try {
      const list = await this.client.getJson<KubeList<KubeObject>>('/api/v1/namespaces', {labelSelector: this.namespaceSelector}, ref);
      return new Set((list.items ?? []).map((namespace) => namespace.metadata?.name ?? ''));
    } catch (error) {
      throw toKubeError(error, this.client.scene, ref);
    }
  }

  /** Ready counts for `discover()`: one list of the endpoints; undefined (and a warning) if not allowed. */
  async #readyTargetsOnce(): Promise<TargetsLookup | undefined> {
    try {
      return await listTargetsOnce(this.client, this.namespace);
    } catch (error) {
      this.#warn([`cannot count ready pods: ${toKubeError(error, this.client.scene).message}`]);
      return undefined;
    }
  }

  /** A list or watch failed after it had worked; the loop retries. */
  #watchProblem(error: unknown, retryInMs: number, ref: ResourceRef): void {
    const mapped = toKubeError(error, this.client.scene, ref);
    this.#events.log('warn', `${mapped.message}; retrying in ${(retryInMs / 1000).toFixed(1)} s${mapped.hint === undefined ? '' : ` (${mapped.hint})`}`);
  }

  /** Emits each distinct warning once per cluster (watch events recompute often). */
  #warn(warnings: readonly string[]): void {
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
