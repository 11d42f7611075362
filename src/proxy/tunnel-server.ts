import {closeSync, openSync} from 'node:fs';
import net from 'node:net';
import {devNull} from 'node:os';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {formatHostPort} from '../core/host-port.js';
import {TunnelEventBus} from '../core/events.js';
import {DEFAULT_PAYLOAD} from '../protocol/header.js';
import type {RouteView} from '../router/route-table.js';
import {sniffHttp2Preface, sniffTelnet} from '../protocol/sniff.js';
import {ConsumerConnection} from './consumer-connection.js';
import {TelnetShell} from './telnet-shell.js';
import {TripleConnection} from './http2/triple-connection.js';
import {TripleUpstreams} from './http2/triple-upstreams.js';
import {IdleSockets} from './idle-sockets.js';
import {LocalPeerPolicy, consumerFacingAddresses, normalizeAddress} from './local-peer.js';

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
  /** For the telnet shell's `ls`: a note per application (e.g. what discovery learned, or why not). */
  describeApplication?: (application: string) => string | undefined;
  /** Idle telnet shells are closed after this long (default 5 minutes, like Dubbo's QoS). */
  telnetIdleMs?: number;
}

/**
 * A Dubbo consumer sends a heartbeat on a connection that read nothing for 60 s
 * (`DEFAULT_HEARTBEAT`, NettyClientHandler), and a Dubbo provider closes a channel idle for
 * 3 x 60 s = 180 s (NettyServer's IdleStateHandler). Five minutes lets a consumer with a longer
 * heartbeat keep its connection, while connections that never say anything are let go.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

/** A consumer connection as the listener sees it: Dubbo, HTTP/2, or not yet known. */
interface LocalConnection {
  shutdown(graceMs: number): Promise<void>;
  /** Closes the connection when nothing is owed (the idle timeout fired); returns whether it did. */
  closeIfIdle?(): boolean;
}

/** Errors that mean this process has no file descriptors left (per process / system-wide). */
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

/** How often the listener checks for running out of file descriptors (see descriptorsLeft). */
const DESCRIPTOR_CHECK_MS = 2000;

/**
 * Out of descriptors, libuv turns away the connections it cannot accept without telling node (it
 * accepts each one on a spare descriptor and closes it at once, uv__emfile_trick), so the listener
 * never hears of them. Opening the null device fails with the same EMFILE/ENFILE exactly when
 * accept() does, so that is what is checked. Returns the error code, or undefined when all is well.
 */
function outOfDescriptors(): string | undefined {
  try {
    closeSync(openSync(devNull, 'r'));
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && OUT_OF_DESCRIPTORS.has(code) ? code : undefined;
  }
}

/** The one local Dubbo port. Owns the listening socket and the consumer connections. */
export class TunnelServer {
  readonly events: TunnelEventBus;
  readonly port: number;
  readonly host: string;
  readonly #server: net.Server;
  readonly #connections: Set<LocalConnection>;
  readonly #tripleUpstreams: TripleUpstreams;
  readonly #descriptorCheck: NodeJS.Timeout;
  readonly #idle: IdleSockets | undefined;
  #closing: Promise<void> | undefined;

  private constructor(server: net.Server, connections: Set<LocalConnection>, tripleUpstreams: TripleUpstreams, idle: IdleSockets | undefined, events: TunnelEventBus, host: string, port: number) {
    this.#idle = idle;
    this.#server = server;
    this.#descriptorCheck = watchDescriptors(server, connections, events);
    this.#connections = connections;
    this.#tripleUpstreams = tripleUpstreams;
    this.events = events;
    this.host = host;
    this.port = port;
  }

  static async start(options: TunnelServerOptions): Promise<TunnelServer> {
    const events = options.events ?? new TunnelEventBus();
    const policy = options.peerPolicy ?? new LocalPeerPolicy();
    const allowRemote = options.allowRemote ?? false;
    let nextId = 1;
    let accepting = false;
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let idleCloseLogged = false;
    const idle = idleTimeoutMs > 0 ? new IdleSockets(idleTimeoutMs) : undefined;
    const connections = new Set<LocalConnection>();
    const tripleUpstreams = new TripleUpstreams(events);
    const server = net.createServer({noDelay: true, allowHalfOpen: true}, (socket) => {
      const peer = formatHostPort(normalizeAddress(socket.remoteAddress ?? '?'), socket.remotePort ?? 0);
      if (!allowRemote && !policy.allows(socket.remoteAddress)) {
        socket.destroy();
        events.emit('connection-refused', {peer, reason: 'not a local address (pass --allow-remote to accept other machines)'});
        return;
      }
      if (!accepting) {
        socket.destroy();
        return;
      }
      const id = nextId++;
      events.emit('connection-opened', {connectionId: id, peer});
      // Until its first bytes arrive, shutting down just closes the socket, and so does the idle
      // timeout: a peer that connected and never said anything is owed nothing.
      const undecided: LocalConnection = {
        shutdown: () => Promise.resolve(void socket.destroy()),
        closeIfIdle: () => {
          socket.destroy();
          return true;
        },
      };
      let current = undecided;
      connections.add(undecided);
      // Any byte in either direction counts as activity; a connection skipped because it was
      // owed something is looked at again at the next check.
      idle?.watch(socket, () => {
        if (!current.closeIfIdle?.()) return false;
        if (!idleCloseLogged) {
          idleCloseLogged = true;
          events.log('info', `closed consumer #${id} (${peer}): it sent nothing for ${Math.round(idleTimeoutMs / 1000)} s (a Dubbo consumer sends a heartbeat every 60 s); idle connections are closed after --idle-timeout <seconds>, and further ones are not logged`);
        }
        return true;
      });
      socket.once('close', () => idle?.unwatch(socket));
      sniffFirstBytes(socket, (protocol) => {
        connections.delete(undecided);
        if (protocol === 'gone') {
          events.emit('connection-closed', {connectionId: id, peer});
          return;
        }
        if (protocol === 'telnet') {
          const shell = new TelnetShell(socket, {id, peer, events, routes: options.routes, ...(options.describeApplication ? {describe: options.describeApplication} : {}), ...(options.telnetIdleMs === undefined ? {} : {idleMs: options.telnetIdleMs})});
          connections.add(shell);
          // The shell closes idle sessions itself, with a word to the user (it sets the socket's timer).
          idle?.unwatch(socket);
          current = shell;
          shell.onClosed(() => connections.delete(shell));
          socket.resume();
          return;
        }
        const common = {id, peer, routes: options.routes, events, attachmentKey: options.attachmentKey ?? 'target-application'};
        const connection = protocol === 'http2'
          ? new TripleConnection(socket, {...common, upstreams: tripleUpstreams})
          : new ConsumerConnection(socket, {...common, maxBodyLength: options.maxBodyLength ?? DEFAULT_PAYLOAD});
        connections.add(connection);
        current = connection;
        // node's HTTP/2 session reads the socket natively, so its byte counters would not show its
        // traffic: the Triple side keeps HTTP/2 connections alive or ends them with GOAWAY.
        if (protocol === 'http2') idle?.unwatch(socket);
        connection.onClosed(() => connections.delete(connection));
        // sniffFirstBytes paused the socket with its first bytes put back. The Dubbo connection reads
        // them once resumed; node's HTTP/2 session takes buffered bytes itself on its next tick.
        if (protocol === 'dubbo') socket.resume();
      });
    });

    let host: string;
    try {
      host = await listen(server, options.port, options.host);
    } catch (error) {
      idle?.close();
      throw error;
    }
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const instance = new TunnelServer(server, connections, tripleUpstreams, idle, events, host, port);
    // server.close() stops new 'connection' events by itself; this only covers the moment
    // between listen() and having an instance.
    accepting = true;
    if (allowRemote) {
      events.log('warn', `--allow-remote: any machine that can reach port ${port} may call your providers through this tunnel`);
    }
    events.emit('listening', {addresses: instance.consumerAddresses(), port, allowRemote});
    return instance;
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

  /**
   * Stops accepting, lets in-flight requests finish (up to `graceMs`), answers the rest with an
   * error, and closes every connection. Safe to call more than once.
   */
  close(graceMs = 3000): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#descriptorCheck);
      this.#idle?.close();
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      await Promise.all([...this.#connections].map((connection) => connection.shutdown(graceMs)));
      this.#tripleUpstreams.close();
      await closed;
    })();
    return this.#closing;
  }
}

/**
 * Port unification: reads until the first bytes tell the HTTP/2 preface (a Triple or gRPC client) and
 * a typed line of text (the telnet shell) from anything else (Dubbo, which starts with 0xdabb), then
 * puts them back and leaves the socket paused for whoever takes it.
 */
function sniffFirstBytes(socket: net.Socket, decided: (protocol: 'http2' | 'telnet' | 'dubbo' | 'gone') => void): void {
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const http2 = sniffHttp2Preface(head);
    const telnet = http2 === 'no' ? sniffTelnet(head) : 'no';
    if (http2 === 'more' || telnet === 'more') return;
    stop();
    socket.pause();
    socket.unshift(head);
    decided(http2 === 'http2' ? 'http2' : telnet === 'telnet' ? 'telnet' : 'dubbo');
  };
  // A peer that leaves before saying anything needs no connection object.
  const onGone = () => {
    stop();
    socket.destroy();
    decided('gone');
  };
  const stop = () => {
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
    socket.off('error', onGone);
  };
  socket.on('data', onData);
  socket.on('end', onGone);
  socket.on('close', onGone);
  socket.on('error', onGone);
}

/**
 * Says once that the process ran out of file descriptors (new consumers are turned away then, see
 * outOfDescriptors); the connections already open keep working. Also keeps an accept error that
 * libuv does pass on from being an unhandled 'error' event, which would end the process.
 */
function watchDescriptors(server: net.Server, connections: ReadonlySet<LocalConnection>, events: TunnelEventBus): NodeJS.Timeout {
  let said = false;
  const say = (code: string): void => {
    if (said) return;
    said = true;
    events.log('error', `out of file descriptors (${code}): new consumer connections are turned away while ${connections.size} are open; raise the limit (ulimit -n) or let idle consumers go sooner (--idle-timeout); this is said once`);
  };
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== undefined && OUT_OF_DESCRIPTORS.has(error.code)) say(error.code);
    else events.log('error', `could not accept a consumer connection: ${errorMessage(error)}`);
  });
  const timer = setInterval(() => {
    if (said) {
      clearInterval(timer);
      return;
    }
    const code = outOfDescriptors();
    if (code !== undefined) say(code);
  }, DESCRIPTOR_CHECK_MS);
  timer.unref();
  return timer;
}

async function listen(server: net.Server, port: number, host: string | undefined): Promise<string> {
  const attempt = (address: string) =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      // ipv6Only false: '::' also takes IPv4 peers (as ::ffff:a.b.c.d).
      server.listen({port, host: address, ipv6Only: false, exclusive: true});
    });
  const candidates = host === undefined ? ['::', '0.0.0.0'] : [host];
  let lastError: unknown;
  for (const candidate of candidates) {
    try {
      await attempt(candidate);
      return candidate;
    } catch (error) {
      lastError = error;
      const code = (error as NodeJS.ErrnoException).code;
      // No IPv6 on this machine: fall back to IPv4 only. Anything else is final.
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') break;
    }
  }
  throw listenError(lastError, port, host);
}

function listenError(error: unknown, port: number, host: string | undefined): DubboTunnelError {
  const code = (error as NodeJS.ErrnoException).code;
  const where = host === undefined ? `port ${port}` : `${formatHostPort(host, port)}`;
  if (code === 'EADDRINUSE') {
    return new DubboTunnelError('DT_ERR_PORT_IN_USE', `${where} is already in use by another process`, {
      hint: `stop the other process (see: lsof -i :${port}) or choose another port with --port <port>`,
      cause: error,
    });
  }
  if (code === 'EACCES') {
    return new DubboTunnelError('DT_ERR_LISTEN_NOT_ALLOWED', `not allowed to listen on ${where}`, {
      hint: 'choose a port above 1023 with --port <port>',
      cause: error,
    });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new DubboTunnelError('DT_ERR_LISTEN_ADDRESS', `cannot listen on ${where}: the address is not on this machine`, {
      hint: 'pass a local address with --host (or leave --host out to listen on all of this machine\'s addresses)',
      cause: error,
    });
  }
  return new DubboTunnelError('DT_ERR_LISTEN', `cannot listen on ${where}: ${errorMessage(error)}`, {cause: error});
}
