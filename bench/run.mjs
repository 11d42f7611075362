#!/usr/bin/env node
// dubbo-tunnel benchmark (`npm run bench`). Three paths in one run, same provider, same load:
//   direct  consumer -> provider
//   relay   consumer -> plain TCP relay (bench/relay.mjs) -> provider
//   tunnel  consumer -> dubbo-tunnel (bundled like dist/, see bundleTunnelCore) -> provider
// Body sizes 1 KiB and 256 KiB, 1 and 64 requests in flight on one connection. Three processes:
// this one (load generator), the provider, and each proxy under test in its own process, so the
// proxy's RSS and CPU are its own. Loopback only. The three paths run back to back for each case
// (interleaved, not path after path) so background load on a shared machine hits them alike.
// `npm run bench -- startup` runs only the start-up and footprint section (bench/startup.mjs).
// Knobs: BENCH_WARMUP_MS, BENCH_DURATION_MS, BENCH_ROUNDS, BENCH_LONG_MS, BENCH_PATHS, BENCH_STRICT=1.
import process from 'node:process';
import console from 'node:console';
import {setTimeout, clearTimeout} from 'node:timers';
import {fork} from 'node:child_process';
import {mkdirSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {setTimeout as sleep} from 'node:timers/promises';
import {SIZES} from './frames.mjs';
import {oneShot, runLoad, verifyOnce} from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 250);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LONG_MS = Number(process.env.BENCH_LONG_MS ?? 20000);
const IN_FLIGHT = [1, 64];
const PATHS = (process.env.BENCH_PATHS ?? 'direct,relay,tunnel').split(',');
const MiB = 1024 * 1024;

// Targets (docs/performance.md).
const TARGET_THROUGHPUT_RATIO = 0.9;
const TARGET_P99_ADDED_MS = 0.3;
// "Flat" memory over the long run, sampled after full GCs: the live heap may not grow by more than
// FLAT_HEAP_MIB, and RSS may not keep climbing in the second half by more than FLAT_RSS_MIB.
const FLAT_HEAP_MIB = 4;
const FLAT_RSS_MIB = 8;

/**
 * The tunnel under test: TunnelServer, StaticBackend and the route table from src/, bundled with
 * the package's own esbuild settings (scripts/build.mjs), so it is the code the CLI runs.
 */
async function bundleTunnelCore() {
  const {build} = await import('esbuild');
  const {commonOptions} = await import('../scripts/build.mjs');
  await build({
    ...commonOptions(),
    absWorkingDir: root,
    stdin: {
      contents: [
        "export {TunnelServer} from './src/proxy/tunnel-server.js';",
        "export {StaticBackend} from './src/proxy/static-backend.js';",
        "export {RouteSource, createRouteTable} from './src/router/route-table.js';",
      ].join('\n'),
      resolveDir: root,
      sourcefile: 'bench-tunnel-core.ts',
      loader: 'ts',
    },
    outfile: join(root, '.bench-out/tunnel-core.js'),
    format: 'esm',
    metafile: false,
  });
}

function startChild(script, args) {
  const child = fork(join(here, script), args, {execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
  const waiting = new Map();
  child.on('message', (msg) => {
    const resolve = waiting.get(msg.type);
    if (resolve) {
      waiting.delete(msg.type);
      resolve(msg);
    }
  });
  const next = (type, timeoutMs = 15000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no '${type}' message within ${timeoutMs} ms`)), timeoutMs);
      waiting.set(type, (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    ready: next('ready'),
    ask: (type, replyType = type) => {
      const reply = next(replyType);
      child.send({type});
      return reply;
    },
    exited,
  };
}

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const mib = (bytes) => bytes / MiB;
const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** One case on one path; a stalled or failed run is recorded (and reported as FAIL), not fatal. */
async function runCase(target, size, inFlight) {
  const cpuBefore = target.proxy ? (await target.proxy.ask('cpu')).cpu : undefined;
  let r;
  try {
    r = await runLoad(target.port, {bytes: size.bytes, inFlight, warmupMs: WARMUP_MS, durationMs: DURATION_MS});
    if (r.errors > 0) r.error = `${r.errors} bad answers`;
  } catch (error) {
    r = {error: error.message};
    if (target.proxy) r.handles = (await target.proxy.ask('handles')).handles;
  }
  if (target.proxy) {
    const cpuAfter = (await target.proxy.ask('cpu')).cpu;
    const used = cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system;
    if (r.total) r.cpuPerReqUs = used / r.total;
  }
  return r;
}

/**
 * The long run for "memory flat": mixed sizes on two long-lived connections plus a steady churn of
 * short connections, with RSS/heap sampled (after full GCs) at the start, the middle and the end.
 * The long-lived connections make one small call first (like a Java consumer's connection, which is
 * long open before any burst), so this run measures memory, not the start-up of a connection.
 */
async function memoryRun(proxy, port) {
  process.stdout.write(`  tunnel memory run: ${LONG_MS / 1000} s of mixed load + connection churn...\n`);
  const start = (await proxy.ask('sample')).sample;
  const half = LONG_MS / 2;
  let churned = 0;
  let stopChurn = false;
  const churn = (async () => {
    while (!stopChurn) {
      await oneShot(port, SIZES[0].bytes);
      churned++;
      await sleep(20);
    }
  })();
  const load = async () => {
    const [a, b] = await Promise.all([
      runLoad(port, {bytes: SIZES[0].bytes, inFlight: 32, warmupMs: 0, durationMs: half, prime: true}),
      runLoad(port, {bytes: SIZES[1].bytes, inFlight: 4, warmupMs: 0, durationMs: half, prime: true}),
    ]);
    if (a.errors + b.errors > 0) throw new Error(`${a.errors + b.errors} bad answers`);
    return a.total + b.total;
  };
  try {
    let requests = await load();
    const middle = (await proxy.ask('sample')).sample;
    requests += await load();
    const end = (await proxy.ask('sample')).sample;
    return {start, middle, end, requests, churned};
  } catch (error) {
    return {start, error: error.message, churned};
  } finally {
    stopChurn = true;
    await churn.catch(() => {});
  }
}

async function throughputBench() {
  const t0 = Date.now();
  if (PATHS.includes('tunnel')) await bundleTunnelCore();
  console.log(`dubbo-tunnel bench: node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`warm-up ${WARMUP_MS} ms + measure ${DURATION_MS} ms per case, ${ROUNDS} round(s), memory run ${LONG_MS} ms\n`);

  const provider = startChild('provider.mjs', []);
  const providerPort = (await provider.ready).port;
  const targets = {};
  for (const path of PATHS) {
    if (path === 'direct') {
      targets[path] = {path, port: providerPort};
    } else {
      const proxy = startChild('proxy.mjs', [path, String(providerPort)]);
      targets[path] = {path, proxy, port: (await proxy.ready).port, idle: undefined};
      targets[path].idle = (await proxy.ask('sample')).sample;
    }
    // Every path must deliver byte-exact answers before it is timed.
    for (const size of SIZES) await verifyOnce(targets[path].port, size.bytes);
  }

  const runs = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const size of SIZES) {
        for (const inFlight of IN_FLIGHT) {
          const line = [];
          for (const path of PATHS) {
            const r = await runCase(targets[path], size, inFlight);
            runs.push({round, path, size: size.name, bytes: size.bytes, inFlight, ...r});
            line.push(`${path} ${r.error ? 'FAILED' : `${fmtInt(r.reqPerSec)}/s p99 ${fmt(r.p99, 2)}`}`);
          }
          console.log(`  round ${round} ${size.name.padStart(7)} x${String(inFlight).padEnd(2)}  ${line.join(' | ')}`);
        }
      }
    }
    if (targets.tunnel) targets.tunnel.memory = await memoryRun(targets.tunnel.proxy, targets.tunnel.port);
  } finally {
    for (const target of Object.values(targets)) {
      if (!target.proxy) continue;
      target.final = (await target.proxy.ask('stop', 'stopped')).sample;
      await target.proxy.exited;
    }
    provider.child.send({type: 'stop'});
    await provider.exited;
  }

  // Per case and path: the median over rounds (a failed round makes the case fail).
  const cases = [];
  for (const size of SIZES) {
    for (const inFlight of IN_FLIGHT) {
      for (const path of PATHS) {
        const mine = runs.filter((r) => r.path === path && r.size === size.name && r.inFlight === inFlight);
        const failed = mine.find((r) => r.error);
        cases.push({
          path, size: size.name, inFlight, error: failed?.error,
          reqPerSec: median(mine.map((r) => r.reqPerSec)), mibPerSec: median(mine.map((r) => r.mibPerSec)),
          p50: median(mine.map((r) => r.p50)), p99: median(mine.map((r) => r.p99)), cpuPerReqUs: median(mine.map((r) => r.cpuPerReqUs)),
        });
      }
    }
  }
  const find = (path, size, inFlight) => cases.find((c) => c.path === path && c.size === size && c.inFlight === inFlight);

  const checks = [];
  console.log(`\nmedian of ${ROUNDS} round(s):`);
  console.log([
    'path'.padEnd(7), 'size'.padStart(7), 'in-flight'.padStart(9), 'req/s'.padStart(8), 'MiB/s'.padStart(8),
    'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'vs relay'.padStart(9), 'p99 +ms'.padStart(8), 'proxy CPU us/req'.padStart(17),
  ].join(' '));
  for (const size of SIZES) {
    for (const inFlight of IN_FLIGHT) {
      const relay = find('relay', size.name, inFlight);
      for (const path of PATHS) {
        const c = find(path, size.name, inFlight);
        const ratio = relay ? c.reqPerSec / relay.reqPerSec : NaN;
        const added = relay ? c.p99 - relay.p99 : NaN;
        console.log([
          path.padEnd(7), size.name.padStart(7), String(inFlight).padStart(9),
          (c.error ? 'FAILED' : fmtInt(c.reqPerSec)).padStart(8), fmt(c.mibPerSec).padStart(8), fmt(c.p50, 3).padStart(8),
          fmt(c.p99, 3).padStart(8), (path === 'relay' ? '1.00x' : `${fmt(ratio, 2)}x`).padStart(9),
          (path === 'relay' ? '' : fmt(added, 3)).padStart(8), fmt(c.cpuPerReqUs, 1).padStart(17),
        ].join(' ') + (c.error ? `  (${c.error})` : ''));
        if (path === 'tunnel' && relay) {
          checks.push({name: `throughput ${size.name} x${inFlight} >= ${TARGET_THROUGHPUT_RATIO}x relay`, value: c.error ?? `${fmt(ratio, 2)}x`, pass: !c.error && ratio >= TARGET_THROUGHPUT_RATIO});
          if (inFlight === 1) {
            checks.push({name: `p99 added ${size.name} x1 <= ${TARGET_P99_ADDED_MS} ms`, value: c.error ?? `${fmt(added, 3)} ms`, pass: !c.error && added <= TARGET_P99_ADDED_MS});
          }
        }
      }
    }
  }

  for (const r of runs.filter((x) => x.error)) {
    console.log(`\n${r.path} ${r.size} x${r.inFlight} round ${r.round} failed: ${r.error}`);
    if (r.handles) console.log(`  proxy sockets at that moment: ${JSON.stringify(r.handles)}`);
  }

  const peak = {loadgen: mib(process.resourceUsage().maxRSS * 1024)};
  for (const path of ['relay', 'tunnel']) if (targets[path]) peak[path] = mib(targets[path].final.maxRss);
  console.log(`\npeak RSS: ${Object.entries(peak).map(([k, v]) => `${k} ${fmt(v)} MiB`).join(', ')}` +
    `${targets.tunnel ? ` (tunnel idle after start: ${fmt(mib(targets.tunnel.idle.rss))} MiB)` : ''}`);

  let memory;
  if (targets.tunnel) {
    memory = targets.tunnel.memory;
    const c = targets.tunnel.final.completed;
    console.log(`tunnel request-completed events: ${fmtInt(c.ok)} ok, ${fmtInt(c.failed)} failed${c.lastError ? ` (last: ${c.lastError})` : ''}`);
    checks.push({name: 'no failed requests through the tunnel', value: `${c.failed}`, pass: c.failed === 0});
    if (memory.error) {
      console.log(`memory run failed: ${memory.error}`);
      checks.push({name: 'memory flat (long run)', value: memory.error, pass: false});
    } else {
      const s = (x) => `rss ${fmt(mib(x.rss))} MiB heap ${fmt(mib(x.heapUsed))} MiB`;
      console.log(`tunnel memory after full GC: start ${s(memory.start)}; middle ${s(memory.middle)}; end ${s(memory.end)} ` +
        `(${fmtInt(memory.requests)} requests, ${fmtInt(memory.churned)} short connections)`);
      const heapGrowth = mib(memory.end.heapUsed - memory.start.heapUsed);
      const rssSecondHalf = mib(memory.end.rss - memory.middle.rss);
      const rssGrowth = mib(memory.end.rss - memory.start.rss);
      checks.push({name: `memory flat: live heap growth over the long run <= ${FLAT_HEAP_MIB} MiB`, value: `${fmt(heapGrowth, 2)} MiB`, pass: heapGrowth <= FLAT_HEAP_MIB});
      checks.push({name: `memory flat: RSS growth in the second half <= ${FLAT_RSS_MIB} MiB`, value: `${fmt(rssSecondHalf, 2)} MiB (whole run ${fmt(rssGrowth, 2)} MiB)`, pass: rssSecondHalf <= FLAT_RSS_MIB});
    }
  }

  if (checks.length > 0) {
    console.log('\ntargets:');
    for (const check of checks) console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.name}: ${check.value}`);
  }
  const seconds = (Date.now() - t0) / 1000;
  console.log(`\nbench took ${fmt(seconds)} s; raw results in .bench-out/results.json`);

  const out = join(root, '.bench-out');
  mkdirSync(out, {recursive: true});
  writeFileSync(join(out, 'results.json'), JSON.stringify({
    node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg(),
    warmupMs: WARMUP_MS, durationMs: DURATION_MS, rounds: ROUNDS, longMs: LONG_MS, cases, runs, memory, peak, checks, seconds,
  }, null, 2));
  if (process.env.BENCH_STRICT === '1' && checks.some((check) => !check.pass)) process.exitCode = 1;
}

// `npm run bench` runs every section; `npm run bench -- startup` (or `throughput`) only those named.
const SECTIONS = {throughput: throughputBench, startup: async () => (await import('./startup.mjs')).startupBench()};
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in SECTIONS));
if (unknown.length > 0) {
  console.error(`unknown bench section ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
for (const name of asked.length > 0 ? asked : Object.keys(SECTIONS)) {
  if (asked.length !== 1) console.log(`\n===== ${name}\n`);
  await SECTIONS[name]();
}
