// A credentials plugin that starts a child of its own (a shell script running `sleep`, a CLI
// starting a login helper) and never answers: the real CLI prints its coded error at the bound and
// exits, and nothing the plugin started is left running, also when the command is interrupted
// instead. Before, only the shell was stopped: its child kept the plugin's pipes open, so the
// command never exited, and SIGINT left both running. The binary runs against the fake API server.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {BIN, cleanEnv, ensureBuilt, freePort} from '../support/binary.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {waitFor} from '../support/wait.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

interface Plugin {
  kubeconfig: string;
  /** The shell's pid and its child's, once the plugin has started. */
  pids(): {shell: number; child: number} | undefined;
}

interface Run {
  child: ChildProcess;
  stderr(): string;
  /** Resolves with how the process ended, or with `hung` when it is still running at the bound (then it is killed). */
  ended: Promise<{code: number | null; signal: NodeJS.Signals | null; ms: number} | 'hung'>;
}

describe('a credentials plugin whose child never exits', () => {
  let api: FakeKubeApi;
  let dir: string;
  let runs = 0;
  const started: Run[] = [];
  const plugins: Plugin[] = [];

  before(async () => {
    ensureBuilt();
    api = await FakeKubeApi.start();
    dir = mkdtempSync(path.join(tmpdir(), 'dt-exec-orphans-'));
  });
  after(async () => {
    for (const run of started) run.child.kill('SIGKILL');
    // Whatever a failing run left behind is not left to the machine either.
    for (const pids of plugins.map((each) => each.pids())) {
      for (const pid of pids === undefined ? [] : [pids.shell, pids.child]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await api.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  /** A kubeconfig whose plugin is a shell script that starts `sleep 1000` and waits for it; `ignoreTerm`: both ignore SIGTERM. */
  function plugin(options: {ignoreTerm?: boolean} = {}): Plugin {
    const name = `p${++runs}`;
    const pidFile = path.join(dir, `${name}.pids`);
    const script = path.join(dir, `${name}.sh`);
    writeFileSync(script, [
      '#!/bin/sh',
      ...(options.ignoreTerm === true ? ['trap \'\' TERM'] : []),
      'echo "open https://login.example/device and enter CODE-42" >&2',
      'sleep 1000 &',
      `echo "$$ $!" > '${pidFile}.tmp' && mv '${pidFile}.tmp' '${pidFile}'`,
      'wait',
      '',
    ].join('\n'));
    chmodSync(script, 0o755);
    const made: Plugin = {
      kubeconfig: api.writeKubeconfig(dir, {fileName: `${name}.yaml`, context: 'sso', exec: {command: script}}),
      pids() {
        if (!existsSync(pidFile)) return undefined;
        const [shell, child] = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
        return {shell: shell!, child: child!};
      },
    };
    plugins.push(made);
    return made;
  }

  function runCli(args: string[], boundMs: number, execTimeoutMs = 1000): Run {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cleanEnv({HOME: dir, DUBBO_TUNNEL_CONFIG_DIR: path.join(dir, 'config'), DUBBO_TUNNEL_EXEC_TIMEOUT_MS: String(execTimeoutMs)}),
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<{code: number | null; signal: NodeJS.Signals | null; ms: number} | 'hung'>((resolve) => {
      const bound = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('hung');
      }, boundMs);
      child.once('exit', (code, signal) => {
        clearTimeout(bound);
        resolve({code, signal, ms: Date.now() - startedAt});
      });
    });
    const run = {child, stderr: () => stderr, ended};
    started.push(run);
    return run;
  }

  async function assertGone(pids: {shell: number; child: number}): Promise<void> {
    await waitFor(() => !alive(pids.shell) && !alive(pids.child), {timeoutMs: 5000, message: `the plugin (pid ${pids.shell}) and its child (pid ${pids.child}) are gone`});
  }

  // Bounded, not fast: loading the CLI takes a few seconds on a busy machine; the plugin gets 1 s.
  const BOUND_MS = 25_000;

  for (const command of [
    {name: 'ls', args: (kubeconfig: string) => ['ls', '--kubeconfig', kubeconfig], port: false},
    {name: 'up', args: (kubeconfig: string, port: number) => ['up', '--no-ui', '--all', '--kubeconfig', kubeconfig, '--port', String(port)], port: true},
    {name: 'doctor', args: (kubeconfig: string, port: number) => ['doctor', '--kubeconfig', kubeconfig, '--timeout', '1000', '--port', String(port)], port: true},
  ]) {
    it(`${command.name}: prints the coded error at the bound, exits, and leaves no process behind`, async () => {
      const hanging = plugin();
      const run = runCli(command.args(hanging.kubeconfig, await freePort()), BOUND_MS);
      const end = await run.ended;
      assert.ok(end !== 'hung', `${command.name} did not exit within ${BOUND_MS} ms after the plugin's bound; it printed:\n${run.stderr()}`);
      assert.equal(end.code, 1, run.stderr());
      assert.match(run.stderr(), /the credentials plugin \S+\.sh gave no answer within 1 s/);
      if (command.name !== 'doctor') assert.match(run.stderr(), /dubbo-tunnel \[DT_ERR_KUBE_UNAUTHORIZED\]: cannot get credentials for context 'sso'/);
      assert.match(run.stderr(), /CODE-42/, 'the plugin\'s prompt was shown');
      const pids = hanging.pids();
      assert.ok(pids, 'the plugin ran');
      await assertGone(pids);
    });
  }

  it('ls: a plugin and child that ignore SIGTERM are killed after the grace, and the command exits', async () => {
    const stubborn = plugin({ignoreTerm: true});
    const run = runCli(['ls', '--kubeconfig', stubborn.kubeconfig], BOUND_MS);
    const end = await run.ended;
    assert.ok(end !== 'hung', `ls did not exit within ${BOUND_MS} ms; it printed:\n${run.stderr()}`);
    assert.equal(end.code, 1, run.stderr());
    assert.match(run.stderr(), /dubbo-tunnel \[DT_ERR_KUBE_UNAUTHORIZED\]: cannot get credentials for context 'sso': the credentials plugin \S+\.sh gave no answer within 1 s/);
    await assertGone(stubborn.pids()!);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`ls: ${signal} while the plugin waits ends the command and the plugin with its child`, async () => {
      const hanging = plugin();
      // The plugin's bound is far away: the signal, not the bound, ends this run.
      const run = runCli(['ls', '--kubeconfig', hanging.kubeconfig], BOUND_MS, 120_000);
      let pids: {shell: number; child: number} | undefined;
      await waitFor(() => (pids = hanging.pids()) !== undefined, {timeoutMs: BOUND_MS, message: 'the plugin started'});
      run.child.kill(signal);
      const end = await run.ended;
      assert.ok(end !== 'hung', `ls did not end after ${signal}; it printed:\n${run.stderr()}`);
      // As before: the signal ends the command as a shell reports it.
      assert.equal(end.signal, signal, `ended with ${JSON.stringify(end)}; it printed:\n${run.stderr()}`);
      await assertGone(pids!);
    });
  }
});
