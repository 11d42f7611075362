import net from 'node:net';
import type {Backend, BackendStream} from '../core/backend.js';
import {BackendError} from '../core/errors.js';
import {formatHostPort} from '../core/host-port.js';

/** A fixed `host:port` provider (`--backend user-rpc=127.0.0.1:20881`). */
export class StaticBackend implements Backend {
  readonly application: string;
  readonly host: string;
  readonly port: number;

  constructor(application: string, host: string, port: number) {
    this.application = application;
    this.host = host;
    this.port = port;
  }

  describe(): string {
    return formatHostPort(this.host, this.port);
  }

  connect(signal?: AbortSignal): Promise<BackendStream> {
    const remote = this.describe();
    return new Promise((resolve, reject) => {
      const socket = net.connect({host: this.host, port: this.port, signal});
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

/** Parses `name=host:port` (IPv6 as `[::1]:20881`). */
export function parseBackendSpec(spec: string): {application: string; host: string; port: number} | undefined {
  const match = /^([^=\s]+)=(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(spec.trim());
  if (!match) return undefined;
  const port = Number(match[4]);
  if (port < 1 || port > 65535) return undefined;
  return {application: match[1] ?? '', host: match[2] ?? match[3] ?? '', port};
}
