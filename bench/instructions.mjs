#!/usr/bin/env node
// Instructions per request of the relay and the tunnel at one request in flight, counted by
// valgrind's callgrind: the same number on every run, where a timed ratio moves by several percent
// with the machine's noise. Used to find and check the per-request cuts of docs/performance.md.
//   npm run bench:instructions [-- <requests>]      (needs valgrind: apt-get install valgrind)
// Each proxy runs under callgrind with counting off while it warms up (BENCH_INSTR_WARM calls), then
// counts two windows of n and 2n calls on the same connection; the per-request figure is their
// difference divided by n, so what a window pays once (a collection, a late compile) cancels out.
// Functions are named from V8's --perf-basic-prof map, so JavaScript shows up by name and file.
import process from 'node:process';
import console from 'node:console';
import {Buffer} from 'node:buffer';
import {execFileSync, fork} from 'node:child_process';
import {mkdirSync, readFileSync, readdirSync, rmSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {bundleTunnelCore, startChild} from './harness.mjs';
import {FrameSkipper, requestHeader, shapes} from './frames.mjs';
import {connect} from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', '.bench-out', 'instructions');
const n = Number(process.argv[2] ?? 4000);
const WARM = {relay: 20_000, tunnel: 40_000};
const TOP = Number(process.env.BENCH_INSTR_TOP ?? 25);

try {
  execFileSync('valgrind', ['--version'], {stdio: 'ignore'});
} catch {
  console.error('valgrind is not installed; on Debian or Ubuntu: apt-get install valgrind');
  process.exit(2);
}

/** Total instructions of a callgrind dump, and per function (self cost, JIT code named through the perf map). */
function readDump(file, names) {
  const text = readFileSync(file, 'utf8');
  const total = Number(/\ntotals: (\d+)/.exec(text)?.[1] ?? 0);
  const byFunction = new Map();
  // fn=(id) name defines a name once; later lines use (id) alone. Cost lines after fn= are "position cost".
  const ids = new Map();
  let current;
  let inCall = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=') || line.startsWith('cfn=')) {
      // cfn= (a callee) shares fn='s numbering and may be where a name is given first.
      const match = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line);
      if (!match) continue;
      if (match[2] !== undefined) ids.set(match[1], names(match[2]));
      if (line.startsWith('fn=')) {
        current = ids.get(match[1]);
        inCall = false;
      }
    } else if (line.startsWith('calls=')) {
      inCall = true; // the next cost line is the inclusive cost of a call, not this function's own
    } else if (/^[+\-*0-9]/.test(line) && current !== undefined) {
      if (inCall) {
        inCall = false;
        continue;
      }
      const cost = Number(line.split(' ')[1] ?? 0);
      byFunction.set(current, (byFunction.get(current) ?? 0) + cost);
    }
  }
  return {total, byFunction};
}

/** Maps JIT addresses ("0x...") to the names V8 wrote to /tmp/perf-<pid>.map. */
function namer(pid) {
  let map = [];
  try {
    map = readFileSync(`/tmp/perf-${pid}.map`, 'utf8').split('\n').filter(Boolean).map((line) => {
      const [start, size, ...name] = line.split(' ');
      return [Number.parseInt(start, 16), Number.parseInt(size, 16), name.join(' ')];
    }).sort((a, b) => a[0] - b[0]);
  } catch {
    // no map: JIT code keeps its addresses
  }
  return (name) => {
    const address = /^0x([0-9a-f]+)$/.exec(name);
    if (!address) return name;
    const at = Number.parseInt(address[1], 16);
    let low = 0;
    let high = map.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const [start, size, label] = map[mid];
      if (at < start) high = mid - 1;
      else if (at >= start + size) low = mid + 1;
      else return label.replace(/file:\/\/\S*\/\.bench-out\//, '');
    }
    return name;
  };
}

async function measure(mode, providerPort) {
  const dir = join(outDir, mode);
  rmSync(dir, {recursive: true, force: true});
  mkdirSync(dir, {recursive: true});
  const child = fork(join(here, 'proxy.mjs'), [mode, String(providerPort)], {
    execPath: 'valgrind',
    execArgv: ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${dir}/callgrind.%p`, '--smc-check=all-non-file', '--quiet',
      // One thread and a fixed collection schedule: with V8's helper threads and its usual GC heuristics
      // the same build moved by up to 25% between runs; this way it repeats.
      process.execPath, '--expose-gc', '--perf-basic-prof', '--single-threaded', '--predictable-gc-schedule'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} under valgrind exited (${code})`)));
    child.on('message', (msg) => msg.type === 'ready' && resolve(msg));
  });
  const socket = await connect(ready.port);
  const body = shapes().small.request;
  let nextId = 1n;
  const calls = (count) => new Promise((resolve) => {
    let left = count;
    const send = () => socket.write(Buffer.concat([requestHeader(nextId++, body.length), body]));
    const skipper = new FrameSkipper(() => {}, () => (--left === 0 ? resolve() : send()));
    socket.removeAllListeners('data');
    socket.on('data', (chunk) => skipper.push(chunk));
    send();
  });
  process.stdout.write(`  ${mode}: warming up (${WARM[mode].toLocaleString('en-US')} calls, not counted)...`);
  await calls(WARM[mode]);
  execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], {stdio: 'ignore'});
  const dumps = [];
  for (const count of [n, n, 2 * n]) {
    await calls(count);
    execFileSync('callgrind_control', ['-d', String(child.pid)], {stdio: 'ignore'});
    // The dump is written by the target process; wait until it is complete.
    const number = dumps.length + 1;
    const file = join(dir, `callgrind.${child.pid}.${number}`);
    for (let tries = 0; tries < 200; tries++) {
      try {
        if (readdirSync(dir).includes(`callgrind.${child.pid}.${number}`) && readFileSync(file, 'utf8').includes('\ntotals: ')) break;
      } catch {
        // not there yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    dumps.push(file);
  }
  socket.destroy();
  const names = namer(child.pid);
  child.kill('SIGKILL');
  // The second window (n calls) is subtracted from the third (2n): the first absorbs the switch.
  const small = readDump(dumps[1], names);
  const large = readDump(dumps[2], names);
  const perFunction = new Map();
  for (const [name, cost] of large.byFunction) perFunction.set(name, (cost - (small.byFunction.get(name) ?? 0)) / n);
  for (const [name, cost] of small.byFunction) if (!large.byFunction.has(name)) perFunction.set(name, -cost / n);
  const perRequest = (large.total - small.total) / n;
  console.log(` ${Math.round(perRequest).toLocaleString('en-US')} instructions per request`);
  return {perRequest, perFunction};
}

await bundleTunnelCore();
const provider = startChild('provider.mjs', []);
const {port: providerPort} = await provider.ready;
console.log(`instructions per request at 1 in flight (getUser, ${n.toLocaleString('en-US')} and ${(2 * n).toLocaleString('en-US')} counted calls):`);
const relay = await measure('relay', providerPort);
const tunnel = await measure('tunnel', providerPort);
provider.child.send({type: 'stop'});
await provider.exited;

console.log(`\ntunnel / relay: ${(tunnel.perRequest / relay.perRequest).toFixed(3)}x (${Math.round(tunnel.perRequest - relay.perRequest).toLocaleString('en-US')} more per request)`);
console.log(`\nwhere the tunnel's extra instructions are (per request; tunnel, relay, difference):`);
const rows = [...new Set([...tunnel.perFunction.keys(), ...relay.perFunction.keys()])]
  .map((name) => [name, tunnel.perFunction.get(name) ?? 0, relay.perFunction.get(name) ?? 0])
  .sort((a, b) => (b[1] - b[2]) - (a[1] - a[2]));
for (const [name, mine, theirs] of rows.slice(0, TOP)) {
  console.log(`${String(Math.round(mine)).padStart(8)} ${String(Math.round(theirs)).padStart(8)} ${String(Math.round(mine - theirs)).padStart(8)}  ${name.slice(0, 110)}`);
}
console.log(`\ncallgrind dumps: ${outDir} (callgrind_annotate works on them)`);
