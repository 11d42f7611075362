// Team-gateway section of `npm run bench` (`npm run bench -- gateway`): `dubbo-tunnel gateway` as
// its own process (dist/, in-cluster environment pointed at the fake API server of
// bench/gateway-api.mjs, over TLS), dialling pods by IP (127.0.0.1, bench/provider.mjs behind it).
// Loopback only. Two figures:
//   1. CPU efficiency on small@64: the load generator opens a laptop stream (the hello with a
//      developer's token first, encoded by src/gateway/protocol.ts bundled like dist/, then the
//      bench frames with target-application), against the plain TCP relay (bench/proxy.mjs relay)
//      to the same provider. Gateway and relay alternate within each round (in the opposite order
//      every other round); per round, requests answered per CPU-second of the proxy's process
//      (every thread, from /proc), and the gateway's figure over the relay's. The verdict is the
//      median ratio over the rounds, with its spread.
//   2. Control-plane streams: D laptops (`dubbo-tunnel up --via <namespace>/<service> --no-ui`,
//      each its own process and developer token) x M applications x C consumers per laptop, every
//      consumer calling every application once; the port-forward upgrades the API server served.
//      Without a gateway `up` on each laptop holds one per application (D x M), kubectl
//      port-forward one per consumer connection and application (D x M x C); through it, one per
//      laptop (D).
// Knobs: BENCH_GATEWAY_ROUNDS (7), BENCH_GATEWAY_LAPTOPS (D, 3), BENCH_GATEWAY_APPS (M, 3),
// BENCH_GATEWAY_CONSUMERS (C, 2), BENCH_WARMUP_MS / BENCH_DURATION_MS (300 / 1000), BENCH_STRICT=1.
import process from 'node:process';
import console from 'node:console';
import {spawn} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import {dirname, join} from 'node:path';
import {performance} from 'node:perf_hooks';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {getUserRequestBody, TARGET_APPLICATION, timedCases} from './frames.mjs';
import {cpuTimeOf, describeSpread, quantile, spread, startChild} from './harness.mjs';
import {OneCallConsumer, freePort, runLoad, verifyOnce} from './load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, '.bench-out');
const int = (name, fallback) => Number(process.env[name] ?? fallback);
const ROUNDS = int('BENCH_GATEWAY_ROUNDS', 7);
const LAPTOPS = int('BENCH_GATEWAY_LAPTOPS', 3);
const APPS = int('BENCH_GATEWAY_APPS', 3);
const CONSUMERS = int('BENCH_GATEWAY_CONSUMERS', 2);
const WARMUP_MS = int('BENCH_WARMUP_MS', 300);
const DURATION_MS = int('BENCH_DURATION_MS', 1000);
/** The case of figure 1: getUser calls, 64 in flight on one stream (bench/frames.mjs). */
const CASE = timedCases().find((c) => c.name === 'small@64') ?? (() => {
  throw new Error('the gateway section times small@64; BENCH_CASES leaves it out');
})();
const NAMESPACE = 'bench';
const GATEWAY_NAMESPACE = 'dubbo-tunnel';
const GATEWAY_SERVICE_NAME = 'dubbo-gateway';
const GATEWAY_TOKEN = 'bench-gateway-sa-token';
const DEVELOPERS = Array.from({length: Math.max(1, LAPTOPS)}, (_, i) => `dev-${i}`);
/** The id of the hello frame; the load's own ids count up from 1 and never reach it. */
const HELLO_ID = 0xfffffffen;

// Targets (docs/performance.md, "Team gateway").
const TARGET_CPU_RATIO = 0.9;

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const loadAverage = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/** The laptop side of src/gateway/protocol.ts, bundled with the package's esbuild settings (the code `up --via` runs). */
async function bundleGatewayProtocol() {
  const {build} = await import('esbuild');
  const {commonOptions} = await import('../scripts/build.mjs');
  const outfile = join(out, 'gateway-protocol.js');
  await build({
    ...commonOptions(),
    absWorkingDir: root,
    stdin: {contents: "export {encodeHello} from './src/gateway/protocol.js';", resolveDir: root, sourcefile: 'bench-gateway-protocol.ts', loader: 'ts'},
    outfile, format: 'esm', metafile: false,
  });
  return await import(outfile);
}

/** No settings of whoever runs the bench; plain output as in CI. */
function cleanEnv(scratch, extra) {
  return {...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DUBBO_TUNNEL_') && !key.startsWith('KUBERNETES_') && key !== 'KUBECONFIG')),
    DUBBO_TUNNEL_CONFIG_DIR: join(scratch, 'config'), CI: 'true', HOME: scratch, ...extra};
}

/** A dubbo-tunnel process with its output kept (shown when it fails). */
function startCli(args, env) {
  const child = spawn(process.execPath, [join(root, 'bin/dubbo-tunnel.js'), ...args], {stdio: ['ignore', 'pipe', 'pipe'], env});
  let output = '';
  // Only the tail is kept (shown when a process fails): the gateway logs as deployed, at info.
  const keep = (chunk) => (output = (output + chunk).slice(-65_536));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child, output: () => output, gone: () => gone,
    async stop() {
      if (!gone) child.kill('SIGTERM');
      const result = await Promise.race([exited, sleep(10_000).then(() => undefined)]);
      if (result === undefined) child.kill('SIGKILL');
      return result ?? (await exited);
    },
  };
}

async function waitUntil(what, cli, check, timeoutMs = 60_000) {
  const t0 = performance.now();
  while (!(await check())) {
    if (cli.gone()) throw new Error(`${what} exited before it was ready:\n${cli.output().slice(-2000)}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what} not ready in ${timeoutMs / 1000} s:\n${cli.output().slice(-2000)}`);
    await sleep(50);
  }
}

/** `dubbo-tunnel gateway` as a pod runs it, with the in-cluster environment; resolves once /readyz answers 200. */
async function startGateway(api, scratch) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const gateway = startCli(['gateway', '--port', String(port), '--admin-port', String(adminPort), '-n', NAMESPACE, '--no-learn'],
    cleanEnv(scratch, {KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port), DUBBO_TUNNEL_SERVICEACCOUNT_DIR: api.serviceAccountDir}));
  const ready = async () => {
    try {
      return (await globalThis.fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200;
    } catch {
      return false;
    }
  };
  await waitUntil('dubbo-tunnel gateway', gateway, ready);
  return {...gateway, port};
}

/** One small@64 run on one proxy; its answers per CPU-second of the proxy's process (warm-up and drain included on both sides). */
async function runCase(target) {
  const cpuBefore = cpuTimeOf(target.pid);
  let r;
  try {
    r = await runLoad(target.port, {bytes: CASE.shape, inFlight: CASE.inFlight, warmupMs: WARMUP_MS, durationMs: DURATION_MS, prelude: target.prelude?.()});
    if (r.errors > 0) r.error = `${r.errors} bad answers`;
  } catch (error) {
    return {error: error.message};
  }
  const cpuMs = cpuTimeOf(target.pid) - cpuBefore;
  return {...r, cpuMs, perCpuSecond: r.total / (cpuMs / 1000)};
}

/** Figure 1: gateway against relay, alternating, ROUNDS rounds after one unmeasured warm-up each. */
async function efficiencyFigure(targets) {
  for (const target of Object.values(targets)) await runCase(target);
  const runs = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ['relay', 'gateway'] : ['gateway', 'relay'];
    const line = [];
    for (const path of order) {
      const r = await runCase(targets[path]);
      runs.push({round, path, ...r});
      line.push(`${path} ${r.error ? `FAILED (${r.error})` : `${fmtInt(r.reqPerSec)}/s, ${fmtInt(r.perCpuSecond)} req per CPU-s`}`);
    }
    console.log(`  round ${String(round).padStart(2)} ${CASE.name}  ${line.join(' | ')}`);
  }
  return runs;
}

/** One `up --via <namespace>/<service> --no-ui` per developer; resolves once every application is ready on each. */
async function startLaptops(api, apps, scratch) {
  const laptops = [];
  for (const developer of DEVELOPERS.slice(0, LAPTOPS)) {
    const port = await freePort();
    const laptop = startCli(['up', '--via', `${GATEWAY_NAMESPACE}/${GATEWAY_SERVICE_NAME}`, '--select', apps.join(','), '--no-ui', '--kubeconfig', api.kubeconfigs[developer],
      '--port', String(port), '--host', '127.0.0.1'], cleanEnv(join(scratch, developer), {}));
    laptops.push({...laptop, port, developer});
    const ready = () => apps.every((app) => new RegExp(`\\b${app}\\b.*: ready`).test(laptop.output()));
    await waitUntil(`up --via (${developer})`, laptop, ready);
  }
  return laptops;
}

/** Figure 2: C consumers on each of D laptops call each of M applications once; the port-forwards served meanwhile. */
async function streamsFigure(apiChild, api, apps, scratch) {
  const before = (await apiChild.ask('served')).served;
  const laptops = [];
  const consumers = [];
  try {
    laptops.push(...(await startLaptops(api, apps, scratch)));
    for (const laptop of laptops) for (let c = 0; c < CONSUMERS; c++) consumers.push(await OneCallConsumer.connect(laptop.port));
    for (const consumer of consumers) for (const app of apps) await consumer.call(getUserRequestBody(app));
    const after = await apiChild.ask('served');
    return {laptops: laptops.length, applications: apps.length, consumers: CONSUMERS, calls: consumers.length * apps.length, served: after.served - before, open: after.open};
  } catch (error) {
    return {error: error.message};
  } finally {
    for (const consumer of consumers) consumer.close();
    await Promise.all(laptops.map((laptop) => laptop.stop()));
  }
}

export async function gatewayBench() {
  const t0 = Date.now();
  mkdirSync(out, {recursive: true});
  console.log(`dubbo-tunnel gateway bench: node ${process.version}, ${os.cpus().length} cores, load average ${loadAverage()}`);
  console.log(`${ROUNDS} rounds of ${CASE.name} through the gateway and the relay (warm-up ${WARMUP_MS} + ${DURATION_MS} ms each); ` +
    `${LAPTOPS} laptops x ${APPS} applications x ${CONSUMERS} consumers\n`);
  const {encodeHello} = await bundleGatewayProtocol();
  const scratch = mkdtempSync(join(os.tmpdir(), 'dubbo-tunnel-gateway-bench-'));
  const provider = startChild('provider.mjs', []);
  const apiChild = startChild('gateway-api.mjs', [], []);
  const stoppers = [];
  let runs = [];
  let streams;
  try {
    const providerPort = (await provider.ready).port;
    await apiChild.ready;
    const apps = Array.from({length: APPS}, (_, i) => `app-${i}`);
    const users = Object.fromEntries([...DEVELOPERS.map((developer) => [`${developer}-token`, developer]), [GATEWAY_TOKEN, `system:serviceaccount:${GATEWAY_NAMESPACE}:dubbo-tunnel-gateway`]]);
    const api = await apiChild.ask('setup', 'setup', 30_000, {
      dir: scratch, users, namespace: NAMESPACE, gatewayNamespace: GATEWAY_NAMESPACE, gatewayToken: GATEWAY_TOKEN,
      apps: [...apps, TARGET_APPLICATION].map((name) => ({name, containerPort: providerPort})),
    });
    const gateway = await startGateway(api, scratch);
    stoppers.push(() => gateway.stop());
    await apiChild.ask('gateway-service', 'gateway-service', 15_000, {namespace: GATEWAY_NAMESPACE, name: GATEWAY_SERVICE_NAME, port: gateway.port});
    const relay = startChild('proxy.mjs', ['relay', String(providerPort)]);
    stoppers.push(async () => {
      await relay.ask('stop', 'stopped');
      await relay.exited;
    });
    const targets = {
      relay: {port: (await relay.ready).port, pid: relay.child.pid},
      // A fresh hello (and TokenReview) on every stream, as every laptop's stream starts.
      gateway: {port: gateway.port, pid: gateway.child.pid, prelude: () => encodeHello(HELLO_ID, `${DEVELOPERS[0]}-token`, 'dubbo-tunnel/bench')},
    };
    // Both paths must deliver byte-exact answers before they are timed.
    for (const target of Object.values(targets)) await verifyOnce(target.port, CASE.shape, {prelude: target.prelude?.()});
    runs = await efficiencyFigure(targets);
    console.log(`\n  ${LAPTOPS} laptops (up --via ${GATEWAY_NAMESPACE}/${GATEWAY_SERVICE_NAME}) x ${APPS} applications x ${CONSUMERS} consumers each...`);
    streams = await streamsFigure(apiChild, api, apps, scratch);
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
    await apiChild.ask('stop', 'stopped').catch(() => {});
    provider.child.send({type: 'stop'});
    await provider.exited;
    rmSync(scratch, {recursive: true, force: true});
  }

  const checks = [];
  console.log('\nper path, median over the rounds (IQR):');
  console.log(['path'.padEnd(8), 'req/s'.padStart(22), 'req per CPU-s'.padStart(24), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8)].join(' '));
  for (const path of ['relay', 'gateway']) {
    const mine = runs.filter((r) => r.path === path && !r.error);
    const rate = spread(mine.map((r) => r.reqPerSec));
    const perCpu = spread(mine.map((r) => r.perCpuSecond));
    console.log([path.padEnd(8), `${fmtInt(rate.median)} (${fmtInt(rate.q1)}–${fmtInt(rate.q3)})`.padStart(22),
      `${fmtInt(perCpu.median)} (${fmtInt(perCpu.q1)}–${fmtInt(perCpu.q3)})`.padStart(24),
      fmt(quantile(mine.map((r) => r.p50), 0.5), 3).padStart(8), fmt(quantile(mine.map((r) => r.p99), 0.5), 3).padStart(8)].join(' '));
  }
  const ratios = [];
  const rateRatios = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const [relay, gateway] = ['relay', 'gateway'].map((path) => runs.find((r) => r.round === round && r.path === path));
    if (!relay || !gateway || relay.error || gateway.error) continue;
    ratios.push(gateway.perCpuSecond / relay.perCpuSecond);
    rateRatios.push(gateway.reqPerSec / relay.reqPerSec);
  }
  const failed = runs.find((r) => r.error);
  const ratio = spread(ratios);
  console.log(`gateway/relay req/s (not a target; both share the cores with the load generator): ${describeSpread(spread(rateRatios), 3, 'x')}`);
  checks.push({name: `${CASE.name} gateway/relay requests per CPU-second of the proxy >= ${TARGET_CPU_RATIO}x (median)`,
    value: failed ? failed.error : describeSpread(ratio, 3, 'x'), pass: !failed && ratios.length > 0 && ratio.median >= TARGET_CPU_RATIO});
  if (streams?.error === undefined && streams !== undefined) {
    console.log(`${streams.laptops} laptops x ${streams.applications} applications x ${streams.consumers} consumers (${streams.calls} calls, all answered OK): ` +
      `${streams.served} port-forwards served; without a gateway ${streams.laptops * streams.applications} (\`up\` on each laptop, one per application), ` +
      `${streams.laptops * streams.applications * streams.consumers} with kubectl port-forward (one per consumer connection and application)`);
  } else if (streams?.error) {
    console.log(`laptops run failed: ${streams.error}`);
  }
  checks.push({name: `port-forwards for ${LAPTOPS} laptops x ${APPS} applications x ${CONSUMERS} consumers == ${LAPTOPS} (one per laptop)`,
    value: streams === undefined ? 'not run' : (streams.error?.split('\n')[0] ?? `${streams.served}`), pass: streams?.served === LAPTOPS});

  console.log('\ntargets:');
  for (const check of checks) console.log(`  ${check.pass ? 'MET   ' : 'MISSED'}  ${check.name}: ${check.value}`);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`\ngateway bench took ${fmt(seconds)} s, load average now ${loadAverage()}; raw results in .bench-out/gateway.json`);
  writeFileSync(join(out, 'gateway.json'), JSON.stringify({
    node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), rounds: ROUNDS, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
    runs, streams, checks, seconds,
  }, null, 2));
  if (process.env.BENCH_STRICT === '1' && checks.some((check) => !check.pass)) process.exitCode = 1;
}
