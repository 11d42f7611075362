import {closeSync, openSync} from 'node:fs';
import type net from 'node:net';
import {devNull} from 'node:os';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {formatHostPort} from '../core/host-port.js';
import type {LocalConnections} from './local-connections.js';

// Opening the local port (the address family fallback, the coded errors with their fix) and
// keeping an eye on it once open (running out of file descriptors).

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

/**
 * Says once that the process ran out of file descriptors (new consumers are turned away then, see
 * outOfDescriptors); the connections already open keep working. Also keeps an accept error that
 * libuv does pass on from being an unhandled 'error' event, which would end the process.
 */
export function watchDescriptors(server: net.Server, connections: LocalConnections, events: TunnelEventBus): NodeJS.Timeout {
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

/** Listens on `port` (all addresses, IPv6 with IPv4, when `host` is undefined); resolves with the address taken, rejects with a coded error that names the fix. */
export async function listen(server: net.Server, port: number, host: string | undefined): Promise<string> {
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
