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
import {createHash, randomUUID} from 'node:crypto';
import {mkdirSync, writeFileSync} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type {AddressInfo, Socket} from 'node:net';
import {join} from 'node:path';
import {WebSocketServer, type WebSocket} from 'ws';
import {reconcileEndpoints, type ControllerStore} from './kube-api/endpoints-controller.js';
import {renderKubeconfig, type KubeconfigOptions} from './kube-api/kubeconfig.js';
import {
  negotiateProtocol,
  PORT_FORWARD_PROTOCOLS,
  PortForwardSession,
  type ChannelProtocol,
  type KillMode,
  type PodIdentity,
  type TcpTarget,
} from './kube-api/port-forward.js';
import {
  apiVersionOf,
  findResourceType,
  qualifiedResource,
  RESOURCE_TYPES,
  resolveResourceType,
  type ResourceType,
} from './kube-api/resources.js';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type FieldSelector,
  type LabelSelector,
} from './kube-api/selectors.js';
import {ExpiredError, kubeTime, ObjectStore, type StoreChange} from './kube-api/store.js';
import type {KubeObject, KubeStatus, RequestAttributes, WatchEventType} from './kube-api/types.js';
import {DEFAULT_VERSION, discoveryDocument, type VersionInfo} from './kube-api/discovery.js';
import {
  buildIngress,
  buildPod,
  buildService,
  isDns1123Subdomain,
  LEGACY_INGRESS_CLASS_ANNOTATION,
  resolveDubboApp,
  type DubboAppInfo,
  type DubboAppSpec,
  type DubboPodSpec,
} from './kube-api/dubbo-app.js';

export type {KubeObject, KubeStatus, ObjectMeta, RequestAttributes} from './kube-api/types.js';
export type {KubeconfigOptions, KubeconfigContextOptions, KubeconfigExec} from './kube-api/kubeconfig.js';
export type {TcpTarget, KillMode, PortForwardStats} from './kube-api/port-forward.js';
export type {DubboAppInfo, DubboAppSpec, DubboIngressOptions, DubboPodSpec} from './kube-api/dubbo-app.js';
export type {VersionInfo} from './kube-api/discovery.js';

/** A serving certificate and the CA that signed it (the kubeconfig carries the CA). */
export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface SimulatedKubeApiOptions {
  /** Port to listen on (default 0 = any free port). Host is always 127.0.0.1. */
  port?: number;
  /** Bearer token of the default user (default "fake-kube-token"). */
  token?: string;
  /** Username of the default token (default "admin"). */
  user?: string;
  /** More bearer tokens: token → username. */
  users?: Record<string, string>;
  /** Interval of BOOKMARK events on watches that allow them (default 10 000 ms). */
  bookmarkIntervalMs?: number;
  /** Namespaces that exist from the start (default: default, kube-system, kube-public, kube-node-lease). */
  namespaces?: string[];
  /** Overrides for the /version document. */
  version?: Partial<VersionInfo>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Raw query string without "?" ("" when none). */
  query: string;
  /** Authenticated username; undefined when authentication failed or was absent. */
  user?: string;
  /** HTTP status answered (101 for an accepted WebSocket upgrade). */
  status: number;
}

export type PauseMode = 'refuse' | 'unavailable';

interface ParsedResourcePath {
  type: ResourceType;
  namespace: string;
  name: string;
  subresource: string;
}

export interface OpenWatch {
  res: http.ServerResponse;
  type: ResourceType;
  namespace: string;
  labels: LabelSelector;
  fields: FieldSelector;
  bookmarks: boolean;
  timers: NodeJS.Timeout[];
}

export interface SessionEntry {
  namespace: string;
  pod: string;
  session: PortForwardSession;
}

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

export function status(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details === undefined ? {} : {details}), code};
}

export function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Items in a list response carry no kind/apiVersion (the list's TypeMeta covers them). */
function listItem(obj: KubeObject): KubeObject {
  const {kind: _kind, apiVersion: _apiVersion, ...rest} = obj;
  return rest;
}

export class HttpError extends Error {
  constructor(readonly body: KubeStatus) {
    super(body.message);
  }
}

export class SimulatedKubeApi {
  readonly token: string;
  /** PEM of the CA when serving https. */
  readonly caPem: string | undefined;

  protected readonly store = new ObjectStore();
  private readonly users = new Map<string, string>();
  private readonly server: http.Server;
  // The handshake must answer the chosen subprotocol: ws clients fail "Server sent no subprotocol"
  // otherwise. The set keeps the client's order, and the first supported entry wins (wsstream).
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) => {
      for (const p of offered) if ((PORT_FORWARD_PROTOCOLS as readonly string[]).includes(p)) return p;
      return false;
    },
  });
  private readonly sockets = new Set<Socket>();
  protected readonly watches = new Set<OpenWatch>();
  protected readonly sessions = new Set<SessionEntry>();
  private readonly podTargets = new Map<string, Map<number, TcpTarget>>();
  private readonly apps = new Map<string, DubboAppInfo>();
  private readonly versionInfo: VersionInfo;
  private readonly bookmarkIntervalMs: number;
  private listenPort: number;
  /** Set while a test has the server paused (test/support/fake-kube-api.ts); the demo never pauses. */
  protected pauseMode: PauseMode | undefined;
  protected stopped = false;
  private podIpCounter = 10;
  private clusterIpCounter = 10;

  protected constructor(options: SimulatedKubeApiOptions, tls?: ServingCertificate) {
    this.token = options.token ?? 'fake-kube-token';
    this.users.set(this.token, options.user ?? 'admin');
    for (const [token, user] of Object.entries(options.users ?? {})) this.users.set(token, user);
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? 10_000;
    this.listenPort = options.port ?? 0;
    this.caPem = tls?.caPem;
    this.versionInfo = {...DEFAULT_VERSION, ...options.version};
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handleHttp(req, res);
    this.server = tls === undefined ? http.createServer(handler) : https.createServer({key: tls.keyPem, cert: tls.certPem}, handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.handleUpgrade(req, socket, head));
    this.store.subscribe((change) => this.dispatch(change));
    for (const ns of options.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) this.ensureNamespace(ns);
  }

  static async start(options: SimulatedKubeApiOptions = {}): Promise<SimulatedKubeApi> {
    const api = new SimulatedKubeApi(options);
    await api.listen();
    return api;
  }

  /** http(s)://127.0.0.1:PORT */
  get url(): string {
    return `${this.caPem === undefined ? 'http' : 'https'}://127.0.0.1:${this.listenPort}`;
  }

  get port(): number {
    return this.listenPort;
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
    this.users.set(token, user);
  }

  // ---------------------------------------------------------------- objects

  /** Create or replace by kind/namespace/name: bumps the resourceVersion and emits ADDED or MODIFIED. */
  apply<T = KubeObject>(input: KubeObject | T): T {
    const obj = input as KubeObject;
    if (typeof obj.kind !== 'string') throw new Error('fake-kube-api: apply() needs a kind');
    const type = resolveResourceType(obj.kind);
    const namespace = type.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
    const existing = this.store.get(type, namespace, obj.metadata?.name ?? '');
    this.validate(type, obj, existing);
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
    return this.apply(buildPod(app, pod, `10.244.${Math.floor(n / 250)}.${(n % 250) + 1}`));
  }

  /** Flips the Pod's Ready condition (and container readiness); the slices follow. */
  setPodReady(namespace: string, pod: string, ready: boolean): void {
    const obj = this.requirePod(namespace, pod);
    const st = record(obj.status);
    const now = kubeTime();
    const conditions = Array.isArray(st.conditions) ? (st.conditions as Record<string, unknown>[]) : [];
    for (const type of ['Ready', 'ContainersReady']) {
      const existing = conditions.find((c) => c.type === type);
      const value = ready ? 'True' : 'False';
      if (existing === undefined) conditions.push({type, status: value, lastProbeTime: null, lastTransitionTime: now});
      else if (existing.status !== value) Object.assign(existing, {status: value, lastTransitionTime: now});
    }
    st.conditions = conditions;
    if (Array.isArray(st.containerStatuses)) {
      for (const cs of st.containerStatuses as Record<string, unknown>[]) cs.ready = ready;
    }
    obj.status = st;
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
    let count = 0;
    for (const entry of [...this.sessions]) {
      if (entry.namespace === namespace && entry.pod === pod) {
        entry.session.kill(mode);
        count++;
      }
    }
    return count;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.closeEverything();
    this.wss.close();
  }

  // ---------------------------------------------------------------- internals: lifecycle

  protected async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.listenPort, '127.0.0.1', () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.listenPort = (this.server.address() as AddressInfo).port;
  }

  protected async closeEverything(): Promise<void> {
    for (const w of [...this.watches]) this.closeWatch(w, true);
    for (const entry of [...this.sessions]) entry.session.kill('terminate');
    const closed = this.server.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
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

  /** The few validation rules of the real API server that tests should not be able to bypass by accident. */
  private validate(type: ResourceType, obj: KubeObject, existing: KubeObject | undefined): void {
    const name = obj.metadata?.name;
    if (typeof name !== 'string' || name === '') throw new Error(`fake-kube-api: ${type.kind} needs metadata.name`);
    const invalid = (field: string, value: string, detail: string): Error =>
      new Error(`${type.kind}.${type.group === '' ? '' : type.group} "${name}" is invalid: ${field}: Invalid value: "${value}": ${detail}`);
    if (type.kind === 'Ingress') {
      const spec = record(obj.spec);
      const rules = Array.isArray(spec.rules) ? (spec.rules as Record<string, unknown>[]) : [];
      rules.forEach((rule, i) => {
        if (typeof rule.host === 'string' && !isDns1123Subdomain(rule.host)) {
          throw invalid(`spec.rules[${i}].host`, rule.host,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
        }
      });
      const annotation = obj.metadata.annotations?.[LEGACY_INGRESS_CLASS_ANNOTATION];
      if (existing === undefined && typeof spec.ingressClassName === 'string' && annotation !== undefined) {
        // networking/validation ValidateIngressCreate.
        throw new Error(`Ingress.networking.k8s.io "${name}" is invalid: annotations.kubernetes.io/ingress.class: Invalid value: "${annotation}": can not be set when the class field is also set`);
      }
      if (spec.rules === undefined && spec.defaultBackend === undefined) {
        throw new Error(`Ingress.networking.k8s.io "${name}" is invalid: spec: Invalid value: ...: either \`defaultBackend\` or \`rules\` must be specified`);
      }
    }
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
  }

  private podIdentity(pod: KubeObject): PodIdentity {
    const digest = createHash('sha256').update(String(pod.metadata.uid)).digest('hex');
    const u = digest.slice(0, 32);
    return {
      namespace: String(pod.metadata.namespace),
      name: pod.metadata.name,
      sandboxId: digest,
      netnsPath: `/var/run/netns/cni-${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20, 32)}`,
    };
  }

  // ---------------------------------------------------------------- internals: HTTP

  private authenticate(req: http.IncomingMessage, pathname: string): string {
    const header = req.headers.authorization;
    if (header === undefined) {
      // system:public-info-viewer lets anonymous clients read /version and the health endpoints.
      if (PUBLIC_PATHS.has(pathname)) return 'system:anonymous';
      throw new HttpError(status(401, 'Unauthorized', 'Unauthorized'));
    }
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const user = m?.[1] === undefined ? undefined : this.users.get(m[1].trim());
    if (user === undefined) throw new HttpError(status(401, 'Unauthorized', 'Unauthorized'));
    return user;
  }

  /** The entry this request's user and status are noted in (tests keep them; the demo does not). */
  protected record(req: http.IncomingMessage, url: URL): RecordedRequest {
    return {method: req.method ?? 'GET', path: url.pathname, query: url.search.replace(/^\?/, ''), status: 0};
  }

  private handleHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry = this.record(req, url);
    res.on('finish', () => (entry.status = res.statusCode));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.deferred(() => this.answer(req, res, url, entry, chunks))) return;
      this.answer(req, res, url, entry, chunks);
    });
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, url: URL, entry: RecordedRequest, chunks: Buffer[]): void {
    try {
      if (this.pauseMode === 'unavailable') throw new HttpError(status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      const user = this.authenticate(req, url.pathname);
      if (user !== 'system:anonymous') entry.user = user;
      entry.status = 200;
      this.route(req, res, url, user, Buffer.concat(chunks));
    } catch (err) {
      if (err instanceof HttpError) this.sendJson(res, err.body.code, err.body);
      else this.sendJson(res, 500, status(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
    }
  }

  /**
   * Seam for the tests' fake (a stalled server): true when `work` (answering a request, an upgrade,
   * a watch event) was kept to be done later instead of now. The demo never defers.
   */
  protected deferred(_work: () => void): boolean {
    return false;
  }

  protected sendJson(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(code, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  protected route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, user: string, _body: Buffer): void {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      if (path === '/version') return this.sendJson(res, 200, this.versionInfo);
      if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        res.writeHead(200, {'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff'});
        res.end('ok');
        return;
      }
      const discovery = discoveryDocument(path);
      if (discovery !== undefined) return this.sendJson(res, 200, discovery);
    }
    const parsed = this.parseResourcePath(path);
    if (parsed === undefined) throw new HttpError(status(404, 'NotFound', 'the server could not find the requested resource'));
    this.serveResource(req, res, url, user, parsed);
  }

  private parseResourcePath(path: string): ParsedResourcePath | undefined {
    const parts = path.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 3) {
      group = '';
      version = parts[1]!;
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 4) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else {
      return undefined;
    }
    let namespace = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1]!;
      rest = rest.slice(2);
    }
    const [plural, name = '', subresource = '', ...extra] = rest;
    if (plural === undefined || extra.length > 0) return undefined;
    const type = findResourceType(group, version, plural);
    if (type === undefined) return undefined;
    // A namespaced path for a cluster-scoped type (or the reverse, except all-namespace lists) does not exist.
    if (namespace !== '' && !type.namespaced) return undefined;
    if (namespace === '' && type.namespaced && name !== '') return undefined;
    if (subresource !== '' && !type.subresources.includes(subresource)) return undefined;
    return {type, namespace, name, subresource};
  }

  /** Throws HttpError 403 when `attrs` is not allowed. The demo allows everything; tests add RBAC. */
  protected checkAccess(_attrs: RequestAttributes): void {}

  private serveResource(req: http.IncomingMessage, res: http.ServerResponse, url: URL, user: string, p: ParsedResourcePath): void {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const watch = q.get('watch') === 'true' || q.get('watch') === '1';
    let verb: string;
    if (method === 'GET') verb = p.name === '' ? (watch ? 'watch' : 'list') : watch ? 'watch' : 'get';
    else if (method === 'POST') verb = 'create';
    else if (method === 'PUT') verb = 'update';
    else if (method === 'PATCH') verb = 'patch';
    else if (method === 'DELETE') verb = p.name === '' ? 'deletecollection' : 'delete';
    else verb = method.toLowerCase();
    const namespace = p.type.namespaced ? p.namespace : '';
    this.checkAccess({user, verb, group: p.type.group, resource: p.type.plural, subresource: p.subresource, namespace, name: p.name});
    if (method !== 'GET') {
      throw new HttpError(status(405, 'MethodNotAllowed', `the fake API server does not implement ${method} on ${qualifiedResource(p.type)}; change objects through the test API`));
    }
    if (p.subresource === 'portforward') {
      throw new HttpError(status(400, 'BadRequest', 'Upgrade request required'));
    }
    const headers: Record<string, string> = p.type.kind === 'Endpoints'
      // Since v1.33 every Endpoints request gets this deprecation warning.
      ? {Warning: '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"'}
      : {};
    let labels: LabelSelector;
    let fields: FieldSelector;
    try {
      labels = parseLabelSelector(q.get('labelSelector'));
      fields = parseFieldSelector(p.name !== '' && watch ? `metadata.name=${p.name}` : q.get('fieldSelector'), p.type.plural);
    } catch (err) {
      if (err instanceof SelectorError) throw new HttpError(status(400, 'BadRequest', err.message));
      throw err;
    }
    if (watch) return this.serveWatch(res, p.type, namespace, labels, fields, q, headers);
    if (p.name !== '') {
      const obj = this.store.get(p.type, namespace, p.name);
      if (obj === undefined) {
        throw new HttpError(status(404, 'NotFound', `${qualifiedResource(p.type)} "${p.name}" not found`, {
          name: p.name, ...(p.type.group === '' ? {} : {group: p.type.group}), kind: p.type.plural,
        }));
      }
      return this.sendJson(res, 200, obj, headers);
    }
    this.serveList(res, p.type, namespace, labels, fields, q, headers);
  }

  private serveList(res: http.ServerResponse, type: ResourceType, namespace: string, labels: LabelSelector,
    fields: FieldSelector, q: URLSearchParams, headers: Record<string, string>): void {
    let items = this.store.list(type, namespace === '' ? undefined : namespace)
      .filter((o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o));
    let listRv = this.store.resourceVersion;
    const continueToken = q.get('continue');
    if (continueToken !== null && continueToken !== '') {
      let decoded: {rv: number; after: string};
      try {
        decoded = JSON.parse(Buffer.from(continueToken, 'base64url').toString('utf8')) as {rv: number; after: string};
      } catch {
        throw new HttpError(status(400, 'BadRequest', 'continue key is not valid: illegal base64 data at input byte 0'));
      }
      if (decoded.rv < this.store.oldestResumableVersion) {
        throw new HttpError(status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
      }
      listRv = decoded.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > decoded.after);
    }
    const limit = Number(q.get('limit') ?? '0');
    const metadata: Record<string, unknown> = {resourceVersion: String(listRv)};
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const last = items[limit - 1]!;
      metadata.continue = Buffer.from(JSON.stringify({rv: listRv, after: `${last.metadata.namespace ?? ''}/${last.metadata.name}`})).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    this.sendJson(res, 200, {kind: type.listKind, apiVersion: apiVersionOf(type), metadata, items: items.map(listItem)}, headers);
  }

  // ---------------------------------------------------------------- internals: watch

  private serveWatch(res: http.ServerResponse, type: ResourceType, namespace: string, labels: LabelSelector,
    fields: FieldSelector, q: URLSearchParams, headers: Record<string, string>): void {
    const rvParam = q.get('resourceVersion') ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) {
      throw new HttpError(status(400, 'BadRequest', `invalid resource version: ${rvParam}`));
    }
    // Headers go out at once: clients wait for them before reading events.
    res.writeHead(200, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Audit-Id': randomUUID(), ...headers});
    res.flushHeaders();
    const w: OpenWatch = {res, type, namespace, labels, fields, bookmarks: q.get('allowWatchBookmarks') === 'true', timers: []};
    const matches = (o: KubeObject): boolean =>
      (namespace === '' || o.metadata.namespace === namespace) && matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);

    if (rvParam === '' || rvParam === '0') {
      // "Start at most recent"/"any": synthetic ADDED events for the current state, then changes.
      for (const obj of this.store.list(type, namespace === '' ? undefined : namespace)) {
        if (matches(obj)) this.writeEvent(w, 'ADDED', obj);
      }
    } else {
      let backlog: StoreChange[];
      try {
        backlog = this.store.changesSince(Number(rvParam));
      } catch (err) {
        if (!(err instanceof ExpiredError)) throw err;
        res.end(JSON.stringify({type: 'ERROR', object: status(410, 'Expired', err.message)}) + '\n');
        return;
      }
      for (const change of backlog) this.deliver(w, change);
    }
    this.watches.add(w);
    res.on('close', () => this.closeWatch(w, false));
    if (w.bookmarks && this.bookmarkIntervalMs > 0) {
      w.timers.push(setInterval(() => this.writeBookmark(w), this.bookmarkIntervalMs));
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      w.timers.push(setTimeout(() => this.closeWatch(w, false), timeoutSeconds * 1000));
    }
  }

  protected closeWatch(w: OpenWatch, abrupt: boolean): void {
    if (!this.watches.delete(w)) return;
    for (const t of w.timers) clearTimeout(t);
    if (abrupt) w.res.socket?.destroy();
    else w.res.end();
  }

  private dispatch(change: StoreChange): void {
    for (const w of this.watches) this.deliver(w, change);
  }

  /** watch cache semantics: a label change moving an object in/out of the selection is ADDED/DELETED. */
  private deliver(w: OpenWatch, change: StoreChange): void {
    if (change.resource !== w.type) return;
    const matches = (o: KubeObject): boolean =>
      (w.namespace === '' || o.metadata.namespace === w.namespace) && matchesLabels(w.labels, o.metadata.labels) && matchesFields(w.fields, o);
    const now = matches(change.object);
    if (change.type !== 'MODIFIED' || change.previous === undefined) {
      if (now) this.writeEvent(w, change.type, change.object);
      return;
    }
    const before = matches(change.previous);
    if (before && now) this.writeEvent(w, 'MODIFIED', change.object);
    else if (!before && now) this.writeEvent(w, 'ADDED', change.object);
    else if (before && !now) {
      const gone = structuredClone(change.previous);
      gone.metadata.resourceVersion = change.object.metadata.resourceVersion;
      this.writeEvent(w, 'DELETED', gone);
    }
  }

  private writeEvent(w: OpenWatch, type: WatchEventType, object: KubeObject): void {
    if (this.deferred(() => this.writeEvent(w, type, object))) return;
    if (w.res.writableEnded) return;
    w.res.write(JSON.stringify({type, object}) + '\n');
  }

  protected writeBookmark(w: OpenWatch): void {
    if (w.res.writableEnded || this.deferred(() => undefined)) return;
    const object = {kind: w.type.kind, apiVersion: apiVersionOf(w.type), metadata: {resourceVersion: String(this.store.resourceVersion)}};
    w.res.write(JSON.stringify({type: 'BOOKMARK', object}) + '\n');
  }

  // ---------------------------------------------------------------- internals: port-forward upgrade

  private rejectUpgrade(socket: Socket, entry: RecordedRequest, code: number, body: string, contentType = 'application/json'): void {
    entry.status = code;
    const text = `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? ''}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    socket.end(text);
  }

  private handleUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.deferred(() => this.handleUpgrade(req, socket, head))) return;
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry = this.record(req, url);
    socket.on('error', () => socket.destroy());
    try {
      if (this.pauseMode === 'unavailable') throw new HttpError(status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      const user = this.authenticate(req, url.pathname);
      entry.user = user;
      const parsed = this.parseResourcePath(url.pathname);
      if (parsed === undefined || parsed.subresource !== 'portforward' || parsed.name === '') {
        throw new HttpError(status(404, 'NotFound', 'the server could not find the requested resource'));
      }
      const base = {user, group: '', resource: 'pods', subresource: 'portforward', namespace: parsed.namespace, name: parsed.name};
      // The GET upgrade needs "get"; since v1.35 (AuthorizePodWebsocketUpgradeCreatePermission) also "create".
      this.checkAccess({...base, verb: 'get'});
      this.checkAccess({...base, verb: 'create'});
      const pod = this.store.get(parsed.type, parsed.namespace, parsed.name);
      if (pod === undefined) {
        throw new HttpError(status(404, 'NotFound', `pods "${parsed.name}" not found`, {name: parsed.name, kind: 'pods'}));
      }
      if (typeof record(pod.spec).nodeName !== 'string') {
        throw new HttpError(status(400, 'BadRequest', `pod ${parsed.name} does not have a host assigned`));
      }
      const phase = text(record(pod.status).phase) || 'Unknown';
      if (phase !== 'Running') {
        throw new HttpError(status(400, 'BadRequest', `unable to upgrade connection: pod ${parsed.name} is not running (phase ${phase})`));
      }
      const ports = url.searchParams.getAll('ports').flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== '');
      if (ports.length === 0) throw new HttpError(status(400, 'BadRequest', 'query parameter "port" is required'));
      const portNumbers = ports.map((p) => {
        const n = Number(p);
        if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw new HttpError(status(400, 'BadRequest', `invalid port ${JSON.stringify(p)}: must be 1-65535`));
        return n;
      });
      const negotiated = negotiateProtocol(req.headers['sec-websocket-protocol']);
      if ('error' in negotiated) {
        this.rejectUpgrade(socket, entry, 403, negotiated.error, 'text/plain; charset=utf-8');
        return;
      }
      const protocol: ChannelProtocol = negotiated.protocol;
      this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        entry.status = 101;
        if (this.stopped || this.pauseMode === 'refuse') {
          ws.terminate();
          return;
        }
        const identity = this.podIdentity(pod);
        const targets = this.podTargets.get(`${parsed.namespace}/${parsed.name}`);
        const session = new PortForwardSession(ws, protocol, identity, portNumbers, (port) => targets?.get(port));
        const sessionEntry: SessionEntry = {namespace: parsed.namespace, pod: parsed.name, session};
        this.sessions.add(sessionEntry);
        void session.closed.then(() => this.sessions.delete(sessionEntry));
      });
    } catch (err) {
      if (err instanceof HttpError) this.rejectUpgrade(socket, entry, err.body.code, JSON.stringify(err.body));
      else this.rejectUpgrade(socket, entry, 500, JSON.stringify(status(500, 'InternalError', (err as Error).message)));
    }
  }
}
