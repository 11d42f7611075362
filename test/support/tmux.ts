// A real terminal for end-to-end tests: one isolated tmux server (`-L <unique socket>`) running one
// script in a fixed-size window. Callers skip their tests when tmuxAvailable() is false.
import {spawnSync} from 'node:child_process';
import {chmodSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {ROOT} from './binary.js';
import {waitFor} from './wait.js';

export function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V'], {encoding: 'utf8'}).status === 0;
}

/**
 * A script (in `dir`) that runs `node bin/dubbo-tunnel.js <args>` from the repository the way a
 * user's terminal would, and writes its exit status to `<dir>/exit-code`: CI=false (ink draws
 * only the last frame when CI is set, and CI runs these tests with it), no DUBBO_TUNNEL_* or
 * KUBECONFIG from this environment, a config folder of its own. Returns the script and that file.
 */
export function cliScript(dir: string, args: string): {script: string; exitFile: string} {
  const exitFile = path.join(dir, 'exit-code');
  const script = path.join(dir, 'run.sh');
  writeFileSync(script, [
    'export CI=false',
    `export DUBBO_TUNNEL_CONFIG_DIR='${path.join(dir, 'config')}'`,
    'unset DUBBO_TUNNEL_PORT DUBBO_TUNNEL_HOST DUBBO_TUNNEL_SOURCE DUBBO_TUNNEL_LOG_LEVEL KUBECONFIG',
    `cd '${ROOT}'`,
    `node bin/dubbo-tunnel.js ${args}`,
    `echo $? > '${exitFile}'`,
    '',
  ].join('\n'));
  chmodSync(script, 0o755);
  return {script, exitFile};
}

export class TmuxTerminal {
  readonly socket = `dubbo-tunnel-e2e-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  #socketPath: string | undefined;

  constructor(private readonly script: string, private readonly size: {columns: number; rows: number}) {}

  #tmux(...args: string[]): string {
    const result = spawnSync('tmux', ['-L', this.socket, ...args], {encoding: 'utf8', env: this.#env()});
    if (result.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  #env(): NodeJS.ProcessEnv {
    const env = {...process.env};
    // Not nested in whatever tmux runs this test.
    delete env['TMUX'];
    return env;
  }

  start(): void {
    this.#tmux('-f', '/dev/null', 'new-session', '-d', '-x', String(this.size.columns), '-y', String(this.size.rows), 'sh', this.script);
    // Keep the pane (and its last screen) after the program exits, so the final frame can be read.
    this.#tmux('set-option', '-g', 'remain-on-exit', 'on');
    this.#socketPath = this.#tmux('display-message', '-p', '#{socket_path}').trim();
  }

  /**
   * The pid of the program the script runs: the child of the pane's shell whose command line matches
   * `commandLine` (a pgrep -f pattern), once it has started. Found by command line, not by process
   * name: Node 24 names its main thread "MainThread", and on Linux that is the process name
   * (/proc/<pid>/comm) that `pgrep node` matches, so `pgrep -P <shell> node` finds nothing there.
   */
  async programPid(commandLine: string, timeoutMs = 15_000): Promise<number> {
    const shell = this.#tmux('display-message', '-p', '#{pane_pid}').trim();
    let pid = 0;
    await waitFor(() => {
      const found = spawnSync('pgrep', ['-P', shell, '-f', commandLine], {encoding: 'utf8'}).stdout.trim().split('\n')[0] ?? '';
      pid = Number(found);
      return Number.isInteger(pid) && pid > 0;
    }, {timeoutMs, intervalMs: 50, message: `a child of the pane's shell (pid ${shell}) running ${commandLine}`});
    return pid;
  }

  keys(...keys: string[]): void {
    this.#tmux('send-keys', ...keys);
  }

  /** Literal text (no key-name lookup), e.g. a filter. */
  type(text: string): void {
    this.#tmux('send-keys', '-l', text);
  }

  screen(): string {
    return this.#tmux('capture-pane', '-p');
  }

  async waitFor(predicate: (screen: string) => boolean, message: string, timeoutMs = 15_000): Promise<string> {
    let last = '';
    try {
      // Every look is a tmux process (about 10 ms of CPU): ten a second is enough for a person's pace.
      await waitFor(() => predicate((last = this.screen())), {timeoutMs, intervalMs: 100, message});
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- screen ---\n${last}`);
    }
    return last;
  }

  /** Stops the tmux server (and the program in it) and removes its socket file. */
  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], {env: this.#env()});
    if (this.#socketPath !== undefined) rmSync(this.#socketPath, {force: true});
  }
}
