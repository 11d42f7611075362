// Node's global `Buffer` is not a constant to the optimizer; the import is.
import {Buffer} from 'node:buffer';
import type {Backend} from '../core/backend.js';
import type {TunnelEventBus} from '../core/events.js';
import {DEFAULT_SHARED_STREAM_LINGER_MS, NO_CONSUMER_LEFT, Upstream} from './upstream.js';
import type {UpstreamContext} from './upstream.js';
import {WriteBatch} from './write-batch.js';

/** Streams to one pod (or address) by default: a second opens when one is saturated. */
export const DEFAULT_STREAMS_PER_POD = 2;

/**
 * Requests in flight that make a stream saturated: one provider connection is served by one
 * Netty I/O thread and decoded in order, so a stream this deep is better split than grown.
 */
export const SATURATED_IN_FLIGHT = 128;

/**
 * After finding no ready pod without a stream, a busy backend is not asked again for this long:
 * asking builds the pod list, which is not something to do per request under load.
 */
const SPARE_POD_CHECK_MS = 1000;

/** How often the streams' load is looked at for 'upstream-streams' (only while streams are open). */
const LOAD_REPORT_MS = 1000;

/**
 * The listener's Dubbo upstreams: one stream per provider (per pod of a Kubernetes backend, per
 * address of a static one), opened on first use and shared by every consumer connection, so C
 * consumers calling M applications open M streams (one, when the M come through one gateway: their
 * backends name it as their `carrier`), and a new consumer's first call finds its stream open. A
 * stream is kept until it closes or drains (READONLY, a retiring pod); the next request then opens
 * a fresh one. A stream no consumer connection uses any more is kept for `lingerMs` (a consumer
 * that reconnects finds it open), then closed.
 *
 * Which stream a request takes: the open one with the fewest requests in flight. When every
 * stream of the backend has requests in flight and a ready pod has no stream yet, a stream to that
 * pod is opened: load spreads over pods as it grows, and an idle tunnel keeps one stream. When the
 * least busy stream is saturated (SATURATED_IN_FLIGHT requests in flight) and its pod has fewer
 * than `streamsPerPod` streams, another one to the same pod is opened.
 */
export class UpstreamPool implements UpstreamContext {
  readonly events: TunnelEventBus;
  readonly maxBodyLength: number;
  readonly lingerMs: number;
  readonly writes = new WriteBatch();
  /** The shared streams of each backend, including draining ones until they close. */
  readonly #byBackend = new Map<Backend, Upstream[]>();
  /** Exclusive streams (consumers with callbacks), kept only to be closed with the pool. */
  readonly #exclusive = new Set<Upstream>();
  /** What 'upstream-streams' last said per application (`streams/inFlight`): only changes are reported. */
  readonly #reported = new Map<string, string>();
  /** Backends found to have no ready pod without a stream, until when that answer is trusted. */
  readonly #noSparePodUntil = new Map<Backend, number>();
  #loadTimer: NodeJS.Timeout | undefined;

  readonly #streamsPerPod: number;
  /** See readBuffer. */
  #readBuffer: Buffer | undefined;

  constructor(events: TunnelEventBus, maxBodyLength: number, options: {streamsPerPod?: number; lingerMs?: number} = {}) {
    this.events = events;
    this.maxBodyLength = maxBodyLength;
    this.#streamsPerPod = Math.max(1, options.streamsPerPod ?? DEFAULT_STREAMS_PER_POD);
    this.lingerMs = Math.max(0, options.lingerMs ?? DEFAULT_SHARED_STREAM_LINGER_MS);
  }

  /**
   * A buffer of at least `length` bytes to copy a request that came in pieces into, so its body can
   * be read to route it. One for the listener, grown to the largest request seen (at most the
   * payload limit): dispatching is synchronous and a request is routed before the next chunk is
   * read, so no two requests use it at once, and a large request does not fault in fresh memory.
   */
  readBuffer(length: number): Buffer {
    if (this.#readBuffer === undefined || this.#readBuffer.length < length) this.#readBuffer = Buffer.allocUnsafe(Math.max(length, 64 * 1024));
    return this.#readBuffer;
  }

  /** Shared streams open or opening right now (for tests and the bench). */
  get streamCount(): number {
    let count = 0;
    for (const list of this.#byBackend.values()) count += list.length;
    return count;
  }

  /** The shared stream a request to `backend` goes to; `consumerId` is only for the log of a new one. */
  upstreamFor(routed: Backend, consumerId: number): Upstream {
    // Applications offered through one gateway share its streams: they are the carrier's.
    const backend = routed.carrier ?? routed;
    const list = this.#byBackend.get(backend);
    let best: Upstream | undefined;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const upstream = list[i] as Upstream;
        if (upstream.usable && (best === undefined || upstream.pendingCount < best.pendingCount)) best = upstream;
      }
    }
    if (best === undefined) return this.#open(backend, consumerId, {});
    if (best.pendingCount === 0) return best;
    const spare = backend.readyPods === undefined ? undefined : this.#podWithoutStream(backend, list ?? []);
    if (spare !== undefined) return this.#open(backend, consumerId, {pod: spare});
    if (best.pendingCount >= SATURATED_IN_FLIGHT && this.#streamsTo(best.pod, list ?? []) < this.#streamsPerPod) {
      return this.#open(backend, consumerId, best.pod === undefined ? {} : {pod: best.pod});
    }
    return best;
  }

  /** Usable streams of a backend to `pod` (undefined: a static backend's one address). */
  #streamsTo(pod: string | undefined, list: readonly Upstream[]): number {
    let count = 0;
    for (const upstream of list) if (upstream.usable && upstream.pod === pod) count++;
    return count;
  }

  /** A stream for one consumer connection alone (see Upstream: callbacks), not shared. */
  exclusiveFor(backend: Backend, consumerId: number): Upstream {
    return this.#open(backend.carrier ?? backend, consumerId, {exclusive: true});
  }

  /** A ready pod none of the backend's usable streams goes to, if any. */
  #podWithoutStream(backend: Backend, list: readonly Upstream[]): string | undefined {
    const now = Date.now();
    if ((this.#noSparePodUntil.get(backend) ?? 0) > now) return undefined;
    const pods = backend.readyPods?.() ?? [];
    const spare = pods.find((pod) => !list.some((upstream) => upstream.usable && upstream.pod === pod));
    if (spare === undefined) this.#noSparePodUntil.set(backend, now + SPARE_POD_CHECK_MS);
    else this.#noSparePodUntil.delete(backend);
    return spare;
  }

  #open(backend: Backend, consumerId: number, options: {pod?: string; exclusive?: boolean}): Upstream {
    const upstream = new Upstream(backend, this, options);
    if (upstream.exclusive) {
      this.#exclusive.add(upstream);
    } else {
      const list = this.#byBackend.get(backend);
      if (list === undefined) this.#byBackend.set(backend, [upstream]);
      else list.push(upstream);
    }
    this.#report(backend.application);
    this.#loadTimer ??= setInterval(() => this.#reportAll(), LOAD_REPORT_MS).unref();
    void upstream.open().then(() => {
      if (upstream.state === 'open' || upstream.state === 'draining') {
        this.events.emit('upstream-opened', {application: backend.application, remote: upstream.remote, connectionId: consumerId, shared: !upstream.exclusive});
      }
    });
    return upstream;
  }

  // UpstreamContext.

  closed(upstream: Upstream, reason: string): void {
    if (upstream.exclusive) {
      this.#exclusive.delete(upstream);
    } else {
      const list = this.#byBackend.get(upstream.backend);
      const at = list?.indexOf(upstream) ?? -1;
      if (list !== undefined && at >= 0) list.splice(at, 1);
      if (list?.length === 0) {
        this.#byBackend.delete(upstream.backend);
        this.#noSparePodUntil.delete(upstream.backend);
      }
    }
    if (upstream.connected) {
      // A stream whose consumers all left ends normally: no reason, so nobody shows it as a failure.
      this.events.emit('upstream-closed', {application: upstream.backend.application, remote: upstream.remote, connectionId: 0, ...(reason === NO_CONSUMER_LEFT ? {} : {reason}), shared: !upstream.exclusive});
    }
    this.#report(upstream.backend.application);
    if (this.#byBackend.size === 0 && this.#exclusive.size === 0) {
      clearInterval(this.#loadTimer);
      this.#loadTimer = undefined;
    }
  }

  /**
   * Counts an application's streams and their requests in flight when asked (never per request:
   * the request path only keeps each stream's pending map) and says so when the numbers changed.
   */
  #report(application: string): void {
    let streams = 0;
    let inFlight = 0;
    const count = (upstream: Upstream) => {
      if (upstream.backend.application !== application) return;
      streams++;
      inFlight += upstream.pendingCount;
    };
    for (const list of this.#byBackend.values()) list.forEach(count);
    this.#exclusive.forEach(count);
    const said = `${streams}/${inFlight}`;
    if (this.#reported.get(application) === said) return;
    if (streams === 0) this.#reported.delete(application);
    else this.#reported.set(application, said);
    this.events.emit('upstream-streams', {application, streams, inFlight});
  }

  #reportAll(): void {
    const applications = new Set(this.#reported.keys());
    for (const backend of this.#byBackend.keys()) applications.add(backend.application);
    for (const upstream of this.#exclusive) applications.add(upstream.backend.application);
    for (const application of applications) this.#report(application);
  }

  /** The listener stops: every stream is closed, and what is still pending on it answered with `reason`. */
  close(reason: string): void {
    clearInterval(this.#loadTimer);
    this.#loadTimer = undefined;
    for (const list of [...this.#byBackend.values()]) for (const upstream of [...list]) upstream.fail(reason);
    for (const upstream of [...this.#exclusive]) upstream.fail(reason);
  }
}
