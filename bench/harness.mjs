// The bench's moving parts shared by bench/run.mjs and bench/profile.mjs: the tunnel bundled like
// dist/, and child processes (provider, proxies) that answer over IPC.
import {setTimeout, clearTimeout} from 'node:timers';
import {fork} from 'node:child_process';
import {readdirSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/**
 * The tunnel under test: TunnelServer, StaticBackend and the route table from src/, and the call
 * inspector's outputs as `up` starts them, bundled with the package's own esbuild settings
 * (scripts/build.mjs), so it is the code the CLI runs.
 */
export async function bundleTunnelCore() {
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
        "export {StatsStore} from './src/stats/stats.js';",
        "export {attachLineReporter} from './src/reporters/line-reporter.js';",
        // What `up` builds around its listener for the call inspector (bench/inspector.mjs).
        "export {TunnelEventBus} from './src/core/events.js';",
        "export {CallCapture} from './src/core/calls.js';",
        "export {startCallOutputs} from './src/cli/call-outputs.js';",
        "export {callOutputOptionsFrom} from './src/cli/record-options.js';",
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

/** `env`: variables added to this process's environment for the child (a proxy's knobs). */
export function startChild(script, args, execArgv = ['--expose-gc'], env = {}) {
  const child = fork(join(here, script), args, {execArgv, env: {...process.env, ...env}, stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
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
    ask: (type, replyType = type, timeoutMs = 15000, fields = {}) => {
      const reply = next(replyType, timeoutMs);
      child.send({...fields, type});
      return reply;
    },
    exited,
  };
}


/** CPU time so far of every thread of a running process, in ms (Linux /proc; NaN elsewhere). */
export function cpuTimeOf(pid) {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return NaN;
  }
}

/** The `q` quantile (0..1) of the finite values, interpolated linearly; NaN when there are none. */
export function quantile(values, q) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (pos - lo);
}

/** Median, quartiles and range of the finite values, for per-round ratios and rates. */
export function spread(values) {
  return {n: values.filter(Number.isFinite).length, median: quantile(values, 0.5), q1: quantile(values, 0.25), q3: quantile(values, 0.75), min: quantile(values, 0), max: quantile(values, 1)};
}

/** `1.025x (IQR 1.008–1.061, range 1.001–1.070, 9 rounds)`. */
export function describeSpread(s, digits, unit = '') {
  const fmt = (v) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
  return `${fmt(s.median)}${unit} (IQR ${fmt(s.q1)}–${fmt(s.q3)}, range ${fmt(s.min)}–${fmt(s.max)}, ${s.n} rounds)`;
}
