// SIGTERM and SIGINT sent to the real binary in a real terminal (an isolated tmux server): in the
// dashboard they drain like `q` (the call in flight is answered, exit 0), a second signal forces
// (143), and in the picker they end with the same status as Esc and Ctrl-C. Before the fix, the first signal
// already exited with 130/143 and failed the call in flight (when-exit re-raised it).
// Needs tmux (Debian: apt-get install -y tmux); skipped with a message otherwise.
import assert from 'node:assert/strict';
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {ROOT, canConnect, ensureBuilt, freePort} from '../support/binary.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {NEVER_SERVICE, callsInFlight, readonlyPosition, received, slowProvider} from '../support/stopping.js';
import {TmuxTerminal, tmuxAvailable} from '../support/tmux.js';
import {waitFor} from '../support/wait.js';

const skip = tmuxAvailable() ? false : 'tmux is not installed (apt-get install -y tmux); skipping the terminal signal tests';

let dir: string;
let slow: TestProvider;
/**
 * slow-rpc's answers to the tests' calls, held until a test lets them go: the call is surely in
 * flight when the signal lands. (What up itself asks, to learn what slow-rpc exports, is answered
 * at once.)
 */
const heldAnswers: (() => void)[] = [];
const SLOW_SERVICE = 'com.example.Slow';
const callsReceived = (): number => slow.received.filter((request) => request.service === SLOW_SERVICE).length;
const releaseAnswers = (): void => {
  for (const answer of heldAnswers.splice(0)) answer();
};
let runs = 0;
const terminals: TmuxTerminal[] = [];

before(async () => {
  if (skip !== false) return;
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-signals-'));
  slow = await TestProvider.start({
    application: 'slow-rpc',
    handler: async (request) => {
      if (request.service === SLOW_SERVICE) await new Promise<void>((resolve) => heldAnswers.push(resolve));
      return {value: 'slow-rpc:answered'};
    },
  });
});

after(async () => {
  if (skip !== false) return;
  for (const terminal of terminals) terminal.kill();
  releaseAnswers();
  await slow.close();
  rmSync(dir, {recursive: true, force: true});
});

/**
 * Runs the binary in its own tmux server; the shell around it writes node's exit status to a file, as a shell reports it (128 + n when killed by signal n).
 * `outlivesTerminal`: that shell ignores SIGHUP, so it still writes the status once the terminal is
 * gone (the pane's own shell dies of the hang-up; the kernel then sends SIGHUP to the program).
 */
function launch(args: string[], outlivesTerminal = false): {terminal: TmuxTerminal; readonly pid: number; started(): Promise<void>; screen(): string; stderr(): string; status(): number | undefined} {
  const name = `w${++runs}`;
  const script = path.join(dir, `${name}.sh`);
  writeFileSync(script, [
    'export CI=false',
    `export DUBBO_TUNNEL_CONFIG_DIR='${path.join(dir, `config-${name}`)}'`,
    'unset DUBBO_TUNNEL_PORT DUBBO_TUNNEL_HOST DUBBO_TUNNEL_SOURCE DUBBO_TUNNEL_LOG_LEVEL KUBECONFIG',
    `cd '${ROOT}'`,
    ...(outlivesTerminal
      ? [`( trap '' HUP; node bin/dubbo-tunnel.js ${args.join(' ')} 2> '${path.join(dir, `${name}.stderr`)}'; echo $? > '${path.join(dir, `${name}.status`)}' )`]
      : [`node bin/dubbo-tunnel.js ${args.join(' ')}`, `echo $? > '${path.join(dir, `${name}.status`)}'`]),
    '',
  ].join('\n'));
  chmodSync(script, 0o755);
  const terminal = new TmuxTerminal(script, {columns: 120, rows: 40});
  terminals.push(terminal);
  terminal.start();
  let pid = 0;
  const statusFile = path.join(dir, `${name}.status`);
  return {
    terminal,
    get pid() {
      return pid;
    },
    async started() {
      pid = await terminal.programPid('bin/dubbo-tunnel\\.js');
    },
    screen: () => {
      try {
        return terminal.screen();
      } catch (error) {
        return `(no screen: ${(error as Error).message})`;
      }
    },
    stderr: () => {
      const file = path.join(dir, `${name}.stderr`);
      return existsSync(file) ? readFileSync(file, 'utf8') : '(stderr went to the terminal)';
    },
    status: () => {
      if (!existsSync(statusFile)) return undefined;
      const text = readFileSync(statusFile, 'utf8').trim();
      return text === '' ? undefined : Number(text);
    },
  };
}

async function until(run: ReturnType<typeof launch>, predicate: (screen: string) => boolean, message: string): Promise<void> {
  await run.terminal.waitFor(predicate, message, 20_000);
}

async function exitStatus(run: ReturnType<typeof launch>): Promise<number | undefined> {
  await waitFor(() => run.status() !== undefined, {timeoutMs: 15_000, message: 'the process exits'});
  return run.status();
}

describe('signals in the terminal UI', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} in the dashboard drains like q: the call in flight is answered, exit 0`, {skip}, async () => {
      const port = await freePort();
      const run = launch(['up', '--port', String(port), '--backend', `slow-rpc=127.0.0.1:${slow.port}`]);
      await until(run, (screen) => /^slow-rpc\s+● ready/m.test(screen), 'the dashboard shows slow-rpc');
      await run.started();
      const consumer = await TestConsumer.connect(port);
      const received = callsReceived();
      try {
        const answer = consumer.call({service: SLOW_SERVICE, method: 'wait', parameterTypes: '', args: [], attachments: {'target-application': 'slow-rpc'}}, 10_000);
        await waitFor(() => callsReceived() > received, {message: 'the call reached the provider'});
        process.kill(run.pid, signal);
        // The port closes when the drain starts; only then does the provider answer (well inside
        // the drain's grace period, which a look at the screen could outlast on a busy machine).
        await waitFor(async () => !(await canConnect(port)), {timeoutMs: 15_000, message: 'the port closes: it drains'});
        releaseAnswers();
        const reply = await answer;
        assert.equal(reply.kind === 'value' && reply.value, 'slow-rpc:answered', 'the call in flight is answered');
        assert.equal(await exitStatus(run), 0, run.screen());
      } finally {
        await consumer.close();
      }
    });
  }

  test('a second SIGTERM while draining forces the exit (143)', {skip}, async () => {
    const port = await freePort();
    const run = launch(['up', '--port', String(port), '--backend', `slow-rpc=127.0.0.1:${slow.port}`]);
    await until(run, (screen) => /^slow-rpc\s+● ready/m.test(screen), 'the dashboard shows slow-rpc');
    await run.started();
    const consumer = await TestConsumer.connect(port);
    try {
      const received = callsReceived();
      const answer = consumer.call({service: SLOW_SERVICE, method: 'wait', parameterTypes: '', args: [], attachments: {'target-application': 'slow-rpc'}}, 10_000).catch((error: unknown) => error);
      await waitFor(() => callsReceived() > received, {message: 'the call reached the provider'});
      process.kill(run.pid, 'SIGTERM');
      await until(run, (screen) => screen.includes('stopping'), 'the dashboard says it is stopping');
      process.kill(run.pid, 'SIGTERM');
      assert.equal(await exitStatus(run), 143);
      await answer;
    } finally {
      releaseAnswers();
      await consumer.close();
    }
  });

  test('in the picker, SIGTERM, SIGINT, Esc and Ctrl-C all end with status 0', {skip}, async () => {
    for (const stop of ['SIGTERM', 'SIGINT', 'Escape', 'C-c'] as const) {
      const run = launch(['demo', '--port', String(await freePort())]);
      await until(run, (screen) => screen.includes('Pick applications to route') && screen.includes('3 of 3 selected'), 'the picker lists the demo applications');
      await run.started();
      if (stop === 'SIGTERM' || stop === 'SIGINT') process.kill(run.pid, stop);
      else run.terminal.keys(stop);
      assert.equal(await exitStatus(run), 0, `${stop}: ${run.screen()}`);
    }
  });
});

describe('stopping the dashboard with 16 calls in flight', () => {
  let provider: TestProvider;
  before(async () => {
    if (skip !== false) return;
    // Slow enough that the dashboard is seen waiting for the answers.
    provider = await slowProvider(1500);
  });
  after(async () => {
    if (skip !== false) return;
    await provider.close();
  });

  /** up in the dashboard routing slow-rpc, and a consumer with 16 calls in flight through it. */
  async function sixteenInFlight(outlivesTerminal = false, service = SLOW_SERVICE, count = 16): Promise<{run: ReturnType<typeof launch>; port: number; consumer: TestConsumer; results: Promise<string[]>}> {
    const port = await freePort();
    const run = launch(['up', '--no-learn', '--port', String(port), '--backend', `slow-rpc=127.0.0.1:${provider.port}`], outlivesTerminal);
    await until(run, (screen) => /^slow-rpc\s+● ready/m.test(screen), 'the dashboard shows slow-rpc');
    const consumer = await TestConsumer.connect(port);
    const before = received(provider, service);
    const results = callsInFlight(consumer, count, service);
    await waitFor(() => received(provider, service) === before + count, {message: `all ${count} calls reached the provider`});
    return {run, port, consumer, results};
  }

  test('q: the dashboard says "draining 16 calls", the consumer gets READONLY, all 16 are answered, exit 0', {skip}, async () => {
    const {run, port, consumer, results} = await sixteenInFlight();
    try {
      run.terminal.keys('q');
      await until(run, (screen) => /stopping… draining 16 calls \(at most 10 s\) · q or ctrl-c again: stop at once/.test(screen), 'the dashboard says what the stop waits for');
      assert.deepEqual(await results, Array.from({length: 16}, (_, index) => `ok slow-rpc:${index}`), run.screen());
      assert.equal(await exitStatus(run), 0, run.screen());
      const {index, answersBefore} = readonlyPosition(consumer);
      assert.ok(index >= 0 && answersBefore === 0, 'READONLY came before the answers');
      assert.equal(await canConnect(port), false);
    } finally {
      await consumer.close();
    }
  });

  test('a second q while draining stops at once and says so: the calls get DT_ERR_STOPPED_BEFORE_ANSWER, exit 0', {skip}, async () => {
    const {run, consumer, results} = await sixteenInFlight(false, NEVER_SERVICE, 3);
    try {
      run.terminal.keys('q');
      await until(run, (screen) => screen.includes('stopping… draining 3 calls'), 'the dashboard waits for 3 calls');
      run.terminal.keys('q');
      for (const answer of await results) assert.match(answer, /^error dubbo-tunnel \[DT_ERR_STOPPED_BEFORE_ANSWER\]: dubbo-tunnel was stopped at once/);
      assert.equal(await exitStatus(run), 0, run.screen());
      assert.match(run.screen(), /stopping… at once: calls in flight get DT_ERR_STOPPED_BEFORE_ANSWER/);
    } finally {
      await consumer.close();
    }
  });

  test('the terminal closed (SIGHUP, then a dead terminal): READONLY, all 16 answered, exit 0', {skip}, async () => {
    const {run, port, consumer, results} = await sixteenInFlight(true);
    try {
      run.terminal.kill();
      const answers = await results;
      await waitFor(() => run.status() !== undefined, {timeoutMs: 15_000, message: 'the process exits'});
      assert.deepEqual(answers, Array.from({length: 16}, (_, index) => `ok slow-rpc:${index}`), run.stderr());
      assert.equal(await exitStatus(run), 0, run.stderr());
      assert.ok(readonlyPosition(consumer).index >= 0, 'the consumer got READONLY');
      assert.equal(await canConnect(port), false);
    } finally {
      await consumer.close();
    }
  });
});
