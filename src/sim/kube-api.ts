/**
 * The simulated Kubernetes API server of `dubbo-tunnel demo`: it speaks the real wire protocol, so
 * @kubernetes/client-node runs unmodified against it through a generated kubeconfig.
 *
 * Serves: JSON get/list of core, discovery.k8s.io and networking.k8s.io objects with label/field
 * selectors and pagination; watches (chunked newline-delimited events, replay from a resourceVersion,
 * 410 Expired for resourceVersions older than the store keeps, bookmarks, timeoutSeconds);
 * bearer-token authentication; discovery documents; /version; and the legacy WebSocket
 * port-forward (v4.channel.k8s.io / v4.base64.channel.k8s.io) into real local TCP servers standing
 * in for pod ports. docs/kubernetes.md describes the wire details.
 *
 * This class is the cluster: its objects, pods and their targets, Dubbo apps, the endpoints
 * controller and its bearer tokens (kube-api/authentication.ts, also TokenReview). Connections (the
 * listener, routes, lists, watches, port-forward upgrades) are kube-api/http-server.ts and the
 * modules beside it, which serve this cluster through kube-api/served-cluster.ts.
 *
 * What only tests need (certificate generation, RBAC and access reviews, compaction, pause and
 * restart, request recording, counters) is in test/support/fake-kube-api.ts, a subclass, so the
 * product ships only what the demo uses. The protected members below are its seams.
 *
 * Usage:
 *   const api = await SimulatedKubeApi.start({users: {'alice-token': 'alice'}});
 *   api.addDubboApp({namespace: 'dev', name: 'user-rpc', ingress: true,
 *                    pods: [{name: 'user-rpc-0', target: {host: '127.0.0.1', port: providerPort}}]});
 *   const kc = new KubeConfig(); kc.loadFromString(api.kubeconfig({namespace: 'dev'}));
 *   ... run the code under test ...
 *   api.setPodReady('dev', 'user-rpc-0', false); api.deletePod('dev', 'user-rpc-0'); api.dropWatches();
 *   await api.stop();
 */
import {mkdirSync, writeFileSync} from 'node:fs';
import type http from 'node:http';
import {join} from 'node:path';
import {BearerTokens} from './kube-api/authentication.js';
import type {VersionInfo} from './kube-api/discovery.js';
import {
  buildIngress,
  buildPod,
  buildService,
  resolveDubboApp,
  type DubboAppInfo,
  type DubboAppSpec,
  type DubboPodSpec,
} from './kube-api/dubbo-app.js';
import {reconcileEndpoints, type ControllerStore} from './kube-api/endpoints-controller.js';
import {KubeApiHttpServer, type ServingCertificate} from './kube-api/http-server.js';
import {renderKubeconfig, type KubeconfigOptions} from './kube-api/kubeconfig.js';
import {setPodReadiness} from './kube-api/pod-status.js';
import type {KillMode, TcpTarget} from './kube-api/port-forward.js';
import {RESOURCE_TYPES, resolveResourceType, type ResourceType} from './kube-api/resources.js';
import type {RecordedRequest} from './kube-api/served-cluster.js';
import {kubeTime, ObjectStore} from './kube-api/store.js';
import type {KubeObject, RequestAttributes} from './kube-api/types.js';
import {validateObject} from './kube-api/validation.js';

export type {KubeObject, KubeStatus, ObjectMeta, RequestAttributes} from './kube-api/types.js';
export type {KubeconfigOptions, KubeconfigContextOptions, KubeconfigExec} from './kube-api/kubeconfig.js';
export type {TcpTarget, KillMode, PortForwardStats} from './kube-api/port-forward.js';
export type {DubboAppInfo, DubboAppSpec, DubboIngressOptions, DubboPodSpec} from './kube-api/dubbo-app.js';
export type {VersionInfo} from './kube-api/discovery.js';
export type {ServingCertificate} from './kube-api/http-server.js';
export type {SessionEntry} from './kube-api/port-forward-upgrade.js';
export type {PauseMode, RecordedRequest} from './kube-api/served-cluster.js';
export type {OpenWatch} from './kube-api/watches.js';
export {HttpError, sendJson, status} from './kube-api/responses.js';
export {record, text} from './kube-api/types.js';

export interface SimulatedKubeApiOptions {
  /** Port to listen on (default 0 = any free port). Host is always 127.0.0.1. */
  port?: number;
  /** Bearer token of the default user (default "fake-kube-token"). */
  token?: string;
  /** Username of the default token (default "admin"). */
  user?: string;
  /** More bearer tokens: token → username. */
  users?: Record<string, string>;
  /** Groups of users, as a TokenReview reports them (every user is also in system:authenticated). */
  groups?: Record<string, string[]>;
  /** Interval of BOOKMARK events on watches that allow them (default 10 000 ms). */
  bookmarkIntervalMs?: number;
  /** Namespaces that exist from the start (default: default, kube-system, kube-public, kube-node-lease). */
  namespaces?: string[];
  /** Overrides for the /version document. */
  version?: Partial<VersionInfo>;
}

export class SimulatedKubeApi {
  readonly token: string;
  /** PEM of the CA when serving https. */
  readonly caPem: string | undefined;

  protected readonly store = new ObjectStore();
  /** The listener and its connections: requests, watches, port-forwards. */
  protected readonly http: KubeApiHttpServer;
  private readonly tokens: BearerTokens;
  private readonly podTargets = new Map<string, Map<number, TcpTarget>>();
  private readonly apps = new Map<string, DubboAppInfo>();
  private podIpCounter = 10;
  private clusterIpCounter = 10;

  protected constructor(options: SimulatedKubeApiOptions, tls?: ServingCertificate) {
    this.token = options.token ?? 'fake-kube-token';
    this.tokens = new BearerTokens(this.token, options);
    this.caPem = tls?.caPem;
    this.http = new KubeApiHttpServer({
      store: this.store,
      userOf: (token) => this.tokens.userOf(token),
      podTarget: (namespace, pod, port) => this.podTargets.get(`${namespace}/${pod}`)?.get(port),
      // Through `this`, so that a subclass's overrides of the seams are the ones called.
      checkAccess: (attrs) => this.checkAccess(attrs),
      record: (req, url) => this.record(req, url),
      deferred: (work) => this.deferred(work),
      route: (req, res, url, user, body) => this.route(req, res, url, user, body),
    }, {
      port: options.port ?? 0,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000,
      ...(tls === undefined ? {} : {tls}),
      ...(options.version === undefined ? {} : {version: options.version}),
    });
    for (const ns of options.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) this.ensureNamespace(ns);
  }

  static async start(options: SimulatedKubeApiOptions = {}): Promise<SimulatedKubeApi> {
    const api = new SimulatedKubeApi(options);
    await api.listen();
    return api;
  }

  /** http(s)://127.0.0.1:PORT */
  get url(): string {
    return `${this.caPem === undefined ? 'http' : 'https'}://127.0.0.1:${this.http.port}`;
  }

  get port(): number {
    return this.http.port;
  }

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  // ---------------------------------------------------------------- kubeconfig

  kubeconfig(options: KubeconfigOptions = {}): string {
    return renderKubeconfig({server: this.url, token: this.token, ...(this.caPem === undefined ? {} : {caPem: this.caPem})}, options);
  }

  /** Writes the kubeconfig to `dir/<fileName>` (default "kubeconfig", mode 0600) and returns the path. */
  writeKubeconfig(dir: string, options: KubeconfigOptions & {fileName?: string} = {}): string {
    mkdirSync(dir, {recursive: true});
    const path = join(dir, options.fileName ?? 'kubeconfig');
    writeFileSync(path, this.kubeconfig(options), {mode: 0o600});
    return path;
  }

  /** Adds (or re-points) a bearer token. */
  addUser(token: string, user: string): void {
    this.tokens.add(token, user);
  }

  /** The token stops authenticating, as an expired service-account or OIDC token does. */
  expireToken(token: string): void {
    this.tokens.expire(token);
  }

  // ---------------------------------------------------------------- objects

  /** Create or replace by kind/namespace/name: bumps the resourceVersion and emits ADDED or MODIFIED. */
  apply<T = KubeObject>(input: KubeObject | T): T {
    const obj = input as KubeObject;
    if (typeof obj.kind !== 'string') throw new Error('fake-kube-api: apply() needs a kind');
    const type = resolveResourceType(obj.kind);
    const namespace = type.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
    const existing = this.store.get(type, namespace, obj.metadata?.name ?? '');
    validateObject(type, obj, existing);
    if (namespace !== undefined) this.ensureNamespace(namespace);
    const {object} = this.store.put(type, {...obj, metadata: {...obj.metadata, ...(namespace === undefined ? {} : {namespace})}});
    this.afterWrite(type, namespace);
    return object as T;
  }

  /** Deletes an object (emits DELETED). Deleting a Namespace deletes everything in it. Returns whether it existed. */
  remove(kind: string, namespace: string | undefined, name: string): boolean {
    const type = resolveResourceType(kind);
    if (type.kind === 'Namespace') {
      for (const t of RESOURCE_TYPES) {
        if (!t.namespaced) continue;
        for (const obj of this.store.list(t, name)) this.remove(t.kind, name, obj.metadata.name);
      }
    }
    if (type.kind === 'Pod' && namespace !== undefined) this.killPodConnections(namespace, name);
    const deleted = this.store.delete(type, namespace, name);
    if (deleted !== undefined) this.afterWrite(type, namespace);
    return deleted !== undefined;
  }

  get<T = KubeObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.store.get(resolveResourceType(kind), namespace, name) as T | undefined;
  }

  list<T = KubeObject>(kind: string, namespace?: string): T[] {
    return this.store.list(resolveResourceType(kind), namespace) as T[];
  }

  // ---------------------------------------------------------------- pods and Dubbo apps

  /** Port-forwards to `pod`'s `port` connect to `target` (a real local TCP server). */
  setPodTarget(namespace: string, pod: string, port: number, target: TcpTarget): void {
    const key = `${namespace}/${pod}`;
    const ports = this.podTargets.get(key) ?? new Map<number, TcpTarget>();
    ports.set(port, {...target});
    this.podTargets.set(key, ports);
  }

  /** A Dubbo provider app: Service (+ Pods, + EndpointSlices/Endpoints kept in sync, + optional Ingress). */
  addDubboApp(spec: DubboAppSpec): DubboAppInfo {
    const app = resolveDubboApp(spec);
    this.apps.set(`${app.namespace}/${app.service}`, app);
    const n = this.clusterIpCounter++;
    this.apply(buildService(app, spec, `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`));
    for (const pod of spec.pods) this.addDubboPod(app.namespace, app.service, pod);
    if (spec.ingress !== undefined && spec.ingress !== false) {
      this.apply(buildIngress(app, spec.ingress === true ? {} : spec.ingress));
    }
    return structuredClone(app);
  }

  /** Adds one more Pod to an app created with addDubboApp (scale-up, rollout, a replacement pod). */
  addDubboPod(namespace: string, service: string, pod: DubboPodSpec): KubeObject {
    const app = this.apps.get(`${namespace}/${service}`);
    if (app === undefined) throw new Error(`fake-kube-api: no Dubbo app ${namespace}/${service}; call addDubboApp first`);
    const n = this.podIpCounter++;
    if (pod.target !== undefined) this.setPodTarget(namespace, pod.name, app.containerPort, pod.target);
    return this.apply(buildPod(app, pod, pod.podIP ?? `10.244.${Math.floor(n / 250)}.${(n % 250) + 1}`));
  }

  /** Flips the Pod's Ready condition (and container readiness); the slices follow. */
  setPodReady(namespace: string, pod: string, ready: boolean): void {
    const obj = this.requirePod(namespace, pod);
    setPodReadiness(obj, ready, kubeTime());
    this.apply(obj);
  }

  /** First half of a graceful delete: deletionTimestamp set, endpoint turns terminating; streams keep going. */
  terminatePod(namespace: string, pod: string): void {
    const obj = this.requirePod(namespace, pod);
    obj.metadata.deletionTimestamp = kubeTime();
    obj.metadata.deletionGracePeriodSeconds = 30;
    this.apply(obj);
  }

  /** Removes the Pod and its endpoint, and abruptly ends its port-forward streams. */
  deletePod(namespace: string, pod: string): void {
    this.podTargets.delete(`${namespace}/${pod}`);
    this.remove('Pod', namespace, pod);
  }

  /**
   * Ends the port-forward streams of a pod: "terminate" drops the TCP connection without a close frame
   * (code 1006 at the client), "close" sends a normal close, "reset" reports a connection reset on the
   * error channel and then closes, as when the process in the pod dies.
   */
  killPodConnections(namespace: string, pod: string, mode: KillMode = 'terminate'): number {
    return this.http.killPodConnections(namespace, pod, mode);
  }

  async stop(): Promise<void> {
    await this.http.stop();
  }

  // ---------------------------------------------------------------- seams (test/support/fake-kube-api.ts)

  protected async listen(): Promise<void> {
    await this.http.listen();
  }

  /** Throws HttpError 403 when `attrs` is not allowed. The demo allows everything; tests add RBAC. */
  protected checkAccess(_attrs: RequestAttributes): void {}

  /** The entry this request's user and status are noted in (tests keep them; the demo does not). */
  protected record(req: http.IncomingMessage, url: URL): RecordedRequest {
    return {method: req.method ?? 'GET', path: url.pathname, query: url.search.replace(/^\?/, ''), status: 0};
  }

  /**
   * Seam for the tests' fake (a stalled server): true when `work` (answering a request, an upgrade,
   * a watch event) was kept to be done later instead of now. The demo never defers.
   */
  protected deferred(_work: () => void): boolean {
    return false;
  }

  /** Answers one authenticated request: the API server's own paths (tests add access reviews). */
  protected route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, user: string, body: Buffer): void {
    if (req.method === 'POST' && url.pathname.replace(/\/+$/, '') === '/apis/authentication.k8s.io/v1/tokenreviews') {
      this.checkAccess({user, verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews', subresource: '', namespace: '', name: ''});
      this.tokens.review(res, body);
      return;
    }
    this.http.serve(req, res, url, user);
  }

  // ---------------------------------------------------------------- internals: objects

  private ensureNamespace(name: string): void {
    const type = resolveResourceType('Namespace');
    if (this.store.get(type, undefined, name) !== undefined) return;
    this.store.put(type, {
      apiVersion: 'v1', kind: 'Namespace',
      metadata: {name, labels: {'kubernetes.io/metadata.name': name}},
      spec: {finalizers: ['kubernetes']},
      status: {phase: 'Active'},
    });
  }

  private afterWrite(type: ResourceType, namespace: string | undefined): void {
    if ((type.kind === 'Pod' || type.kind === 'Service') && namespace !== undefined) {
      reconcileEndpoints(this.controllerStore, namespace);
    }
  }

  private readonly controllerStore: ControllerStore = {
    list: (kind, namespace) => this.store.list(resolveResourceType(kind), namespace),
    put: (obj) => {
      this.store.put(resolveResourceType(String(obj.kind)), obj);
    },
    remove: (kind, namespace, name) => {
      this.store.delete(resolveResourceType(kind), namespace, name);
    },
  };

  private requirePod(namespace: string, pod: string): KubeObject {
    const obj = this.store.get(resolveResourceType('Pod'), namespace, pod);
    if (obj === undefined) throw new Error(`fake-kube-api: no pod ${namespace}/${pod}`);
    return obj;
  }}
