import http2 from 'node:http2';
import type {IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream} from 'node:http2';
import type {Socket} from 'node:net';
import type {BackendPort} from '../../core/backend.js';
import type {CallCapture} from '../../core/calls.js';
import {DubboTunnelError, errorMessage} from '../../core/errors.js';
import type {ErrorCode} from '../../core/errors.js';
import type {TunnelEventBus} from '../../core/events.js';
import {GRPC_STATUS, parseGrpcPath} from '../../protocol/grpc.js';
import {describeTarget} from '../../protocol/header.js';
import type {RouteView} from '../../router/route-table.js';
import {resolveRoute} from '../../router/resolve.js';
import type {RoutingInput} from '../../router/resolve.js';
import {closeAfterAnswers, waitUntilAnswered, whyNotAnswered} from '../drain.js';
import type {ConnectionAdmission} from '../admission.js';
import {TripleCall} from './triple-call.js';
import {CONNECTION_WINDOW, STREAM_WINDOW} from './triple-upstreams.js';
import type {TripleUpstreams} from './triple-upstreams.js';

/** Triple's attachment headers for the service key (TripleHeaderEnum in Dubbo 3). */
export const TRI_SERVICE_GROUP = 'tri-service-group';
export const TRI_SERVICE_VERSION = 'tri-service-version';

export interface TripleConnectionOptions {
  readonly id: number;
  readonly peer: string;
  readonly routes: RouteView;
  readonly events: TunnelEventBus;
  readonly attachmentKey: string;
  readonly upstreams: TripleUpstreams;
  /** Who may use this connection (the team gateway); none: every stream is routed. */
  readonly admission?: ConnectionAdmission;
  /** While it is on, each new stream's headers and DATA are copied for the call inspector; none: never. */
  readonly capture?: CallCapture;
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
  readonly #calls = new Set<TripleCall>();
  #session: ServerHttp2Session | undefined;
  #closed = false;
  #shuttingDown = false;
  #closeReason: string | undefined;
  #onClosed: (() => void) | undefined;
  #idleWaiter: (() => void) | undefined;
  /** A call's consumer stream closed (it has been reported): a graceful stop may be waiting for the last one. */
  readonly #callDone = (call: TripleCall): void => {
    this.#calls.delete(call);
    if (this.#calls.size === 0) this.#idleWaiter?.();
  };

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

  /** Each stream is its own call: routed here, then the call's own business (TripleCall). */
  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const {service, method} = parseGrpcPath(headers[':path']);
    const call = new TripleCall(stream, headers, describeTarget(service, method), {connectionId: this.id, events: this.#options.events, done: this.#callDone, capture: this.#options.capture});
    this.#calls.add(call);
    if (this.#shuttingDown) {
      call.answer(GRPC_STATUS.UNAVAILABLE, 'DT_ERR_SHUTTING_DOWN', `shutting down; ${call.target} was not forwarded`);
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
      call.answer(GRPC_STATUS.UNIMPLEMENTED, decision.code, decision.message);
      return;
    }
    const {backend} = decision;
    call.routedTo(backend.application);
    const port = backend.triple;
    if (port === undefined) {
      call.answer(GRPC_STATUS.UNIMPLEMENTED, 'DT_ERR_NO_ROUTE',
        `${backend.application} has no Triple port (only dubbo:// at ${backend.describe()}); ${call.target} was not sent (give it one with --backend ${backend.application}=tri://<host>:<port>, or name its Service port tri or grpc)`);
      return;
    }
    const admission = this.#options.admission;
    if (admission === undefined) {
      this.#forward(call, backend.application, port, headers);
      return;
    }
    admission.triple(headers, backend).then((refusal) => {
      if (refusal !== undefined) {
        call.answer(refusal.grpcStatus, refusal.code, refusal.reason);
        return;
      }
      const forwarded = {...headers};
      for (const name of admission.privateHeaders) delete forwarded[name];
      this.#forward(call, backend.application, port, forwarded);
    }, (error: unknown) => call.answer(GRPC_STATUS.UNAVAILABLE, errorCode(error), `${errorMessage(error)}; ${call.target} was not sent`));
  }

  #forward(call: TripleCall, application: string, port: BackendPort, headers: IncomingHttpHeaders): void {
    this.#options.upstreams.upstreamFor(application, port, this.id).then(
      (upstream) => call.forward(upstream, headers),
      (error: unknown) => call.answer(GRPC_STATUS.UNAVAILABLE, errorCode(error), `${errorMessage(error)}; ${call.target} was not sent`),
    );
  }

  /**
   * Graceful stop: GOAWAY (no new streams), the open ones may finish for `timeoutMs` (or until
   * `cutShort` aborts), the rest end with UNAVAILABLE and DT_ERR_STOPPED_BEFORE_ANSWER.
   */
  async shutdown(timeoutMs: number, cutShort?: AbortSignal): Promise<void> {
    if (this.#closed) return;
    this.#shuttingDown = true;
    this.#session?.close();
    if (this.#calls.size > 0 && cutShort?.aborted !== true) {
      await waitUntilAnswered(timeoutMs, cutShort, (done) => {
        this.#idleWaiter = done;
      });
    }
    const why = whyNotAnswered(timeoutMs, cutShort);
    for (const call of [...this.#calls]) call.answer(GRPC_STATUS.UNAVAILABLE, 'DT_ERR_STOPPED_BEFORE_ANSWER', `${why}; ${call.target} got no complete answer (it may or may not have run on the provider)`);
    await closeAfterAnswers(this.#socket, this.#closed, () => this.#session?.close());
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

function errorCode(error: unknown): ErrorCode {
  return error instanceof DubboTunnelError ? error.code : 'DT_ERR_BACKEND_UNAVAILABLE';
}
