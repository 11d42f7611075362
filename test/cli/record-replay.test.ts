// Recording and replay end to end: the real binary runs `up --record` (and `--json --payloads`)
// against a real TCP provider, a real consumer calls through it, and `replay` / `call --from` send
// the recorded calls again through a running `up`, to a provider whose answer changed or did not.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {parseRecordLine} from '../../src/inspect/record-line.js';
import type {CallRecord} from '../../src/inspect/call-record.js';
import {BIN, ROOT, cleanEnv, ensureBuilt, freePort} from '../support/binary.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {collector} from '../support/output.js';
import {waitFor} from '../support/wait.js';

let dir: string;
let provider: TestProvider;
/** What the provider answers getOrder with now; a test changes it between record and replay. */
let price = 10.5;

before(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-record-'));
  provider = await TestProvider.start({
    application: 'order-rpc',
    handler: (req) => req.method === 'getOrder'
      ? {value: {id: req.args[0], items: [{sku: 'a', price: 1}, {sku: 'b', price}]}}
      : {value: `order-rpc:${req.method}`},
  });
});

after(async () => {
  await provider.close();
  rmSync(dir, {recursive: true, force: true});
});

interface Up {
  port: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

let runs = 0;

/** `up --no-ui` routing order-rpc to the test provider, once it listens. */
async function up(extra: string[]): Promise<Up> {
  const port = await freePort();
  const env = cleanEnv({DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, `config-${++runs}`), CI: 'true'});
  const child = spawn(process.execPath, [BIN, 'up', '--no-ui', '--no-learn', '--port', String(port), '--backend', `order-rpc=127.0.0.1:${provider.port}`, ...extra], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => /listening on /.test(output), {timeoutMs: 20_000, intervalMs: 20, message: 'up listens'});
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {port, child, output: () => output, exited};
}

async function stop(run: Up): Promise<void> {
  run.child.kill('SIGINT');
  assert.equal(await run.exited, 0, run.output());
}

const ORDER = {service: 'com.example.OrderService', method: 'getOrder', parameterTypes: 'Ljava/lang/String;', args: ['o-1']};

/** Calls getOrder through the tunnel with credential-like attachments, a custom one and a plain one. */
async function callThrough(port: number, count = 1): Promise<void> {
  const consumer = await TestConsumer.connect(port);
  try {
    for (let i = 0; i < count; i++) {
      const answer = await consumer.call({...ORDER, attachments: {
        'target-application': 'order-rpc', 'authorization': 'Bearer secret-1', 'x-token': 'tok-2', 'x-tenant-key': 'tenant-3', 'x-trace': `trace-${i}`,
      }});
      assert.equal(answer.kind, 'value');
    }
  } finally {
    await consumer.close();
  }
}

function records(file: string): CallRecord[] {
  return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line, i) => parseRecordLine(line, `${file}:${i + 1}`));
}

async function cli(args: string[]): Promise<{code: number; out: string; err: string}> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, {stdout: stdout.stream, stderr: stderr.stream, env: cleanEnv({DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config-cli')}), interactive: false});
  return {code, out: stdout.text(), err: stderr.text()};
}

describe('up --record', () => {
  test('writes each call as one line, credential-like and --redact attachments as "<redacted>", and the call just before the stop is in the file', async () => {
    const file = path.join(dir, 'calls.jsonl');
    const run = await up(['--record', file, '--redact', 'x-tenant-key']);
    try {
      await callThrough(run.port, 3);
    } finally {
      // Stopped right after the last answer: the stop decodes and writes what is still buffered.
      await stop(run);
    }
    const written = records(file);
    assert.equal(written.length, 3, readFileSync(file, 'utf8'));
    const [first] = written;
    assert.ok(first);
    assert.equal(first.application, 'order-rpc');
    assert.equal(first.service, 'com.example.OrderService');
    assert.equal(first.method, 'getOrder');
    assert.deepEqual(first.parameterTypes, ['java.lang.String']);
    assert.deepEqual(first.arguments, ['o-1']);
    assert.equal(first.attachments['authorization'], '<redacted>');
    assert.equal(first.attachments['x-token'], '<redacted>');
    assert.equal(first.attachments['x-tenant-key'], '<redacted>', '--redact adds a name');
    assert.equal(first.attachments['x-trace'], 'trace-0');
    assert.deepEqual(first.answer?.kind === 'value' && first.answer.value, {id: 'o-1', items: [{sku: 'a', price: 1}, {sku: 'b', price: 10.5}]});
    assert.ok(!readFileSync(file, 'utf8').includes('secret-1'), 'the credential is nowhere in the file');
    assert.match(run.output(), /recording: 3 calls written to /);
  });

  test('rotates at --record-max-size, keeping --record-files old files, no line cut', async () => {
    const sub = mkdtempSync(path.join(dir, 'rotate-'));
    const file = path.join(sub, 'calls.jsonl');
    const run = await up(['--record', file, '--record-max-size', '2k', '--record-files', '2']);
    try {
      await callThrough(run.port, 20);
    } finally {
      await stop(run);
    }
    assert.deepEqual(readdirSync(sub).sort(), ['calls.jsonl', 'calls.jsonl.1', 'calls.jsonl.2']);
    const kept = [...records(`${file}.2`), ...records(`${file}.1`), ...records(file)];
    for (const name of readdirSync(sub)) assert.ok(statSync(path.join(sub, name)).size <= 2048, name);
    const seqs = kept.map((record) => record.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'oldest in .2, newest in the file');
    assert.equal(seqs.at(-1), 20, 'the last call is in the newest file');
    assert.ok(seqs.length < 20, 'older files beyond --record-files are gone');
  });

  test('a folder that does not exist fails up at start with DT_ERR_RECORD_FILE and the fix, before it listens', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'up', '--no-ui', '--port', String(port), '--backend', `order-rpc=127.0.0.1:${provider.port}`, '--record', path.join(dir, 'missing', 'calls.jsonl')], {
      cwd: ROOT, env: cleanEnv({DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config-missing'), CI: 'true'}), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1, output);
    assert.match(output, /dubbo-tunnel \[DT_ERR_RECORD_FILE\]: cannot record to .*missing.*does not exist/);
    assert.match(output, /fix: create it first/);
    assert.doesNotMatch(output, /listening on/);
  });
});

describe('up --json --payloads', () => {
  test('prints each call as a JSON line of event "call" with the fields of a recording line; without --payloads none', async () => {
    const run = await up(['--json', '--payloads']);
    try {
      await callThrough(run.port, 1);
    } finally {
      await stop(run);
    }
    const lines = run.output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const calls = lines.filter((line) => line['event'] === 'call');
    assert.equal(calls.length, 1, run.output());
    const [call] = calls;
    assert.equal(call?.['level'], 'info');
    const record = parseRecordLine(JSON.stringify(call), 'stdout');
    assert.equal(record.method, 'getOrder');
    assert.equal(record.attachments['authorization'], '<redacted>');

    const plain = await up(['--json']);
    try {
      await callThrough(plain.port, 1);
    } finally {
      await stop(plain);
    }
    assert.doesNotMatch(plain.output(), /"event":"call"/);
  });

  test('--payloads without --json is a usage error (exit 2) that says what to add', async () => {
    const payloads = await cli(['up', '--payloads', '--backend', 'order-rpc=127.0.0.1:1']);
    assert.equal(payloads.code, 2);
    assert.match(payloads.err, /\[DT_ERR_BAD_ARGUMENT\]: --payloads adds the decoded calls to the --json lines/);
    assert.match(payloads.err, /fix: add --json/);
  });
});

describe('replay and call --from', () => {
  let file: string;
  let run: Up;
  before(async () => {
    file = path.join(dir, 'replay.jsonl');
    price = 10.5;
    const recording = await up(['--record', file]);
    try {
      await callThrough(recording.port, 2);
    } finally {
      await stop(recording);
    }
    run = await up([]);
  });
  after(async () => {
    await stop(run);
  });

  test('an unchanged provider: every call is the same, exit 0, with the attachments sent again minus the redacted ones', async () => {
    const before = provider.received.length;
    const result = await cli(['replay', file, '--address', `127.0.0.1:${run.port}`]);
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /^line 1 #1 order-rpc com\.example\.OrderService#getOrder: same \(\d+ ms\)$/m);
    assert.match(result.out, /^line 2 #2 order-rpc com\.example\.OrderService#getOrder: same/m);
    assert.match(result.out, /^replayed 2 calls: 2 same, 0 differ, 0 failed, 0 skipped$/m);
    const sent = provider.received.slice(before);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0]?.args, ['o-1']);
    assert.equal(sent[0]?.attachments['x-trace'], 'trace-0');
    assert.equal(sent[0]?.attachments['target-application'], 'order-rpc');
    assert.equal(sent[0]?.attachments['authorization'], undefined, 'a redacted credential is not sent');
  });

  test('a provider whose answer changed: the difference by path, exit 1; --json says the same', async () => {
    price = 11;
    try {
      const result = await cli(['replay', file, '--address', `127.0.0.1:${run.port}`, '--filter', '#2']);
      assert.equal(result.code, 1, result.out + result.err);
      assert.match(result.out, /^line 2 #2 order-rpc com\.example\.OrderService#getOrder: differs \(\d+ ms\)\n {4}\$\.items\[1\]\.price: 10\.5 → 11$/m);
      assert.match(result.out, /^replayed 1 call: 0 same, 1 differ, 0 failed, 0 skipped$/m);
      const json = await cli(['replay', file, '--address', `127.0.0.1:${run.port}`, '--json', '--filter', 'getOrder']);
      assert.equal(json.code, 1);
      const lines = json.out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(lines.map((line) => line['outcome']), ['differs', 'differs', undefined]);
      assert.deepEqual(lines[0]?.['differences'], [{path: '$.items[1].price', recorded: '10.5', replayed: '11'}]);
      assert.deepEqual(lines[2], {summary: true, replayed: 2, same: 0, differs: 2, failed: 0, skipped: 0});
    } finally {
      price = 10.5;
    }
  });

  test('--to sends to another application; nothing listening fails with the fix; a filter that matches nothing is a usage error', async () => {
    const other = await cli(['replay', file, '--address', `127.0.0.1:${run.port}`, '--to', 'nobody-rpc', '--filter', '#1']);
    assert.equal(other.code, 1);
    assert.match(other.out, /^line 1 .*: differs/m);
    assert.match(other.out, /answer: value .* → error \[DT_ERR_NO_ROUTE\]/);
    const closed = await cli(['replay', file, '--address', `127.0.0.1:${await freePort()}`]);
    assert.equal(closed.code, 1);
    assert.match(closed.err, /\[DT_ERR_CALL_CONNECT\]: cannot connect to 127\.0\.0\.1:\d+: connection refused/);
    assert.match(closed.err, /fix: is `dubbo-tunnel up` running\?/);
    const none = await cli(['replay', file, '--filter', 'PaymentService']);
    assert.equal(none.code, 2);
    assert.match(none.err, /no recorded call of .* matches --filter PaymentService/);
  });

  test('call --from <file>:<line> sends that recorded call with the usual output', async () => {
    const result = await cli(['call', '--from', `${file}:2`, '--port', String(run.port), '--host', '127.0.0.1']);
    assert.equal(result.code, 0, result.err);
    assert.deepEqual(JSON.parse(result.out), {id: 'o-1', items: [{sku: 'a', price: 1}, {sku: 'b', price: 10.5}]});
    const moved = await cli(['call', '--from', `${file}:2`, '--to', 'nobody-rpc', '--port', String(run.port), '--host', '127.0.0.1', '--json']);
    assert.equal(moved.code, 1);
    assert.equal((JSON.parse(moved.out) as {errorCode?: string}).errorCode, 'DT_ERR_NO_ROUTE');
    const missing = await cli(['call', '--from', `${file}:9`, '--port', String(run.port)]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /has no line 9 \(it has 2\)/);
    const notALine = await cli(['call', '--from', file, '--port', String(run.port)]);
    assert.equal(notALine.code, 2);
    assert.match(notALine.err, /--from '.*' is not <file>:<line>/);
  });

  test('a line that is not a recorded call is named with its line number', async () => {
    const broken = path.join(dir, 'broken.jsonl');
    const [line1 = ''] = readFileSync(file, 'utf8').split('\n');
    writeFileSync(broken, `${line1}\n{"v":1,"seq":"two"}\n`);
    const result = await cli(['replay', broken, '--address', `127.0.0.1:${run.port}`]);
    assert.equal(result.code, 1);
    assert.match(result.err, /\[DT_ERR_RECORD_LINE\]: .*broken\.jsonl:2: not a call record/);
    const called = await cli(['call', '--from', `${broken}:2`, '--port', String(run.port)]);
    assert.match(called.err, /\[DT_ERR_RECORD_LINE\]: .*broken\.jsonl:2:/);
  });
});
