/**
 * The HTTP side of the simulated Kubernetes API server (src/sim/kube-api.ts): it listens,
 * authenticates each request (authentication.ts), and answers /version, health, discovery and
 * get/list of resources with the API server's JSON and Status bodies; lists are list.ts, watches
 * watches.ts, and port-forward upgrades port-forward-upgrade.ts.
 *
 * It owns what belongs to connections (the listener, open sockets, watches, port-forward sessions,
 * pausing); the cluster it serves owns the objects and the pods' targets. The cluster also supplies
 * the seams the tests' fake overrides (served-cluster.ts: access checks, request recording,
 * deferring work, extra routes).
 */
import http from 'node:http';
import https from 'node:https';
import type {AddressInfo, Socket} from 'node:net';
import {authenticate} from './authentication.js';
import {DEFAULT_VERSION, discoveryDocument, type VersionInfo} from './discovery.js';
import {listBody} from './list.js';
import type {KillMode} from './port-forward.js';
import {PortForwardUpgrades, type SessionEntry} from './port-forward-upgrade.js';
import {parseResourcePath, requestVerb, type ParsedResourcePath} from './resource-path.js';
import {qualifiedResource} from './resources.js';
import {HttpError, sendJson, status} from './responses.js';
import {
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type FieldSelector,
  type LabelSelector,
} from './selectors.js';
import type {PauseMode, RecordedRequest, ServedCluster} from './served-cluster.js';
import {WatchStreams, type OpenWatch} from './watches.js';

/** A serving certificate and the CA that signed it (the kubeconfig carries the CA). */
export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface KubeApiHttpOptions {
  /** Port to listen on (0 = any free port). Host is always 127.0.0.1. */
  port: number;
  /** Serve https with this certificate; http when absent. */
  tls?: ServingCertificate;
  /** Interval of BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs: number;
  /** Overrides for the /version document. */
  version?: Partial<VersionInfo>;
}

export class KubeApiHttpServer {
  /** Set while a test has the server paused (test/support/fake-kube-api.ts); the demo never pauses. */
  pauseMode: PauseMode | undefined;
  readonly #cluster: ServedCluster;
  readonly #upgrades: PortForwardUpgrades;
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #versionInfo: VersionInfo;
  readonly #watches: WatchStreams;
  #listenPort: number;
  #stopped = false;

  constructor(cluster: ServedCluster, options: KubeApiHttpOptions) {
    this.#cluster = cluster;
    this.#upgrades = new PortForwardUpgrades(cluster, this);
    this.#listenPort = options.port;
    this.#versionInfo = {...DEFAULT_VERSION, ...options.version};
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.#handleHttp(req, res);
    const tls = options.tls;
    this.#server = tls === undefined ? http.createServer(handler) : https.createServer({key: tls.keyPem, cert: tls.certPem}, handler);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.#upgrades.handle(req, socket, head));
    this.#watches = new WatchStreams(cluster, options.bookmarkIntervalMs);
  }

  get port(): number {
    return this.#listenPort;
  }

  // The tests' fake (pause, counters, dropped watches) reaches the watches and port-forward
  // sessions through the server, which owns them.

  /** Open watch streams. */
  get watches(): ReadonlySet<OpenWatch> {
    return this.#watches.open;
  }

  closeWatch(w: OpenWatch, abrupt: boolean): void {
    this.#watches.close(w, abrupt);
  }

  writeBookmark(w: OpenWatch): void {
    this.#watches.writeBookmark(w);
  }

  /** Open port-forward WebSockets. */
  get sessions(): ReadonlySet<SessionEntry> {
    return this.#upgrades.sessions;
  }

  /** How long each port-forward upgrade waits before it is handled (PortForwardUpgrades.delayMs). */
  get portForwardDelayMs(): number {
    return this.#upgrades.delayMs;
  }

  set portForwardDelayMs(ms: number) {
    this.#upgrades.delayMs = ms;
  }

  /** Port-forward upgrades accepted since the start (one session each), whether still open or not. */
  get portForwardsServed(): number {
    return this.#upgrades.served;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(this.#listenPort, '127.0.0.1', () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#listenPort = (this.#server.address() as AddressInfo).port;
  }

  /** Closes the listener and every connection (watches, port-forwards); listen() opens it again. */
  async closeEverything(): Promise<void> {
    for (const w of [...this.watches]) this.closeWatch(w, true);
    for (const entry of [...this.sessions]) entry.session.kill('terminate');
    const closed = this.#server.listening
      ? new Promise<void>((resolve) => this.#server.close(() => resolve()))
      : Promise.resolve();
    for (const socket of this.#sockets) socket.destroy();
    this.#server.closeAllConnections();
    await closed;
  }

  /** Closes everything for good. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.closeEverything();
    this.#upgrades.close();
  }

  /** Ends the port-forward streams of a pod (SimulatedKubeApi.killPodConnections says how). */
  killPodConnections(namespace: string, pod: string, mode: KillMode = 'terminate'): number {
    return this.#upgrades.killPodConnections(namespace, pod, mode);
  }

  #handleHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry = this.#cluster.record(req, url);
    res.on('finish', () => (entry.status = res.statusCode));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.#cluster.deferred(() => this.#answer(req, res, url, entry, chunks))) return;
      this.#answer(req, res, url, entry, chunks);
    });
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse, url: URL, entry: RecordedRequest, chunks: Buffer[]): void {
    try {
      if (this.pauseMode === 'unavailable') throw new HttpError(status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      const user = authenticate(req, url.pathname, this.#cluster);
      if (user !== 'system:anonymous') entry.user = user;
      entry.status = 200;
      this.#cluster.route(req, res, url, user, Buffer.concat(chunks));
    } catch (err) {
      if (err instanceof HttpError) sendJson(res, err.body.code, err.body);
      else sendJson(res, 500, status(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
    }
  }

  /** The API server's own paths: /version, health, discovery documents and resources. */
  serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL, user: string): void {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      if (path === '/version') return sendJson(res, 200, this.#versionInfo);
      if (path === '/healthz' || path === '/livez' || path === '/readyz') {
        res.writeHead(200, {'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff'});
        res.end('ok');
        return;
      }
      const discovery = discoveryDocument(path);
      if (discovery !== undefined) return sendJson(res, 200, discovery);
    }
    const parsed = parseResourcePath(path);
    if (parsed === undefined) throw new HttpError(status(404, 'NotFound', 'the server could not find the requested resource'));
    this.#serveResource(req, res, url, user, parsed);
  }

  #serveResource(req: http.IncomingMessage, res: http.ServerResponse, url: URL, user: string, p: ParsedResourcePath): void {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const watch = q.get('watch') === 'true' || q.get('watch') === '1';
    const verb = requestVerb(method, p.name, watch);
    const namespace = p.type.namespaced ? p.namespace : '';
    this.#cluster.checkAccess({user, verb, group: p.type.group, resource: p.type.plural, subresource: p.subresource, namespace, name: p.name});
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
    if (watch) return this.#watches.serve(res, p.type, namespace, labels, fields, q, headers);
    if (p.name !== '') {
      const obj = this.#cluster.store.get(p.type, namespace, p.name);
      if (obj === undefined) {
        throw new HttpError(status(404, 'NotFound', `${qualifiedResource(p.type)} "${p.name}" not found`, {
          name: p.name, ...(p.type.group === '' ? {} : {group: p.type.group}), kind: p.type.plural,
        }));
      }
      return sendJson(res, 200, obj, headers);
    }
    sendJson(res, 200, listBody(this.#cluster.store, p.type, namespace, labels, fields, q), headers);
  }


}
