/**
 * Port-forward upgrades of the simulated API server: a GET on pods/<name>/portforward is checked
 * (authentication, "get" and "create" access, a running pod with a node, the ports, the channel
 * subprotocol) and becomes a WebSocket PortForwardSession into the pod's local targets; a refusal
 * is written as a plain HTTP answer on the socket.
 */
import {createHash} from 'node:crypto';
import http from 'node:http';
import type {Socket} from 'node:net';
import {WebSocketServer, type WebSocket} from 'ws';
import {authenticate} from './authentication.js';
import {
  negotiateProtocol,
  PORT_FORWARD_PROTOCOLS,
  PortForwardSession,
  type ChannelProtocol,
  type KillMode,
  type PodIdentity,
} from './port-forward.js';
import {parseResourcePath} from './resource-path.js';
import {HttpError, status} from './responses.js';
import type {PauseMode, RecordedRequest, ServedCluster} from './served-cluster.js';
import {record, text, type KubeObject} from './types.js';

export interface SessionEntry {
  namespace: string;
  pod: string;
  session: PortForwardSession;
}

/** What an upgrade asks of the server that received it. */
export interface UpgradeServingState {
  readonly pauseMode: PauseMode | undefined;
  readonly stopped: boolean;
}

export class PortForwardUpgrades {
  /** Open port-forward WebSockets. */
  readonly sessions = new Set<SessionEntry>();
  /**
   * How long each port-forward upgrade waits before it is handled, standing in for a real API
   * server's and kubelet's set-up time (tests and the bench set it; the demo answers at once).
   */
  delayMs = 0;
  /** Port-forward upgrades accepted since the start (one session each), whether still open or not. */
  served = 0;
  readonly #cluster: ServedCluster;
  readonly #state: UpgradeServingState;
  // The handshake must answer the chosen subprotocol: ws clients fail "Server sent no subprotocol"
  // otherwise. The set keeps the client's order, and the first supported entry wins (wsstream).
  readonly #wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) => {
      for (const p of offered) if ((PORT_FORWARD_PROTOCOLS as readonly string[]).includes(p)) return p;
      return false;
    },
  });

  constructor(cluster: ServedCluster, state: UpgradeServingState) {
    this.#cluster = cluster;
    this.#state = state;
  }

  /** Closes the WebSocket server for good. */
  close(): void {
    this.#wss.close();
  }

  /** Ends the port-forward streams of a pod (SimulatedKubeApi.killPodConnections says how). */
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

  #podIdentity(pod: KubeObject): PodIdentity {
    const digest = createHash('sha256').update(String(pod.metadata.uid)).digest('hex');
    const u = digest.slice(0, 32);
    return {
      namespace: String(pod.metadata.namespace),
      name: pod.metadata.name,
      sandboxId: digest,
      netnsPath: `/var/run/netns/cni-${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20, 32)}`,
    };
  }

  #rejectUpgrade(socket: Socket, entry: RecordedRequest, code: number, body: string, contentType = 'application/json'): void {
    entry.status = code;
    const text = `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? ''}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    socket.end(text);
  }

  handle(req: http.IncomingMessage, socket: Socket, head: Buffer, delayed = false): void {
    if (!delayed && this.delayMs > 0) {
      setTimeout(() => {
        // The client may have given up, or the server stopped, meanwhile.
        if (!socket.destroyed) this.handle(req, socket, head, true);
      }, this.delayMs);
      return;
    }
    if (this.#cluster.deferred(() => this.handle(req, socket, head, true))) return;
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry = this.#cluster.record(req, url);
    socket.on('error', () => socket.destroy());
    try {
      if (this.#state.pauseMode === 'unavailable') throw new HttpError(status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      const user = authenticate(req, url.pathname, this.#cluster);
      entry.user = user;
      const parsed = parseResourcePath(url.pathname);
      if (parsed === undefined || parsed.subresource !== 'portforward' || parsed.name === '') {
        throw new HttpError(status(404, 'NotFound', 'the server could not find the requested resource'));
      }
      const base = {user, group: '', resource: 'pods', subresource: 'portforward', namespace: parsed.namespace, name: parsed.name};
      // The GET upgrade needs "get"; since v1.35 (AuthorizePodWebsocketUpgradeCreatePermission) also "create".
      this.#cluster.checkAccess({...base, verb: 'get'});
      this.#cluster.checkAccess({...base, verb: 'create'});
      const pod = this.#cluster.store.get(parsed.type, parsed.namespace, parsed.name);
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
        this.#rejectUpgrade(socket, entry, 403, negotiated.error, 'text/plain; charset=utf-8');
        return;
      }
      const protocol: ChannelProtocol = negotiated.protocol;
      this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        entry.status = 101;
        if (this.#state.stopped || this.#state.pauseMode === 'refuse') {
          ws.terminate();
          return;
        }
        const identity = this.#podIdentity(pod);
        const session = new PortForwardSession(ws, protocol, identity, portNumbers, (port) => this.#cluster.podTarget(parsed.namespace, parsed.name, port));
        const sessionEntry: SessionEntry = {namespace: parsed.namespace, pod: parsed.name, session};
        this.served++;
        this.sessions.add(sessionEntry);
        void session.closed.then(() => this.sessions.delete(sessionEntry));
      });
    } catch (err) {
      if (err instanceof HttpError) this.#rejectUpgrade(socket, entry, err.body.code, JSON.stringify(err.body));
      else this.#rejectUpgrade(socket, entry, 500, JSON.stringify(status(500, 'InternalError', (err as Error).message)));
    }
  }
}
