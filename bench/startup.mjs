// Start-up and footprint section of `npm run bench` (`npm run bench -- startup`).
//
// Each figure is measured in the same run as its baselines, the variants interleaved run by run so
// background load on a shared machine hits them alike:
//   node       bare `node -e 0`: Node's own start-up, the floor of every figure
//   bundle     `node bin/dubbo-tunnel.js` running dist/ (what the published package runs)
//   unbundled  the same sources compiled file by file with tsc, dependencies from node_modules
//              (the package before the bundle), built into .bench-out/unbundled
//   binary     the single executable (dist-bin/dubbo-tunnel, `npm run build:binary`), if built
// Figures:
//   --help                                  spawn until exit
//   up --backend ... --no-ui                spawn until the local port accepts a connection
//   ls against the fake API server          3 and 300 applications, spawn until exit (in-process
//                                           fake API server, test/support/fake-kube-api.ts)
//   RSS of up --all against that cluster    idle (100 applications discovered), then after one call
//                                           to each of the 100 (100 open port-forward tunnels), then
//                                           during and after BENCH_STARTUP_REQUESTS small requests
//                                           (1 KiB; bundle only)
// Knobs: BENCH_STARTUP_RUNS (default 11), BENCH_STARTUP_REQUESTS (default 1000000),
// BENCH_STARTUP_VARIANTS (default: node,bundle,unbundled,binary), BENCH_STARTUP_FOOTPRINT=0 (skip
// the RSS figures), BENCH_STARTUP_NODE_OPTIONS (Node options for the measured processes only, e.g.
// --max-semi-space-size=2), BENCH_STRICT=1.
import process from 'node:process';
import console from 'node:console';
import {execFileSync, fork, spawn} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import {dirname, join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {FrameSkipper, requestBody, requestHeader} from './frames.mjs';
import {cpuTimeOf, quantile} from './harness.mjs';
import {freePort} from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, '.bench-out');
const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 11);
const REQUESTS = Number(process.env.BENCH_STARTUP_REQUESTS ?? 1_000_000);
/** Seconds after the last request at which "after the requests" is sampled (every second until then). */
const SETTLE_S = Number(process.env.BENCH_STARTUP_SETTLE_S ?? 30);
const WANTED = (process.env.BENCH_STARTUP_VARIANTS ?? 'node,bundle,unbundled,binary').split(',');
const MiB = 1024 * 1024;
const TUNNEL_APPS = 100;

// Targets (docs/performance.md).
const TARGETS = {helpOverNodeMs: 60, upListenOverNodeMs: 250, ls3Ms: 600, ls300Ms: 900, rssIdleMiB: 70, rssTunnelsMiB: 100, rssGrowthMiB: 20};

const fmt = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const stats = (values) => ({median: quantile(values, 0.5), p25: quantile(values, 0.25), p75: quantile(values, 0.75), min: quantile(values, 0), max: quantile(values, 1), n: values.length});

/** The commands to start each variant; `args` are the CLI's arguments. */
function variants() {
  const list = [{name: 'node', argv: () => [process.execPath, '-e', '0']}];
  list.push({name: 'bundle', argv: (args) => [process.execPath, join(root, 'bin/dubbo-tunnel.js'), ...args]});
  if (WANTED.includes('unbundled')) {
    process.stdout.write('  compiling the unbundled build (tsc) into .bench-out/unbundled...\n');
    rmSync(join(out, 'unbundled'), {recursive: true, force: true});
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(out, 'unbundled'), '--sourceMap', 'false'], {stdio: 'inherit'});
    // The launcher the package had before the bundle: bin/ importing the compiled main module.
    writeFileSync(join(out, 'unbundled-bin.mjs'), "const {main} = await import('./unbundled/cli/main.js');\nprocess.exitCode = await main(process.argv.slice(2));\n");
    list.push({name: 'unbundled', argv: (args) => [process.execPath, join(out, 'unbundled-bin.mjs'), ...args]});
  }
  const binary = join(root, 'dist-bin', process.platform === 'win32' ? 'dubbo-tunnel.exe' : 'dubbo-tunnel');
  if (WANTED.includes('binary')) {
    if (existsSync(binary)) list.push({name: 'binary', argv: (args) => [binary, ...args]});
    else process.stdout.write('  no single executable in dist-bin/ (npm run build:binary): the binary column is left out\n');
  }
  return list.filter((variant) => WANTED.includes(variant.name));
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({port, host: '127.0.0.1'});
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** RSS of another process (Linux /proc; elsewhere `ps`). */
function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
    return kb * 1024;
  } catch {
    return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], {encoding: 'utf8'}).trim()) * 1024;
  }
}

function start(argv, env) {
  const [command, ...args] = argv;
  const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env});
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({code, signal})));
  return {child, exited, output: () => output};
}

const quote = (arg) => `'${String(arg).replaceAll("'", "'\\''")}'`;

/**
 * Wall time from spawn to exit, and the CPU time (user + system, all threads) the process used,
 * which bash's `times` reports for its children. On a shared machine CPU time is the steadier
 * figure: waiting for a core inflates wall time, not CPU time. Fails on an unexpected exit code.
 */
async function timeToExit(argv, env, expectCode = 0) {
  const script = `${argv.map(quote).join(' ')} >"$BENCH_OUT" 2>&1; code=$?; times >&2; exit $code`;
  const outFile = join(env.HOME, `out-${process.pid}.txt`);
  const t0 = performance.now();
  const child = spawn('bash', ['-c', script], {stdio: ['ignore', 'ignore', 'pipe'], env: {...env, BENCH_OUT: outFile}});
  let timesText = '';
  child.stderr.on('data', (chunk) => (timesText += chunk));
  const code = await new Promise((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  const ms = performance.now() - t0;
  const output = readFileSync(outFile, 'utf8');
  if (code !== expectCode) throw new Error(`${argv.slice(1).join(' ')} exited ${code}:\n${output.slice(0, 2000)}`);
  // Second line of `times`: the children's user and system time, e.g. "0m0.103s 0m0.037s".
  const children = timesText.trim().split('\n').at(-1).split(/\s+/).map((part) => {
    const match = /^(\d+)m([\d.]+)s$/.exec(part);
    return match ? (Number(match[1]) * 60 + Number(match[2])) * 1000 : NaN;
  });
  return {ms, cpuMs: children[0] + children[1], output};
}


/** Wall time from spawn until `port` accepts a connection, and the CPU time used by then; then stops the process. */
async function timeToListen(argv, env, port) {
  const t0 = performance.now();
  const run = start(argv, env);
  let exited = false;
  run.exited.then(() => (exited = true));
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`${argv.slice(1).join(' ')} exited before listening:\n${run.output().slice(0, 2000)}`);
    if (performance.now() - t0 > 30_000) throw new Error('not listening after 30 s');
    await sleep(2);
  }
  const ms = performance.now() - t0;
  const cpuMs = cpuTimeOf(run.child.pid);
  run.child.kill('SIGTERM');
  await run.exited;
  return {ms, cpuMs};
}

/** `runs` rounds; in each round every variant once, the order rotated so none always goes first. */
async function interleaved(list, runs, measure) {
  const results = Object.fromEntries(list.map((variant) => [variant.name, {wall: [], cpu: []}]));
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < list.length; i++) {
      const variant = list[(round + i) % list.length];
      const {ms, cpuMs} = await measure(variant);
      results[variant.name].wall.push(ms);
      results[variant.name].cpu.push(cpuMs);
    }
  }
  return Object.fromEntries(Object.entries(results).map(([name, {wall, cpu}]) => [name, {...stats(wall), cpu: stats(cpu)}]));
}

/**
 * Pipelined calls on one consumer connection, cycling over `apps` (each request names its
 * application in target-application), `inFlight` at a time, until `total` answers came back.
 */
async function callMany(port, apps, {total, inFlight}) {
  const bodies = apps.map((app) => requestBody(1024, app));
  const socket = await new Promise((resolve, reject) => {
    const s = net.connect({port, host: '127.0.0.1', noDelay: true}, () => resolve(s));
    s.once('error', reject);
  });
  let sent = 0;
  let answered = 0;
  let bad = 0;
  let status = 0;
  return await new Promise((resolve, reject) => {
    const send = () => {
      const body = bodies[sent % bodies.length];
      const header = requestHeader(BigInt(++sent), body.length);
      socket.cork();
      socket.write(header);
      socket.write(body);
      socket.uncork();
    };
    const skipper = new FrameSkipper((header) => (status = header[3]), () => {
      answered++;
      if (status !== 20) bad++;
      if (answered === total) {
        socket.destroy();
        resolve({answered, bad});
      } else if (sent < total) send();
    });
    socket.on('data', (chunk) => skipper.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => answered < total && reject(new Error(`connection closed after ${answered} of ${total} answers`)));
    for (let i = 0; i < Math.min(inFlight, total); i++) send();
  });
}

/**
 * One `up --all --no-ui` against a fake cluster of TUNNEL_APPS applications whose pods forward to
 * the bench provider: RSS once discovery settled, after one call to each application (one
 * port-forward tunnel each), and after REQUESTS more small requests over those tunnels.
 */
async function footprint(variant, kubeconfig, env) {
  const port = await freePort();
  const run = start(variant.argv(['up', '--all', '--no-ui', '--kubeconfig', kubeconfig, '--port', String(port), '--host', '127.0.0.1']), env);
  const ready = () => (run.output().match(/: ready/g) ?? []).length;
  const t0 = performance.now();
  while (!(await canConnect(port)) || ready() < TUNNEL_APPS) {
    if (performance.now() - t0 > 60_000) throw new Error(`up did not get ${TUNNEL_APPS} applications ready in 60 s (${ready()}):\n${run.output().slice(-2000)}`);
    await sleep(20);
  }
  // Idle: every application ready and asked what it exports (the learning probes run
  // after an application turns ready), then a second with nothing to do.
  const learned = () => (run.output().match(/: (exports \d+ services?|could not learn)/g) ?? []).length;
  while (learned() < TUNNEL_APPS) {
    if (performance.now() - t0 > 120_000) throw new Error(`up did not learn the services of ${TUNNEL_APPS} applications in 120 s (${learned()}):\n${run.output().slice(-2000)}`);
    await sleep(20);
  }
  await sleep(1000);
  const idle = rssOf(run.child.pid);
  const apps = Array.from({length: TUNNEL_APPS}, (_, i) => `app-${i}`);
  const first = await callMany(port, apps, {total: TUNNEL_APPS, inFlight: TUNNEL_APPS});
  await sleep(1000);
  const tunnels = rssOf(run.child.pid);
  let afterRequests = NaN;
  let halfway = NaN;
  let afterRequests1s = NaN;
  const settle = [];
  let seconds = NaN;
  let bad = first.bad;
  // The long request run only for the bundle (what users run); the other variants share its code.
  if (REQUESTS > 0 && variant.name === 'bundle') {
    const t1 = performance.now();
    // Two halves with a sample between them: growth that stops is the heap settling at its working
    // size; growth that goes on in the second half is a leak.
    const firstHalf = await callMany(port, apps, {total: Math.floor(REQUESTS / 2), inFlight: 64});
    halfway = rssOf(run.child.pid);
    const secondHalf = await callMany(port, apps, {total: REQUESTS - Math.floor(REQUESTS / 2), inFlight: 64});
    seconds = (performance.now() - t1) / 1000;
    bad += firstHalf.bad + secondHalf.bad;
    // Under load V8 grows its young generation to the maximum (16 MiB semi-spaces) and gives it
    // back once allocation calms down (its memory reducer): RSS right after the load is the heap's
    // working size, a few seconds later the memory held.
    await sleep(1000);
    afterRequests1s = rssOf(run.child.pid);
    // Then every second up to SETTLE_S, for how the RSS comes back once the load is over.
    for (let second = 2; second <= SETTLE_S; second++) {
      await sleep(1000);
      settle.push(rssOf(run.child.pid));
    }
    afterRequests = settle.at(-1) ?? afterRequests1s;
  }
  run.child.kill('SIGTERM');
  const {code} = await run.exited;
  if (code !== 0) throw new Error(`up exited ${code} after SIGTERM:\n${run.output().slice(-2000)}`);
  return {idle, tunnels, halfway, afterRequests1s, afterRequests, settle, requests: Number.isFinite(seconds) ? REQUESTS : 0, seconds, bad};
}

export async function startupBench() {
  const t0 = Date.now();
  console.log(`dubbo-tunnel start-up bench: node ${process.version}, ${os.cpus().length} cores, ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`${RUNS} runs per figure (interleaved), ${REQUESTS.toLocaleString('en-US')} requests for the memory figure\n`);
  mkdirSync(out, {recursive: true});
  const list = variants();
  const programs = list.filter((variant) => variant.name !== 'node');
  const scratch = mkdtempSync(join(os.tmpdir(), 'dubbo-tunnel-bench-'));
  // No settings of whoever runs the bench; plain output as in CI.
  const env = {...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DUBBO_TUNNEL_') && key !== 'KUBECONFIG')),
    DUBBO_TUNNEL_CONFIG_DIR: join(scratch, 'config'), CI: 'true', HOME: scratch,
    ...(process.env.BENCH_STARTUP_NODE_OPTIONS ? {NODE_OPTIONS: process.env.BENCH_STARTUP_NODE_OPTIONS} : {})};

  // The fake API server and the Dubbo provider run in this process / a child, not in the measured one.
  const {register} = await import('tsx/esm/api');
  register();
  const {FakeKubeApi} = await import('../test/support/fake-kube-api.ts');
  const provider = fork(join(here, 'provider.mjs'), [], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
  const providerPort = await new Promise((resolve) => provider.once('message', (msg) => resolve(msg.port)));
  const clusters = {};
  for (const count of [3, 300, TUNNEL_APPS]) {
    if (clusters[count]) continue;
    const api = await FakeKubeApi.start();
    for (let i = 0; i < count; i++) api.addDubboApp({name: `app-${i}`, pods: [{name: `app-${i}-0`, target: {host: '127.0.0.1', port: providerPort}}]});
    clusters[count] = {api, kubeconfig: api.writeKubeconfig(join(scratch, `cluster-${count}`))};
  }

  const results = {};
  const checks = [];
  try {
    process.stdout.write('  --help...\n');
    results.help = await interleaved(list, RUNS, (variant) => timeToExit(variant.argv(['--help']), env));
    process.stdout.write('  up --backend ... --no-ui until the port accepts...\n');
    results.upListen = await interleaved(list, RUNS, async (variant) => {
      if (variant.name === 'node') return timeToExit(variant.argv([]), env);
      const port = await freePort();
      return timeToListen(variant.argv(['up', '--backend', `app-0=127.0.0.1:${providerPort}`, '--no-ui', '--port', String(port), '--host', '127.0.0.1']), env, port);
    });
    for (const count of [3, 300]) {
      process.stdout.write(`  ls against the fake API server with ${count} applications...\n`);
      results[`ls${count}`] = await interleaved(list, RUNS, async (variant) => {
        if (variant.name === 'node') return timeToExit(variant.argv([]), env);
        const run = await timeToExit(variant.argv(['ls', '--kubeconfig', clusters[count].kubeconfig]), env);
        const rows = run.output.trim().split('\n').filter((line) => line.startsWith('app-')).length;
        if (rows !== count) throw new Error(`ls listed ${rows} applications, expected ${count}:\n${run.output.slice(0, 1000)}`);
        return run;
      });
    }
    results.footprint = {};
    for (const variant of process.env.BENCH_STARTUP_FOOTPRINT === '0' ? [] : programs) {
      process.stdout.write(`  ${variant.name}: RSS of up --all against ${TUNNEL_APPS} applications, then ${TUNNEL_APPS} tunnels, then ${REQUESTS.toLocaleString('en-US')} requests...\n`);
      results.footprint[variant.name] = await footprint(variant, clusters[TUNNEL_APPS].kubeconfig, env);
    }
  } finally {
    for (const {api} of Object.values(clusters)) await api.stop();
    provider.send({type: 'stop'});
    rmSync(scratch, {recursive: true, force: true});
  }

  const names = list.map((variant) => variant.name);
  const cell = (s) => `${fmt(s.median)} (${fmt(s.p25)}-${fmt(s.p75)})`;
  const rows = [['--help', 'help'], ['up until listening', 'upListen'], ['ls, 3 applications', 'ls3'], ['ls, 300 applications', 'ls300']];
  for (const [title, pick] of [['wall time', (r) => r], ['CPU time (user + system, all threads)', (r) => r.cpu]]) {
    console.log(`\n${title} in ms: median (25th-75th percentile) of ${RUNS} runs; "+node" is the median minus bare node's`);
    console.log(['figure'.padEnd(22), ...names.flatMap((name) => [name.padStart(16), name === 'node' ? null : `+node`.padStart(7)]).filter(Boolean)].join(' '));
    for (const [label, key] of rows) {
      const node = pick(results[key].node)?.median ?? NaN;
      console.log([label.padEnd(22), ...names.flatMap((name) => [cell(pick(results[key][name])).padStart(16), name === 'node' ? null : fmt(pick(results[key][name]).median - node).padStart(7)]).filter(Boolean)].join(' '));
    }
  }
  console.log(`\nRSS of up --all (MiB): idle with ${TUNNEL_APPS} applications | ${TUNNEL_APPS} open tunnels | halfway through the requests | 1 s after | ${SETTLE_S} s after ${REQUESTS.toLocaleString('en-US')} requests (growth since the tunnels)`);
  for (const [name, f] of Object.entries(results.footprint)) {
    console.log(`  ${name.padEnd(10)} ${fmt(f.idle / MiB, 1).padStart(6)} | ${fmt(f.tunnels / MiB, 1).padStart(6)} | ${fmt(f.halfway / MiB, 1).padStart(6)} | ${fmt(f.afterRequests1s / MiB, 1).padStart(6)} | ${fmt(f.afterRequests / MiB, 1).padStart(6)} (${fmt((f.afterRequests - f.tunnels) / MiB, 1)}; ${fmt(f.requests / f.seconds)} req/s, ${f.bad} bad answers)`);
    if (f.settle?.length > 0) console.log(`  ${''.padEnd(10)} RSS each second from 2 s after the requests: ${f.settle.map((bytes) => fmt(bytes / MiB, 0)).join(' ')}`);
  }

  const bundle = (key) => results[key].bundle?.median ?? NaN;
  const node = (key) => results[key].node?.median ?? NaN;
  const cpu = (key, name = 'bundle') => results[key][name]?.cpu.median ?? NaN;
  const f = results.footprint.bundle;
  if (results.help.bundle) {
    checks.push({name: `--help <= ${TARGETS.helpOverNodeMs} ms over bare node`, value: `${fmt(bundle('help') - node('help'))} ms (CPU ${fmt(cpu('help') - cpu('help', 'node'))} ms)`, pass: bundle('help') - node('help') <= TARGETS.helpOverNodeMs});
    checks.push({name: `up until listening <= ${TARGETS.upListenOverNodeMs} ms over bare node`, value: `${fmt(bundle('upListen') - node('upListen'))} ms (CPU ${fmt(cpu('upListen') - cpu('upListen', 'node'))} ms)`, pass: bundle('upListen') - node('upListen') <= TARGETS.upListenOverNodeMs});
    checks.push({name: `ls with 3 applications <= ${TARGETS.ls3Ms} ms`, value: `${fmt(bundle('ls3'))} ms (CPU ${fmt(cpu('ls3'))} ms)`, pass: bundle('ls3') <= TARGETS.ls3Ms});
    checks.push({name: `ls with 300 applications <= ${TARGETS.ls300Ms} ms`, value: `${fmt(bundle('ls300'))} ms (CPU ${fmt(cpu('ls300'))} ms)`, pass: bundle('ls300') <= TARGETS.ls300Ms});
  }
  if (f) {
    checks.push({name: `RSS idle <= ${TARGETS.rssIdleMiB} MiB`, value: `${fmt(f.idle / MiB, 1)} MiB`, pass: f.idle / MiB <= TARGETS.rssIdleMiB});
    checks.push({name: `RSS with ${TUNNEL_APPS} tunnels <= ${TARGETS.rssTunnelsMiB} MiB`, value: `${fmt(f.tunnels / MiB, 1)} MiB`, pass: f.tunnels / MiB <= TARGETS.rssTunnelsMiB});
    if (REQUESTS > 0) {
      const growth = (f.afterRequests - f.tunnels) / MiB;
      checks.push({name: `RSS growth over ${REQUESTS.toLocaleString('en-US')} requests <= ${TARGETS.rssGrowthMiB} MiB`, value: `${fmt(growth, 1)} MiB`, pass: growth <= TARGETS.rssGrowthMiB && f.bad === 0});
    }
  }
  console.log('\ntargets (bundle):');
  for (const check of checks) console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.name}: ${check.value}`);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`\nstart-up bench took ${fmt(seconds, 1)} s; raw results in .bench-out/startup.json`);
  writeFileSync(join(out, 'startup.json'), JSON.stringify({node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), runs: RUNS, requests: REQUESTS, results, checks, seconds}, null, 2));
  if (process.env.BENCH_STRICT === '1' && checks.some((check) => !check.pass)) process.exitCode = 1;
}
