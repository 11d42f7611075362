// Cluster-path section of `npm run bench` (`npm run bench -- cluster`): dubbo-tunnel's Kubernetes
// path, where every provider stream is a port-forward WebSocket through the API server, shared by
// all consumer connections (src/proxy/upstream-pool.ts). Loopback only:
//   consumer(s) -> `dubbo-tunnel up --all` (dist/, its own process) -> fake API server (its own
//   process, bench/cluster-api.mjs) -> WebSocket port-forward -> bench/provider.mjs
// and, as the yardstick for throughput, the same consumers through bench/plain-port-forward.mjs (one
// WebSocket per consumer connection, what `kubectl port-forward` does) to the same API server.
// Figures:
//   1. port-forward upgrades the API server served after C consumer connections each called M
//      applications (one pod each) once;
//   2. the first call on a new consumer connection to an application whose stream is open, with
//      the API server's port-forward set-up delayed by DELAY_MS, against the same call on an
//      established connection (taken alternately), and the first call to an application with no
//      stream yet (what a fresh tunnel pays) as the contrast;
//   3. throughput of small@64, large@8 and small@1 (bench/frames.mjs shapes, bench/load.mjs), and of
//      the bulk cases of this section (BULK_CASES: 220 KiB answers to small requests, 2 MiB frames
//      both ways and as answers only), with 1 consumer connection and with 8 at once (aggregate),
//      tunnel against the plain client, the order alternating every round and each ratio taken
//      within its round; with p50/p99, and each proxy's CPU per request and per MiB carried.
// Knobs: BENCH_CLUSTER_ROUNDS (5), BENCH_CLUSTER_CONSUMERS (C, 6), BENCH_CLUSTER_APPS (M, 3),
// BENCH_CLUSTER_NEW (new consumers of figure 2, 50), BENCH_CLUSTER_FRESH (fresh applications of the
// contrast, 5), BENCH_CLUSTER_DELAY_MS (200), BENCH_CLUSTER_MANY (consumers of the aggregate, 8),
// BENCH_CLUSTER_PATHS (plain,tunnel; add direct for consumer -> provider without the API server),
// BENCH_CLUSTER_TUNNEL_NODE_ARGS / BENCH_CLUSTER_PLAIN_NODE_ARGS (Node options of that process only,
// e.g. --cpu-prof --cpu-prof-dir=.bench-out/prof), BENCH_CLUSTER_PLAIN_MASK=zero (the plain client
// sends unmasked frames too, to measure what masking costs it),
// BENCH_WARMUP_MS / BENCH_DURATION_MS (300 / 1000), BENCH_CASES, BENCH_STRICT=1.
import process from 'node:process';
import console from 'node:console';
import {spawn} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import {dirname, join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {getUserRequestBody, HEADER_LENGTH, LARGE_BYTES, requestBody, responseBody, shapes, TARGET_APPLICATION, timedCases} from './frames.mjs';
import {cpuTimeOf, describeSpread, quantile, spread, startChild} from './harness.mjs';
import {OneCallConsumer, freePort, runLoad, verifyOnce} from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, '.bench-out');
const int = (name, fallback) => Number(process.env[name] ?? fallback);
const ROUNDS = int('BENCH_CLUSTER_ROUNDS', 5);
const CONSUMERS = int('BENCH_CLUSTER_CONSUMERS', 6);
const APPS = int('BENCH_CLUSTER_APPS', 3);
const NEW_CONSUMERS = int('BENCH_CLUSTER_NEW', 50);
const FRESH = int('BENCH_CLUSTER_FRESH', 5);
const DELAY_MS = int('BENCH_CLUSTER_DELAY_MS', 200);
const MANY = int('BENCH_CLUSTER_MANY', 8);
/** `direct` (consumer -> provider, no API server) can be added as a reference for both. */
const CONNECTION_COUNTS = [...new Set([1, MANY])];
const PATHS = (process.env.BENCH_CLUSTER_PATHS ?? 'plain,tunnel').split(',');
const WARMUP_MS = int('BENCH_WARMUP_MS', 300);
const DURATION_MS = int('BENCH_DURATION_MS', 1000);
const SHAPES = shapes();
const MIB = 1024 * 1024;
/**
 * The bulk shapes of this section. The provider answers by request body length, so each shape's
 * request has a length of its own (the answer-only requests are small echo calls of 512 and 513
 * bytes); `answers` tells the provider what to send back for them.
 */
const BULK = {
  largeAnswer: {name: 'large-answer', requestBytes: 512, responseBytes: LARGE_BYTES},
  huge: {name: 'huge', requestBytes: 2 * MIB, responseBytes: 2 * MIB},
  hugeAnswer: {name: 'huge-answer', requestBytes: 513, responseBytes: 2 * MIB},
};
for (const shape of Object.values(BULK)) Object.assign(shape, {request: requestBody(shape.requestBytes), response: responseBody(shape.responseBytes)});
const PROVIDER_ANSWERS = Object.values(BULK).map((shape) => [shape.requestBytes, shape.responseBytes]);
/** 220 KiB answers at 8 in flight like large@8; 2 MiB frames at 2 in flight (about as many bytes in flight). */
const BULK_CASES = [
  {name: 'large-answer@8', shape: BULK.largeAnswer, inFlight: 8},
  {name: 'huge@2', shape: BULK.huge, inFlight: 2},
  {name: 'huge-answer@2', shape: BULK.hugeAnswer, inFlight: 2},
].filter((c) => process.env.BENCH_CASES?.split(',').includes(c.name) ?? true);
const CASES = [...timedCases(), ...BULK_CASES];
/** Bytes one request moves through the proxy: both frames, headers included. */
const bytesPerRequest = (shape) => 2 * HEADER_LENGTH + shape.request.length + shape.response.length;

// Targets (docs/performance.md, "Cluster path").
const TARGET_FIRST_CALL_ADDED_MS = 5;
const TARGET_RATIO_ONE = 0.95;
const TARGET_RATIO_MANY = 1;
/** large@8: the tunnel's p99 (first connection, median over the rounds) at most this much over the plain client's. */
const TARGET_P99_ADDED_MS = 2;
const P99_CASES = new Set(['large@8']);

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');


const cpuMsOfChild = async (child) => {
  const {cpu} = await child.ask('cpu');
  return (cpu.user + cpu.system) / 1000;
};

/** `dubbo-tunnel up --all --no-ui` as a user runs it, against the fake cluster; resolves once every application is ready. */
async function startTunnel(kubeconfig, applications, scratch) {
  const port = await freePort();
  // No settings of whoever runs the bench; plain output as in CI. --no-learn: the bench measures the
  // data path, not the QoS port-forwards that learning exported services opens.
  const env = {...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DUBBO_TUNNEL_') && key !== 'KUBECONFIG')),
    DUBBO_TUNNEL_CONFIG_DIR: join(scratch, 'config'), CI: 'true', HOME: scratch};
  // e.g. --cpu-prof --cpu-prof-dir=<dir>: a profile of the tunnel alone (it exits cleanly on SIGTERM).
  const nodeArgs = (process.env.BENCH_CLUSTER_TUNNEL_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin/dubbo-tunnel.js'), 'up', '--all', '--no-ui', '--no-learn', '--kubeconfig', kubeconfig,
    '--port', String(port), '--host', '127.0.0.1'], {stdio: ['ignore', 'pipe', 'pipe'], env});
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
  let gone = false;
  void exited.then(() => (gone = true));
  const t0 = performance.now();
  const canConnect = () => new Promise((resolve) => {
    const s = net.connect({port, host: '127.0.0.1'});
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  const ready = () => applications.every((app) => new RegExp(`\\b${app}\\b.*: ready`).test(output));
  while (!ready() || !(await canConnect())) {
    if (gone) throw new Error(`dubbo-tunnel up exited before it was ready:\n${output.slice(-2000)}`);
    if (performance.now() - t0 > 60_000) throw new Error(`dubbo-tunnel up not ready in 60 s:\n${output.slice(-2000)}`);
    await sleep(20);
  }
  return {
    port, pid: child.pid, output: () => output,
    async stop() {
      child.kill('SIGTERM');
      return await exited;
    },
  };
}

/** Figure 1: C consumer connections each call M applications once; the port-forwards served meanwhile. */
async function sessionsFigure(api, tunnel, apps) {
  const before = (await api.ask('served')).served;
  const consumers = [];
  try {
    for (let c = 0; c < CONSUMERS; c++) consumers.push(await OneCallConsumer.connect(tunnel.port));
    for (const consumer of consumers) for (const app of apps) await consumer.call(getUserRequestBody(app));
    const after = await api.ask('served');
    return {consumers: CONSUMERS, applications: apps.length, calls: CONSUMERS * apps.length, served: after.served - before, open: after.open};
  } finally {
    for (const consumer of consumers) consumer.close();
  }
}

/**
 * Figure 2, with port-forward upgrades delayed by DELAY_MS: NEW_CONSUMERS times, a call on the
 * established connection and the first call on a new one (in alternating order), both to `app`,
 * whose stream is open; then the first call to each of the `fresh` applications (no stream yet).
 */
async function firstCallFigure(api, tunnel, app, fresh) {
  const body = getUserRequestBody(app);
  const established = await OneCallConsumer.connect(tunnel.port);
  await established.call(body);
  await api.ask('delay', 'delay', 15000, {ms: DELAY_MS});
  try {
    const servedBefore = (await api.ask('served')).served;
    const firstCall = [];
    const connectAndFirstCall = [];
    const onEstablished = [];
    const newOne = async () => {
      const t0 = performance.now();
      const consumer = await OneCallConsumer.connect(tunnel.port);
      const {ms} = await consumer.call(body);
      connectAndFirstCall.push(performance.now() - t0);
      firstCall.push(ms);
      consumer.close();
    };
    for (let i = 0; i < NEW_CONSUMERS; i++) {
      if (i % 2 === 0) {
        onEstablished.push((await established.call(body)).ms);
        await newOne();
      } else {
        await newOne();
        onEstablished.push((await established.call(body)).ms);
      }
    }
    const servedForNew = (await api.ask('served')).served - servedBefore;
    const freshFirstCall = [];
    for (const freshApp of fresh) {
      const consumer = await OneCallConsumer.connect(tunnel.port);
      freshFirstCall.push((await consumer.call(getUserRequestBody(freshApp))).ms);
      consumer.close();
    }
    return {firstCall, connectAndFirstCall, onEstablished, servedForNew, freshFirstCall};
  } finally {
    established.close();
    await api.ask('delay', 'delay', 15000, {ms: 0});
  }
}

/** One case on one path with `consumers` connections at once; rates add up, latencies are the first connection's. */
async function runCase(target, testCase, consumers, api) {
  const cpuBefore = await target.cpuMs();
  const apiBefore = await cpuMsOfChild(api);
  const servedBefore = (await api.ask('served')).served;
  let results;
  try {
    results = await Promise.all(Array.from({length: consumers}, () =>
      runLoad(target.port, {bytes: testCase.shape, inFlight: testCase.inFlight, warmupMs: WARMUP_MS, durationMs: DURATION_MS})));
  } catch (error) {
    return {error: error.message};
  }
  const cpu = (await target.cpuMs()) - cpuBefore;
  const apiCpu = (await cpuMsOfChild(api)) - apiBefore;
  const opened = (await api.ask('served')).served - servedBefore;
  const total = results.reduce((n, r) => n + r.total, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const mib = (total * bytesPerRequest(testCase.shape)) / MIB;
  return {
    reqPerSec: results.reduce((n, r) => n + r.reqPerSec, 0),
    p50: results[0].p50, p99: results[0].p99, max: Math.max(...results.map((r) => r.max)), opened,
    cpuPerReqUs: (cpu * 1000) / total, apiCpuPerReqUs: (apiCpu * 1000) / total, cpuPerMiBUs: (cpu * 1000) / mib,
    ...(errors > 0 ? {error: `${errors} bad answers`} : {}),
  };
}

export async function clusterBench() {
  const t0 = Date.now();
  mkdirSync(out, {recursive: true});
  console.log(`dubbo-tunnel cluster-path bench: node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`${CONSUMERS} consumers x ${APPS} applications; ${NEW_CONSUMERS} new consumers with port-forwards delayed ${DELAY_MS} ms; ` +
    `${ROUNDS} rounds of ${CASES.map((c) => c.name).join(', ')} with 1 and ${MANY} consumers (warm-up ${WARMUP_MS} + ${DURATION_MS} ms each)\n`);
  const scratch = mkdtempSync(join(os.tmpdir(), 'dubbo-tunnel-cluster-bench-'));
  const provider = startChild('provider.mjs', [JSON.stringify(PROVIDER_ANSWERS)]);
  const api = startChild('cluster-api.mjs', [], []);
  const stoppers = [];
  const results = {};
  try {
    const providerPort = (await provider.ready).port;
    await api.ready;
    const apps = Array.from({length: APPS}, (_, i) => `app-${i}`);
    const fresh = Array.from({length: FRESH}, (_, i) => `fresh-${i}`);
    const all = [...apps, ...fresh, TARGET_APPLICATION];
    const setup = await api.ask('setup', 'setup', 30000, {dir: scratch, apps: all.map((name) => ({name, pods: [{name: `${name}-0`, port: providerPort}]}))});
    const tunnel = await startTunnel(setup.kubeconfig, all, scratch);
    stoppers.push(async () => {
      await tunnel.stop();
      // What the tunnel said (streams opened and closed, errors), for reading a surprising figure.
      writeFileSync(join(out, 'cluster-tunnel.log'), tunnel.output());
    });

    process.stdout.write('  1. port-forward sessions...\n');
    results.sessions = await sessionsFigure(api, tunnel, apps);
    process.stdout.write(`  2. first call on a new consumer connection (port-forward set-up delayed ${DELAY_MS} ms)...\n`);
    results.firstCall = await firstCallFigure(api, tunnel, apps[0], fresh);

    process.stdout.write('  3. throughput, tunnel against the plain port-forward client...\n');
    const plain = startChild('plain-port-forward.mjs', [setup.url, setup.token, 'default', `${TARGET_APPLICATION}-0`, String(setup.containerPorts[TARGET_APPLICATION]),
      ...(process.env.BENCH_CLUSTER_PLAIN_MASK === 'zero' ? ['zero-mask'] : [])], (process.env.BENCH_CLUSTER_PLAIN_NODE_ARGS ?? '').split(' ').filter(Boolean));
    stoppers.push(async () => {
      await plain.ask('stop', 'stopped');
      await plain.exited;
    });
    const byPath = {
      plain: {path: 'plain', port: (await plain.ready).port, cpuMs: () => cpuMsOfChild(plain)},
      tunnel: {path: 'tunnel', port: tunnel.port, cpuMs: async () => cpuTimeOf(tunnel.pid)},
      direct: {path: 'direct', port: providerPort, cpuMs: async () => NaN},
    };
    const targets = Object.fromEntries(PATHS.map((path) => [path, byPath[path]]));
    // Each path keeps one idle consumer connection open, as a running consumer application does: the
    // plain client opens one WebSocket per connection, so without it every run's new connection would
    // pay a port-forward set-up (the tunnel's shared stream lingers after its last consumer anyway).
    for (const target of Object.values(targets)) {
      const keeper = await OneCallConsumer.connect(target.port);
      await keeper.call(SHAPES.small.request);
      stoppers.push(async () => keeper.close());
    }
    // Both paths answer byte-exactly before they are timed, and get the same warm-up.
    for (const target of Object.values(targets)) for (const shape of [...Object.values(SHAPES), ...Object.values(BULK)]) await verifyOnce(target.port, shape);
    for (const target of Object.values(targets)) for (const testCase of CASES) await runLoad(target.port, {bytes: testCase.shape, inFlight: testCase.inFlight, warmupMs: 1000, durationMs: 1});
    const runs = [];
    const paths = PATHS;
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? paths : [...paths].reverse();
      for (const consumers of CONNECTION_COUNTS) {
        for (const testCase of CASES) {
          const line = [];
          for (const path of order) {
            const r = await runCase(targets[path], testCase, consumers, api);
            runs.push({round, path, consumers, case: testCase.name, ...r});
            line.push(`${path} ${r.error ? `FAILED (${r.error})` : `${fmtInt(r.reqPerSec)}/s max ${fmt(r.max, 1)} ms, ${r.opened} port-forwards opened`}`);
          }
          console.log(`  round ${String(round).padStart(2)} ${testCase.name.padEnd(14)} x${String(consumers).padEnd(2)} ${line.join(' | ')}`);
        }
      }
    }
    results.runs = runs;
    results.tunnelServed = (await api.ask('served')).served;
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
    await api.ask('stop', 'stopped').catch(() => {});
    provider.child.send({type: 'stop'});
    await provider.exited;
    rmSync(scratch, {recursive: true, force: true});
  }

  // ----------------------------------------------------------------------------- report
  const checks = [];
  const s = results.sessions;
  console.log(`\n1. port-forward upgrades served after ${s.consumers} consumer connections x ${s.applications} applications (one pod each), ${s.calls} calls: ${s.served} (${s.open} open at the end)`);
  checks.push({name: `port-forward sessions for ${s.consumers} consumers x ${s.applications} applications = ${s.applications} (was ${s.consumers * s.applications})`, value: `${s.served}`, pass: s.served === s.applications});

  const f = results.firstCall;
  const first = spread(f.firstCall);
  const established = spread(f.onEstablished);
  const connectFirst = spread(f.connectAndFirstCall);
  const fresh = spread(f.freshFirstCall);
  const p99 = (values) => quantile(values, 0.99);
  console.log(`\n2. one getUser call, port-forward set-up delayed ${DELAY_MS} ms (ms)       p50      p99      max   n`);
  const row = (label, values) => console.log(`   ${label.padEnd(62)} ${fmt(quantile(values, 0.5), 3).padStart(7)}  ${fmt(p99(values), 3).padStart(7)}  ${fmt(quantile(values, 1), 3).padStart(7)}  ${values.length}`);
  row('on an established consumer connection (the call itself)', f.onEstablished);
  row('first call on a new consumer connection, stream open', f.firstCall);
  row('  the same, connect included', f.connectAndFirstCall);
  row('first call to an application with no stream yet (fresh tunnel)', f.freshFirstCall);
  console.log(`   port-forwards served during the ${f.firstCall.length} new consumers: ${f.servedForNew}`);
  const added = first.median - established.median;
  checks.push({name: `first call on a new consumer connection: p50 <= ${TARGET_FIRST_CALL_ADDED_MS} ms over the call itself`,
    value: `+${fmt(added, 3)} ms (p50 ${fmt(first.median, 3)} vs ${fmt(established.median, 3)} ms; p99 ${fmt(p99(f.firstCall), 3)} vs ${fmt(p99(f.onEstablished), 3)}; connect included p50 ${fmt(connectFirst.median, 3)}; fresh tunnel p50 ${fmt(fresh.median, 1)} ms; ${f.servedForNew} port-forwards opened)`,
    pass: added <= TARGET_FIRST_CALL_ADDED_MS && f.servedForNew === 0});

  const runs = results.runs;
  console.log('\n3. throughput on the cluster path, median over the rounds (IQR); CPU per request of the proxy and of the API server, and the proxy\'s per MiB carried (both frames)');
  console.log(['case'.padEnd(14), 'conns'.padStart(5), 'path'.padEnd(7), 'req/s'.padStart(22), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'proxy µs/req'.padStart(13), 'API µs/req'.padStart(11), 'proxy µs/MiB'.padStart(13), 'ratio'.padStart(34)].join(' '));
  for (const consumers of CONNECTION_COUNTS) {
    for (const testCase of CASES) {
      const mine = (path) => runs.filter((r) => r.path === path && r.case === testCase.name && r.consumers === consumers);
      const ratios = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const [p, t] = ['plain', 'tunnel'].map((path) => mine(path).find((r) => r.round === round));
        if (p && t && !p.error && !t.error) ratios.push(t.reqPerSec / p.reqPerSec);
      }
      const ratio = spread(ratios);
      const failed = [...mine('plain'), ...mine('tunnel')].find((r) => r.error);
      for (const path of PATHS) {
        const rs = mine(path);
        const rate = spread(rs.map((r) => r.reqPerSec));
        console.log([testCase.name.padEnd(14), String(consumers).padStart(5), path.padEnd(7),
          `${fmtInt(rate.median)} (${fmtInt(rate.q1)}–${fmtInt(rate.q3)})`.padStart(22),
          fmt(spread(rs.map((r) => r.p50)).median, 3).padStart(8), fmt(spread(rs.map((r) => r.p99)).median, 3).padStart(8),
          fmt(spread(rs.map((r) => r.cpuPerReqUs)).median, 1).padStart(13), fmt(spread(rs.map((r) => r.apiCpuPerReqUs)).median, 1).padStart(11),
          fmt(spread(rs.map((r) => r.cpuPerMiBUs)).median, 0).padStart(13),
          (path === 'tunnel' ? `${fmt(ratio.median, 3)}x (${fmt(ratio.q1, 3)}–${fmt(ratio.q3, 3)})` : '').padStart(34)].join(' '));
      }
      const target = consumers === 1 ? TARGET_RATIO_ONE : TARGET_RATIO_MANY;
      const who = consumers === 1 ? '1 consumer' : `${consumers} consumers (aggregate)`;
      checks.push({name: `${testCase.name} ${who}: tunnel/plain >= ${target}x (median)`,
        value: failed ? failed.error : describeSpread(ratio, 3, 'x'), pass: !failed && ratio.median >= target});
      if (P99_CASES.has(testCase.name)) {
        const [plainP99, tunnelP99] = ['plain', 'tunnel'].map((path) => spread(mine(path).map((r) => r.p99)).median);
        const addedP99 = tunnelP99 - plainP99;
        checks.push({name: `${testCase.name} ${who}: tunnel p99 <= plain p99 + ${TARGET_P99_ADDED_MS} ms (first connection, median over the rounds)`,
          value: failed ? failed.error : `${addedP99 >= 0 ? '+' : ''}${fmt(addedP99, 3)} ms (${fmt(tunnelP99, 3)} vs ${fmt(plainP99, 3)} ms)`,
          pass: !failed && addedP99 <= TARGET_P99_ADDED_MS});
      }
    }
  }

  console.log('\ntargets:');
  for (const check of checks) console.log(`  ${check.pass ? 'MET   ' : 'MISSED'}  ${check.name}: ${check.value}`);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`\ncluster bench took ${fmt(seconds)} s, load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; raw results in .bench-out/cluster.json`);
  writeFileSync(join(out, 'cluster.json'), JSON.stringify({
    node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), rounds: ROUNDS, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
    delayMs: DELAY_MS, results, checks, seconds,
  }, null, 2));
  if (process.env.BENCH_STRICT === '1' && checks.some((check) => !check.pass)) process.exitCode = 1;
}
