#!/usr/bin/env node
// Where the router's time and allocations go (`npm run bench:profile`, docs/performance.md).
// Runs the bench provider and the tunnel (bench/proxy.mjs, bundled like dist/) with V8's CPU
// profiler and sampling heap profiler, puts one case of load through it, and sums both profiles
// per request by what the code does: framing, peek, routing, writes, reads, events, stats, GC.
//   node bench/profile.mjs [small@64|small@1|large@8] [seconds]
// Knobs: BENCH_LISTENER (dashboard|lines|none, as in bench/proxy.mjs). Profiles are kept in
// .bench-out/profile/ (open the .cpuprofile in Chrome DevTools for the full picture).
import process from 'node:process';
import console from 'node:console';
import {mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {SourceMap} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {shapes} from './frames.mjs';
import {runLoad, verifyOnce} from './load.mjs';
import {bundleTunnelCore, startChild} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, '..', '.bench-out', 'profile');
const [caseName = 'small@64', secondsText = '10'] = process.argv.slice(2);
const SHAPES = shapes();
const CASES = {'small@64': {shape: SHAPES.small, inFlight: 64}, 'small@1': {shape: SHAPES.small, inFlight: 1}, 'large@8': {shape: SHAPES.large, inFlight: 8}};
const testCase = CASES[caseName];
if (!testCase) {
  console.error(`unknown case ${caseName}; cases: ${Object.keys(CASES).join(', ')}`);
  process.exit(2);
}

/** The bundle's source map, read once the bundle is built (below). */
let bundleMap;
const FILE_CATEGORIES = [
  [/protocol\/(frame-decoder|header)\.ts$/, 'framing'],
  [/protocol\/(request-peek|hessian-walker|hessian-string|ascii-intern|descriptor|fastjson2|request-metadata)\.ts$/, 'peek'],
  [/router\//, 'routing'],
  [/proxy\/completion\.ts$|core\/events\.ts$/, 'events'],
  [/core\/stats\.ts$/, 'stats (dashboard)'],
  [/reporters\/|core\/fold\.ts$/, 'line reporter'],
  [/proxy\/write-batch\.ts$/, 'writes'],
  [/proxy\/(consumer-connection|upstream|backpressure|tunnel-server|static-backend)\.ts$/, 'request handling'],
];
/** Functions of ours whose callees are the socket writes. */
const WRITERS = /^(write|writeNow|writeFrames|#uncorkAll|#writeNow|#writeToConsumer|toConsumer|send)$/;

function frameOf(callFrame) {
  const name = callFrame.functionName || '(anonymous)';
  if (!callFrame.url.endsWith('tunnel-core.js')) {
    return {name, url: callFrame.url, ours: false, bench: callFrame.url.includes('/bench/')};
  }
  const entry = bundleMap.findEntry(callFrame.lineNumber, callFrame.columnNumber);
  const source = entry?.originalSource ?? '';
  const category = FILE_CATEGORIES.find(([pattern]) => pattern.test(source))?.[1] ?? 'other (ours)';
  const writer = WRITERS.test(name);
  return {name, url: source, ours: true, category, writer, line: (entry?.originalLine ?? 0) + 1};
}

/**
 * What a sample or an allocation is charged to. Our code (mapped back to src/ through the bundle's
 * source map) is charged by its file; Node's and V8's own code to the nearest caller of ours, so
 * the stream work behind a write from the router counts as "writes", and the work under an emit
 * of our event bus as "events"; what no code of ours called (a socket read as it arrives) keeps a
 * name of its own.
 */
function categorize(frames) {
  const leaf = frames[0];
  if (leaf.ours) return leaf.writer && leaf.category === 'request handling' ? 'writes' : leaf.category;
  if (leaf.bench) return 'bench listener';
  if (leaf.name === '(garbage collector)') return 'garbage collection';
  if (leaf.name === '(idle)') return 'idle';
  if (leaf.name === '(program)') return '(program)';
  let sawEmit = false;
  for (const frame of frames) {
    if (frame.bench) return 'bench listener';
    if (frame.ours) {
      if (frame.writer) return 'writes';
      if (sawEmit) return 'events';
      return frame.category;
    }
    if (frame.name === 'emit' && frame.url === 'node:events') sawEmit = true;
    if (frame.name === 'onStreamRead') return 'socket reads (Node)';
    if (/^(processTicksAndRejections|listOnTimeout|processTimers)$/.test(frame.name)) return 'timers and ticks (Node)';
  }
  return 'other (Node, V8)';
}

const describe = (frame, callFrame) => `${frame.name} ${frame.url.split('/').pop()}:${frame.ours ? frame.line : callFrame.lineNumber + 1}`;

function summarizeCpu(profile, requests) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const interval = (profile.endTime - profile.startTime) / profile.samples.length; // µs per sample
  const categories = new Map();
  const selfByFunction = new Map();
  for (const node of profile.nodes) {
    if (!node.hitCount) continue;
    const frames = [];
    for (let id = node.id; id !== undefined; id = parent.get(id)) frames.push(frameOf(byId.get(id).callFrame));
    const category = categorize(frames);
    const us = node.hitCount * interval;
    categories.set(category, (categories.get(category) ?? 0) + us);
    const key = describe(frames[0], node.callFrame);
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us);
  }
  const busy = [...categories].filter(([name]) => name !== 'idle').reduce((sum, [, us]) => sum + us, 0);
  console.log(`\nCPU (${(busy / 1000).toFixed(0)} ms busy of ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms; ${requests.toLocaleString('en-US')} requests): per request, by what the code does`);
  for (const [name, us] of [...categories].sort((a, b) => b[1] - a[1])) {
    if (name === 'idle') continue;
    console.log(`  ${name.padEnd(24)} ${(us / requests).toFixed(2).padStart(7)} µs  ${((us / busy) * 100).toFixed(1).padStart(5)}%`);
  }
  console.log(`  ${'total busy'.padEnd(24)} ${(busy / requests).toFixed(2).padStart(7)} µs`);
  console.log('\n  top functions by self time:');
  for (const [name, us] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${(us / requests).toFixed(2).padStart(6)} µs  ${name}`);
  }
}

function summarizeHeap(profile, requests) {
  const categories = new Map();
  const sites = new Map();
  let total = 0;
  const walk = (node, stack) => {
    const frames = [frameOf(node.callFrame), ...stack];
    const self = (node.selfSize ?? 0);
    if (self > 0) {
      total += self;
      const category = categorize(frames);
      categories.set(category, (categories.get(category) ?? 0) + self);
      const key = `${describe(frames[0], node.callFrame)} < ${frames[1]?.name ?? ''} < ${frames[2]?.name ?? ''}`;
      sites.set(key, (sites.get(key) ?? 0) + self);
    }
    for (const child of node.children ?? []) walk(child, frames);
  };
  walk(profile.head, []);
  console.log(`\nallocations (V8's sampling heap profiler, one sample per 512 bytes on average, collected objects included): ${(total / requests).toFixed(0)} bytes per request`);
  for (const [name, bytes] of [...categories].sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(24)} ${(bytes / requests).toFixed(0).padStart(6)} B`);
  console.log('\n  top allocation sites:');
  for (const [name, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${(bytes / requests).toFixed(0).padStart(6)} B  ${name}`);
}

rmSync(dir, {recursive: true, force: true});
mkdirSync(dir, {recursive: true});
await bundleTunnelCore();
bundleMap = new SourceMap(JSON.parse(readFileSync(join(here, '..', '.bench-out', 'tunnel-core.js.map'), 'utf8')));
const provider = startChild('provider.mjs', []);
const providerPort = (await provider.ready).port;
process.env.BENCH_PROFILE_DIR = dir;
// BENCH_PROFILE_PATH=relay profiles the yardstick instead, for comparison.
const proxy = startChild('proxy.mjs', [process.env.BENCH_PROFILE_PATH ?? 'tunnel', String(providerPort)]);
const port = (await proxy.ready).port;
await verifyOnce(port, testCase.shape);
// Warm up (JIT, the upstream connection) before the profiles start.
await runLoad(port, {bytes: testCase.shape, inFlight: testCase.inFlight, warmupMs: 0, durationMs: 2000});
const seconds = Number(secondsText);
console.log(`profiling the tunnel under ${caseName} for ${seconds} s (listener: ${process.env.BENCH_LISTENER ?? 'dashboard'})...`);
// Two windows of the same load: the CPU profile, then the allocation profile.
const windows = {};
for (const what of ['cpu', 'heap']) {
  await proxy.ask('profile-start', 'profile-start', 15000, {what});
  windows[what] = await runLoad(port, {bytes: testCase.shape, inFlight: testCase.inFlight, warmupMs: 0, durationMs: seconds * 1000});
  await proxy.ask('profile-stop', 'profile-stop', 60_000);
  console.log(`  ${what} window: ${Math.round(windows[what].reqPerSec).toLocaleString('en-US')} req/s, ${windows[what].errors} bad answers`);
}
await proxy.ask('stop', 'stopped');
await proxy.exited;
provider.child.send({type: 'stop'});
await provider.exited;
const files = readdirSync(dir);
const cpu = files.find((name) => name.endsWith('.cpuprofile'));
const heap = files.find((name) => name.endsWith('.heapprofile'));
if (cpu) summarizeCpu(JSON.parse(readFileSync(join(dir, cpu), 'utf8')), windows.cpu.total);
if (heap) summarizeHeap(JSON.parse(readFileSync(join(dir, heap), 'utf8')), windows.heap.total);
console.log(`\nprofiles: ${dir}`);
