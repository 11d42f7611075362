// Load generator: one TCP connection (Java consumers share one socket per address), a fixed number
// of pipelined requests in flight, every request the same pre-encoded body with a fresh id.
import {Buffer} from 'node:buffer';
import process from 'node:process';
import {setTimeout, clearTimeout} from 'node:timers';
import net from 'node:net';
import {performance} from 'node:perf_hooks';
import {FrameSkipper, HEADER_LENGTH, requestBody, requestHeader, responseBody} from './frames.mjs';

const bodies = new Map();
/** Pre-encoded request body and the expected response body for a size (cached), or a shape from frames.mjs as is. */
function bodiesFor(bytes) {
  if (typeof bytes === 'object') return bytes;
  let entry = bodies.get(bytes);
  if (!entry) {
    entry = {request: requestBody(bytes), response: responseBody(bytes)};
    bodies.set(bytes, entry);
  }
  return entry;
}

const PRIME_ID = 0xffffffff;

export function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({port, host: '127.0.0.1', noDelay: true});
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function writeRequest(socket, id, body) {
  const header = requestHeader(0n, body.length);
  // Ids stay below 2^32 here: write the low word only (the high word is already 0).
  header.writeUInt32BE(id >>> 0, 8);
  socket.cork();
  socket.write(header);
  socket.write(body);
  socket.uncork();
}

/**
 * Sends one request and checks the whole answer byte for byte (status, id, body), so every path
 * is known to deliver correct frames before it is timed.
 */
export async function verifyOnce(port, bytes, {prelude} = {}) {
  const {request, response} = bodiesFor(bytes);
  const socket = await connect(port);
  if (prelude) await sendPrelude(socket, prelude);
  const chunks = [];
  let received = 0;
  const expected = HEADER_LENGTH + response.length;
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no complete answer within 5 s (${received}/${expected} bytes)`)), 5000);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= expected) {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('error', reject);
  });
  writeRequest(socket, 4242, request);
  const answer = await done;
  socket.destroy();
  const problems = [];
  if (answer.length !== expected) problems.push(`answer is ${answer.length} bytes, expected ${expected}`);
  if (answer[2] !== 0x02 || answer[3] !== 20) problems.push(`flags/status ${answer[2]}/${answer[3]}, expected 2/20`);
  if (answer.readBigInt64BE(4) !== 4242n) problems.push(`id ${answer.readBigInt64BE(4)}, expected 4242`);
  if (!answer.subarray(HEADER_LENGTH).equals(response)) problems.push('response body differs from what the provider sent');
  if (problems.length > 0) throw new Error(`answer check failed: ${problems.join('; ')}`);
}

/**
 * Writes `prelude` (one request frame, e.g. a team gateway's hello) and waits for its whole answer,
 * which must be status 20 (OK): what a stream must say before its calls are served.
 */
async function sendPrelude(socket, prelude) {
  await new Promise((resolve, reject) => {
    let answer = Buffer.alloc(0);
    const onData = (chunk) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < HEADER_LENGTH || answer.length < HEADER_LENGTH + answer.readInt32BE(12)) return;
      socket.off('data', onData);
      clearTimeout(timer);
      if (answer.length > HEADER_LENGTH + answer.readInt32BE(12)) reject(new Error('more than one answer to the prelude'));
      else if (answer[3] !== 20) reject(new Error(`the prelude was answered with status ${answer[3]}: ${answer.subarray(HEADER_LENGTH).toString('latin1').replace(/[^ -~]+/g, ' ').trim()}`));
      else resolve();
    };
    const timer = setTimeout(() => reject(new Error('no answer to the prelude within 10 s')), 10_000);
    socket.on('data', onData);
    socket.write(prelude);
  });
}

/**
 * Runs `inFlight` pipelined requests on one new connection: warm up for warmupMs, then count
 * completions and record latencies for durationMs, then drain. `bytes` is a body size or a shape
 * ({request, response}) from frames.mjs. With `requests`, the run instead ends after that many
 * answers (no latencies are kept: the memory run sends a million). With `prelude` (a request
 * frame), that is sent and answered first (a team gateway's hello).
 */
export async function runLoad(port, {bytes, inFlight, warmupMs, durationMs, prime = false, requests = Infinity, prelude}) {
  const {request, response} = bodiesFor(bytes);
  const keepLatencies = requests === Infinity;
  const socket = await connect(port);
  if (prelude) await sendPrelude(socket, prelude);
  // prime: one small call first, so the proxy's upstream is open before the load starts.
  let primed;
  const primedPromise = new Promise((resolve) => (primed = resolve));
  const sentAt = new Float64Array(4096); // indexed by id % 4096; at most 64 in flight
  const latencies = [];
  let nextId = 1;
  let outstanding = 0;
  let total = 0;
  let errors = 0;
  let measured = 0;
  let sending = true;
  let status = 0;
  let length = 0;
  let windowStart = 0;
  let windowEnd = Infinity;
  let drained;
  const drainedPromise = new Promise((resolve) => (drained = resolve));

  const send = () => {
    const id = nextId++;
    sentAt[id % 4096] = performance.now();
    outstanding++;
    writeRequest(socket, id, request);
  };
  const skipper = new FrameSkipper(
    (header) => {
      status = header[3];
      length = header.readInt32BE(12);
    },
    (header) => {
      const now = performance.now();
      const id = header.readUInt32BE(8);
      if (id === PRIME_ID) {
        primed();
        return;
      }
      outstanding--;
      total++;
      if (status !== 20 || length !== response.length) errors++;
      if (now >= windowStart && now < windowEnd) {
        measured++;
        if (keepLatencies) latencies.push(now - sentAt[id % 4096]);
      }
      if (now >= windowEnd || nextId > requests) sending = false;
      if (sending) send();
      else if (outstanding === 0) drained();
    },
  );
  socket.on('data', (chunk) => skipper.push(chunk));
  socket.on('error', () => {}); // surfaces as 'close' below
  const closed = new Promise((_, reject) => socket.on('close', () => reject(new Error('connection closed during the run'))));
  closed.catch(() => {});
  if (prime) {
    writeRequest(socket, PRIME_ID, bodiesFor(1024).request);
    await Promise.race([primedPromise, closed]);
  }
  windowStart = performance.now() + warmupMs;
  windowEnd = windowStart + (durationMs ?? Infinity);
  for (let i = 0; i < inFlight; i++) send();
  const stallMs = Number(process.env.BENCH_STALL_MS) || 5000;
  const limitMs = Number.isFinite(durationMs) ? warmupMs + durationMs + stallMs : 600_000;
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`run did not drain: ${total} answers, ${outstanding} still in flight, ${errors} bad`)), limitMs).unref());
  await Promise.race([drainedPromise, closed, timeout]);
  socket.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
  const elapsedMs = Number.isFinite(durationMs) ? durationMs : performance.now() - windowStart;
  const reqPerSec = measured / (elapsedMs / 1000);
  const frameBytes = HEADER_LENGTH * 2 + request.length + response.length;
  return {
    total,
    errors,
    measured,
    reqPerSec,
    mibPerSec: (reqPerSec * frameBytes) / (1024 * 1024),
    p50: pct(50),
    p99: pct(99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1],
  };
}

/** Opens a connection, makes one call, closes it: connection churn for the memory run. */
export async function oneShot(port, bytes) {
  const {request, response} = bodiesFor(bytes);
  const socket = await connect(port);
  await new Promise((resolve, reject) => {
    const skipper = new FrameSkipper(() => {}, () => resolve());
    socket.on('data', (chunk) => skipper.push(chunk));
    socket.on('error', reject);
    writeRequest(socket, 1, request);
  });
  socket.destroy();
  return response.length;
}

/** A loopback port free at the time of asking (bound once, then let go). */
export function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A consumer connection that makes one call at a time and times it (the cluster and gateway sections). */
export class OneCallConsumer {
  static async connect(port) {
    const socket = await new Promise((resolve, reject) => {
      const s = net.connect({port, host: '127.0.0.1', noDelay: true}, () => resolve(s));
      s.once('error', reject);
    });
    return new OneCallConsumer(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.nextId = 1n;
    this.waiting = undefined;
    let status = 0;
    const skipper = new FrameSkipper((header) => (status = header[3]), () => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve({status, ms: performance.now() - waiting.sentAt});
    });
    socket.on('data', (chunk) => skipper.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.waiting?.reject(new Error('consumer connection closed before the answer')));
  }

  /** One request; resolves with the answer's status and the time from write to answer. Fails on a status other than OK. */
  async call(body) {
    const answer = new Promise((resolve, reject) => (this.waiting = {resolve, reject, sentAt: performance.now()}));
    const header = requestHeader(this.nextId++, body.length);
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(body);
    this.socket.uncork();
    const result = await answer;
    if (result.status !== 20) throw new Error(`answer status ${result.status}, expected 20 (OK)`);
    return result;
  }

  close() {
    this.socket.destroy();
  }
}
