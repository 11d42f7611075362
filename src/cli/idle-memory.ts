import v8 from 'node:v8';
import vm from 'node:vm';
import type {TunnelEventBus} from '../core/events.js';

/** How often traffic is looked at. */
const WINDOW_MS = 5000;
/** A burst worth giving memory back after: this many requests in one window. */
const BURST_REQUESTS = 1000;

export interface IdleMemoryOptions {
  windowMs?: number;
  burstRequests?: number;
  /** Runs one garbage collection; injected in tests. Default: V8's own (see collector()). */
  collect?: () => void;
}

/**
 * Gives memory back once a burst of traffic is over. Under sustained load V8 grows its young
 * generation to the maximum (two 16 MiB semi-spaces on 64-bit Node) and shrinks it only at a
 * collection that runs while little is being allocated, which an idle process never reaches: after a
 * million requests `up` kept about 30 MiB more RSS for as long as it idled (docs/performance.md). So
 * after a window with a burst and then two quiet windows (V8 judges "little allocated" over the last
 * few seconds), one collection runs; the next burst arms it again. Returns the stop function.
 */
export function releaseMemoryWhenIdle(events: TunnelEventBus, options: IdleMemoryOptions = {}): () => void {
  const collect = options.collect ?? collector();
  if (collect === undefined) return () => undefined;
  const burst = options.burstRequests ?? BURST_REQUESTS;
  let requests = 0;
  let armed = false;
  let quietWindows = 0;
  const onRequest = (): void => {
    requests++;
  };
  events.on('request-completed', onRequest);
  const timer = setInterval(() => {
    if (requests >= burst) armed = true;
    quietWindows = requests === 0 ? quietWindows + 1 : 0;
    requests = 0;
    if (armed && quietWindows >= 2) {
      armed = false;
      collect();
    }
  }, options.windowMs ?? WINDOW_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    events.off('request-completed', onRequest);
  };
}

/**
 * V8's collector. Node offers no call for it without `--expose-gc`, and a packaged CLI cannot put
 * flags on its own command line; the flag still works when set at run time for contexts made
 * after it, so a fresh context hands over its `gc`. Undefined if that ever stops working.
 */
function collector(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
