import net from 'node:net';
import type {Backend, BackendStream} from '../core/backend.js';
import {BackendError} from '../core/errors.js';
import {formatHostPort} from '../core/host-port.js';

export interface HostPort {
  host: string;
  port: number;
}

/** A fixed `host:port` provider (`--backend user-rpc=127.0.0.1:20881`, optionally `,qos=22222`). */
export class StaticBackend implements Backend {
  readonly application: string;
  readonly host: string;
  readonly port: number;
  /** The provider's QoS port, when the user gave it: discovery asks it `GET /ls`. */
  readonly qos: HostPort | undefined;
  readonly connectQos: ((signal?: AbortSignal) => Promise<BackendStream>) | undefined;

  constructor(application: string, host: string, port: number, options: {qos?: HostPort} = {}) {
    this.application = application;
    this.host = host;
    this.port = port;
    this.qos = options.qos;
    const qos = options.qos;
    this.connectQos = qos ? (signal) => this.#open(qos.host, qos.port, signal) : undefined;
  }

  describe(): string {
    return formatHostPort(this.host, this.port);
  }

  connect(signal?: AbortSignal): Promise<BackendStream> {
    return this.#open(this.host, this.port, signal);
  }

  #open(host: string, port: number, signal: AbortSignal | undefined): Promise<BackendStream> {
    const remote = formatHostPort(host, port);
    return new Promise((resolve, reject) => {
      const socket = net.connect({host, port, signal});
      socket.setNoDelay(true);
      const onError = (error: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(new BackendError(`${this.application}: cannot connect to ${remote}: ${describeSocketError(error)}`, {
          hint: `check that the provider of '${this.application}' is running and listening on ${remote}`,
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
 * Parses `name=host:port` (IPv6 as `[::1]:20881`), optionally followed by `,qos=<port>` (the QoS port on the
 * same host) or `,qos=<host>:<port>`.
 */
export function parseBackendSpec(spec: string): {application: string; host: string; port: number; qos?: HostPort} | undefined {
  const [main = '', ...extras] = spec.trim().split(',');
  const match = /^([^=\s]+)=(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(main);
  if (!match) return undefined;
  const port = Number(match[4]);
  if (port < 1 || port > 65535) return undefined;
  const host = match[2] ?? match[3] ?? '';
  const parsed: {application: string; host: string; port: number; qos?: HostPort} = {application: match[1] ?? '', host, port};
  for (const extra of extras) {
    const qos = /^qos=(?:(?:\[([^\]]+)\]|([^:\s]+)):)?(\d{1,5})$/.exec(extra.trim());
    if (!qos || parsed.qos) return undefined;
    const qosPort = Number(qos[3]);
    if (qosPort < 1 || qosPort > 65535) return undefined;
    parsed.qos = {host: qos[1] ?? qos[2] ?? host, port: qosPort};
  }
  return parsed;
}
