/**
 * The one place that turns SIGINT/SIGTERM into a stop: the first asks for the same graceful stop
 * as `q` (answer requests in flight, close tunnels and the port, exit 0); a second one while that
 * runs exits at once with 130 (SIGINT) or 143 (SIGTERM), as a shell reports a killed process.
 *
 * Why listeners registered before us are taken away: `conf` writes through `atomically`, whose
 * `when-exit` hooks SIGINT/SIGTERM at import and re-raises the signal with process.kill after its
 * clean-up. That copy of the signal reached our handler as a "second signal" (forced exit, in-flight
 * calls failed) or, once the dashboard had unmounted, reached only ink's signal-exit hook, which
 * re-raises with no handler left (killed: 143). Their clean-up also runs on the normal 'exit' event,
 * which a graceful stop reaches, so nothing is lost. They are not put back afterwards: the run is
 * the end of the process, and a re-raising listener has nothing left to do then.
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof SIGNALS)[number];

export const FORCED_EXIT_CODE: Record<StopSignal, number> = {SIGINT: 130, SIGTERM: 143};

export interface StopSignals {
  /** The first signal so far, if any. */
  readonly received: StopSignal | undefined;
  /** Removes our handlers (the ones taken away stay away, see above). Idempotent. */
  dispose(): void;
}

export function handleStopSignals(onStop: (signal: StopSignal) => void, exit: (code: number) => void = (code) => process.exit(code)): StopSignals {
  for (const signal of SIGNALS) {
    for (const listener of process.rawListeners(signal) as ((...args: unknown[]) => void)[]) process.off(signal, listener);
  }
  let received: StopSignal | undefined;
  const handler = (signal: StopSignal): void => {
    if (received !== undefined) {
      exit(FORCED_EXIT_CODE[signal]);
      return;
    }
    received = signal;
    onStop(signal);
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
