import {spawn} from 'node:child_process';
import type {ChildProcess, SpawnOptions} from 'node:child_process';

/**
 * Exec credentials plugins run as a process group of their own, so that ending a run ends
 * everything it started. A plugin is often a shell script or a CLI that starts a child (a browser
 * login helper, `sleep`, a cloud SDK): signalling only the process we spawned left that child
 * running and holding the stdout/stderr pipes open, so the run never closed and dubbo-tunnel never
 * exited after its "gave no answer" error. With `detached: true` the plugin leads a new session and
 * process group and `process.kill(-pid)` reaches all of it.
 *
 * The price of a group of its own: the terminal's Ctrl-C (sent to the foreground group) no longer
 * reaches the plugin, and a plugin that opens /dev/tty itself finds no controlling terminal (stdin
 * is still the terminal in interactive mode, which is what password prompts read). So while a
 * plugin group is alive, SIGINT, SIGTERM and SIGHUP to dubbo-tunnel end the group too, and so does
 * the process's exit. Windows has no process groups: there the plugin is spawned as before and only
 * it is stopped.
 */

/** How long a group gets between SIGTERM and SIGKILL, and a plugin's children to close our pipes after it exited. */
export const PLUGIN_GRACE_MS = 1000;

const GROUPS_SUPPORTED = process.platform !== 'win32';
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Groups that may still have members, by the leader's pid (= the group id). */
const live = new Map<number, PluginGroup>();
let reraising: NodeJS.Signals | undefined;

class PluginGroup {
  readonly #pid: number;
  readonly #graceMs: number;
  #ending = false;
  #closed = false;
  #killTimer: NodeJS.Timeout | undefined;

  constructor(child: ChildProcess, pid: number, graceMs: number) {
    this.#pid = pid;
    this.#graceMs = graceMs;
    // Go's exec.Cmd.WaitDelay, for the same reason: once the plugin itself has exited, a child it
    // left behind holding our pipes must not keep the run open. Ending the group closes them, and
    // client-node judges the plugin by its exit code and what it printed.
    child.once('exit', () => {
      if (this.#closed) return;
      setTimeout(() => {
        if (!this.#closed) this.end();
      }, graceMs).unref();
    });
    child.once('close', (code, signal) => {
      this.#closed = true;
      // A failed run leaves nothing behind; a successful one keeps what it started on purpose (a
      // daemon that closed its stdio, such as a token cache).
      const succeeded = !this.#ending && code === 0 && signal === null;
      if (succeeded || !this.alive()) this.#forget();
      else this.end();
    });
  }

  /** Whether any process of the group is left (a zombie leader not yet reaped counts). */
  alive(): boolean {
    try {
      process.kill(-this.#pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /** SIGTERM to the whole group now, SIGKILL to what is left after the grace. Idempotent. */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#signal('SIGTERM');
    this.#killTimer = setTimeout(() => {
      if (this.alive()) this.#signal('SIGKILL');
      this.#forget();
    }, this.#graceMs);
    // The pipes of a member that ignores SIGTERM keep the process up until this fires; nothing
    // else needs to wait for it (the exit handler kills what is left).
    this.#killTimer.unref();
  }

  /** SIGKILL to the whole group at once: for the process's exit, when there is no later. */
  kill(): void {
    this.#signal('SIGKILL');
    this.#forget();
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.#pid, signal);
    } catch {
      // ESRCH: the group is already gone. Its leader may still be unreaped: that is node's to do.
    }
  }

  #forget(): void {
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer);
    if (live.get(this.#pid) === this) live.delete(this.#pid);
    if (live.size === 0) unhook();
  }
}

/**
 * A signal dubbo-tunnel receives while plugins run ends their groups. When another handler listens
 * too (the session's stop, or a library's clean-up) that handler decides what the process does
 * next; when nobody else does, the signal would have ended the process, so once the plugins are
 * gone it is raised again with no handler left, and the process ends as it would have.
 */
function onSignal(signal: NodeJS.Signals): void {
  for (const group of live.values()) group.end();
  if (process.listenerCount(signal) > 1 || reraising !== undefined) return;
  reraising = signal;
  const deadline = Date.now() + PLUGIN_GRACE_MS * 2;
  const check = setInterval(() => {
    if ([...live.values()].some((group) => group.alive()) && Date.now() < deadline) return;
    clearInterval(check);
    for (const group of live.values()) group.kill();
    unhook();
    process.kill(process.pid, signal);
  }, 20);
}

function onExit(): void {
  for (const group of [...live.values()]) group.kill();
}

let hooked = false;
function hook(): void {
  // Checked on every spawn, not only the first: `handleStopSignals` takes away the listeners that
  // were there before it, so a later run puts its listener back.
  for (const signal of FORWARDED_SIGNALS) {
    if (!process.listeners(signal).includes(onSignal)) process.on(signal, onSignal);
  }
  if (!hooked) process.on('exit', onExit);
  hooked = true;
}

function unhook(): void {
  for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  process.off('exit', onExit);
  hooked = false;
}

/** Spawns an exec plugin as the leader of a new process group (POSIX), tracked until the group is gone. */
export function spawnPluginProcess(command: string, args: readonly string[], options: SpawnOptions, graceMs = PLUGIN_GRACE_MS): ChildProcess {
  const child = spawn(command, args, {...options, detached: GROUPS_SUPPORTED});
  if (!GROUPS_SUPPORTED || child.pid === undefined) return child;
  live.set(child.pid, new PluginGroup(child, child.pid, graceMs));
  hook();
  return child;
}

/** Ends the group `child` leads (SIGTERM, then SIGKILL after the grace); on Windows, the child alone. */
export function endPluginProcess(child: ChildProcess): void {
  const group = child.pid === undefined ? undefined : live.get(child.pid);
  if (group) group.end();
  else if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

/** Ends every plugin group still running: the command is done and nothing will read their answer. */
export function endPluginProcesses(): void {
  for (const group of live.values()) group.end();
}
