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

/** Runs the binary in its own tmux server; the shell around it writes node's exit status to a file, as a shell reports it (128 + n when killed by signal n). */
function launch(args: string[]): {terminal: TmuxTerminal; readonly pid: number; started(): Promise<void>; screen(): string; status(): number | undefined} {
  const name = `w${++runs}`;
  const script = path.join(dir, `${name}.sh`);
  writeFileSync(script, [
    'export CI=false',
    `export DUBBO_TUNNEL_CONFIG_DIR='${path.join(dir, `config-${name}`)}'`,
    'unset DUBBO_TUNNEL_PORT DUBBO_TUNNEL_HOST DUBBO_TUNNEL_SOURCE DUBBO_TUNNEL_LOG_LEVEL KUBECONFIG',
    `cd '${ROOT}'`,
    `node bin/dubbo-tunnel.js ${args.join(' ')}`,
    `echo $? > '${path.join(dir, `${name}.status`)}'`,
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
