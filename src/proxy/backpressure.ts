/** A side whose reading can be stopped: the consumer socket, or an upstream as its consumer sees it. */
export interface Reader {
  pause(): unknown;
  resume(): unknown;
}

/** An upstream, as far as backpressure goes. */
export interface UpstreamReader {
  /** Stop (true) or resume (false) reading what the provider sends. */
  pauseReading(paused: boolean): void;
}

/**
 * Backpressure of one consumer connection and its upstreams, kept in this one place: while any
 * upstream's writes are backed up, the consumer is not read; while the consumer's writes are backed
 * up, none of its upstreams is. So a slow side makes the tunnel stop reading the other, and the
 * bytes wait in the sender's own buffers: nothing is held beyond one socket chunk plus one frame,
 * and what waits in a socket's buffer (backed up means more than WRITE_SLACK there).
 */
export class Backpressure<U extends UpstreamReader> {
  readonly #consumer: Reader;
  /** The consumer's upstreams, owned (added and removed) by the consumer connection. */
  readonly #upstreams: ReadonlySet<U>;
  /** Upstreams whose writes are backed up. */
  readonly #blockedUpstreams = new Set<U>();
  #consumerBlocked = false;
  #stopped = false;

  constructor(consumer: Reader, upstreams: ReadonlySet<U>) {
    this.#consumer = consumer;
    this.#upstreams = upstreams;
  }

  /** True while writes either way are backed up. */
  get backedUp(): boolean {
    return this.#consumerBlocked || this.#blockedUpstreams.size > 0;
  }

  /** True while writes to the consumer are backed up. */
  get consumerIsBlocked(): boolean {
    return this.#consumerBlocked;
  }

  /** Writes to `upstream` are backed up (true) or flowing again (false). */
  upstreamBlocked(upstream: U, blocked: boolean): void {
    if (this.#blockedUpstreams.has(upstream) === blocked) return;
    if (blocked) this.#blockedUpstreams.add(upstream);
    else this.#blockedUpstreams.delete(upstream);
    this.#readConsumer();
  }

  /** `upstream` closed: it no longer holds the consumer back. */
  upstreamGone(upstream: U): void {
    this.#blockedUpstreams.delete(upstream);
    this.#readConsumer();
  }

  /** Writes to the consumer are backed up (true) or flowing again (false): every upstream stops or resumes reading. */
  consumerBlocked(blocked: boolean): void {
    if (this.#consumerBlocked === blocked) return;
    this.#consumerBlocked = blocked;
    for (const upstream of this.#upstreams) upstream.pauseReading(blocked);
  }

  /** The consumer connection closed: its socket is not paused or resumed any more. */
  stop(): void {
    this.#stopped = true;
  }

  #readConsumer(): void {
    if (this.#stopped) return;
    if (this.#blockedUpstreams.size > 0) this.#consumer.pause();
    else this.#consumer.resume();
  }
}
