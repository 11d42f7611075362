/**
 * The one place that turns SIGINT, SIGTERM and SIGHUP into a stop: the first asks for the same
 * graceful stop as `q` (tell the consumers, answer requests in flight, close tunnels and the port,
 * exit 0); a second one while that runs stops at once: `onForce` answers what is still in flight
 * with an error, and the process exits with 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP), as a shell
 * reports a killed process, once that is written (at most FORCED_EXIT_WAIT_MS later).
 *
 * SIGHUP is what a process gets when its terminal closes: it is a stop like any other, so the
 * consumers' calls in flight are answered instead of dying with the process (lost-terminal.ts keeps
 * the gone terminal from ending the process first).
 *
 * Why listeners registered before us are taken away: `conf` writes through `atomically`, whose
 * `when-exit` hooks SIGINT/SIGTERM/SIGHUP at import and re-raises the signal with process.kill after
 * its clean-up. That copy of the signal reached our handler as a "second signal" (forced exit, in-flight
 * calls failed) or, once the dashboard had unmounted, reached only ink's signal-exit hook, which
 * re-raises with no handler left (killed: 143). Their clean-up also runs on the normal 'exit' event,
 * which a graceful stop reaches, so nothing is lost. They are not put back afterwards: the run is
 * the end of the process, and a re-raising listener has nothing left to do then.
 */
import {letGoOfLostTerminal} from './lost-terminal.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof SIGNALS)[number];

export const FORCED_EXIT_CODE: Record<StopSignal, number> = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129};

/** How long a forced stop waits for its error answers to be written before the process exits. */
export const FORCED_EXIT_WAIT_MS = 500;

export interface StopSignals {
  /** The first signal so far, if any. */
  readonly received: StopSignal | undefined;
  /** Removes our handlers (the ones taken away stay away, see above). Idempotent. */
  dispose(): void;
}

/**
 * `onForce` (a second signal) ends the stop's wait; its promise settles once what it answered is
 * written. A third signal exits without waiting for it.
 */
export function handleStopSignals(
  onStop: (signal: StopSignal) => void,
  exit: (code: number) => void = (code) => {
    letGoOfLostTerminal();
    process.exit(code);
  },
  onForce: () => Promise<void> = () => Promise.resolve(),
): StopSignals {
  for (const signal of SIGNALS) {
    for (const listener of process.rawListeners(signal) as ((...args: unknown[]) => void)[]) process.off(signal, listener);
  }
  let received: StopSignal | undefined;
  let forced = false;
  const handler = (signal: StopSignal): void => {
    if (received === undefined) {
      received = signal;
      onStop(signal);
      return;
    }
    const code = FORCED_EXIT_CODE[signal];
    if (forced) {
      exit(code);
      return;
    }
    forced = true;
    const waited = setTimeout(() => exit(code), FORCED_EXIT_WAIT_MS);
    onForce().then(() => undefined, () => undefined).finally(() => {
      clearTimeout(waited);
      exit(code);
    });
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  let disposed = false;
  return {
    get received() {
      return received;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const signal of SIGNALS) process.off(signal, handler);
    },
  };
}
