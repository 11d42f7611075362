#!/usr/bin/env node
// gRPC (Triple) through dubbo-tunnel vs straight to the provider (part of `npm run bench`).
//   direct  grpc-js client -> grpc-js provider
//   tunnel  grpc-js client -> dubbo-tunnel's local port (bundled like dist/, HTTP/2 path) -> provider
//   h2relay grpc-js client -> the least a node:http2 proxy does (one upstream session, each stream
//           forwarded with request + pipe, no routing) -> provider: the floor of the tunnel's path,
//           as the plain TCP relay is for the Dubbo path
// Unary calls with a 1 KiB message: 64 concurrent streams on one connection (throughput) and
// 1 in flight (p50/p99 latency). Three processes: this one (load), the provider, the tunnel.
// Loopback only. The two paths run back to back in each round so background load hits them alike.
// Knobs: BENCH_WARMUP_MS, BENCH_DURATION_MS, BENCH_ROUNDS, BENCH_STRICT=1.
import process from 'node:process';
import console from 'node:console';
import {fork} from 'node:child_process';
import http2 from 'node:http2';
import {fileURLToPath} from 'node:url';
import * as grpc from '@grpc/grpc-js';
import {bundleTunnelCore} from './harness.mjs';

const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 250);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 64;
const PAYLOAD = Buffer.alloc(1024, 0x61);
// Targets (docs/performance.md).
const TARGET_THROUGHPUT_RATIO = 0.8;
const TARGET_P99_ADDED_MS = 1;

// Raw bytes both ways: the bench measures transport, not protobuf.
const identity = (value) => value;
const SERVICE = {
  Echo: {path: '/bench.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity},
};

async function provider() {
  const server = new grpc.Server();
  server.addService(SERVICE, {Echo: (call, callback) => callback(null, call.request)});
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  process.send({type: 'ready', port});
  process.on('disconnect', () => process.exit(0));
}

async function tunnel(providerPort) {
  const {TunnelServer, StaticBackend, RouteSource, createRouteTable} = await import('../.bench-out/tunnel-core.js');
  const routes = new RouteSource(createRouteTable([StaticBackend.tripleOnly('bench-rpc', {host: '127.0.0.1', port: providerPort})]));
  const server = await TunnelServer.start({port: 0, host: '127.0.0.1', routes});
  let failed = 0;
  // The CLI always has a reporter listening for completed requests; count them like it would.
  server.events.on('request-completed', (event) => {
    if (!event.ok) failed++;
  });
  process.send({type: 'ready', port: server.port});
  process.on('message', (message) => {
    if (message.type === 'cpu') process.send({type: 'cpu', cpu: process.cpuUsage(), failed});
  });
  process.on('disconnect', () => process.exit(0));
}

/** The yardstick HTTP/2 proxy: headers as received (less the connection-specific ones), bodies piped, trailers passed on. */
async function h2relay(providerPort) {
  const upstream = http2.connect(`http://127.0.0.1:${providerPort}`);
  const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host']);
  const forwarded = (headers) => Object.fromEntries(Object.entries(headers).filter(([name, value]) => value !== undefined && !connectionSpecific.has(name)));
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const out = upstream.request(forwarded(headers));
    let trailers = {};
    out.on('response', (response) => {
      stream.respond(forwarded(response), {waitForTrailers: true});
      out.pipe(stream, {end: false});
    });
    out.on('trailers', (received) => (trailers = forwarded(received)));
    out.on('close', () => stream.end());
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.pipe(out);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.send({type: 'ready', port: server.address().port});
  process.on('disconnect', () => process.exit(0));
}

function start(args) {
  const child = fork(fileURLToPath(import.meta.url), args, {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
  const next = (type) => new Promise((resolve) => {
    const onMessage = (message) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
  });
  return {child, ready: next('ready'), ask: (type) => {
    const reply = next(type);
    child.send({type});
    return reply;
  }};
}

function call(client) {
  return new Promise((resolve, reject) => client.makeUnaryRequest(SERVICE.Echo.path, identity, identity, PAYLOAD, (error, value) => (error ? reject(error) : resolve(value))));
}

/** Calls for `ms` with `concurrency` in flight on one connection; latencies in ms. */
async function load(client, concurrency, ms) {
  const latencies = [];
  const deadline = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const reply = await call(client);
      if (reply.length !== PAYLOAD.length) throw new Error('bad echo');
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({length: concurrency}, worker));
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {rate: (latencies.length / elapsed) * 1000, p50: at(0.5), p99: at(0.99)};
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function main() {
  // The tunnel's code from src/, bundled with the package's esbuild settings (bench/harness.mjs).
  await bundleTunnelCore();
  const backend = start(['provider']);
  const {port: providerPort} = await backend.ready;
  const proxy = start(['tunnel', String(providerPort)]);
  const {port: tunnelPort} = await proxy.ready;
  const relay = start(['h2relay', String(providerPort)]);
  const {port: relayPort} = await relay.ready;
  const clientOf = (port) => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {'grpc.use_local_subchannel_pool': 1});
  const clients = {direct: clientOf(providerPort), h2relay: clientOf(relayPort), tunnel: clientOf(tunnelPort)};
  const results = {direct: {rate: [], p50: [], p99: []}, h2relay: {rate: [], p50: [], p99: []}, tunnel: {rate: [], p50: [], p99: []}};
  let tunnelCpuMs = 0;
  let tunnelCalls = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const path of ['direct', 'h2relay', 'tunnel']) {
      const client = clients[path];
      await load(client, CONCURRENCY, WARMUP_MS);
      const before = path === 'tunnel' ? await proxy.ask('cpu') : undefined;
      const wide = await load(client, CONCURRENCY, DURATION_MS);
      if (before) {
        const after = await proxy.ask('cpu');
        tunnelCpuMs += (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000;
        tunnelCalls += wide.rate * (DURATION_MS / 1000);
      }
      const single = await load(client, 1, DURATION_MS);
      results[path].rate.push(wide.rate);
      results[path].p50.push(single.p50);
      results[path].p99.push(single.p99);
    }
  }
  const {failed} = await proxy.ask('cpu');
  for (const client of Object.values(clients)) client.close();
  backend.child.kill();
  proxy.child.kill();
  relay.child.kill();

  const row = (path) => ({
    rate: median(results[path].rate), p50: median(results[path].p50), p99: median(results[path].p99),
  });
  const direct = row('direct');
  const floor = row('h2relay');
  const through = row('tunnel');
  const ratio = through.rate / direct.rate;
  const addedP99 = through.p99 - direct.p99;
  console.log(`\ngRPC unary, 1 KiB, median of ${ROUNDS} rounds of ${DURATION_MS} ms (Triple path):`);
  console.log('path    calls/s @64 streams   p50 @1 (ms)   p99 @1 (ms)');
  for (const [name, value] of [['direct', direct], ['h2relay', floor], ['tunnel', through]]) {
    console.log(`${name.padEnd(7)} ${Math.round(value.rate).toLocaleString('en-US').padStart(19)}   ${value.p50.toFixed(3).padStart(11)}   ${value.p99.toFixed(3).padStart(11)}`);
  }
  console.log(`tunnel/direct throughput ${ratio.toFixed(2)}x (target >= ${TARGET_THROUGHPUT_RATIO}), added p99 at 1 in flight ${addedP99.toFixed(3)} ms (target <= ${TARGET_P99_ADDED_MS}), tunnel CPU ${(tunnelCpuMs * 1000 / Math.max(1, tunnelCalls)).toFixed(1)} µs per call, failed streams ${failed}`);
  console.log(`tunnel/h2relay throughput ${(through.rate / floor.rate).toFixed(2)}x, p99 at 1 in flight ${(through.p99 - floor.p99).toFixed(3)} ms over the h2relay's (what the tunnel's own code costs on top of node:http2)`);
  const missed = ratio < TARGET_THROUGHPUT_RATIO || addedP99 > TARGET_P99_ADDED_MS || failed > 0;
  if (missed) console.log('gRPC targets: MISSED');
  if (missed && process.env.BENCH_STRICT === '1') process.exitCode = 1;
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'provider') await provider();
else if (mode === 'tunnel') await tunnel(Number(arg));
else if (mode === 'h2relay') await h2relay(Number(arg));
else await main();
