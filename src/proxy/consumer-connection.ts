import type {Socket} from 'node:net';
import type {Backend} from '../core/backend.js';
import type {ErrorCode, ProtocolError} from '../core/errors.js';
import {errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import type {FrameSink} from '../protocol/frame-decoder.js';
import type {FrameHeader} from '../protocol/header.js';
import {describeTarget, serializationName} from '../protocol/header.js';
import {peekRequest} from '../protocol/request-peek.js';
import {classifyEvent, encodeErrorResponse, encodeHeartbeatResponse} from '../protocol/responses.js';
import type {RouteSource} from '../router/route-table.js';
import {resolveRoute} from '../router/resolve.js';
import type {RoutingInput} from '../router/resolve.js';
import {requestCompleted} from './completion.js';
import {ERROR_STATUS, Upstream, corkUntilNextTick, writeFrame} from './upstream.js';
import type {FrameBytes, PendingRequest, UpstreamOwner} from './upstream.js';

/** Largest request kept in the per-connection scratch buffer (larger ones get a buffer of their own). */
const SCRATCH_LIMIT = 1024 * 1024;

/** How long a consumer that closed its sending side may still wait for answers. */
export const HALF_CLOSE_GRACE_MS = 2000;

export interface ConnectionOptions {
  readonly id: number;
  readonly peer: string;
  readonly routes: RouteSource;
  readonly events: TunnelEventBus;
  readonly attachmentKey: string;
  readonly maxBodyLength: number;
}

/**
 * One consumer socket. Frames are split by the FrameDecoder, each request is routed on its own
 * (one consumer connection carries calls for many applications: Dubbo shares one connection per
 * provider address), and the ORIGINAL frame bytes go to at most one upstream per backend.
 */
export class ConsumerConnection implements FrameSink, UpstreamOwner {
  readonly id: number;
  readonly peer: string;
  readonly maxBodyLength: number;
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #decoder: FrameDecoder;
  /** The upstream new requests for a backend go to. */
  readonly #active = new Map<Backend, Upstream>();
  /** Every upstream still open, including draining ones. */
  readonly #upstreams = new Set<Upstream>();
  /** Upstreams whose writes are backed up; while any is, we stop reading the consumer. */
  readonly #blockedUpstreams = new Set<Upstream>();
  /** Ids of callback requests a provider sent to the consumer, so the answer goes back to it. */
  readonly #reverse = new Map<bigint, Upstream>();
  #consumerBlocked = false;
  #closed = false;
  #shuttingDown = false;
  #peerEnded = false;
  #scratch: Buffer | undefined;
  #onClosed: (() => void) | undefined;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.id = options.id;
    this.peer = options.peer;
    this.maxBodyLength = options.maxBodyLength;
    this.#decoder = new FrameDecoder(this, {maxBodyLength: options.maxBodyLength});
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
    socket.on('drain', () => this.#setConsumerBlocked(false));
    socket.on('error', (error) => this.#close(`socket error: ${errorMessage(error)}`));
    socket.on('close', () => this.#close(undefined));
    // A consumer that half-closes (shuts down its sending side, as `nc` scripts do) still gets
    // the answers it is owed; the connection ends once the last one is written. A FIN looks the
    // same whether the peer half-closed or went away for good, so the wait is bounded.
    socket.on('end', () => {
      this.#peerEnded = true;
      this.#settle();
      if (!this.#closed) setTimeout(() => this.#close(undefined, true), HALF_CLOSE_GRACE_MS).unref();
    });
  }

  /** Requests still waiting for an answer on this connection. */
  get pendingCount(): number {
    let count = 0;
    for (const upstream of this.#upstreams) count += upstream.pending.size;
    return count;
  }

  onClosed(listener: () => void): void {
    this.#onClosed = listener;
  }

  // FrameSink: frames from the consumer.

  frame(header: FrameHeader, frame: Buffer): void {
    if (!header.isRequest) {
      this.#reverseResponse(header, frame);
      return;
    }
    if (header.event) {
      // Consumer heartbeats are answered here; they say nothing about any one backend.
      if (header.twoWay && classifyEvent(header, frame.subarray(16)) === 'heartbeat') {
        this.#writeToConsumer(encodeHeartbeatResponse(header, frame.subarray(16)));
      }
      return;
    }
    this.#routeRequest(header, frame);
  }

  /**
   * A request that arrived in several chunks: the router must read its body (the attachments come
   * last), so the pieces are copied once into a reused scratch buffer to be read, and the original
   * pieces are what is forwarded.
   */
  framePieces(header: FrameHeader, pieces: Buffer[], length: number): void {
    if (!header.isRequest || header.event) {
      this.frame(header, Buffer.concat(pieces, length));
      return;
    }
    const scratch = this.#scratchFor(length);
    let offset = 0;
    for (const piece of pieces) offset += piece.copy(scratch, offset);
    this.#routeRequest(header, scratch.subarray(0, length), pieces);
  }

  #scratchFor(length: number): Buffer {
    // Kept per connection up to 1 MiB so large frames do not fault in fresh memory each time.
    if (length > SCRATCH_LIMIT) return Buffer.allocUnsafe(length);
    if (!this.#scratch || this.#scratch.length < length) this.#scratch = Buffer.allocUnsafe(Math.max(length, 64 * 1024));
    return this.#scratch;
  }

  oversize(header: FrameHeader): void {
    if (!header.isRequest || header.event) return;
    // Same text as Dubbo's ExceedPayloadLimitException, plus how to raise our limit.
    this.#answerLocally(header, ERROR_STATUS.badRequest, undefined, undefined, 'DT_ERR_FRAME_TOO_LARGE',
      `dubbo-tunnel: Data length too large: ${header.bodyLength}, max payload: ${this.maxBodyLength}; the request was not forwarded (raise the limit with --max-payload <bytes>)`);
  }

  fatal(error: ProtocolError, firstBytes: Buffer): void {
    if (firstBytes.subarray(0, 8).toString('latin1').match(/^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT) /)) {
      // Be helpful to someone pointing curl or a browser at the port.
      const body = 'This port speaks the Dubbo protocol (dubbo://), not HTTP. Point a Dubbo consumer at it.\n';
      this.#socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    }
    this.#close(error.message, true);
  }

  // Requests.

  /** `frame` is read to route; `forward` (the same bytes, maybe as the pieces they came in) is sent. */
  #routeRequest(header: FrameHeader, frame: Buffer, forward: FrameBytes = frame): void {
    const startedAt = performance.now();
    let input: RoutingInput;
    try {
      const request = peekRequest(header.serializationId, frame.subarray(16));
      input = {
        service: request.service || undefined,
        method: request.method || undefined,
        version: request.serviceVersion,
        attachments: request.attachmentsRead ? request.attachments : undefined,
        ...(request.attachmentsRead ? {} : {unreadableBecause: `its ${serializationName(header.serializationId)} (id ${header.serializationId}) attachments cannot be read`}),
      };
    } catch (error) {
      if ((error as ProtocolError).code === 'DT_ERR_UNSUPPORTED_SERIALIZATION') {
        input = {service: undefined, method: undefined, attachments: undefined, unreadableBecause: errorMessage(error)};
      } else {
        this.#answerLocally(header, ERROR_STATUS.badRequest, startedAt, undefined, 'DT_ERR_BAD_BODY',
          `dubbo-tunnel: cannot read the request body: ${errorMessage(error)}`);
        return;
      }
    }
    const target = describeTarget(input.service, input.method);
    if (this.#shuttingDown) {
      this.#answerLocally(header, ERROR_STATUS.backendFailed, startedAt, target, 'DT_ERR_SHUTTING_DOWN', `dubbo-tunnel is shutting down; ${target} was not forwarded`);
      return;
    }
    const decision = resolveRoute(this.#options.routes.current, input, this.#options.attachmentKey);
    if (!decision.ok) {
      this.#answerLocally(header, ERROR_STATUS.noRoute, startedAt, target, decision.code, decision.message);
      return;
    }
    const upstream = this.#upstreamFor(decision.backend);
    if (header.twoWay) {
      upstream.send(header, forward, {startedAt, target});
    } else {
      upstream.send(header, forward, undefined);
      this.#options.events.emit('request-completed', requestCompleted(
        {connectionId: this.id, requestId: header.requestId, application: decision.backend.application, target, startedAt}, undefined));
    }
  }

  #upstreamFor(backend: Backend): Upstream {
    const existing = this.#active.get(backend);
    if (existing?.usable) return existing;
    const upstream = new Upstream(backend, this);
    this.#active.set(backend, upstream);
    this.#upstreams.add(upstream);
    void upstream.open().then(() => {
      if (upstream.state === 'open' || upstream.state === 'draining') {
        this.#options.events.emit('upstream-opened', {application: backend.application, remote: upstream.remote, connectionId: this.id});
      }
    });
    return upstream;
  }

  /** dubbo-tunnel answers a request itself (no route, unreadable, too large, shutting down). */
  #answerLocally(header: FrameHeader, status: number, startedAt: number | undefined, target: string | undefined, code: ErrorCode, message: string): void {
    if (header.twoWay) this.#writeToConsumer(encodeErrorResponse(header.requestId, status, message));
    this.#options.events.emit('request-completed', requestCompleted(
      {connectionId: this.id, requestId: header.requestId, application: undefined, target, startedAt},
      header.twoWay ? status : undefined, {code, message}));
  }

  #reverseResponse(header: FrameHeader, frame: Buffer): void {
    const upstream = this.#reverse.get(header.requestId);
    if (!upstream) return; // nothing asked for it; Java drops unknown responses the same way
    this.#reverse.delete(header.requestId);
    upstream.write(frame);
  }

  // UpstreamOwner: what upstreams report.

  deliverResponse(upstream: Upstream, header: FrameHeader, frame: FrameBytes, pending: PendingRequest | undefined): void {
    this.#writeToConsumer(frame);
    if (pending) {
      this.#options.events.emit('request-completed', requestCompleted(
        {connectionId: this.id, requestId: header.requestId, application: upstream.backend.application, target: pending.target, startedAt: pending.startedAt},
        header.status));
      this.#settle();
    }
  }

  responseTooLarge(upstream: Upstream, header: FrameHeader, pending: PendingRequest | undefined): void {
    const message = `dubbo-tunnel: the response of ${upstream.backend.application} to ${pending?.target ?? 'this request'} is ${header.bodyLength} bytes, over the payload limit of ${this.maxBodyLength} (raise it with --max-payload <bytes>)`;
    this.#writeToConsumer(encodeErrorResponse(header.requestId, ERROR_STATUS.responseTooLarge, message));
    this.#options.events.emit('request-completed', requestCompleted(
      {connectionId: this.id, requestId: header.requestId, application: upstream.backend.application, target: pending?.target, startedAt: pending?.startedAt},
      ERROR_STATUS.responseTooLarge, {code: 'DT_ERR_RESPONSE_TOO_LARGE', message}));
    this.#settle();
  }

  deliverReverseRequest(upstream: Upstream, header: FrameHeader, frame: Buffer): void {
    if (header.twoWay) this.#reverse.set(header.requestId, upstream);
    this.#writeToConsumer(frame);
  }

  drain(upstream: Upstream, reason: string): void {
    if (this.#active.get(upstream.backend) === upstream) this.#active.delete(upstream.backend);
    const inFlight = upstream.pending.size;
    this.#options.events.log('info', `${upstream.backend.application}: ${reason}${inFlight === 0 ? '' : ` (${inFlight} request${inFlight === 1 ? ' in flight finishes' : 's in flight finish'} first)`}`);
    upstream.markDraining(reason);
  }

  closed(upstream: Upstream, pending: Map<bigint, PendingRequest>, reason: string): void {
    this.#upstreams.delete(upstream);
    this.#blockedUpstreams.delete(upstream);
    if (this.#active.get(upstream.backend) === upstream) this.#active.delete(upstream.backend);
    for (const [id, upstreamOfReverse] of this.#reverse) if (upstreamOfReverse === upstream) this.#reverse.delete(id);
    const application = upstream.backend.application;
    for (const [requestId, request] of pending) {
      const message = upstream.connected
        ? `dubbo-tunnel: ${reason}; ${request.target} got no answer (it may or may not have run on the provider)`
        : `dubbo-tunnel: ${reason}; ${request.target} was not sent`;
      this.#writeToConsumer(encodeErrorResponse(requestId, ERROR_STATUS.backendFailed, message));
      this.#options.events.emit('request-completed', requestCompleted(
        {connectionId: this.id, requestId, application, target: request.target, startedAt: request.startedAt},
        ERROR_STATUS.backendFailed, {code: upstream.connected ? 'DT_ERR_BACKEND_CLOSED' : 'DT_ERR_BACKEND_UNAVAILABLE', message}));
    }
    if (!this.#closed) {
      this.#options.events.emit('upstream-closed', {application, remote: upstream.remote, connectionId: this.id, reason});
    }
    this.#updateConsumerReading();
    this.#settle();
  }

  upstreamBackpressure(upstream: Upstream, blocked: boolean): void {
    if (blocked) this.#blockedUpstreams.add(upstream);
    else this.#blockedUpstreams.delete(upstream);
    this.#updateConsumerReading();
  }

  // Backpressure both ways: a slow backend stops us reading the consumer; a slow consumer stops
  // us reading every upstream. Nothing is buffered beyond one socket chunk plus one frame.

  #updateConsumerReading(): void {
    if (this.#closed) return;
    if (this.#blockedUpstreams.size > 0) this.#socket.pause();
    else this.#socket.resume();
  }

  #writeToConsumer(frame: FrameBytes): void {
    if (this.#closed) return;
    corkUntilNextTick(this.#socket);
    if (!writeFrame(this.#socket, frame)) this.#setConsumerBlocked(true);
  }

  #setConsumerBlocked(blocked: boolean): void {
    if (this.#consumerBlocked === blocked) return;
    this.#consumerBlocked = blocked;
    for (const upstream of this.#upstreams) upstream.pauseReading(blocked);
  }

  // Lifecycle.

  /**
   * Graceful stop: new requests are refused with an error response, answers already on their way
   * are delivered; what is still pending after `timeoutMs` is answered with an error.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#shuttingDown = true;
    if (this.pendingCount > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#shutdownWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const upstream of [...this.#upstreams]) upstream.close('dubbo-tunnel is shutting down');
    await new Promise<void>((resolve) => {
      if (this.#closed) {
        resolve();
        return;
      }
      this.#socket.once('close', () => resolve());
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    });
  }

  #shutdownWaiter: (() => void) | undefined;

  /** After an answer: finish a graceful shutdown or a half-closed consumer once nothing is owed. */
  #settle(): void {
    if (this.pendingCount > 0) return;
    if (this.#peerEnded && !this.#closed) this.#socket.end();
    if (this.#shuttingDown) this.#checkShutdownDone();
  }

  #checkShutdownDone(): void {
    if (this.#shuttingDown && this.pendingCount === 0 && this.#shutdownWaiter) {
      const waiter = this.#shutdownWaiter;
      this.#shutdownWaiter = undefined;
      waiter();
    }
  }

  #close(reason: string | undefined, destroy = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#decoder.close();
    for (const upstream of [...this.#upstreams]) upstream.close('the consumer connection closed');
    if (destroy && !this.#socket.writableEnded) this.#socket.destroy();
    else if (destroy) setTimeout(() => this.#socket.destroy(), 200).unref();
    this.#options.events.emit('connection-closed', {connectionId: this.id, peer: this.peer, ...(reason === undefined ? {} : {reason})});
    const waiter = this.#shutdownWaiter;
    this.#shutdownWaiter = undefined;
    waiter?.();
    this.#onClosed?.();
  }
}
