// The real binary (`up --no-ui --backend` to a loopback provider) stopped by a signal while a
// consumer has 16 calls in flight: SIGTERM and SIGHUP (the terminal closed) both tell the consumer
// (READONLY), answer all 16, and exit 0; --drain-timeout bounds the wait; a second signal stops at
// once and still answers what is left with a coded error. A real Node Dubbo consumer (dubbo-js) too,
// when it is installed.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {BIN, ROOT, canConnect, cleanEnv, ensureBuilt, freePort} from '../support/binary.js';
import {loadDubboJs, registryAt} from '../support/dubbo-js.js';
import type {DubboInstance, DubboJs} from '../support/dubbo-js.js';
import {TestConsumer} from '../support/dubbo-peers.js';
import type {TestProvider} from '../support/dubbo-peers.js';
import {NEVER_SERVICE, SLOW_SERVICE, callsInFlight, readonlyPosition, received, slowProvider} from '../support/stopping.js';
import {waitFor} from '../support/wait.js';

let dir: string;
let provider: TestProvider;

before(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-stop-drain-'));
  provider = await slowProvider(300);
});

after(async () => {
  await provider.close();
  rmSync(dir, {recursive: true, force: true});
});

interface Up {
  port: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>;
}

let runs = 0;

/** `up --no-ui` routing slow-rpc to the test provider, once it listens. */
async function up(extra: string[] = []): Promise<Up> {
  const port = await freePort();
  const env = cleanEnv({DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, `config-${++runs}`), CI: 'true'});
  const child = spawn(process.execPath, [BIN, 'up', '--no-ui', '--no-learn', '--port', String(port), '--backend', `slow-rpc=127.0.0.1:${provider.port}`, ...extra], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']});
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.once('exit', (code, signal) => resolve({code, signal})));
  try {
    await waitFor(() => new RegExp(`listening on .*:${port}`).test(output), {timeoutMs: 20_000, intervalMs: 20, message: 'up listens'});
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {port, child, output: () => output, exited};
}

async function exitOf(run: Up, timeoutMs = 15_000): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([run.exited, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`up did not exit within ${timeoutMs} ms:\n${run.output()}`)), timeoutMs);
    })]);
  } finally {
    clearTimeout(timer);
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }
}

const ALL_ANSWERED = Array.from({length: 16}, (_, index) => `ok slow-rpc:${index}`);

describe('up --no-ui stopped by a signal with 16 calls in flight', () => {
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${signal}: READONLY first, all 16 answered, the port closes, exit 0`, async () => {
      const run = await up();
      const consumer = await TestConsumer.connect(run.port);
      try {
        const before = received(provider);
        const results = callsInFlight(consumer, 16);
        await waitFor(() => received(provider) === before + 16, {message: 'all 16 calls reached the provider'});
        run.child.kill(signal);
        assert.deepEqual(await results, ALL_ANSWERED, run.output());
        assert.deepEqual(await exitOf(run), {code: 0, signal: null}, run.output());
        const {index, answersBefore} = readonlyPosition(consumer);
        assert.ok(index >= 0, 'the consumer got a READONLY event');
        assert.equal(answersBefore, 0, 'before any of the answers');
        assert.equal(consumer.closed, true, 'the connection was closed once everything was answered');
        assert.match(run.output(), /stopping: draining 16 calls \(at most 10 s\): consumers told to send no more \(READONLY, GOAWAY\), waiting for the answers in flight \(--drain-timeout\); Ctrl-C again stops at once/);
        assert.match(run.output(), /stopping: every call in flight was answered/);
        assert.equal(await canConnect(run.port), false, 'nothing listens any more');
      } finally {
        await consumer.close();
      }
    });
  }

  test('--drain-timeout 1 and a provider that never answers: DT_ERR_STOPPED_BEFORE_ANSWER at the bound, then exit 0', async () => {
    const run = await up(['--drain-timeout', '1']);
    const consumer = await TestConsumer.connect(run.port);
    try {
      const before = received(provider, NEVER_SERVICE);
      const results = callsInFlight(consumer, 4, NEVER_SERVICE);
      await waitFor(() => received(provider, NEVER_SERVICE) === before + 4);
      const started = Date.now();
      run.child.kill('SIGTERM');
      const answers = await results;
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 5000, `answered after ${took} ms; the bound is 1 s`);
      for (const answer of answers) assert.match(answer, /^error dubbo-tunnel \[DT_ERR_STOPPED_BEFORE_ANSWER\]: dubbo-tunnel stopped: no answer within the 1 s it waits on a stop \(--drain-timeout\)/);
      assert.deepEqual(await exitOf(run), {code: 0, signal: null}, run.output());
      assert.match(run.output(), /warning: stopping: 4 calls got no answer within 1 s: answered DT_ERR_STOPPED_BEFORE_ANSWER \(--drain-timeout\)/);
    } finally {
      await consumer.close();
    }
  });

  test('a second SIGTERM while draining stops at once: what is left is answered with the coded error, exit 143', async () => {
    const run = await up();
    const consumer = await TestConsumer.connect(run.port);
    try {
      const before = received(provider, NEVER_SERVICE);
      const results = callsInFlight(consumer, 3, NEVER_SERVICE);
      await waitFor(() => received(provider, NEVER_SERVICE) === before + 3);
      run.child.kill('SIGTERM');
      await consumer.waitForFrame((frame) => frame.isRequest && frame.event, 10_000);
      const started = Date.now();
      run.child.kill('SIGTERM');
      for (const answer of await results) assert.match(answer, /^error dubbo-tunnel \[DT_ERR_STOPPED_BEFORE_ANSWER\]: dubbo-tunnel was stopped at once/);
      assert.deepEqual(await exitOf(run), {code: 143, signal: null}, run.output());
      assert.ok(Date.now() - started < 3000, 'it did not wait for the 10 s bound');
    } finally {
      await consumer.close();
    }
  });

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) test(`a real Node Dubbo consumer (dubbo-js) at 16 in flight loses no call on ${signal}`, async (t) => {
    const load = loadDubboJs();
    if (typeof load === 'string') {
      t.skip(load);
      return;
    }
    const {Dubbo, java} = load('apache-dubbo-consumer') as DubboJs<{slow: {work(id: string): Promise<{res: unknown; err: unknown}>}}>;
    const run = await up();
    const address = `127.0.0.1:${run.port}`;
    // Every interface is at the tunnel (docs/consumers.md: the registry object that replaces ZooKeeper).
    const registry = registryAt(address);
    const dubbo = Dubbo.from({
      application: {name: 'stop-drain-test-consumer'},
      registry,
      services: {
        slow: (d: DubboInstance) => d.proxyService({dubboInterface: SLOW_SERVICE, methods: {work: (id: string) => [java.String(id)]}}),
      },
    });
    dubbo.use(async (ctx: {attachments: Record<string, string>}, next: () => Promise<void>) => {
      ctx.attachments = {'target-application': 'slow-rpc'};
      await next();
    });
    try {
      // The first call waits for dubbo-js to connect; then 16 at once.
      assert.deepEqual(await dubbo.service.slow.work('warm-up'), {res: 'slow-rpc:warm-up', err: null});
      const before = received(provider);
      const results = Promise.all(Array.from({length: 16}, (_, index) => dubbo.service.slow.work(String(index)).then(
        ({res, err}) => (err === null || err === undefined ? `ok ${String(res)}` : `error ${err instanceof Error ? err.message : JSON.stringify(err)}`))));
      await waitFor(() => received(provider) === before + 16, {message: 'all 16 calls reached the provider'});
      run.child.kill(signal);
      assert.deepEqual(await results, ALL_ANSWERED, run.output());
      assert.deepEqual(await exitOf(run), {code: 0, signal: null}, run.output());
    } finally {
      dubbo.close();
    }
  });
});
