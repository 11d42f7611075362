// The global `performance` is a lazy getter in Node 20 (a call on every read); the import is a plain binding.
import {performance} from 'node:perf_hooks';
import type {IncomingMessage, ServerResponse} from 'node:http';
import type {Socket} from 'node:net';
import type {Backend} from '../../core/backend.js';
import type {CallCapture} from '../../core/calls.js';
import {errorMessage} from '../../core/errors.js';
import type {TunnelEventBus} from '../../core/events.js';
import {buildArguments} from '../../client/arguments.js';
import type {EncodedArguments} from '../../client/arguments.js';
import {encodeRequest} from '../../client/dubbo-client.js';
import {HEADER_LENGTH, SERIALIZATION, describeTarget, readHeader} from '../../protocol/header.js';
import {RequestPeeker} from '../../protocol/request-peek.js';
import {routeRequest} from '../../router/route-request.js';
import type {RouteView} from '../../router/route-table.js';
import {Backpressure} from '../backpressure.js';
import {DubboCallCopy, copyFrame} from '../call-copy.js';
import {Exchange} from '../completion.js';
import {closeAfterAnswers, waitUntilAnswered, whyNotAnswered} from '../drain.js';
import type {HandedConnection} from '../local-connections.js';
import type {Attachment, Upstream, UpstreamOwner} from '../upstream.js';
import type {UpstreamPool} from '../upstream-pool.js';
import type {FrameBytes} from '../write-batch.js';
import type {TripleUpstreams} from '../http2/triple-upstreams.js';
import {TripleCallCopy, headerStrings} from '../http2/triple-copy.js';
import {HttpCallError, argumentError, parseCallPath, readJsonCall} from './call-request.js';
import type {JsonCall} from './call-request.js';
import {codedAnswer, dubboAnswer} from './http-answers.js';
import {TOO_LARGE, contentTypeOf, notACall, readBody, send} from './http-messages.js';
import type {HttpAnswer} from './http-answers.js';
import {tripleJsonCall} from './triple-json-call.js';
import {completeRefused, failureOf, refusalOf} from './refusals.js';
import type {Refusal} from './refusals.js';

/** The `remote.application` HTTP calls announce to providers (a Java consumer sends its own name). */
export const HTTP_CLIENT_APPLICATION = 'dubbo-tunnel-http';

export interface HttpJsonContext {
  readonly routes: RouteView;
  readonly events: TunnelEventBus;
  readonly attachmentKey: string;
  /** The payload limit: a request body (and the Dubbo request made of it) past it gets 413. */
  readonly maxBodyLength: number;
  /** The listener's Dubbo streams, shared with every consumer connection. */
  readonly upstreams: UpstreamPool;
  /** The listener's Triple sessions, shared with every HTTP/2 consumer. */
  readonly tripleUpstreams: TripleUpstreams;
  /** While it is on, each call's request and answer are copied for the call inspector (origin `http`). */
  readonly capture?: CallCapture;
}

/** One call waiting for its answer: how it is answered, whichever way it ends. */
interface InFlight {
  readonly settle: (answer: HttpAnswer) => void;
  /** Gives up the call now (timeout, stop, the client left) and answers it with the refusal. */
  readonly abandon: (refusal: Refusal) => void;
}

/** A streamed Dubbo answer (Upstream.streamStart) being put together: the HTTP answer needs it whole. */
interface StreamedAnswer {
  readonly pieces: Buffer[];
}

/**
 * One HTTP/1.1 connection on the port (curl, Postman): each request is a call, turned into a Dubbo
 * request (hessian2, the encoder of `dubbo-tunnel call`) that goes through the listener's own
 * UpstreamPool as this connection's (an UpstreamOwner in this process, like a consumer
 * connection), or into a Triple unary call on the listener's TripleUpstreams; the answer comes back
 * as JSON. node's HTTP server does the HTTP (keep-alive, pipelining, chunked bodies).
 */
export class HttpJsonConnection implements HandedConnection, UpstreamOwner {
  readonly id: number;
  readonly peer: string;
  readonly backpressure: Backpressure<Attachment>;
  readonly #socket: Socket;
  readonly #context: HttpJsonContext;
  readonly #attachments = new Set<Attachment>();
  readonly #peeker = new RequestPeeker();
  /** Dubbo calls waiting for their answer, by the request id this connection gave them. */
  readonly #waiting = new Map<bigint, (frame: Buffer) => void>();
  readonly #inFlight = new Set<InFlight>();
  #nextRequestId = 1n;
  #streamed: StreamedAnswer | undefined;
  #shuttingDown = false;
  #closed = false;
  #onClosed: (() => void) | undefined;
  #idleWaiter: (() => void) | undefined;

  constructor(socket: Socket, id: number, peer: string, context: HttpJsonContext) {
    this.#socket = socket;
    this.id = id;
    this.peer = peer;
    this.#context = context;
    this.backpressure = new Backpressure(socket, this.#attachments);
    socket.on('close', () => this.#close());
  }

  get pendingCount(): number {
    return this.#inFlight.size;
  }

  onClosed(listener: () => void): void {
    this.#onClosed = listener;
  }

  closeIfIdle(): boolean {
    if (this.#closed || this.#inFlight.size > 0) return false;
    this.#socket.destroy();
    return true;
  }

  /** One request of this connection (node's HTTP server parsed it). */
  serve(request: IncomingMessage, response: ServerResponse): void {
    const startedAt = performance.now();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = parseCallPath(url.pathname);
    if (path === undefined || request.method !== 'POST') {
      notACall(request, response, path !== undefined);
      return;
    }
    if (this.#shuttingDown) {
      response.shouldKeepAlive = false;
      send(response, codedAnswer('DT_ERR_SHUTTING_DOWN', `shutting down; ${describeTarget(path.service, path.method)} was not forwarded`));
      return;
    }
    readBody(request, this.#context.maxBodyLength).then((body) => {
      if (body === TOO_LARGE) {
        response.shouldKeepAlive = false;
        this.#refuse(response, describeTarget(path.service, path.method), undefined, startedAt, {code: 'DT_ERR_FRAME_TOO_LARGE', message: `the request body is over the payload limit of ${this.#context.maxBodyLength} bytes and was not forwarded (raise the limit with --max-payload <bytes>)`});
        return;
      }
      try {
        this.#call(readJsonCall(path, url.searchParams, request.rawHeaders, body), contentTypeOf(request), startedAt, response);
      } catch (error) {
        if (error instanceof HttpCallError) {
          this.#refuse(response, describeTarget(path.service, path.method), undefined, startedAt, error);
          return;
        }
        // A bug: said once in the log, and the caller is answered instead of left waiting.
        this.#context.events.log('error', `HTTP connection #${this.id} (${this.peer}): ${request.method ?? '?'} ${request.url ?? '?'} failed: ${errorMessage(error)}`);
        send(response, codedAnswer('DT_ERR_INTERNAL', `dubbo-tunnel failed on this call (a bug; please report it with the log): ${errorMessage(error)}`));
      }
    }, (error: unknown) => {
      // The client went away while sending its body: there is no one to answer.
      this.#context.events.log('debug', `HTTP connection #${this.id} (${this.peer}): the request body did not arrive: ${errorMessage(error)}`);
    });
  }

  /** Routes the call as a Dubbo request without the attachment is routed, and sends it the way its backend takes. */
  #call(call: JsonCall, contentType: string | undefined, startedAt: number, response: ServerResponse): void {
    const target = describeTarget(call.service, call.method);
    const tripleJson = contentType === 'application/grpc+json';
    const requestId = this.#nextRequestId++;
    let encoded: EncodedArguments | undefined;
    let frame: Buffer;
    try {
      encoded = tripleJson ? undefined : buildArguments(call.rawArguments, call.types);
      // The frame is made even for a Triple call: routing reads it exactly as a consumer's (routeRequest).
      frame = encodeRequest({
        application: call.application,
        service: call.service,
        method: call.method,
        parameterTypes: encoded?.parameterTypes ?? '',
        args: encoded?.args ?? [],
        attachments: {'remote.application': HTTP_CLIENT_APPLICATION, ...call.attachments},
        timeoutMs: call.timeoutMs,
        attachmentKey: this.#context.attachmentKey,
        requestId,
        ...(call.version === undefined ? {} : {version: call.version}),
        ...(call.group === undefined ? {} : {group: call.group}),
      });
    } catch (error) {
      throw argumentError(error);
    }
    const decision = routeRequest(this.#context.routes.current, this.#peeker.peek(SERIALIZATION.HESSIAN2, frame), this.#context.attachmentKey);
    if (!decision.forward) {
      this.#refuse(response, target, undefined, startedAt, refusalOf(decision.answer), frame);
      return;
    }
    const {backend} = decision;
    if (call.triple || tripleJson || backend.tripleOnly === true) {
      this.#tripleCall(call, backend, encoded, tripleJson, startedAt, response);
      return;
    }
    if (frame.length - HEADER_LENGTH > this.#context.maxBodyLength) {
      this.#refuse(response, target, backend.application, startedAt, {code: 'DT_ERR_FRAME_TOO_LARGE', message: `Data length too large: ${frame.length - HEADER_LENGTH}, max payload: ${this.#context.maxBodyLength}; the request was not forwarded (raise the limit with --max-payload <bytes>)`}, frame);
      return;
    }
    this.#dubboCall(call, backend, frame, requestId, target, startedAt, response);
  }

  #dubboCall(call: JsonCall, backend: Backend, frame: Buffer, requestId: bigint, target: string, startedAt: number, response: ServerResponse): void {
    const exchange = this.#exchange(backend.application, target, startedAt, requestId, frame);
    const upstream = this.#context.upstreams.upstreamFor(backend, this.id);
    const attachment = this.#attach(upstream);
    let streamId = 0;
    const flight = this.#track(response, call.timeoutMs, target, (refusal) => {
      // Not answered by the provider: the upstream forgets it, and this exchange ends here.
      this.#waiting.delete(requestId);
      upstream.abandon(attachment, streamId);
      completeRefused(exchange, refusal);
    });
    this.#waiting.set(requestId, (answerFrame) => flight.settle(dubboAnswer(answerFrame)));
    streamId = upstream.send(attachment, frame, exchange);
  }

  #tripleCall(call: JsonCall, backend: Backend, encoded: EncodedArguments | undefined, json: boolean, startedAt: number, response: ServerResponse): void {
    const target = describeTarget(call.service, call.method);
    const port = backend.triple;
    if (port === undefined) {
      this.#refuse(response, target, backend.application, startedAt, {code: 'DT_ERR_NO_ROUTE', message: `${backend.application} has no Triple port (only dubbo:// at ${backend.describe()}); ${target} was not sent (leave out ?triple=1 and Content-Type application/grpc+json, or give it a Triple port with --backend ${backend.application}=tri://<host>:<port>)`});
      return;
    }
    const exchange = new Exchange(this.#context.events, 'triple', this.id, this.#nextRequestId++, false, backend.application, target, startedAt);
    exchange.origin = 'http';
    let copy: TripleCallCopy | undefined;
    const running = tripleJsonCall({
      capture: (headers) => {
        if (this.#context.capture?.on !== true) return undefined;
        copy = new TripleCallCopy(headerStrings(headers));
        exchange.captureWith(copy);
        return copy;
      },
      call,
      application: backend.application,
      port,
      upstreams: this.#context.tripleUpstreams,
      connectionId: this.id,
      attachmentKey: this.#context.attachmentKey,
      maxMessageLength: this.#context.maxBodyLength,
      arguments: json ? {json: call.rawArguments.map((raw) => JSON.parse(raw) as unknown)} : {encoded: encoded as EncodedArguments},
    });
    const flight = this.#track(response, call.timeoutMs, target, (refusal) => {
      running.cancel();
      exchange.complete(undefined, failureOf(refusal));
    });
    void running.answer.then((outcome) => {
      if (copy !== undefined && outcome.failure !== undefined) copy.trailers ??= {'grpc-message': outcome.failure.message};
      exchange.complete(outcome.grpcStatus, outcome.failure);
      flight.settle(outcome.answer);
    });
  }

  /**
   * Keeps the call in flight until it is answered: by `settle`, by its timeout (504, after
   * `giveUp` withdrew it), by a stop (503) or by the client leaving (nobody to answer).
   */
  #track(response: ServerResponse, timeoutMs: number, target: string, giveUp: (refusal: Refusal) => void): InFlight {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      this.#inFlight.delete(flight);
      response.off('close', onClientGone);
      if (this.#inFlight.size === 0) this.#idleWaiter?.();
      return true;
    };
    const flight: InFlight = {
      settle: (answer) => {
        if (finish()) send(response, answer);
      },
      abandon: (refusal) => {
        if (!finish()) return;
        giveUp(refusal);
        send(response, codedAnswer(refusal.code, refusal.message));
      },
    };
    const timer = setTimeout(() => {
      flight.abandon({code: 'DT_ERR_HTTP_TIMEOUT', message: `no answer within ${timeoutMs} ms; ${target} may still run on the provider (raise ?timeout=<ms>)`});
    }, timeoutMs);
    const onClientGone = (): void => {
      if (!response.writableFinished) flight.abandon({code: 'DT_ERR_BACKEND_CLOSED', message: `the HTTP client left before the answer; ${target} may or may not have run on the provider`});
    };
    response.on('close', onClientGone);
    this.#inFlight.add(flight);
    return flight;
  }

  /** A call answered before it was sent anywhere: it is counted (request-completed) like a consumer's. */
  #refuse(response: ServerResponse, target: string, application: string | undefined, startedAt: number, refusal: Refusal, frame?: Buffer): void {
    completeRefused(this.#exchange(application, target, startedAt, this.#nextRequestId++, frame), refusal);
    send(response, codedAnswer(refusal.code, refusal.message));
  }

  /**
   * The exchange of an HTTP call made into a Dubbo request: origin `http`, and, when calls are
   * captured, a copy of the request `frame` (none: the HTTP request could not be made into one).
   */
  #exchange(application: string | undefined, target: string, startedAt: number, requestId: bigint, frame: Buffer | undefined): Exchange {
    const exchange = new Exchange(this.#context.events, 'dubbo', this.id, requestId, false, application, target, startedAt);
    exchange.origin = 'http';
    if (frame !== undefined && this.#context.capture?.on === true) exchange.captureWith(new DubboCallCopy(copyFrame(frame)));
    return exchange;
  }

  #attach(upstream: Upstream): Attachment {
    const attachment = upstream.attach(this);
    if (!this.#attachments.has(attachment)) {
      this.#attachments.add(attachment);
      if (this.backpressure.consumerIsBlocked) attachment.pauseReading(true);
    }
    return attachment;
  }

  // UpstreamOwner: what the shared Dubbo streams report.

  toConsumer(frame: FrameBytes): void {
    const bytes = Buffer.isBuffer(frame) ? frame : Buffer.concat(frame);
    if (bytes.length < HEADER_LENGTH) return;
    const header = readHeader(bytes);
    // A provider's callback request: an HTTP call passes no callbacks, so none is owed an answer.
    if (header.isRequest) return;
    const waiting = this.#waiting.get(header.requestId);
    if (waiting === undefined) return;
    this.#waiting.delete(header.requestId);
    // The frame is the stream's chunk: the answer is read now, before anything reuses it.
    waiting(bytes);
  }

  startStreamedAnswer(first: readonly Buffer[]): boolean {
    if (this.#streamed !== undefined) return false;
    // Copies: the pieces are the stream's own chunks.
    this.#streamed = {pieces: first.map((piece) => Buffer.from(piece))};
    return true;
  }

  continueStreamedAnswer(piece: Buffer): void {
    this.#streamed?.pieces.push(Buffer.from(piece));
  }

  endStreamedAnswer(): void {
    const streamed = this.#streamed;
    this.#streamed = undefined;
    if (streamed !== undefined) this.toConsumer(Buffer.concat(streamed.pieces));
  }

  expectReverseAnswer(): void {
    // Callback requests are dropped (toConsumer): nothing comes back for them.
  }

  detached(attachment: Attachment): void {
    this.#attachments.delete(attachment);
  }

  // Lifecycle.

  /**
   * Graceful stop: new calls get 503 (DT_ERR_SHUTTING_DOWN) and the connection closes after them;
   * the calls in flight may finish for `graceMs` (or until `cutShort` aborts), the rest are
   * answered 503 with DT_ERR_STOPPED_BEFORE_ANSWER.
   */
  async shutdown(graceMs: number, cutShort?: AbortSignal): Promise<void> {
    if (this.#closed) return;
    this.#shuttingDown = true;
    if (this.#inFlight.size > 0 && cutShort?.aborted !== true) {
      await waitUntilAnswered(graceMs, cutShort, (done) => {
        this.#idleWaiter = done;
      });
    }
    const why = whyNotAnswered(graceMs, cutShort);
    for (const flight of [...this.#inFlight]) flight.abandon({code: 'DT_ERR_STOPPED_BEFORE_ANSWER', message: `${why}; the call got no answer (it may or may not have run on the provider)`});
    await closeAfterAnswers(this.#socket, this.#closed, () => this.#socket.end());
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.backpressure.stop();
    for (const flight of [...this.#inFlight]) flight.abandon({code: 'DT_ERR_BACKEND_CLOSED', message: 'the HTTP client closed the connection before the answer'});
    for (const attachment of [...this.#attachments]) attachment.upstream.detach(this, 'the HTTP connection closed');
    this.#attachments.clear();
    this.#context.events.emit('connection-closed', {connectionId: this.id, peer: this.peer});
    this.#idleWaiter?.();
    this.#onClosed?.();
  }
}
