import net from 'node:net';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {TunnelEventBus} from '../core/events.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import {encodeHeartbeatRequest} from '../protocol/responses.js';
import {formatHostPort} from '../core/host-port.js';
import {TunnelServer} from '../proxy/tunnel-server.js';
import {NO_ROUTES} from '../router/route-table.js';

export interface Listener {
  port: number;
  host?: string | undefined;
  allowRemote?: boolean;
}

export interface PortVerdict {
  status: 'ok' | 'fail';
  problem?: 'in-use' | 'not-allowed' | 'no-address';
  summary: string;
  details: string[];
  fix?: string;
  /** Where it listened (ok), or a free port nearby (in use). */
  listenedOn?: string;
  freePort?: number;
}

/** Listens exactly as `up` does (TunnelServer, same host fallback and exclusivity), then closes again. */
async function tryListen(listener: Listener): Promise<string> {
  const server = await TunnelServer.start({
    port: listener.port,
    ...(listener.host === undefined ? {} : {host: listener.host}),
    allowRemote: listener.allowRemote ?? false,
    routes: NO_ROUTES,
    events: new TunnelEventBus(),
  });
  const where = formatHostPort(server.host, server.port);
  await server.close(0);
  return where;
}

/** The first port after `port` that `up` could listen on, trying a few. */
async function nearbyFreePort(listener: Listener, tries = 20): Promise<number | undefined> {
  for (let port = listener.port + 1; port <= Math.min(65535, listener.port + tries); port++) {
    try {
      await tryListen({...listener, port});
      return port;
    } catch {
      // taken as well: try the next one
    }
  }
  return undefined;
}

/**
 * Who holds the port: sends a Dubbo heartbeat request to 127.0.0.1:port (ExchangeCodec event frame
 * with the hessian2 null body) and waits briefly for the answer HeartbeatHandler would send.
 */
export function probeHolder(port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({host: '127.0.0.1', port});
    let settled = false;
    const finish = (text: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      decoder.close();
      socket.destroy();
      resolve(text);
    };
    const decoder = new FrameDecoder({
      frame: (header) => {
        if (!header.isRequest && header.event) finish('a Dubbo server answers on it (an earlier dubbo-tunnel up, or a Dubbo provider started on this machine?)');
      },
      oversize: () => finish('whatever listens there does not speak Dubbo'),
      fatal: () => finish('whatever listens there does not speak Dubbo'),
    });
    const timer = setTimeout(() => finish(`whatever listens there did not answer a Dubbo heartbeat within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.write(encodeHeartbeatRequest(1n)));
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => finish('nothing answers on 127.0.0.1 (it may listen on another address only)'));
    socket.on('close', () => finish('whatever listens there closed the connection without answering in Dubbo'));
  });
}

export async function judgePort(listener: Listener): Promise<PortVerdict> {
  try {
    const where = await tryListen(listener);
    return {status: 'ok', summary: `port ${listener.port} is free: dubbo-tunnel could listen on ${where}`, details: [], listenedOn: where};
  } catch (error) {
    const mapped = error instanceof DubboTunnelError ? error : undefined;
    if (mapped?.code === 'DT_ERR_PORT_IN_USE') {
      const [holder, free] = await Promise.all([probeHolder(listener.port), nearbyFreePort(listener)]);
      return {
        status: 'fail', problem: 'in-use', summary: mapped.message, details: [holder],
        fix: `stop the other process (lsof -i :${listener.port} shows it)${free === undefined ? ', or choose another port with --port <port>' : `, or use a free port: --port ${free}`}`,
        ...(free === undefined ? {} : {freePort: free}),
      };
    }
    const message = mapped?.message ?? errorMessage(error);
    return {
      status: 'fail', problem: mapped?.code === 'DT_ERR_LISTEN_NOT_ALLOWED' ? 'not-allowed' : 'no-address', summary: message, details: [],
      ...(mapped?.hint === undefined ? {} : {fix: mapped.hint}),
    };
  }
}
