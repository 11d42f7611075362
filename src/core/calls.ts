import type {RequestCompleted} from './request-completed.js';

/**
 * What the call inspector is given of one call: copies of the bytes the consumer sent and got.
 * They are taken only while something inspects calls (the dashboard's calls view is open, a
 * recording runs, `--json --payloads`, or the call came over HTTP), so a request path with all of
 * those off copies nothing. Decoding happens later, off the request path (`src/inspect/`).
 */

/** A copy of a frame or a payload, cut at a bound: `length` is how long it really was. */
export interface CapturedBytes {
  readonly bytes: Buffer;
  readonly length: number;
}

/** The most of each request or answer a capture keeps; the rest is counted, not copied. */
export const CAPTURE_LIMIT_BYTES = 256 * 1024;

interface CapturedCallBase {
  /** Wall-clock time (ms since the epoch) at which the request arrived. */
  readonly at: number;
  /** The same entry `request-completed` carried for this call. */
  readonly completed: RequestCompleted;
  /** `http` when the call came as HTTP/1.1 JSON on the port and was turned into this request. */
  readonly origin: 'consumer' | 'http';
}

/** One Dubbo request and its answer, as whole frames (16-byte header included). */
export interface CapturedDubboCall extends CapturedCallBase {
  readonly protocol: 'dubbo';
  /** The request as the consumer sent it (its own request id). */
  readonly request: CapturedBytes;
  /** The answer as the consumer got it (a provider's, or one dubbo-tunnel wrote); undefined for a one-way request. */
  readonly answer: CapturedBytes | undefined;
}

/** One Triple/gRPC stream: its headers, the DATA bytes each way (gRPC length-prefixed messages), trailers. */
export interface CapturedTripleCall extends CapturedCallBase {
  readonly protocol: 'triple';
  readonly path: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly request: CapturedBytes;
  /** Undefined when no response headers came (the stream failed before, or dubbo-tunnel answered). */
  readonly responseHeaders: Readonly<Record<string, string>> | undefined;
  readonly answer: CapturedBytes;
  readonly trailers: Readonly<Record<string, string>> | undefined;
}

export type CapturedCall = CapturedDubboCall | CapturedTripleCall;

/**
 * Whether calls are captured now. Each user holds it on while it needs calls (the calls view while
 * open, a recording while it runs) and lets go with the function `hold` returns; the request path
 * reads `on`, one field, and copies nothing while it is false.
 */
export class CallCapture {
  #holders = 0;

  get on(): boolean {
    return this.#holders > 0;
  }

  hold(): () => void {
    this.#holders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holders--;
    };
  }
}
