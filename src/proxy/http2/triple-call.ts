import {performance} from 'node:perf_hooks';
import http2 from 'node:http2';
import type {ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream} from 'node:http2';
import type {CallCapture} from '../../core/calls.js';
import {errorMessage} from '../../core/errors.js';
import type {ErrorCode} from '../../core/errors.js';
import type {TunnelEventBus} from '../../core/events.js';
import {GRPC_STATUS, encodeGrpcMessage} from '../../protocol/grpc.js';
import {Exchange} from '../completion.js';
import type {Failure} from '../completion.js';
import {TripleCallCopy, headerStrings} from './triple-copy.js';
import type {TripleUpstream} from './triple-upstreams.js';

const {NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM} = http2.constants;

/**
 * Connection-specific headers that must not be forwarded (RFC 9113 §8.2.2); `te: trailers` is the
 * one exception HTTP/2 allows, and gRPC requires it, so it passes.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host']);

/**
 * Where a call is. Each state is left only forward, by the events named:
 *   routing    → forwarding  a provider stream was opened (forward)
 *   forwarding → relaying    the provider's response headers went to the consumer
 *   routing, forwarding, relaying → ending   the outcome is known: the provider's trailers-only
 *              answer or its stream's end, or an answer of dubbo-tunnel's own (answer)
 *   any        → done        the consumer's stream closed: `request-completed` is emitted
 */
type CallState = 'routing' | 'forwarding' | 'relaying' | 'ending' | 'done';

export interface TripleCallOptions {
  readonly connectionId: number;
  readonly events: TunnelEventBus;
  /** The call is done (its consumer stream closed and it was reported). */
  readonly done: (call: TripleCall) => void;
  /** When it is on as the stream starts, the call's headers and DATA are copied for the call inspector. */
  readonly capture?: CallCapture | undefined;
}

/**
 * One consumer stream of a Triple/gRPC connection, from its headers to its close: the only code
 * that changes its state. The connection routes it and hands it its provider session (forward) or
 * its answer (answer); the call splices the two streams, decides from their events how the
 * consumer's stream ends, and reports it once through its exchange.
 */
export class TripleCall {
  readonly #stream: ServerHttp2Stream;
  readonly #exchange: Exchange;
  readonly #done: (call: TripleCall) => void;
  #state: CallState = 'routing';
  /** The provider's stream, once forwarded. */
  #provider: ClientHttp2Stream | undefined;
  /** The gRPC status the consumer got, once known; undefined for a non-gRPC answer. */
  #status: number | undefined;
  /** Set when dubbo-tunnel ended the stream itself: the grpc-message the consumer got, and its code. */
  #failure: Failure | undefined;
  /** Trailers to send when the response body ends (the provider's, or ours after a failure). */
  #trailers: OutgoingHttpHeaders | undefined;
  /** The copy of the call for the call inspector; undefined when capture was off as the stream started. */
  readonly #copy: TripleCallCopy | undefined;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, target: string, options: TripleCallOptions) {
    this.#stream = stream;
    this.#done = options.done;
    this.#exchange = new Exchange(options.events, 'triple', options.connectionId, BigInt(stream.id ?? 0), false, undefined, target, performance.now());
    if (options.capture?.on === true) {
      this.#copy = new TripleCallCopy(headers);
      this.#exchange.captureWith(this.#copy);
    }
    stream.on('error', () => undefined); // the outcome is read on 'close'
    stream.on('close', () => this.#consumerClosed());
    stream.on('wantTrailers', () => {
      this.#status ??= statusOf(this.#trailers);
      stream.sendTrailers(this.#trailers ?? {});
    });
  }

  /** `Service#method`, for messages. */
  get target(): string {
    return this.#exchange.target ?? '';
  }

  /** The application the router chose: it names the call in `request-completed`. */
  routedTo(application: string): void {
    this.#exchange.application = application;
  }

  /** `http`: dubbo-tunnel made this call from an HTTP/1.1 JSON request on the port (see Exchange.origin). */
  set origin(origin: 'consumer' | 'http') {
    this.#exchange.origin = origin;
  }

  get origin(): 'consumer' | 'http' {
    return this.#exchange.origin;
  }

  /** Splices the consumer's stream onto a new stream of the provider's session. */
  forward(upstream: TripleUpstream, headers: IncomingHttpHeaders): void {
    const stream = this.#stream;
    // The consumer cancelled while the session was found: 'close' has ended the call.
    if (this.#state !== 'routing' || stream.closed || stream.destroyed) return;
    let provider: ClientHttp2Stream;
    try {
      provider = upstream.session.request({...forwardedHeaders(headers), ...upstream.requestHeaders?.()});
    } catch (error) {
      this.answer(GRPC_STATUS.UNAVAILABLE, 'DT_ERR_BACKEND_UNAVAILABLE', `${upstream.failure ?? errorMessage(error)}; ${this.target} was not sent`);
      return;
    }
    this.#provider = provider;
    this.#state = 'forwarding';
    provider.on('error', () => undefined); // the outcome is read on 'close'
    provider.on('response', (response, flags) => this.#providerResponded(provider, response, flags));
    provider.on('trailers', (trailers: IncomingHttpHeaders) => {
      this.#trailers = forwardedHeaders(trailers);
    });
    provider.on('close', () => this.#providerClosed(upstream, provider, false));
    stream.pipe(provider);
    // After pipe(): the stream flows (or pipe paused it for backpressure, which a 'data' listener
    // added now leaves paused), so this listener neither starts the flow early nor misses a chunk.
    const copy = this.#copy;
    if (copy !== undefined) stream.on('data', (chunk: Buffer) => copy.request.add(chunk));
  }

  /**
   * Ends the stream with a gRPC status of dubbo-tunnel's own: trailers-only when nothing was sent
   * yet. The grpc-message reads like a Dubbo error answer: `dubbo-tunnel [CODE]: <reason>`.
   */
  answer(status: number, code: ErrorCode, reason: string): void {
    if (this.#state === 'ending' || this.#state === 'done') return;
    this.#state = 'ending';
    const message = `dubbo-tunnel [${code}]: ${reason}`;
    const stream = this.#stream;
    this.#status = status;
    this.#failure = {code, message};
    this.#provider?.unpipe(stream);
    this.#provider?.close(NGHTTP2_CANCEL);
    if (stream.closed || stream.destroyed) return;
    const trailers = {'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message)};
    if (!stream.headersSent) {
      // Trailers-only: for the call inspector, these are the call's trailers; no response headers came.
      if (this.#copy !== undefined) this.#copy.trailers = headerStrings(trailers);
      stream.respond({':status': 200, 'content-type': 'application/grpc', ...trailers}, {endStream: true});
    } else {
      this.#trailers = trailers;
      if (!stream.writableEnded) stream.end();
    }
  }

  #providerResponded(provider: ClientHttp2Stream, response: IncomingHttpHeaders, flags: number): void {
    const stream = this.#stream;
    if (this.#state !== 'forwarding' || stream.closed || stream.destroyed) return;
    const copy = this.#copy;
    if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
      // Trailers-only: a gRPC error status with no messages. That is the whole answer.
      this.#state = 'ending';
      this.#status = statusOf(response);
      // One HEADERS frame that is both: the inspector sees it as the response headers and the trailers.
      if (copy !== undefined) copy.responseHeaders = copy.trailers = headerStrings(response);
      stream.respond(forwardedHeaders(response), {endStream: true});
      provider.resume();
      return;
    }
    this.#state = 'relaying';
    if (copy !== undefined) copy.responseHeaders = headerStrings(response);
    stream.respond(forwardedHeaders(response), {waitForTrailers: true});
    // Not ended by pipe: only 'close' tells a clean end from a session that died under the stream.
    provider.pipe(stream, {end: false});
    // Added after pipe() for the same reason as the request's (forward).
    if (copy !== undefined) provider.on('data', (chunk: Buffer) => copy.answer.add(chunk));
  }

  /**
   * The provider's stream closed: its trailers (or a clean end) are passed on, its reset is passed
   * on as the same reset, and a stream its session took down ends with UNAVAILABLE.
   * `roundTripDone`: the session has since answered a PING or ended (see below).
   */
  #providerClosed(upstream: TripleUpstream, provider: ClientHttp2Stream, roundTripDone: boolean): void {
    if (this.#state !== 'forwarding' && this.#state !== 'relaying') return; // already decided, or the consumer is gone
    const stream = this.#stream;
    if (stream.closed || stream.destroyed) return;
    const code = provider.rstCode ?? NGHTTP2_NO_ERROR;
    const session = upstream.session;
    const sessionGone = session.destroyed || upstream.failure !== undefined;
    if (this.#trailers !== undefined || (!sessionGone && provider.readableEnded && code === NGHTTP2_NO_ERROR)) {
      this.#state = 'ending';
      stream.end(); // 'wantTrailers' sends the provider's trailers
      return;
    }
    if (!sessionGone && code !== NGHTTP2_NO_ERROR) {
      // A provider going down cancels every stream (CANCEL) next to its GOAWAY: after it (grpc-js),
      // or just before it (grpc-java's shutdownNow). A CANCEL on a session that said GOAWAY is
      // therefore the provider going away; on a session that did not (yet), a PING sent now tells:
      // it comes back only if no GOAWAY was on its way (frames arrive in order), else the session
      // ends or closes first.
      if (code === NGHTTP2_CANCEL && !session.closed && !roundTripDone) {
        upstream.afterRoundTrip(() => this.#providerClosed(upstream, provider, true));
        return;
      }
      if (code !== NGHTTP2_CANCEL || !session.closed) {
        // The provider reset the stream itself (e.g. REFUSED_STREAM after a GOAWAY): the consumer gets the same reset.
        this.#state = 'ending';
        this.#status = statusOfReset(code);
        stream.close(code);
        return;
      }
    }
    const reason = upstream.failure ?? `${upstream.application}: ${upstream.remote} closed the connection`;
    this.answer(GRPC_STATUS.UNAVAILABLE, 'DT_ERR_BACKEND_CLOSED', this.#state === 'relaying'
      ? `${reason}; ${this.target} got no complete answer (it may or may not have run on the provider)`
      : `${reason}; ${this.target} got no answer (it may or may not have run on the provider)`);
  }

  /** The consumer's stream is gone: one `request-completed` per stream, whatever ended it. */
  #consumerClosed(): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    const stream = this.#stream;
    const reset = stream.rstCode ?? NGHTTP2_NO_ERROR;
    // The consumer reset the stream (cancel, deadline): the provider is told the same below.
    if (this.#status === undefined && this.#failure === undefined && reset !== NGHTTP2_NO_ERROR) this.#status = statusOfReset(reset);
    const provider = this.#provider;
    if (provider && !provider.closed && !provider.destroyed) provider.close(reset === NGHTTP2_NO_ERROR ? NGHTTP2_CANCEL : reset);
    // The trailers the consumer was sent after the body: the provider's, or ours after a failure.
    if (this.#copy !== undefined && this.#trailers !== undefined) this.#copy.trailers = headerStrings(this.#trailers);
    this.#exchange.complete(this.#status, this.#failure);
    this.#done(this);
  }
}

/** Headers as received, less the connection-specific ones (node regenerates framing itself). */
function forwardedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function statusOf(headers: IncomingHttpHeaders | OutgoingHttpHeaders | undefined): number | undefined {
  const value = headers?.['grpc-status'];
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const code = Number(text);
  return Number.isInteger(code) ? code : undefined;
}

/** The status a gRPC client reports for a stream reset with `code` (as grpc-java and grpc-js map them). */
function statusOfReset(code: number): number {
  switch (code) {
    case NGHTTP2_CANCEL:
      return GRPC_STATUS.CANCELLED;
    case NGHTTP2_REFUSED_STREAM:
      return GRPC_STATUS.UNAVAILABLE;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return GRPC_STATUS.RESOURCE_EXHAUSTED;
    default:
      return GRPC_STATUS.INTERNAL;
  }
}
