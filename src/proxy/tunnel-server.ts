import net from 'node:net';
import type {Backend} from '../core/backend.js';
import type {CallCapture} from '../core/calls.js';
import {formatHostPort} from '../core/host-port.js';
import {TunnelEventBus} from '../core/events.js';
import {DEFAULT_PAYLOAD} from '../protocol/header.js';
import type {RouteView} from '../router/route-table.js';
import type {AdmissionFactory} from './admission.js';
import {ConsumerConnection} from './consumer-connection.js';
import {DEFAULT_DRAIN_TIMEOUT_MS, Drain} from './drain.js';
import {sniffFirstBytes} from './first-bytes.js';
import type {FirstBytesProtocol} from './first-bytes.js';
import {TelnetShell} from './telnet-shell.js';
import type {ShellInvoker} from './telnet-invoke.js';
import {TunnelActivity} from './tunnel-activity.js';
import {TripleConnection} from './http2/triple-connection.js';
import {TripleUpstreams} from './http2/triple-upstreams.js';
import {HttpJsonPort} from './http1/http-json-port.js';
import {UpstreamPool} from './upstream-pool.js';
import {LocalConnections} from './local-connections.js';
import type {AcceptedSocket} from './local-connections.js';
import {LocalPeerPolicy, consumerFacingAddresses, normalizeAddress} from './local-peer.js';
import {listen, watchDescriptors} from './listen.js';

export interface TunnelServerOptions {
  /** Local port; 0 picks a free one (tests). */
  port: number;
  /**
   * Listen address. Default: every address of this machine (Java consumers told `localhost`
   * connect to the LAN address), with the local-peer check keeping everyone else out.
   */
  host?: string;
  /** Accept peers that are not this machine (prints a warning). */
  allowRemote?: boolean;
  routes: RouteView;
  events?: TunnelEventBus;
  attachmentKey?: string;
  maxBodyLength?: number;
  /** Injected in tests: which addresses count as this machine. */
  peerPolicy?: LocalPeerPolicy;
  /**
   * Close a consumer connection that sent nothing for this long and is owed nothing (0 = never).
   * Default DEFAULT_IDLE_TIMEOUT_MS.
   */
  idleTimeoutMs?: number;
  /** Most Dubbo streams to one pod or address, shared by every consumer (default DEFAULT_STREAMS_PER_POD). */
  streamsPerPod?: number;
  /**
   * How long a shared Dubbo stream that no consumer connection uses any more stays open, so a
   * consumer that reconnects meanwhile needs no new port-forward (0 = close it at once).
   * Default DEFAULT_SHARED_STREAM_LINGER_MS.
   */
  sharedStreamLingerMs?: number;
  /** For the telnet shell's `ls`: a note per application (e.g. what discovery learned, or why not). */
  describeApplication?: (application: string) => string | undefined;
  /** Idle telnet shells are closed after this long (default 5 minutes, like Dubbo's QoS). */
  telnetIdleMs?: number;
  /** How long a stop waits for the answers in flight (--drain-timeout; default DEFAULT_DRAIN_TIMEOUT_MS). */
  drainTimeoutMs?: number;
  /** Makes the telnet shell's `invoke` calls (the CLI gives the built-in consumer); without it `invoke` is not offered. */
  telnetInvoke?: ShellInvoker;
  /**
   * The books the telnet shell's `ps` and `status` read. A session passes one that listened before
   * its sources started (so it saw their first backend states); else the listener makes its own.
   * Closed with the listener.
   */
  activity?: TunnelActivity;
  /**
   * Who may use each accepted Dubbo or HTTP/2 connection (the team gateway). Without one every
   * request is routed; with one, telnet shells and HTTP/1.1 calls are refused too (they would bypass it).
   */
  admission?: AdmissionFactory;
  /**
   * Whether calls are captured for the call inspector (the calls view, a recording): while it is
   * on, each call's bytes are copied into `call-captured` events. None, or off: nothing is copied.
   */
  capture?: CallCapture;
}

/**
 * A Dubbo consumer sends a heartbeat on a connection that read nothing for 60 s
 * (`DEFAULT_HEARTBEAT`, NettyClientHandler), and a Dubbo provider closes a channel idle for
 * 3 x 60 s = 180 s (NettyServer's IdleStateHandler). Five minutes lets a consumer with a longer
 * heartbeat keep its connection, while connections that never say anything are let go.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

/** The one local Dubbo port. Owns the listening socket and the consumer connections. */
export class TunnelServer {
  readonly events: TunnelEventBus;
  readonly #options: TunnelServerOptions;
  readonly #policy: LocalPeerPolicy;
  readonly #allowRemote: boolean;
  readonly #server: net.Server;
  readonly #connections: LocalConnections;
  readonly #tripleUpstreams: TripleUpstreams;
  /** The Dubbo streams to providers, shared by every consumer connection. */
  readonly #upstreams: UpstreamPool;
  readonly #activity: TunnelActivity;
  /** HTTP/1.1 calls as JSON (curl, Postman), sent through the same upstreams as consumers'. */
  readonly #http: HttpJsonPort;
  #descriptorCheck: NodeJS.Timeout | undefined;
  #nextId = 1;
  /** False until listening: server.close() stops new connections later by itself. */
  #accepting = false;
  #host = '';
  #port = 0;
  #closing: Promise<void> | undefined;
  /** Aborted by stopWaiting(): a stop then answers what is in flight with an error instead of waiting. */
  readonly #atOnce = new AbortController();

  private constructor(options: TunnelServerOptions) {
    this.#options = options;
    this.events = options.events ?? new TunnelEventBus();
    this.#policy = options.peerPolicy ?? new LocalPeerPolicy();
    this.#allowRemote = options.allowRemote ?? false;
    this.#connections = new LocalConnections(this.events, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    this.#tripleUpstreams = new TripleUpstreams(this.events);
    this.#upstreams = new UpstreamPool(this.events, options.maxBodyLength ?? DEFAULT_PAYLOAD, {
      ...(options.streamsPerPod === undefined ? {} : {streamsPerPod: options.streamsPerPod}),
      ...(options.sharedStreamLingerMs === undefined ? {} : {lingerMs: options.sharedStreamLingerMs}),
    });
    this.#activity = options.activity ?? new TunnelActivity(this.events);
    this.#http = new HttpJsonPort({
      routes: options.routes,
      events: this.events,
      attachmentKey: options.attachmentKey ?? 'target-application',
      maxBodyLength: options.maxBodyLength ?? DEFAULT_PAYLOAD,
      upstreams: this.#upstreams,
      tripleUpstreams: this.#tripleUpstreams,
      ...(options.capture === undefined ? {} : {capture: options.capture}),
    });
    this.#server = net.createServer({noDelay: true, allowHalfOpen: true}, (socket) => this.#accept(socket));
  }

  static async start(options: TunnelServerOptions): Promise<TunnelServer> {
    const tunnel = new TunnelServer(options);
    try {
      tunnel.#host = await listen(tunnel.#server, options.port, options.host);
    } catch (error) {
      tunnel.#connections.close();
      tunnel.#activity.close();
      throw error;
    }
    const address = tunnel.#server.address();
    tunnel.#port = typeof address === 'object' && address ? address.port : options.port;
    tunnel.#descriptorCheck = watchDescriptors(tunnel.#server, tunnel.#connections, tunnel.events);
    tunnel.#accepting = true;
    // With an admission (the team gateway) remote peers are the point, and each is checked.
    if (tunnel.#allowRemote && options.admission === undefined) {
      tunnel.events.log('warn', `--allow-remote: any machine that can reach port ${tunnel.#port} may call your providers through this tunnel`);
    }
    tunnel.events.emit('listening', {addresses: tunnel.consumerAddresses(), port: tunnel.#port, allowRemote: tunnel.#allowRemote, scheme: consumerScheme(options.routes.current.backends.values())});
    return tunnel;
  }

  /** The address listened on (`::` or `0.0.0.0` for all of this machine's). */
  get host(): string {
    return this.#host;
  }

  get port(): number {
    return this.#port;
  }

  /** A new consumer socket: past the local-peer gate, booked, and handed on once its first bytes tell its protocol. */
  #accept(socket: net.Socket): void {
    const peer = formatHostPort(normalizeAddress(socket.remoteAddress ?? '?'), socket.remotePort ?? 0);
    if (!this.#admits(socket, peer)) return;
    if (!this.#accepting) {
      socket.destroy();
      return;
    }
    const id = this.#nextId++;
    this.events.emit('connection-opened', {connectionId: id, peer});
    const accepted = this.#connections.accepted(socket, id, peer);
    sniffFirstBytes(socket, (protocol) => this.#handOff(socket, accepted, id, peer, protocol));
  }

  /** The local-peer rule: only this machine's own addresses, unless --allow-remote. */
  #admits(socket: net.Socket, peer: string): boolean {
    if (this.#allowRemote || this.#policy.allows(socket.remoteAddress)) return true;
    socket.destroy();
    this.events.emit('connection-refused', {peer, reason: 'not a local address (pass --allow-remote to accept other machines)'});
    return false;
  }

  /**
   * Gives the socket to what its first bytes asked for. sniffFirstBytes left it paused with those
   * bytes put back: a Dubbo connection, a telnet shell or node's HTTP/1.1 server reads them once
   * resumed; node's HTTP/2 session takes buffered bytes itself on its next tick.
   */
  #handOff(socket: net.Socket, accepted: AcceptedSocket, id: number, peer: string, protocol: FirstBytesProtocol): void {
    const options = this.#options;
    const events = this.events;
    if (protocol === 'gone') {
      accepted.gone();
      events.emit('connection-closed', {connectionId: id, peer});
      return;
    }
    if ((protocol === 'telnet' || protocol === 'http1') && options.admission !== undefined) {
      socket.destroy();
      accepted.gone();
      events.emit('connection-closed', {connectionId: id, peer, reason: `${protocol === 'telnet' ? 'telnet' : 'HTTP/1.1'} is not offered on this port`});
      return;
    }
    this.#activity.handedTo(id, protocol === 'http2' ? 'triple' : protocol === 'http1' ? 'http' : protocol);
    if (protocol === 'http1') {
      // Idle keep-alive connections are node's HTTP server's to close, and the listener's idle timeout still applies.
      accepted.handTo(this.#http.take(socket, id, peer), true);
      return;
    }
    if (protocol === 'telnet') {
      const shell = new TelnetShell(socket, {
        id, peer, events, routes: options.routes, activity: this.#activity,
        ...(options.describeApplication ? {describe: options.describeApplication} : {}),
        ...(options.telnetIdleMs === undefined ? {} : {idleMs: options.telnetIdleMs}),
        ...(options.telnetInvoke ? {invoke: options.telnetInvoke} : {}),
      });
      // The shell closes idle sessions itself, with a word to the user (it sets the socket's timer).
      accepted.handTo(shell, false);
      socket.resume();
      return;
    }
    const attachmentKey = options.attachmentKey ?? 'target-application';
    const admission = options.admission?.({id, peer});
    const capture = options.capture === undefined ? {} : {capture: options.capture};
    if (protocol === 'http2') {
      // node's HTTP/2 session reads the socket natively, so its byte counters would not show its
      // traffic: the Triple side keeps HTTP/2 connections alive or ends them with GOAWAY.
      accepted.handTo(new TripleConnection(socket, {id, peer, routes: options.routes, events, attachmentKey, upstreams: this.#tripleUpstreams, ...(admission === undefined ? {} : {admission}), ...capture}), false);
      return;
    }
    accepted.handTo(new ConsumerConnection(socket, {id, peer, routes: options.routes, events, attachmentKey, maxBodyLength: options.maxBodyLength ?? DEFAULT_PAYLOAD, upstreams: this.#upstreams, ...(admission === undefined ? {} : {admission}), ...capture}), true);
    socket.resume();
  }

  /** Where a consumer on this machine can connect. */
  consumerAddresses(): string[] {
    if (this.host === '::' || this.host === '0.0.0.0') {
      return ['localhost', ...consumerFacingAddresses()].map((host) => formatHostPort(host, this.port));
    }
    return [formatHostPort(this.host, this.port)];
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Dubbo streams to providers open or opening, shared by the consumer connections. */
  get upstreamCount(): number {
    return this.#upstreams.streamCount;
  }

  /**
   * Stops accepting, tells every consumer (READONLY, GOAWAY) and lets what is in flight finish for
   * up to `graceMs` (default: the drainTimeoutMs option), answers the rest with an error, and closes
   * every connection; the provider streams close last, once their answers came. Safe to call more
   * than once.
   */
  close(graceMs = this.#options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#descriptorCheck);
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const drain = new Drain(this.events, graceMs, () => this.#connections.pendingCount, this.#atOnce.signal);
      await this.#connections.shutdown(graceMs, drain.signal);
      drain.finish();
      this.#tripleUpstreams.close();
      this.#upstreams.close('dubbo-tunnel is shutting down');
      await closed;
      this.#activity.close();
    })();
    return this.#closing;
  }

  /**
   * A stop no longer waits (a second `q`, Ctrl-C or signal): what is still in flight is answered
   * with DT_ERR_STOPPED_BEFORE_ANSWER now, and close() finishes. Before close(), it makes close() not wait.
   */
  stopWaiting(): void {
    this.#atOnce.abort();
  }
}

/**
 * The scheme to give consumers: `tri` only when there are routed applications and none of them has
 * a Dubbo port (a Dubbo consumer could reach none of them); routes are in place before the
 * listener opens (session start order), so this is what the session serves.
 */
function consumerScheme(backends: Iterable<Backend>): 'dubbo' | 'tri' {
  let any = false;
  for (const backend of backends) {
    if (backend.tripleOnly !== true) return 'dubbo';
    any = true;
  }
  return any ? 'tri' : 'dubbo';
}
