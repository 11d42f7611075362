// The proxy under test, in its own process so its RSS and CPU are measured apart from the load
// generator: `node --expose-gc bench/proxy.mjs relay|tunnel <providerPort>`. dubbo-tunnel is loaded
// from .bench-out/tunnel-core.js, which bench/run.mjs bundles from src/ with the same esbuild
// settings as the published dist/ (scripts/build.mjs). Talks to bench/run.mjs over IPC.
// BENCH_LISTENER and BENCH_INSPECT (with BENCH_RECORD_FILE, BENCH_RECORD_MAX_SIZE) shape the tunnel.
import process from 'node:process';
import v8 from 'node:v8';
import {Writable} from 'node:stream';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {startRelay} from './relay.mjs';
import {TARGET_APPLICATION} from './frames.mjs';

const [mode, providerPortText] = process.argv.slice(2);
const providerPort = Number(providerPortText);
const completed = {ok: 0, failed: 0, lastError: undefined};

/**
 * What listens to the tunnel's events, as in the CLI (BENCH_LISTENER): `dashboard` (default) is the
 * dashboard's StatsStore, as `up` in a terminal has; `lines` is the line reporter at info level,
 * as `up --no-ui` has (its output discarded); `none` only counts. Every variant also counts
 * completed requests for the bench's correctness check.
 */
const LISTENER = process.env.BENCH_LISTENER ?? 'dashboard';

/**
 * The call inspector around the tunnel (BENCH_INSPECT, bench/inspector.mjs). Unset: the listener
 * alone, as the throughput section has always measured it. Otherwise the session's CallCapture
 * and call outputs are built by the function `up` calls (startCallOutputs), and then: `off` holds
 * nothing (`up` without the calls view or a recording); `log` holds the call log open with one
 * subscriber, as the dashboard's calls view does, rendering nothing; `record` records every call
 * to BENCH_RECORD_FILE as `up --record <file> --record-max-size <BENCH_RECORD_MAX_SIZE>` does.
 */
const INSPECT = process.env.BENCH_INSPECT;
const discard = () => new Writable({write: (_chunk, _encoding, done) => done()});
/** What the recording said in the session's log (lines written, and any it had to drop). */
const recordingLog = [];
let captured = 0;

async function startInspector(core) {
  if (INSPECT === undefined) return {listen: {}, stop: async () => {}};
  if (!['off', 'log', 'record'].includes(INSPECT)) throw new Error(`BENCH_INSPECT=${INSPECT}: expected off, log or record`);
  const events = new core.TunnelEventBus();
  const capture = new core.CallCapture();
  events.on('log', ({level, message}) => {
    if (message.startsWith('recording')) recordingLog.push({level, message});
  });
  events.on('call-captured', () => captured++);
  const options = INSPECT === 'record'
    ? core.callOutputOptionsFrom({record: process.env.BENCH_RECORD_FILE, 'record-max-size': process.env.BENCH_RECORD_MAX_SIZE})
    : undefined;
  const calls = await core.startCallOutputs(options, {events, capture, stdout: discard()});
  if (INSPECT === 'log') {
    calls.log.open();
    calls.log.subscribe(() => {});
  }
  return {listen: {events, capture}, stop: () => calls.stop()};
}

async function startTunnel() {
  const core = await import('../.bench-out/tunnel-core.js');
  const {TunnelServer, StaticBackend, RouteSource, createRouteTable, StatsStore, attachLineReporter} = core;
  const routes = new RouteSource(createRouteTable([new StaticBackend(TARGET_APPLICATION, '127.0.0.1', providerPort)]));
  const inspector = await startInspector(core);
  const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes, ...inspector.listen});
  if (LISTENER === 'dashboard') new StatsStore(server.events, {logLevel: 'info'}).subscribe(() => {});
  if (LISTENER === 'lines') attachLineReporter(server.events, {out: discard(), level: 'info', json: false});
  server.events.on('request-completed', (event) => {
    if (event.ok) completed.ok++;
    else {
      completed.failed++;
      completed.lastError = event.error ?? `status ${event.status}`;
    }
  });
  return {
    port: server.port,
    close: async () => {
      await server.close(100);
      // As `up` stops: the calls captured last are decoded and written, and the recording closed.
      await inspector.stop();
    },
  };
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
    captured,
    recordingLog: [...recordingLog],
  };
}

/**
 * Bytes allocated on the JS heap between 'alloc-start' and 'alloc-stop': what each collection
 * found in use minus what the previous one left, plus what is in use now beyond the last one's
 * leftovers. V8 has no allocation counter of its own; its GC profiler sees every collection.
 */
let allocation;
function allocationStart() {
  const profiler = new v8.GCProfiler();
  profiler.start();
  allocation = {profiler, startUsed: v8.getHeapStatistics().used_heap_size};
}
function allocationStop() {
  const nowUsed = v8.getHeapStatistics().used_heap_size;
  const {statistics} = allocation.profiler.stop();
  let allocated = 0;
  let lastAfter = allocation.startUsed;
  for (const gc of statistics) {
    allocated += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - lastAfter);
    lastAfter = gc.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += Math.max(0, nowUsed - lastAfter);
  allocation = undefined;
  return {allocated, collections: statistics.length};
}

/**
 * CPU and allocation profiles of a window of the run (bench/profile.mjs), through the inspector
 * in this process: the sampling heap profiler keeps the samples of objects already collected, so
 * it sees every short-lived allocation of the request path, which `--heap-prof` does not.
 */
let inspector;
let profiling;
/** `what`: 'cpu' (V8's CPU profiler) or 'heap' (allocations); one at a time, so neither skews the other. */
async function profileStart(what) {
  const {Session} = await import('node:inspector/promises');
  inspector = new Session();
  inspector.connect();
  profiling = what;
  if (what === 'cpu') {
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', {interval: 250});
    await inspector.post('Profiler.start');
  } else {
    await inspector.post('HeapProfiler.enable');
    await inspector.post('HeapProfiler.startSampling', {samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true});
  }
}
async function profileStop() {
  const dir = process.env.BENCH_PROFILE_DIR ?? '.';
  if (profiling === 'cpu') {
    const {profile} = await inspector.post('Profiler.stop');
    writeFileSync(join(dir, 'tunnel.cpuprofile'), JSON.stringify(profile));
  } else {
    const {profile} = await inspector.post('HeapProfiler.stopSampling');
    writeFileSync(join(dir, 'tunnel.heapprofile'), JSON.stringify(profile));
  }
  inspector.disconnect();
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
  if (msg.type === 'captured') process.send({type: 'captured', captured});
  if (msg.type === 'alloc-start') {
    allocationStart();
    process.send({type: 'alloc-start'});
  }
  if (msg.type === 'profile-start') {
    await profileStart(msg.what);
    process.send({type: 'profile-start'});
  }
  if (msg.type === 'profile-stop') {
    await profileStop();
    process.send({type: 'profile-stop'});
  }
  if (msg.type === 'alloc-stop') process.send({type: 'alloc-stop', ...allocationStop()});
  if (msg.type === 'handles') process.send({type: 'handles', handles: handles()});
  if (msg.type === 'stop') {
    await proxy.close();
    process.send({type: 'stopped', sample: sample()});
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
