import {closeSync} from 'node:fs';
import {isatty} from 'node:tty';

/**
 * What a session needs to stop cleanly when the terminal it runs in is closed. The process gets
 * SIGHUP (a stop like SIGTERM), but only once the terminal's shell has gone; before that and after
 * it, every write to the terminal (a dashboard frame, a log line) and putting it back to its mode
 * (ink's raw mode) fail with EIO, which node reports as an 'error' event nobody listens to: a crash
 * in the middle of answering the calls in flight. So the errors of the standard streams that are a
 * terminal are let pass: when they happen there is no one left to show anything to.
 */
export function surviveLostTerminal(): void {
  for (const stream of [process.stdin, process.stdout, process.stderr]) {
    if (stream.isTTY !== true || stream.listeners('error').includes(ignore)) continue;
    stream.on('error', ignore);
  }
}

/**
 * Node puts each standard stream that was a terminal when it started back to that terminal's mode
 * as the process exits, and aborts (a core dump, not our exit status) when that fails, as it does on
 * a closed terminal. It leaves alone a descriptor that was closed meanwhile, so the ones whose
 * terminal is gone (still a terminal to node, no longer one to the system) are closed first. Called
 * last, when nothing will be written any more.
 */
export function letGoOfLostTerminal(): void {
  const streams: [number, {isTTY?: boolean}][] = [[0, process.stdin], [1, process.stdout], [2, process.stderr]];
  for (const [fd, stream] of streams) {
    if (stream.isTTY !== true || isatty(fd)) continue;
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to let go of.
    }
  }
}

function ignore(): void {
  // See surviveLostTerminal.
}
