// The proxy under test, in its own process so its RSS and CPU are measured apart from the load
// generator: `node --expose-gc bench/proxy.mjs relay|tunnel <providerPort>`. dubbo-tunnel is loaded
// from .bench-out/tunnel-core.js, which bench/run.mjs bundles from src/ with the same esbuild
// settings as the published dist/ (scripts/build.mjs). Talks to bench/run.mjs over IPC.
import process from 'node:process';
import {startRelay} from './relay.mjs';
import {TARGET_APPLICATION} from './frames.mjs';

const [mode, providerPortText] = process.argv.slice(2);
const providerPort = Number(providerPortText);
const completed = {ok: 0, failed: 0, lastError: undefined};

async function startTunnel() {
  const {TunnelServer, StaticBackend, RouteSource, createRouteTable} = await import('../.bench-out/tunnel-core.js');
  const routes = new RouteSource(createRouteTable([new StaticBackend(TARGET_APPLICATION, '127.0.0.1', providerPort)]));
  const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes});
  // The CLI always has a reporter listening for completed requests; count them like it would.
  server.events.on('request-completed', (event) => {
    if (event.status === 20) completed.ok++;
    else {
      completed.failed++;
      completed.lastError = event.error ?? `status ${event.status}`;
    }
  });
  return {port: server.port, close: () => server.close(100)};
}

function sample() {
  // Two full collections so "heap after" is live data only, not garbage waiting for a GC.
  globalThis.gc?.();
  globalThis.gc?.();
  const mem = process.memoryUsage();
  return {
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    maxRss: process.resourceUsage().maxRSS * 1024,
    cpu: process.cpuUsage(),
    completed: {...completed},
  };
}

const proxy = mode === 'tunnel' ? await startTunnel() : await startRelay(providerPort);
process.send({type: 'ready', port: proxy.port, sample: sample()});
/** Socket states, for diagnosing a stalled run (`handles` message). */
function handles() {
  return process._getActiveHandles()
    .filter((h) => h.constructor.name === 'Socket' && h.remotePort)
    .map((h) => ({
      local: h.localPort, remote: h.remotePort, paused: h.isPaused(), bytesRead: h.bytesRead, bytesWritten: h.bytesWritten,
      writableLength: h.writableLength, readableLength: h.readableLength, needDrain: h.writableNeedDrain,
    }));
}

process.on('message', async (msg) => {
  if (msg.type === 'sample') process.send({type: 'sample', sample: sample()});
  if (msg.type === 'cpu') process.send({type: 'cpu', cpu: process.cpuUsage()});
  if (msg.type === 'handles') process.send({type: 'handles', handles: handles()});
  if (msg.type === 'stop') {
    await proxy.close();
    process.send({type: 'stopped', sample: sample()});
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
