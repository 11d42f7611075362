import {BackendError} from '../core/errors.js';
import type {PodTarget} from './endpoints.js';
import type {PortForwardStream} from './port-forward.js';
import type {PodSocket} from './pod-socket.js';

/** A stream to one pod: through the API server (port-forward), or straight to its IP (inside the cluster). */
export type PodStream = PortForwardStream | PodSocket;

/**
 * How long a stream whose pod stopped being ready may go on answering the requests already in
 * flight on it: Kubernetes' default terminationGracePeriodSeconds. The kubelet cuts the stream
 * sooner when the pod really goes.
 */
export const DEFAULT_DRAIN_LIMIT_MS = 30_000;

/** A stream the backend no longer hands requests to; the router drains it. */
interface Retirement {
  reason: string;
  timer: NodeJS.Timeout;
}

/**
 * The streams of one backend, each with its pod: the open ones that take new requests, and the
 * retired ones the router drains (bounded by the drain limit). A stream leaves both when it closes.
 */
export class PodStreams {
  readonly #open = new Map<PodStream, string>();
  /** Streams being drained, with the reason the router was given. Not counted as load. */
  readonly #retired = new Map<PodStream, Retirement>();
  readonly #retireListeners = new Map<PodStream, (reason: string) => void>();
  readonly #namespace: string;
  readonly #drainLimitMs: number;

  constructor(namespace: string, drainLimitMs = DEFAULT_DRAIN_LIMIT_MS) {
    this.#namespace = namespace;
    this.#drainLimitMs = drainLimitMs;
  }

  /** Streams taking new requests. */
  get openCount(): number {
    return this.#open.size;
  }

  /** Streams being drained. */
  get drainingCount(): number {
    return this.#retired.size;
  }

  /** The open streams with their pods, as a copy: retiring or destroying them on the way is safe. */
  open(): [PodStream, string][] {
    return [...this.#open];
  }

  /** Open streams per pod (retired ones are not load: nothing new goes to them). */
  load(): Map<string, number> {
    const load = new Map<string, number>();
    for (const pod of this.#open.values()) load.set(pod, (load.get(pod) ?? 0) + 1);
    return load;
  }

  add(stream: PodStream, pod: string): void {
    this.#open.set(stream, pod);
    stream.once('close', () => {
      this.#open.delete(stream);
      this.#retireListeners.delete(stream);
      const retired = this.#retired.get(stream);
      if (retired) clearTimeout(retired.timer);
      this.#retired.delete(stream);
    });
  }

  onRetire(stream: PodStream, listener: (reason: string) => void): void {
    const retired = this.#retired.get(stream);
    if (retired) listener(retired.reason);
    else if (!stream.destroyed) this.#retireListeners.set(stream, listener);
  }

  /** No new requests on `stream`; the router drains it, and it is destroyed if still open after the drain limit. */
  retire(stream: PodStream, reason: string): void {
    if (this.#retired.has(stream)) return;
    const pod = this.#open.get(stream);
    this.#open.delete(stream);
    const limitMs = this.#drainLimitMs;
    const timer = setTimeout(() => {
      stream.destroy(new BackendError(`${pod === undefined ? stream.remote : `pod ${this.#namespace}/${pod}`} was still busy ${Math.round(limitMs / 1000)} s after it stopped taking new requests (${reason.split(';')[0] ?? reason})`, {code: 'DT_ERR_BACKEND_CLOSED'}));
    }, limitMs);
    timer.unref();
    this.#retired.set(stream, {reason, timer});
    const listener = this.#retireListeners.get(stream);
    this.#retireListeners.delete(stream);
    // Without a listener yet (connect() just returned it), onRetire() tells the router when it asks.
    listener?.(reason);
  }

  /**
   * Follows the endpoints: the open streams of a pod that is no longer usable are retired while it
   * is still listed, destroyed when it is gone; so are the retired streams of a pod no longer
   * listed. `usable`: the pods new streams may go to; `listed`: every pod behind the port. Returns
   * the pods whose open streams went.
   */
  followEndpoints(usable: ReadonlySet<string>, listed: ReadonlyMap<string, PodTarget>): Set<string> {
    const gone = new Set<string>();
    for (const [stream, pod] of [...this.#open]) {
      // A terminating pod's streams stay while no pod is ready and it still serves; they are
      // retired once a pod is ready (then it is no longer usable).
      if (usable.has(pod)) continue;
      gone.add(pod);
      const still = listed.get(pod);
      if (still) {
        // Still running (terminating after a graceful delete, or failing its readiness probe): the
        // requests in flight may still be answered.
        const why = still.terminating ? 'is terminating' : 'is no longer ready (failing its readiness probe)';
        this.retire(stream, `pod ${this.#namespace}/${pod} ${why}; requests in flight on it finish, new ones go to another pod`);
        continue;
      }
      this.#open.delete(stream);
      stream.destroy(new BackendError(`pod ${this.#namespace}/${pod} is gone (deleted)`, {code: 'DT_ERR_BACKEND_CLOSED'}));
    }
    for (const [stream, retired] of this.#retired) {
      const pod = stream.target.pod;
      if (!listed.has(pod)) {
        clearTimeout(retired.timer);
        stream.destroy(new BackendError(`pod ${this.#namespace}/${pod} is gone (deleted) before it answered`, {code: 'DT_ERR_BACKEND_CLOSED'}));
      }
    }
    return gone;
  }

  /** Destroys every stream, open or retired, now. */
  destroyAll(error: () => Error): void {
    for (const stream of [...this.#open.keys(), ...this.#retired.keys()]) stream.destroy(error());
    this.#open.clear();
  }
}
