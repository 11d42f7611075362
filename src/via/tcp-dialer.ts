import net from 'node:net';
import type {BackendStream} from '../core/backend.js';
import {BackendError} from '../core/errors.js';
import {formatHostPort} from '../core/host-port.js';
import type {GatewayDialer} from './gateway-link.js';

/** `up --via <host>:<port>`: a TCP connection to the address the platform exposes the gateway on. */
export function tcpDialer(host: string, port: number): GatewayDialer {
  const remote = formatHostPort(host, port);
  return {
    describe: () => remote,
    connect: (signal) => new Promise<BackendStream>((resolve, reject) => {
      const socket = net.connect({host, port, ...(signal === undefined ? {} : {signal})});
      socket.setNoDelay(true);
      const onError = (error: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(new BackendError(`cannot connect to the gateway at ${remote}: ${error.code ?? error.message}`, {
          hint: `check that the gateway's load balancer answers on ${remote} (VPN, firewall), or use --via <namespace>/<service> to reach it through the API server`,
          cause: error,
        }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve({stream: socket, remote});
      });
    }),
  };
}
