import {performance} from 'node:perf_hooks';
import http2 from 'node:http2';
import type {ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Session, ServerHttp2Stream} from 'node:http2';
import type {Socket} from 'node:net';
import {DubboTunnelError, errorMessage} from '../../core/errors.js';
import type {ErrorCode} from '../../core/errors.js';
import type {TunnelEventBus} from '../../core/events.js';
import {GRPC_STATUS, encodeGrpcMessage, parseGrpcPath} from '../../protocol/grpc.js';
import {describeTarget} from '../../protocol/header.js';
import type {RouteView} from '../../router/route-table.js';
import {resolveRoute} from '../../router/resolve.js';
import type {RoutingInput} from '../../router/resolve.js';
import {streamCompleted} from '../completion.js';
import {CONNECTION_WINDOW, STREAM_WINDOW} from './triple-upstreams.js';
import type {TripleUpstream, TripleUpstreams} from './triple-upstreams.js';

const {NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM} = http2.constants;

/** Triple's attachment headers for the service key (TripleHeaderEnum in Dubbo 3). */
export const TRI_SERVICE_GROUP = 'tri-service-group';
export const TRI_SERVICE_VERSION = 'tri-service-version';

/**
 * Connection-specific headers that must not be forwarded (RFC 9113 §8.2.2); `te: trailers` is the
 * one exception HTTP/2 allows, and gRPC requires it, so it passes.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host']);

export interface TripleConnectionOptions {
  readonly id: number;
  readonly peer: string;
  readonly routes: RouteView;
  readonly events: TunnelEventBus;
  readonly attachmentKey: string;
  readonly upstreams: TripleUpstreams;
}

/** One consumer stream and what became of it. */
interface Call {
  readonly stream: ServerHttp2Stream;
  readonly startedAt: number;
  readonly target: string;
  application: string | undefined;
  upstream: ClientHttp2Stream | undefined;
  /** The gRPC status the consumer got, once known; undefined for a non-gRPC answer. */
  status: number | undefined;
  /** Set when dubbo-tunnel ended the stream itself: the grpc-message the consumer got, and its code. */
  error: string | undefined;
  code: ErrorCode | undefined;
  /** Trailers to send when the response body ends (the provider's, or ours after a failure). */
  trailers: OutgoingHttpHeaders | undefined;
  settled: boolean;
}

/**
 * One consumer connection that opened with the HTTP/2 preface: a Triple or gRPC client. Every
 * stream is routed on its own (one connection may carry streams for many applications) and
 * spliced onto a stream of the shared upstream session of its application's Triple port. Headers,
 * DATA and trailers pass through as they are; pipe() carries backpressure both ways, on top of
 * HTTP/2 flow control on both connections.
 */
export class TripleConnection {
  readonly id: number;
  readonly peer: string;
  readonly #options: TripleConnectionOptions;
  readonly #socket: Socket;
  readonly #calls = new Set<Call>();
  #session: ServerHttp2Session | undefined;
  #closed = false;
  #shuttingDown = false;
  #closeReason: string | undefined;
  #onClosed: (() => void) | undefined;
  #idleWaiter: (() => void) | undefined;

  constructor(socket: Socket, options: TripleConnectionOptions) {
    this.id = options.id;
    this.peer = options.peer;
    this.#options = options;
    this.#socket = socket;
    socket.setNoDelay(true);
    // A server object only to run node's HTTP/2 server session on a socket we already accepted
    // (and whose preface bytes were put back with unshift); it never listens.
    const server = http2.createServer({settings: {enablePush: false, initialWindowSize: STREAM_WINDOW}});
    server.on('session', (session) => {
      this.#session = session;
      session.on('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW));
      session.on('error', (error) => {
        this.#closeReason ??= `HTTP/2 error: ${errorMessage(error)}`;
      });
      session.on('close', () => this.#close());
    });
    server.on('stream', (stream, headers) => this.#onStream(stream, headers));
    socket.on('close', () => this.#close());
    server.emit('connection', socket);
  }

  /** Streams still open on this connection. */
  get pendingCount(): number {
    return this.#calls.size;
  }

  onClosed(listener: () => void): void {
    this.#onClosed = listener;
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const {service, method} = parseGrpcPath(headers[':path']);
    const call: Call = {
      stream, startedAt: performance.now(), target: describeTarget(service, method),
      application: undefined, upstream: undefined, status: undefined, error: undefined, code: undefined, trailers: undefined, settled: false,
    };
    this.#calls.add(call);
    stream.on('error', () => undefined); // the outcome is read on 'close'
    stream.on('close', () => this.#settle(call));
    stream.on('wantTrailers', () => {
      call.status ??= statusOf(call.trailers);
      stream.sendTrailers(call.trailers ?? {});
    });

    if (this.#shuttingDown) {
      this.#answer(call, GRPC_STATUS.UNAVAILABLE, 'DT_ERR_SHUTTING_DOWN', `shutting down; ${call.target} was not forwarded`);
      return;
    }
    const input: RoutingInput = {
      service,
      method,
      attachments: attachmentsOf(headers),
      group: headerValue(headers[TRI_SERVICE_GROUP]),
      version: headerValue(headers[TRI_SERVICE_VERSION]),
    };
    const decision = resolveRoute(this.#options.routes.current, input, this.#options.attachmentKey);
    if (!decision.ok) {
      this.#answer(call, GRPC_STATUS.UNIMPLEMENTED, decision.code, decision.message);
      return;
    }
    const {backend} = decision;
    call.application = backend.application;
    const port = backend.triple;
    if (port === undefined) {
      this.#answer(call, GRPC_STATUS.UNIMPLEMENTED, 'DT_ERR_NO_ROUTE',
        `${backend.application} has no Triple port (only dubbo:// at ${backend.describe()}); ${call.target} was not sent (give it one with --backend ${backend.application}=tri://<host>:<port>, or name its Service port tri or grpc)`);
      return;
    }
    this.#options.upstreams.session(backend.application, port, this.id).then(
      (upstream) => this.#forward(call, upstream, headers),
      (error: unknown) => this.#answer(call, GRPC_STATUS.UNAVAILABLE, errorCode(error), `${errorMessage(error)}; ${call.target} was not sent`),
    );
  }

  #forward(call: Call, upstream: TripleUpstream, headers: IncomingHttpHeaders): void {
    const {stream} = call;
    if (stream.closed || stream.destroyed) return; // the consumer cancelled while we connected
    let out: ClientHttp2Stream;
    try {
      out = upstream.session.request(forwardedHeaders(headers));
    } catch (error) {
      this.#answer(call, GRPC_STATUS.UNAVAILABLE, 'DT_ERR_BACKEND_UNAVAILABLE', `${upstream.failure ?? errorMessage(error)}; ${call.target} was not sent`);
      return;
    }
    call.upstream = out;
    let responded = false;
    let trailersOnly = false;
    out.on('error', () => undefined); // the outcome is read on 'close'
    out.on('response', (response, flags) => {
      responded = true;
      if (stream.closed || stream.destroyed) return;
      if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
        // Trailers-only: a gRPC error status with no messages.
        trailersOnly = true;
        call.status = statusOf(response);
        stream.respond(forwardedHeaders(response), {endStream: true});
        out.resume();
        return;
      }
      stream.respond(forwardedHeaders(response), {waitForTrailers: true});
      // Not ended by pipe: only 'close' tells a clean end from a session that died under the stream.
      out.pipe(stream, {end: false});
    });
    out.on('trailers', (trailers: IncomingHttpHeaders) => {
      call.trailers = forwardedHeaders(trailers);
    });
    out.on('close', () => {
      const code = out.rstCode ?? NGHTTP2_NO_ERROR;
      // A provider going down resets every stream (CANCEL) just before its GOAWAY and close: give
      // the session one turn of the event loop to show that, so those streams get UNAVAILABLE.
      if (code === NGHTTP2_CANCEL && !upstream.session.destroyed) setImmediate(() => this.#upstreamClosed(call, upstream, out, responded, trailersOnly));
      else this.#upstreamClosed(call, upstream, out, responded, trailersOnly);
    });
    stream.pipe(out);
  }

  /** The provider's stream ended: pass its end on, or end the consumer's stream with a status. */
  #upstreamClosed(call: Call, upstream: TripleUpstream, out: ClientHttp2Stream, responded: boolean, trailersOnly: boolean): void {
    const {stream} = call;
    if (trailersOnly || call.error !== undefined || call.settled || stream.closed || stream.destroyed) return;
    const code = out.rstCode ?? NGHTTP2_NO_ERROR;
    const sessionGone = upstream.session.destroyed || upstream.failure !== undefined;
    if (call.trailers !== undefined || (!sessionGone && out.readableEnded && code === NGHTTP2_NO_ERROR)) {
      stream.end(); // 'wantTrailers' sends the provider's trailers
      return;
    }
    if (!sessionGone && code !== NGHTTP2_NO_ERROR) {
      // The provider reset the stream (e.g. REFUSED_STREAM after a GOAWAY): the consumer gets the same reset.
      call.status = statusOfReset(code);
      stream.close(code);
      return;
    }
    const reason = upstream.failure ?? `${upstream.application}: ${upstream.remote} closed the connection`;
    this.#answer(call, GRPC_STATUS.UNAVAILABLE, 'DT_ERR_BACKEND_CLOSED', responded
      ? `${reason}; ${call.target} got no complete answer (it may or may not have run on the provider)`
      : `${reason}; ${call.target} got no answer (it may or may not have run on the provider)`);
  }

  /**
   * Ends a stream with a gRPC status of our own: trailers-only when nothing was sent yet. The
   * grpc-message reads like a Dubbo error answer: `dubbo-tunnel [CODE]: <reason>`.
   */
  #answer(call: Call, status: number, code: ErrorCode, reason: string): void {
    const message = `dubbo-tunnel [${code}]: ${reason}`;
    const {stream} = call;
    call.status = status;
    call.error = message;
    call.code = code;
    call.upstream?.unpipe(stream);
    call.upstream?.close(NGHTTP2_CANCEL);
    if (stream.closed || stream.destroyed) return;
    const trailers = {'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message)};
    if (!stream.headersSent) {
      stream.respond({':status': 200, 'content-type': 'application/grpc', ...trailers}, {endStream: true});
    } else {
      call.trailers = trailers;
      if (!stream.writableEnded) stream.end();
    }
  }

  /** The stream is gone: one 'request-completed' per stream, whatever ended it. */
  #settle(call: Call): void {
    if (call.settled) return;
    call.settled = true;
    this.#calls.delete(call);
    const {stream} = call;
    if (call.status === undefined && call.error === undefined && (stream.rstCode ?? NGHTTP2_NO_ERROR) !== NGHTTP2_NO_ERROR) {
      // The consumer reset the stream (cancel, deadline): the provider is told the same below.
      call.status = statusOfReset(stream.rstCode ?? NGHTTP2_CANCEL);
    }
    const upstream = call.upstream;
    if (upstream && !upstream.closed && !upstream.destroyed) upstream.close(stream.rstCode === undefined || stream.rstCode === NGHTTP2_NO_ERROR ? NGHTTP2_CANCEL : stream.rstCode);
    this.#options.events.emit('request-completed', streamCompleted(
      {connectionId: this.id, requestId: BigInt(stream.id ?? 0), application: call.application, target: call.target, startedAt: call.startedAt},
      call.status,
      call.error === undefined ? undefined : {code: call.code ?? 'DT_ERR_BACKEND_UNAVAILABLE', message: call.error},
    ));
    if (this.#calls.size === 0) this.#idleWaiter?.();
  }

  /**
   * Graceful stop: GOAWAY (no new streams), the open ones may finish for `timeoutMs`, the rest end
   * with UNAVAILABLE.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#shuttingDown = true;
    this.#session?.close();
    if (this.#calls.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#idleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const call of [...this.#calls]) this.#answer(call, GRPC_STATUS.UNAVAILABLE, 'DT_ERR_SHUTTING_DOWN', `shutting down; ${call.target} got no complete answer`);
    await new Promise<void>((resolve) => {
      if (this.#closed) {
        resolve();
        return;
      }
      this.#socket.once('close', () => resolve());
      this.#session?.close();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#options.events.emit('connection-closed', {connectionId: this.id, peer: this.peer, ...(this.#closeReason === undefined ? {} : {reason: this.#closeReason})});
    this.#idleWaiter?.();
    this.#onClosed?.();
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/** Triple sends a consumer's attachments as headers: the router reads them like Dubbo attachments. */
function attachmentsOf(headers: IncomingHttpHeaders): Map<string, unknown> {
  const attachments = new Map<string, unknown>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':')) continue;
    const text = headerValue(value);
    if (text !== undefined) attachments.set(name, text);
  }
  // A MetadataService call names the provider application as its group (resolveRoute step b).
  const group = headerValue(headers[TRI_SERVICE_GROUP]);
  if (group !== undefined && !attachments.has('group')) attachments.set('group', group);
  return attachments;
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

function errorCode(error: unknown): ErrorCode {
  return error instanceof DubboTunnelError ? error.code : 'DT_ERR_BACKEND_UNAVAILABLE';
}
