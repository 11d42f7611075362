// Call-inspector section of `npm run bench` (`npm run bench -- inspector`): what the inspector costs
// the request path, on the static path. Four proxies, each its own process (bench/proxy.mjs), in
// front of the same provider:
//   relay   the plain TCP relay (bench/relay.mjs)
//   off     dubbo-tunnel with the session's CallCapture and call outputs built as `up` builds them,
//           nothing holding the capture: `up` with the calls view closed and no recording
//   log     the same with the call log held open and subscribed to, as the dashboard's calls view
//           holds it, nothing rendered
//   record  the same recording every call to a file in a temp folder, through startCallOutputs
//           like `up --record <file>` (--record-max-size large enough that nothing rotates away,
//           so every line can be counted)
// Cases: small@64 (getUser) and large@8 (220 KiB echo) from bench/frames.mjs. The four alternate
// within each round (in the opposite order every other round); each ratio to the relay is taken
// per round, and the verdict is the median over the rounds with its spread. Per variant: req/s over
// the relay, p99, the proxy's CPU µs per call; for the recording also the CPU µs it adds per call
// over `off` and the bytes it writes per call. Target: `off` >= 0.95x the relay (the throughput
// section's); the log and the recording have no target, their cost is what is documented. Then the
// recording is checked to hold one line per call the tunnel answered (or to have said how many it
// dropped), by bench/recording-lines.mjs.
// Knobs: BENCH_INSPECTOR_ROUNDS (5), BENCH_CASES (small@64,large@8), BENCH_WARMUP_MS /
// BENCH_DURATION_MS (300 / 1000), BENCH_STRICT=1.
import process from 'node:process';
import console from 'node:console';
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import {dirname, join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {timedCases} from './frames.mjs';
import {bundleTunnelCore, describeSpread, spread, startChild} from './harness.mjs';
import {runLoad, verifyOnce} from './load.mjs';
import {countRecordedLines, recordingBytes, recordingVerdict} from './recording-lines.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const int = (name, fallback) => Number(process.env[name] ?? fallback);
const ROUNDS = int('BENCH_INSPECTOR_ROUNDS', 5);
const WARMUP_MS = int('BENCH_WARMUP_MS', 300);
const DURATION_MS = int('BENCH_DURATION_MS', 1000);
const CASES = timedCases().filter((c) => c.name === 'small@64' || c.name === 'large@8');
const VARIANTS = ['relay', 'off', 'log', 'record'];
/** Far past what a run writes, so no line rotates away before it is counted. */
const RECORD_MAX_SIZE = '64G';
/** How long the recording may take to catch up with the calls captured; lines still missing then were dropped. */
const SETTLE_LIMIT_MS = 30_000;

// Target (docs/performance.md): a median over the rounds, as the throughput section's.
const TARGET_RATIO = 0.95;

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const loadAverage = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/**
 * The lines of the recording so far, read from where the last count stopped (nothing rotates: the
 * bench's --record-max-size is past what it writes).
 */
class RecordingTail {
  constructor(file) {
    this.file = file;
    this.bytes = 0;
    this.lines = 0;
  }

  update() {
    if (!existsSync(this.file)) return this;
    const fd = openSync(this.file, 'r');
    try {
      const chunk = Buffer.alloc(1024 * 1024);
      for (let read; (read = readSync(fd, chunk, 0, chunk.length, this.bytes)) > 0;) {
        for (let i = chunk.indexOf(10); i !== -1 && i < read; i = chunk.indexOf(10, i + 1)) this.lines++;
        this.bytes += read;
      }
    } finally {
      closeSync(fd);
    }
    return this;
  }
}

/**
 * Waits until every call the tunnel captured is a line on disk: calls are decoded on the turn after
 * their answers and written by the file's own loop, so the CPU they cost is counted in the case
 * that made them. A recording that dropped lines never catches up: after SETTLE_LIMIT_MS the lines
 * still missing are taken as dropped (the final check says whether the recording told them).
 */
async function recordingSettled(target) {
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  for (;;) {
    const {captured} = await target.proxy.ask('captured');
    const {lines, bytes} = target.tail.update();
    if (lines + target.missing >= captured) return {bytes, lines};
    if (Date.now() > deadline) {
      target.missing = captured - lines;
      return {bytes, lines};
    }
    await sleep(20);
  }
}

/** One case on one variant: rate, p99, the proxy's CPU per call, and for the recording the bytes it wrote per call. */
async function runCase(target, testCase) {
  // Settled first: what an earlier case left to write is not charged to this one.
  const before = target.tail === undefined ? undefined : await recordingSettled(target);
  const cpuBefore = (await target.proxy.ask('cpu')).cpu;
  let r;
  try {
    r = await runLoad(target.port, {bytes: testCase.shape, inFlight: testCase.inFlight, warmupMs: WARMUP_MS, durationMs: DURATION_MS});
    if (r.errors > 0) r.error = `${r.errors} bad answers`;
  } catch (error) {
    r = {error: error.message};
  }
  const after = target.tail === undefined ? undefined : await recordingSettled(target);
  const cpuAfter = (await target.proxy.ask('cpu')).cpu;
  const used = cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system;
  // `total` counts every answer of the run, the warm-up's included, as the CPU and the bytes do.
  if (r.total) {
    r.cpuPerCallUs = used / r.total;
    if (before !== undefined && after !== undefined) {
      r.bytesPerCall = (after.bytes - before.bytes) / r.total;
      r.linesWritten = after.lines - before.lines;
    }
  }
  return r;
}

function startProxy(variant, providerPort, recordFile) {
  if (variant === 'relay') return startChild('proxy.mjs', ['relay', String(providerPort)]);
  const recording = variant === 'record' ? {BENCH_RECORD_FILE: recordFile, BENCH_RECORD_MAX_SIZE: RECORD_MAX_SIZE} : {};
  return startChild('proxy.mjs', ['tunnel', String(providerPort)], undefined, {BENCH_INSPECT: variant, ...recording});
}

export async function inspectorBench() {
  if (CASES.length === 0) throw new Error('the inspector section times small@64 and large@8; BENCH_CASES leaves both out');
  const t0 = Date.now();
  await bundleTunnelCore();
  console.log(`dubbo-tunnel bench, call inspector: node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${loadAverage()}`);
  console.log(`${ROUNDS} rounds of ${CASES.map((c) => c.name).join(', ')} on ${VARIANTS.join(', ')}; warm-up ${WARMUP_MS} ms + measure ${DURATION_MS} ms per case and variant\n`);

  const scratch = mkdtempSync(join(os.tmpdir(), 'dubbo-tunnel-bench-inspector-'));
  const recordFile = join(scratch, 'calls.jsonl');
  const provider = startChild('provider.mjs', []);
  const providerPort = (await provider.ready).port;
  const targets = {};
  const runs = [];
  let verdict;
  try {
    for (const variant of VARIANTS) {
      const proxy = startProxy(variant, providerPort, recordFile);
      targets[variant] = {variant, proxy, port: (await proxy.ready).port, tail: variant === 'record' ? new RecordingTail(recordFile) : undefined, missing: 0};
      // Every variant must deliver byte-exact answers before it is timed.
      for (const testCase of CASES) await verifyOnce(targets[variant].port, testCase.shape);
    }
    // The same unmeasured warm-up on every variant before round 1, so the JIT has seen every path.
    for (const variant of VARIANTS) {
      for (const testCase of CASES) await runLoad(targets[variant].port, {bytes: testCase.shape, inFlight: testCase.inFlight, warmupMs: 1000, durationMs: 1});
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
      for (const testCase of CASES) {
        const line = [];
        for (const variant of order) {
          const r = await runCase(targets[variant], testCase);
          runs.push({round, variant, case: testCase.name, ...r});
          line.push(`${variant} ${r.error ? 'FAILED' : `${fmtInt(r.reqPerSec)}/s`}`);
        }
        console.log(`  round ${String(round).padStart(2)} ${testCase.name.padEnd(9)} ${line.join(' | ')}`);
      }
    }
  } finally {
    for (const target of Object.values(targets)) {
      // A tunnel's stop is `up`'s: the last calls are decoded and written, the recording closed and summed up.
      target.final = (await target.proxy.ask('stop', 'stopped', 60_000)).sample;
      await target.proxy.exited;
    }
    provider.child.send({type: 'stop'});
    await provider.exited;
    if (targets.record?.final) {
      const {completed, recordingLog} = targets.record.final;
      verdict = recordingVerdict({
        answered: completed.ok + completed.failed,
        lines: await countRecordedLines(recordFile),
        messages: recordingLog.map((entry) => entry.message),
      });
      verdict.bytes = recordingBytes(recordFile);
    }
    rmSync(scratch, {recursive: true, force: true});
  }

  const checks = [];
  const summary = [];
  const ofRound = (variant, name, round) => runs.find((r) => r.variant === variant && r.case === name && r.round === round && !r.error);
  console.log('\nper case and variant, median over the rounds (IQR):');
  console.log(['case'.padEnd(9), 'variant'.padEnd(7), 'x relay'.padStart(20), 'req/s'.padStart(9), 'p99 ms'.padStart(8), 'CPU µs/call'.padStart(12), '+CPU µs/call'.padStart(13), 'bytes/call'.padStart(11)].join(' '));
  for (const testCase of CASES) {
    for (const variant of VARIANTS) {
      const mine = runs.filter((r) => r.variant === variant && r.case === testCase.name);
      const failed = mine.find((r) => r.error);
      const ratios = [];
      const addedCpu = [];
      const overLog = [];
      // Calls per CPU-second over the relay's: on a busy machine steadier than req/s (see the gateway section).
      const perCpu = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const relay = ofRound('relay', testCase.name, round);
        const off = ofRound('off', testCase.name, round);
        const log = ofRound('log', testCase.name, round);
        const self = ofRound(variant, testCase.name, round);
        if (relay && self) ratios.push(self.reqPerSec / relay.reqPerSec);
        if (off && self) addedCpu.push(self.cpuPerCallUs - off.cpuPerCallUs);
        if (log && self) overLog.push(self.cpuPerCallUs - log.cpuPerCallUs);
        if (relay && self) perCpu.push(relay.cpuPerCallUs / self.cpuPerCallUs);
      }
      const ratio = spread(ratios);
      const added = spread(addedCpu);
      // Both decode every call into the same log; what the recording adds to that is the line and the write.
      const addedOverLog = spread(overLog);
      const row = {
        case: testCase.name, variant, ratio, addedCpuUs: added, addedOverLogUs: variant === 'record' ? addedOverLog : undefined,
        reqPerSec: spread(mine.map((r) => r.reqPerSec)), p99: spread(mine.map((r) => r.p99)),
        cpuPerCallUs: spread(mine.map((r) => r.cpuPerCallUs)), bytesPerCall: spread(mine.map((r) => r.bytesPerCall)),
      };
      summary.push(row);
      const tunnel = variant !== 'relay';
      console.log([
        testCase.name.padEnd(9), variant.padEnd(7),
        (tunnel ? `${fmt(ratio.median, 3)} (${fmt(ratio.q1, 3)}–${fmt(ratio.q3, 3)})` : '').padStart(20),
        (failed ? 'FAILED' : fmtInt(row.reqPerSec.median)).padStart(9), fmt(row.p99.median, 3).padStart(8),
        fmt(row.cpuPerCallUs.median, 1).padStart(12),
        (tunnel && variant !== 'off' ? `${added.median >= 0 ? '+' : ''}${fmt(added.median, 1)}` : '').padStart(13),
        (variant === 'record' ? fmtInt(row.bytesPerCall.median) : '').padStart(11),
      ].join(' ') + (failed ? `  (${failed.error})` : ''));
      if (variant === 'off') {
        checks.push({name: `${testCase.name} capture off / relay >= ${TARGET_RATIO}x (median)`, value: failed ? failed.error : describeSpread(ratio, 3, 'x'), pass: !failed && ratio.median >= TARGET_RATIO});
        checks.push({name: `${testCase.name} capture off / relay, calls per CPU-second of the proxy (no target)`, value: failed ? failed.error : describeSpread(spread(perCpu), 3, 'x'), pass: undefined});
      } else if (tunnel) {
        // No target: what the calls view and the recording cost is measured and documented.
        checks.push({name: `${testCase.name} ${variant === 'log' ? 'calls view log open' : 'recording'} / relay (no target)`, value: failed ? failed.error : `${describeSpread(ratio, 3, 'x')}; +${fmt(added.median, 1)} CPU µs/call over off (IQR ${fmt(added.q1, 1)}–${fmt(added.q3, 1)})` +
          (variant === 'record' ? `, ${fmt(addedOverLog.median, 1)} over log (IQR ${fmt(addedOverLog.q1, 1)}–${fmt(addedOverLog.q3, 1)}), ${fmtInt(row.bytesPerCall.median)} bytes/call` : ''), pass: undefined});
      }
    }
  }
  // The log keeps its last calls decoded (a ring), so with large calls its process holds them.
  const peaks = Object.values(targets).filter((t) => t.final).map((t) => `${t.variant} ${fmt(t.final.maxRss / (1024 * 1024))} MiB`);
  console.log(`\npeak RSS per proxy: ${peaks.join(', ')}`);
  if (verdict) {
    console.log(`recording: ${fmtInt(verdict.bytes)} bytes on disk; the proxy's stop: ${targets.record.final.recordingLog.map((entry) => entry.message.replace(recordFile, '<file>')).join(' / ')}`);
    checks.push({name: 'the recording has one line per call answered (or said how many it dropped)', value: verdict.value, pass: verdict.pass});
  } else {
    checks.push({name: 'the recording has one line per call answered (or said how many it dropped)', value: 'the recording proxy did not stop', pass: false});
  }

  console.log('\ntargets:');
  for (const check of checks) console.log(`  ${check.pass === undefined ? 'INFO  ' : check.pass ? 'MET   ' : 'MISSED'}  ${check.name}: ${check.value}`);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`\ninspector bench took ${fmt(seconds)} s, load average now ${loadAverage()}; raw results in .bench-out/inspector.json`);
  const out = join(root, '.bench-out');
  mkdirSync(out, {recursive: true});
  writeFileSync(join(out, 'inspector.json'), JSON.stringify({
    node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), rounds: ROUNDS, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
    runs, summary, recording: verdict, checks, seconds,
  }, null, 2));
  if (process.env.BENCH_STRICT === '1' && checks.some((check) => check.pass === false)) process.exitCode = 1;
}
