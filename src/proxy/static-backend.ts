import net from 'node:net';
import type {Backend, BackendPort, BackendStream} from '../core/backend.js';
import {BackendError} from '../core/errors.js';
import {formatHostPort} from '../core/host-port.js';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * A fixed `host:port` provider (`--backend user-rpc=127.0.0.1:20881`), optionally with a Triple
 * port (`--backend user-rpc=tri://127.0.0.1:50051`), or with only a Triple port, and optionally with
 * its QoS port (`--backend user-rpc=qos://127.0.0.1:22222`), which discovery asks `GET /ls`.
 */
export class StaticBackend implements Backend {
  readonly application: string;
  /** The Dubbo port's address (the Triple port's for an application that has only that). */
  readonly host: string;
  readonly port: number;
  readonly triple: BackendPort | undefined;
  /** False for an application reached only over Triple. */
  readonly hasDubboPort: boolean;
  readonly qos: BackendPort | undefined;
  /** Told when a connect for traffic fails (the session's reachability then checks the address again). */
  #onConnectFailed: (() => void) | undefined;

  constructor(application: string, host: string, port: number, options: {triple?: HostPort; tripleOnly?: boolean; qos?: HostPort} = {}) {
    this.application = application;
    this.host = host;
    this.port = port;
    this.triple = options.triple === undefined ? undefined : new StaticTriplePort(application, options.triple, () => this.#onConnectFailed?.());
    this.hasDubboPort = options.tripleOnly !== true || this.triple === undefined;
    const qos = options.qos;
    this.qos = qos === undefined ? undefined : {
      describe: () => `qos://${formatHostPort(qos.host, qos.port)}`,
      connect: (signal) => connectTcp(application, qos.host, qos.port, signal),
    };
  }

  get tripleOnly(): boolean {
    return !this.hasDubboPort;
  }

  /** An application reached only over Triple (`--backend app=tri://host:port` alone). */
  static tripleOnly(application: string, triple: HostPort): StaticBackend {
    return new StaticBackend(application, triple.host, triple.port, {triple, tripleOnly: true});
  }

  describe(): string {
    return this.hasDubboPort ? formatHostPort(this.host, this.port) : (this.triple?.describe() ?? '');
  }

  connect(signal?: AbortSignal): Promise<BackendStream> {
    if (!this.hasDubboPort) {
      return Promise.reject(new BackendError(`${this.application} has only a Triple port (${this.describe()}), no dubbo:// port`, {
        hint: `call it with a Triple or gRPC client, or give its Dubbo port with --backend ${this.application}=<host>:<port>`,
      }));
    }
    return connectTcp(this.application, this.host, this.port, signal).catch((error: unknown) => {
      this.#onConnectFailed?.();
      throw error;
    });
  }

  /** One listener (the reachability of the source that owns this backend) for failed connects. */
  whenConnectFails(listener: (() => void) | undefined): void {
    this.#onConnectFailed = listener;
  }
}

/** The Triple (HTTP/2) port of a static backend. */
class StaticTriplePort implements BackendPort {
  readonly #application: string;
  readonly #address: HostPort;
  readonly #onConnectFailed: () => void;

  constructor(application: string, address: HostPort, onConnectFailed: () => void) {
    this.#application = application;
    this.#address = address;
    this.#onConnectFailed = onConnectFailed;
  }

  describe(): string {
    return `tri://${formatHostPort(this.#address.host, this.#address.port)}`;
  }

  connect(signal?: AbortSignal): Promise<BackendStream> {
    return connectTcp(this.#application, this.#address.host, this.#address.port, signal).catch((error: unknown) => {
      this.#onConnectFailed();
      throw error;
    });
  }
}

function connectTcp(application: string, host: string, port: number, signal: AbortSignal | undefined): Promise<BackendStream> {
  const remote = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    const socket = net.connect({host, port, signal});
    socket.setNoDelay(true);
    const onError = (error: NodeJS.ErrnoException) => {
      socket.destroy();
      reject(new BackendError(`${application}: cannot connect to ${remote}: ${describeSocketError(error)}`, {
        hint: `check that the provider of '${application}' is running and listening on ${remote}`,
        cause: error,
      }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve({stream: socket, remote});
    });
  });
}

export function describeSocketError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset by the provider';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENOTFOUND':
      return 'host name not found';
    case 'EPIPE':
      return 'the provider closed the connection';
    case undefined:
    default:
      return error.message;
  }
}

/**
 * Parses `name=host:port` (IPv6 as `[::1]:20881`). `dubbo://host:port` is the same; `tri://host:port`
 * is the application's Triple (HTTP/2) port; `qos://host:port` its QoS port (for learning its services).
 * The port is any number of digits here, so the caller can say "out of range" for `:0` or `:70000`
 * instead of "not <application>=<host>:<port>".
 */
export function parseBackendSpec(spec: string): {application: string; host: string; port: number; protocol: 'dubbo' | 'triple' | 'qos'} | undefined {
  const match = /^([^=\s]+)=(dubbo:\/\/|tri:\/\/|qos:\/\/)?(?:\[([^\]]+)\]|([^:/\s]+)):(\d+)\/?$/.exec(spec.trim());
  if (!match) return undefined;
  return {application: match[1] ?? '', host: match[3] ?? match[4] ?? '', port: Number(match[5]), protocol: match[2] === 'tri://' ? 'triple' : match[2] === 'qos://' ? 'qos' : 'dubbo'};
}
