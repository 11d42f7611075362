#!/usr/bin/env node
// dubbo-tunnel benchmark (`npm run bench`). The router against a plain TCP relay, same provider,
// same load:
//   relay   consumer -> plain TCP relay (bench/relay.mjs, pipe() both ways) -> provider
//   tunnel  consumer -> dubbo-tunnel (bundled like dist/, see bundleTunnelCore) -> provider
//   direct  consumer -> provider (only with BENCH_PATHS=direct,relay,tunnel)
// Cases (the targets of docs/performance.md): getUser calls (190-byte frames) at 64 and at 1 in flight, and 220 KiB echo
// calls at 8 in flight, on one consumer connection each; then the large frames: 2 MiB echo calls, and small calls
// answered with 220 KiB or 2 MiB, 8 in flight. Three processes: this one (load
// generator), the provider, and each proxy under test in its own process, so the proxy's RSS, CPU
// and allocations are its own. Loopback only. Relay and tunnel alternate within each round (in the
// opposite order every other round), and each ratio is taken per round, so background load on a
// shared machine hits both alike; the verdict is the median ratio with its spread over the rounds.
// Then 1,000,000 getUser calls through the tunnel for the steady-state heap, and a mixed run with
// connection churn for "memory flat".
// `npm run bench -- startup` runs only the start-up and footprint section (bench/startup.mjs), and
// `npm run bench -- cluster` only the Kubernetes path through the fake API server (bench/cluster.mjs),
// and `npm run bench -- gateway` only the team gateway (bench/gateway.mjs), and `npm run bench -- inspector`
// only the call inspector's cost: capture off, the calls view's log open, recording (bench/inspector.mjs).
// Knobs: BENCH_WARMUP_MS, BENCH_DURATION_MS, BENCH_ROUNDS, BENCH_CASES, BENCH_MILLION,
// BENCH_LONG_MS, BENCH_PATHS, BENCH_LISTENER, BENCH_STRICT=1.
import process from 'node:process';
import console from 'node:console';
import {mkdirSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {setTimeout as sleep} from 'node:timers/promises';
import {HEADER_LENGTH, SIZES, largeFrameCases, largeFrameShapes, shapes, timedCases} from './frames.mjs';
import {oneShot, runLoad, verifyOnce} from './load.mjs';
import {bundleTunnelCore, describeSpread, spread, startChild} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 300);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const MILLION = Number(process.env.BENCH_MILLION ?? 1_000_000);
const LONG_MS = Number(process.env.BENCH_LONG_MS ?? 10000);
const PATHS = (process.env.BENCH_PATHS ?? 'relay,tunnel').split(',');
const MiB = 1024 * 1024;
const SHAPES = shapes();
/** The timed cases, in the order of docs/performance.md's targets. */
const CASES = [...timedCases(), ...largeFrameCases()];

// Targets (docs/performance.md): each a median over the rounds.
const TARGET_RATIO = 0.95;
const TARGET_P99_ADDED_MS = 0.1;
/** Frames past one socket read (220 KiB, 2 MiB): the p99 the tunnel may add to the relay's. */
const TARGET_LARGE_P99_ADDED_MS = 1;
/** Live heap (after full collections) before and after the million calls: "0" within this much. */
const STEADY_HEAP_MIB = 0.5;
// "Flat" memory over the mixed run with churn, sampled after full GCs: the live heap may not grow
// by more than FLAT_HEAP_MIB, and RSS may not keep climbing in the second half by more than FLAT_RSS_MIB.
const FLAT_HEAP_MIB = 4;
const FLAT_RSS_MIB = 8;

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const mib = (bytes) => bytes / MiB;


/** One case on one path; a stalled or failed run is recorded (and reported as FAIL), not fatal. */
async function runCase(target, testCase, options = {}) {
  const cpuBefore = target.proxy ? (await target.proxy.ask('cpu')).cpu : undefined;
  if (target.proxy && options.allocations) await target.proxy.ask('alloc-start');
  let r;
  try {
    r = await runLoad(target.port, {bytes: testCase.shape, inFlight: testCase.inFlight, warmupMs: options.warmupMs ?? WARMUP_MS, durationMs: options.durationMs ?? DURATION_MS});
    if (r.errors > 0) r.error = `${r.errors} bad answers`;
  } catch (error) {
    r = {error: error.message};
    if (target.proxy) r.handles = (await target.proxy.ask('handles')).handles;
  }
  if (target.proxy) {
    if (options.allocations) {
      const {allocated} = await target.proxy.ask('alloc-stop');
      if (r.total) r.allocatedPerReq = allocated / r.total;
    }
    const cpuAfter = (await target.proxy.ask('cpu')).cpu;
    const used = cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system;
    if (r.total) r.cpuPerReqUs = used / r.total;
    // Bytes through the proxy both ways (request and answer frames), for large frames the fairer unit.
    const frameBytes = 2 * HEADER_LENGTH + testCase.shape.request.length + testCase.shape.response.length;
    if (r.total) r.cpuPerMiBUs = used / ((r.total * frameBytes) / MiB);
  }
  return r;
}

/**
 * The steady state: MILLION getUser calls at 64 in flight on one connection already open, with the
 * live heap sampled after full collections before and after, and the bytes allocated per call.
 */
async function millionRun(target) {
  process.stdout.write(`  ${target.path}: ${fmtInt(MILLION)} getUser calls at 64 in flight for the steady-state heap...\n`);
  // The upstream opens, and the code paths warm up, before the first sample.
  await runLoad(target.port, {bytes: SHAPES.small, inFlight: 64, warmupMs: 0, durationMs: undefined, requests: 20_000});
  const before = (await target.proxy.ask('sample')).sample;
  await target.proxy.ask('alloc-start');
  try {
    const r = await runLoad(target.port, {bytes: SHAPES.small, inFlight: 64, warmupMs: 0, durationMs: undefined, requests: MILLION});
    const {allocated, collections} = await target.proxy.ask('alloc-stop');
    const after = (await target.proxy.ask('sample')).sample;
    return {requests: r.total, errors: r.errors, reqPerSec: r.reqPerSec, allocatedPerReq: allocated / r.total, collections, before, after};
  } catch (error) {
    return {error: error.message};
  }
}

/**
 * "Memory flat": mixed sizes on two long-lived connections plus a steady churn of short
 * connections, with RSS/heap sampled (after full GCs) at the start, the middle and the end.
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
  console.log(`${ROUNDS} rounds of ${CASES.map((c) => c.name).join(', ')}; warm-up ${WARMUP_MS} ms + measure ${DURATION_MS} ms per case and path; ` +
    `then ${fmtInt(MILLION)} calls for the steady state and ${LONG_MS / 1000} s of mixed load\n`);

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
    for (const shape of [...Object.values(SHAPES), ...Object.values(largeFrameShapes())]) await verifyOnce(targets[path].port, shape);
    for (const size of SIZES) await verifyOnce(targets[path].port, size.bytes);
  }

  const runs = [];
  let million = {};
  try {
    // Every path gets the same warm-up before round 1: each case for 1 s, not measured, so the
    // JIT has seen every code path on both sides.
    for (const path of PATHS) for (const testCase of CASES) await runCase(targets[path], testCase, {warmupMs: 1000, durationMs: 1});
    for (let round = 1; round <= ROUNDS; round++) {
      // ABBA: relay first in odd rounds, tunnel first in even ones, so a drift favours neither.
      const order = round % 2 === 1 ? PATHS : [...PATHS].reverse();
      for (const testCase of CASES) {
        const line = [];
        for (const path of order) {
          const r = await runCase(targets[path], testCase, {allocations: true});
          runs.push({round, path, case: testCase.name, inFlight: testCase.inFlight, ...r});
          line.push(`${path} ${r.error ? 'FAILED' : `${fmtInt(r.reqPerSec)}/s p99 ${fmt(r.p99, 3)} ms`}`);
        }
        console.log(`  round ${String(round).padStart(2)} ${testCase.name.padEnd(14)}  ${line.join(' | ')}`);
      }
    }
    for (const path of ['relay', 'tunnel']) if (targets[path]) million[path] = await millionRun(targets[path]);
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

  // Per case: each path's figures over the rounds, and the tunnel's ratio to the relay taken per round.
  const checks = [];
  const summary = [];
  const ofRound = (path, name, round) => runs.find((r) => r.path === path && r.case === name && r.round === round);
  console.log('\nper case, median over the rounds (IQR):');
  console.log(['case'.padEnd(14), 'path'.padEnd(7), 'req/s'.padStart(18), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'CPU µs/req'.padStart(11), 'CPU µs/MiB'.padStart(11), 'heap B/req'.padStart(11)].join(' '));
  for (const testCase of CASES) {
    for (const path of PATHS) {
      const mine = runs.filter((r) => r.path === path && r.case === testCase.name);
      const rate = spread(mine.map((r) => r.reqPerSec));
      const failed = mine.find((r) => r.error);
      console.log([
        testCase.name.padEnd(14), path.padEnd(7),
        (failed ? 'FAILED' : `${fmtInt(rate.median)} (${fmtInt(rate.q1)}–${fmtInt(rate.q3)})`).padStart(18),
        fmt(spread(mine.map((r) => r.p50)).median, 3).padStart(8), fmt(spread(mine.map((r) => r.p99)).median, 3).padStart(8),
        fmt(spread(mine.map((r) => r.cpuPerReqUs)).median, 1).padStart(11), fmtInt(spread(mine.map((r) => r.cpuPerMiBUs)).median).padStart(11),
        fmtInt(spread(mine.map((r) => r.allocatedPerReq)).median).padStart(11),
      ].join(' ') + (failed ? `  (${failed.error})` : ''));
    }
    if (!targets.relay || !targets.tunnel) continue;
    const ratios = [];
    const added = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const relay = ofRound('relay', testCase.name, round);
      const tunnel = ofRound('tunnel', testCase.name, round);
      if (!relay || !tunnel || relay.error || tunnel.error) continue;
      ratios.push(tunnel.reqPerSec / relay.reqPerSec);
      added.push(tunnel.p99 - relay.p99);
    }
    const failed = runs.find((r) => r.case === testCase.name && r.error);
    const ratio = spread(ratios);
    summary.push({case: testCase.name, ratio, p99Added: spread(added)});
    checks.push({name: `${testCase.name} tunnel/relay >= ${TARGET_RATIO}x (median)`, value: failed ? failed.error : describeSpread(ratio, 3, 'x'), pass: !failed && ratio.median >= TARGET_RATIO});
    if (testCase.inFlight === 1) {
      const p99 = spread(added);
      checks.push({name: `${testCase.name} p99 added <= ${TARGET_P99_ADDED_MS} ms (median)`, value: failed ? failed.error : describeSpread(p99, 3, ' ms'), pass: !failed && p99.median <= TARGET_P99_ADDED_MS});
    }
    if (testCase.shape.response.length > 64 * 1024) {
      const p99 = spread(added);
      checks.push({name: `${testCase.name} p99 added <= ${TARGET_LARGE_P99_ADDED_MS} ms (median)`, value: failed ? failed.error : describeSpread(p99, 3, ' ms'), pass: !failed && p99.median <= TARGET_LARGE_P99_ADDED_MS});
    }
  }

  for (const r of runs.filter((x) => x.error)) {
    console.log(`\n${r.path} ${r.case} round ${r.round} failed: ${r.error}`);
    if (r.handles) console.log(`  proxy sockets at that moment: ${JSON.stringify(r.handles)}`);
  }

  const peak = {loadgen: mib(process.resourceUsage().maxRSS * 1024)};
  for (const path of ['relay', 'tunnel']) if (targets[path]) peak[path] = mib(targets[path].final.maxRss);
  console.log(`\npeak RSS: ${Object.entries(peak).map(([k, v]) => `${k} ${fmt(v)} MiB`).join(', ')}` +
    `${targets.tunnel ? ` (tunnel idle after start: ${fmt(mib(targets.tunnel.idle.rss))} MiB)` : ''}`);

  for (const [path, m] of Object.entries(million)) {
    if (m.error) {
      console.log(`${path} steady-state run failed: ${m.error}`);
      if (path === 'tunnel') checks.push({name: 'steady-state heap growth over the million calls', value: m.error, pass: false});
      continue;
    }
    const growth = mib(m.after.heapUsed - m.before.heapUsed);
    console.log(`${path}: ${fmtInt(m.requests)} getUser calls at ${fmtInt(m.reqPerSec)}/s: live heap ${fmt(mib(m.before.heapUsed), 2)} → ${fmt(mib(m.after.heapUsed), 2)} MiB (${growth >= 0 ? '+' : ''}${fmt(growth, 3)}), ` +
      `RSS ${fmt(mib(m.before.rss))} → ${fmt(mib(m.after.rss))} MiB, ${fmt(m.allocatedPerReq, 0)} bytes allocated per call (${fmtInt(m.collections)} collections)`);
    if (path === 'tunnel') {
      checks.push({name: `steady-state live heap growth over ${fmtInt(m.requests)} calls <= ${STEADY_HEAP_MIB} MiB`, value: `${fmt(growth, 3)} MiB`, pass: growth <= STEADY_HEAP_MIB && m.errors === 0});
    }
  }

  let memory;
  if (targets.tunnel) {
    memory = targets.tunnel.memory;
    const c = targets.tunnel.final.completed;
    console.log(`tunnel request-completed events: ${fmtInt(c.ok)} ok, ${fmtInt(c.failed)} failed${c.lastError ? ` (last: ${c.lastError})` : ''}`);
    checks.push({name: 'no failed requests through the tunnel', value: `${c.failed}`, pass: c.failed === 0});
    if (memory.error) {
      console.log(`memory run failed: ${memory.error}`);
      checks.push({name: 'memory flat (mixed run with churn)', value: memory.error, pass: false});
    } else {
      const s = (x) => `rss ${fmt(mib(x.rss))} MiB heap ${fmt(mib(x.heapUsed))} MiB`;
      console.log(`tunnel memory after full GC: start ${s(memory.start)}; middle ${s(memory.middle)}; end ${s(memory.end)} ` +
        `(${fmtInt(memory.requests)} requests, ${fmtInt(memory.churned)} short connections)`);
      const heapGrowth = mib(memory.end.heapUsed - memory.start.heapUsed);
      const rssSecondHalf = mib(memory.end.rss - memory.middle.rss);
      const rssGrowth = mib(memory.end.rss - memory.start.rss);
      checks.push({name: `memory flat: live heap growth over the mixed run <= ${FLAT_HEAP_MIB} MiB`, value: `${fmt(heapGrowth, 2)} MiB`, pass: heapGrowth <= FLAT_HEAP_MIB});
      checks.push({name: `memory flat: RSS growth in the second half <= ${FLAT_RSS_MIB} MiB`, value: `${fmt(rssSecondHalf, 2)} MiB (whole run ${fmt(rssGrowth, 2)} MiB)`, pass: rssSecondHalf <= FLAT_RSS_MIB});
    }
  }

  if (checks.length > 0) {
    console.log('\ntargets:');
    for (const check of checks) console.log(`  ${check.pass ? 'MET   ' : 'MISSED'}  ${check.name}: ${check.value}`);
  }
  const seconds = (Date.now() - t0) / 1000;
  console.log(`\nbench took ${fmt(seconds)} s, load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; raw results in .bench-out/results.json`);

  const out = join(root, '.bench-out');
  mkdirSync(out, {recursive: true});
  writeFileSync(join(out, 'results.json'), JSON.stringify({
    node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg(),
    warmupMs: WARMUP_MS, durationMs: DURATION_MS, rounds: ROUNDS, million: MILLION, longMs: LONG_MS,
    runs, summary, millionRuns: million, memory, peak, checks, seconds,
  }, null, 2));
  if (process.env.BENCH_STRICT === '1' && checks.some((check) => !check.pass)) process.exitCode = 1;
}

/** gRPC through the HTTP/2 path (bench/grpc.mjs, a script of its own: its peers are grpc-js). */
async function grpcBench() {
  const {spawnSync} = await import('node:child_process');
  const result = spawnSync(process.execPath, [join(here, 'grpc.mjs')], {stdio: 'inherit'});
  if (result.status !== 0) process.exitCode = result.status ?? 1;
}

// `npm run bench` runs every section; `npm run bench -- startup` (or `throughput`, `grpc`, `cluster`, `gateway`, `inspector`) only those named.
const SECTIONS = {throughput: throughputBench, startup: async () => (await import('./startup.mjs')).startupBench(), grpc: grpcBench,
  cluster: async () => (await import('./cluster.mjs')).clusterBench(), gateway: async () => (await import('./gateway.mjs')).gatewayBench(),
  inspector: async () => (await import('./inspector.mjs')).inspectorBench()};
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
