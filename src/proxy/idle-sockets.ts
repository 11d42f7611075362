import {performance} from 'node:perf_hooks';
import type {Socket} from 'node:net';

/**
 * Finds consumer sockets that went quiet, without a timer per socket. Node's `socket.setTimeout`
 * re-arms its timer on every read and every write (a call for libuv's clock and a timer-list
 * insert each time); at one request in flight that was about a seventh of the router's own
 * instructions (docs/performance.md). Here the requests pay nothing: one interval per listener
 * compares each socket's byte counters with what it saw last time.
 *
 * A socket is idle once its counters stood still for `timeoutMs`; it is found between `timeoutMs`
 * and `timeoutMs` plus one check interval (a quarter of the timeout) after its last byte.
 */
export class IdleSockets {
  readonly timeoutMs: number;
  readonly #watched = new Map<Socket, Watched>();
  readonly #timer: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.#timer = setInterval(() => this.check(performance.now()), Math.max(10, Math.floor(timeoutMs / 4)));
    this.#timer.unref();
  }

  /**
   * `onIdle` is called when the socket has been quiet for the timeout; it returns true when it
   * closed the connection (the socket is then let go of), false when the connection is still owed
   * something: it is asked again at each check until a byte moves or it closes.
   */
  watch(socket: Socket, onIdle: () => boolean): void {
    this.#watched.set(socket, {bytes: bytesMoved(socket), quietSince: performance.now(), onIdle});
  }

  unwatch(socket: Socket): void {
    this.#watched.delete(socket);
  }

  /** One check at `now` (performance.now() time); the interval calls it, tests may too. */
  check(now: number): void {
    for (const [socket, watched] of this.#watched) {
      const bytes = bytesMoved(socket);
      if (bytes !== watched.bytes) {
        watched.bytes = bytes;
        watched.quietSince = now;
      } else if (now - watched.quietSince >= this.timeoutMs && watched.onIdle()) {
        this.#watched.delete(socket);
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watched.clear();
  }
}

interface Watched {
  bytes: number;
  quietSince: number;
  readonly onIdle: () => boolean;
}

/** Bytes read plus bytes written (including those still queued): any byte either way is activity. */
function bytesMoved(socket: Socket): number {
  // Node's bytesWritten getter returns undefined when the socket has no write state; NaN would
  // never equal itself and the socket would never look quiet.
  const written: number | undefined = socket.bytesWritten;
  return socket.bytesRead + (written ?? 0);
}
