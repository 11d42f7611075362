// The global `performance` is a lazy getter in Node 20 (a call on every read); the import is a plain binding.
import {performance} from 'node:perf_hooks';
import type {Socket} from 'node:net';
import type {Backend} from '../core/backend.js';
import type {CallCapture} from '../core/calls.js';
import type {ErrorCode, ProtocolError} from '../core/errors.js';
import {errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import type {FrameSink} from '../protocol/frame-decoder.js';
import type {FrameHeader} from '../protocol/header.js';
import {RequestPeeker} from '../protocol/request-peek.js';
import {encodeErrorResponse, encodeReadonlyEvent, heartbeatReply} from '../protocol/responses.js';
import {localAnswer} from '../router/local-answer.js';
import type {LocalAnswer} from '../router/local-answer.js';
import type {RequestMetadata} from '../protocol/request-metadata.js';
import type {RouteView} from '../router/route-table.js';
import {routeRequest} from '../router/route-request.js';
import type {RequestDecision} from '../router/route-request.js';
import type {ConnectionAdmission, DubboVerdict} from './admission.js';
import {Backpressure} from './backpressure.js';
import {DubboCallCopy, copyFrame, headerOnly} from './call-copy.js';
import {Exchange} from './completion.js';
import {closeAfterAnswers, waitUntilAnswered, whyNotAnswered} from './drain.js';
import type {Attachment, Upstream, UpstreamOwner} from './upstream.js';
import {UpstreamPool} from './upstream-pool.js';
import {frameLength} from './write-batch.js';
import type {FrameBytes, WriteBatch} from './write-batch.js';

/**
 * Answers waiting in a consumer's socket buffer because it does not read. The provider streams are
 * shared, so they are not paused for one consumer while others read (Upstream.consumerBlocked);
 * past this much, that consumer alone is cut off.
 */
export const HELD_ANSWERS_LIMIT = 4 * 1024 * 1024;

/** How long a consumer that closed its sending side may still wait for answers. */
export const HALF_CLOSE_GRACE_MS = 2000;

export interface ConnectionOptions {
  readonly id: number;
  readonly peer: string;
  readonly routes: RouteView;
  readonly events: TunnelEventBus;
  readonly attachmentKey: string;
  readonly maxBodyLength: number;
  /** The listener's shared upstreams; a connection made without one gets a pool of its own. */
  readonly upstreams?: UpstreamPool;
  /** Who may use this connection (the team gateway); none: every request is routed. */
  readonly admission?: ConnectionAdmission;
  /** While it is on, each request's bytes and its answer's are copied for the call inspector; none: never. */
  readonly capture?: CallCapture;
}

/** A request kept back while the admission checks an earlier one: copies, the decoder reuses its buffers. */
interface HeldRequest {
  readonly header: FrameHeader;
  readonly frame: Buffer;
}

/**
 * The attachment Dubbo's CallbackServiceCodec adds to a request for each argument that is a
 * callback (`sys_callback_arg-<argument index>`): the provider will call the consumer back on this
 * connection. Made once, so checking a request is a lookup per argument, not a walk of its map.
 */
const CALLBACK_ARGUMENT_KEYS = Array.from({length: 32}, (_, index) => `sys_callback_arg-${index}`);

/**
 * One consumer socket. Frames are split by the FrameDecoder, each request is routed on its own
 * (one consumer connection carries calls for many applications: Dubbo shares one connection per
 * provider address), and the ORIGINAL frame bytes (with the shared upstream's request id) go to
 * the listener's upstream for the backend. Where a request goes is the router's decision
 * (routeRequest); its answer is its upstream's business.
 */
export class ConsumerConnection implements FrameSink, UpstreamOwner {
  readonly id: number;
  readonly peer: string;
  readonly maxBodyLength: number;
  /** The listener's batch: the writes one incoming chunk causes leave together. */
  readonly writes: WriteBatch;
  readonly backpressure: Backpressure<Attachment>;
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #decoder: FrameDecoder;
  /** Reads each request's routing fields into the same objects (nothing allocated per request). */
  readonly #peeker = new RequestPeeker();
  readonly #pool: UpstreamPool;
  readonly #capture: CallCapture | undefined;
  /** This connection's place on every upstream it sent to that is still open. */
  readonly #attachments = new Set<Attachment>();
  /** The last upstream sent to and this connection's place on it (most requests repeat it). */
  #lastUpstream: Upstream | undefined;
  #lastAttachment: Attachment | undefined;
  /** Backends this consumer passed a callback to: its requests there use a stream of its own. */
  #withCallbacks: Set<Backend> | undefined;
  readonly #exclusive = new Map<Backend, Upstream>();
  /** Ids of callback requests a provider sent to the consumer, so the answer goes back to it. */
  readonly #reverse = new Map<bigint, Upstream>();
  #closed = false;
  #shuttingDown = false;
  #peerEnded = false;
  #onClosed: (() => void) | undefined;
  /** An answer is being streamed to the consumer (startStreamedAnswer): other frames wait in #waiting. */
  #streaming = false;
  /** Frames for the consumer that wait for the streamed answer to end, in order, and their bytes. */
  readonly #waiting: FrameBytes[] = [];
  #waitingBytes = 0;
  /** Requests waiting, in order, for the admission to finish a check; undefined when none is running. */
  #held: HeldRequest[] | undefined;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.id = options.id;
    this.peer = options.peer;
    this.maxBodyLength = options.maxBodyLength;
    this.#capture = options.capture;
    // A pool of its own has no other consumer to keep a stream for: its streams close with their last use.
    this.#pool = options.upstreams ?? new UpstreamPool(options.events, options.maxBodyLength, {lingerMs: 0});
    this.writes = this.#pool.writes;
    this.#decoder = new FrameDecoder(this, {maxBodyLength: options.maxBodyLength, reuseHeader: true});
    this.backpressure = new Backpressure(socket, this.#attachments);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.writes.dispatch(this.#decoder, chunk));
    socket.on('drain', () => this.backpressure.consumerBlocked(false));
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
    for (const attachment of this.#attachments) count += attachment.pending;
    return count + (this.#held?.length ?? 0);
  }

  /** Bytes held for this connection: a partial frame waiting for its rest. */
  get heldBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  get events(): TunnelEventBus {
    return this.#options.events;
  }

  onClosed(listener: () => void): void {
    this.#onClosed = listener;
  }

  /**
   * The listener's idle timeout fired (nothing came from the consumer for a while): closes the
   * connection unless something is still owed either way (a request waiting for its answer, a
   * provider callback waiting for the consumer's, writes backed up). Returns whether it closed.
   */
  closeIfIdle(): boolean {
    if (this.#closed || this.pendingCount > 0 || this.#reverse.size > 0 || this.backpressure.backedUp) return false;
    this.#socket.end();
    this.#close(undefined, true);
    return true;
  }

  // FrameSink: frames from the consumer.

  frame(header: FrameHeader, frame: Buffer): void {
    if (!header.isRequest) {
      this.#reverseResponse(header, frame);
      return;
    }
    if (header.event) {
      // Consumer heartbeats are answered here; they say nothing about any one backend.
      const reply = heartbeatReply(header, frame.subarray(16));
      if (reply !== undefined) this.toConsumer(reply);
      return;
    }
    this.#routeRequest(header, frame);
  }

  /**
   * A request that arrived in several chunks: the router must read its body (the attachments come
   * last), so the pieces are copied once into the listener's read buffer to be read, and the
   * original pieces are what is forwarded (one writev, never joined).
   */
  framePieces(header: FrameHeader, pieces: Buffer[], length: number): void {
    if (!header.isRequest || header.event) {
      this.frame(header, Buffer.concat(pieces, length));
      return;
    }
    const readable = this.#pool.readBuffer(length);
    let offset = 0;
    for (const piece of pieces) offset += piece.copy(readable, offset);
    this.#routeRequest(header, readable.subarray(0, length), pieces);
  }

  oversize(header: FrameHeader): void {
    if (!header.isRequest || header.event) return;
    // Same text as Dubbo's ExceedPayloadLimitException, plus how to raise our limit.
    this.#answerLocally(header, this.#exchange(header, undefined, undefined, undefined, undefined), localAnswer('DT_ERR_FRAME_TOO_LARGE',
      `Data length too large: ${header.bodyLength}, max payload: ${this.maxBodyLength}; the request was not forwarded (raise the limit with --max-payload <bytes>)`));
  }

  fatal(error: ProtocolError, firstBytes: Buffer): void {
    if (firstBytes.subarray(0, 8).toString('latin1').match(/^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT) /)) {
      // Be helpful to someone pointing curl or a browser at the port.
      const body = 'This port speaks the Dubbo protocol (dubbo://), and this connection started as Dubbo. An HTTP call (POST /<application>/<interface>/<method> with a JSON array of arguments) needs a connection of its own.\n';
      this.#socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    }
    this.#close(error.message, true, error.code);
  }

  // Requests.

  /** `frame` is read to route; `forward` (the same bytes, maybe as the pieces they came in) is sent. */
  #routeRequest(header: FrameHeader, frame: Buffer, forward: FrameBytes = frame): void {
    if (this.#held !== undefined) {
      this.#hold(header, frame);
      return;
    }
    const startedAt = performance.now();
    const peek = this.#peeker.peek(header.serializationId, frame);
    const decision = routeRequest(this.#options.routes.current, peek, this.#options.attachmentKey);
    const admission = this.#options.admission;
    if (admission !== undefined && this.#admissionAnswered(header, frame, admission.dubbo(header, frame, peek, decision), startedAt, decision.target)) return;
    if (!decision.forward || (this.#shuttingDown && !this.#servesUntilPeerLeaves)) {
      this.#refuse(header, frame, decision, startedAt);
      return;
    }
    // The exchange keeps the consumer's id (and a capture copies the frame): sending rewrites the one in the frame.
    const exchange = this.#exchange(header, frame, decision.backend.application, decision.target, startedAt);
    const attachment = this.#attachmentFor(decision.backend, peek.readable && passesCallback(peek.request));
    if (header.twoWay) {
      attachment.upstream.send(attachment, forward, exchange);
    } else {
      // A one-way request is done once it is sent: nothing will answer it.
      attachment.upstream.send(attachment, forward, undefined);
      exchange.complete(undefined);
    }
  }

  /**
   * Carries out what the admission said; false when the request goes on as usual. While a check
   * runs, this request and every later one wait (copied) and are routed again, in order, after it.
   */
  #admissionAnswered(header: FrameHeader, frame: Buffer, verdict: DubboVerdict, startedAt: number, target: string | undefined): boolean {
    if (verdict === undefined) return false;
    if ('wait' in verdict) {
      this.#hold(header, frame);
      const release = (): void => this.#releaseHeld();
      verdict.wait.then(release, release);
      return true;
    }
    const exchange = this.#exchange(header, frame, undefined, target, startedAt);
    if ('reply' in verdict) {
      if (header.twoWay) this.toConsumer(verdict.reply);
      exchange.complete(verdict.status, undefined, false, verdict.reply);
    } else {
      this.#answerLocally(header, exchange, verdict.refuse);
    }
    if (verdict.close === true) {
      // The answer is written first; end() sends it before the FIN.
      this.#socket.end();
      this.#close('refuse' in verdict ? verdict.refuse.message : undefined);
    }
    return true;
  }

  #hold(header: FrameHeader, frame: Buffer): void {
    (this.#held ??= []).push({header: {...header}, frame: Buffer.from(frame)});
  }

  #releaseHeld(): void {
    const held = this.#held;
    this.#held = undefined;
    if (held === undefined || this.#closed) return;
    for (const [index, request] of held.entries()) {
      // A request routed again may start another check: the rest wait behind it, in order.
      const again = this.#held as HeldRequest[] | undefined;
      if (again !== undefined) {
        again.push(...held.slice(index));
        return;
      }
      this.#routeRequest(request.header, request.frame);
    }
    this.#settle();
  }

  /**
   * The exchange of a request: it keeps the consumer's id, and, when calls are captured as it
   * arrives, a copy of `request` as the consumer sent it (undefined: the request was too large to be
   * read, and only its header is known). Capture off, this is one read of `on` and nothing more.
   */
  #exchange(header: FrameHeader, request: Buffer | undefined, application: string | undefined, target: string | undefined, startedAt: number | undefined): Exchange {
    const exchange = new Exchange(this.#options.events, 'dubbo', this.id, header.requestId, !header.twoWay, application, target, startedAt);
    if (this.#capture?.on === true) exchange.captureWith(new DubboCallCopy(request === undefined ? headerOnly(header) : copyFrame(request)));
    return exchange;
  }

  /** A request that is not forwarded: no route, an unreadable body, or shutting down. */
  #refuse(header: FrameHeader, frame: Buffer, decision: RequestDecision, startedAt: number): void {
    // An unreadable body has no target and is answered as such, shutting down or not.
    const answer = decision.forward || (this.#shuttingDown && decision.target !== undefined)
      ? localAnswer('DT_ERR_SHUTTING_DOWN', `shutting down; ${decision.target} was not forwarded`)
      : decision.answer;
    this.#answerLocally(header, this.#exchange(header, frame, undefined, decision.target, startedAt), answer);
  }

  /**
   * This connection's place on the upstream a request to `backend` goes to: the listener's shared
   * one, or, once the consumer passed a callback to the backend, a stream of its own (the provider
   * calls back on the connection the callback came on, and only then is the callback's consumer known).
   */
  #attachmentFor(backend: Backend, callback: boolean): Attachment {
    let upstream: Upstream;
    if (callback || this.#withCallbacks?.has(backend) === true) {
      (this.#withCallbacks ??= new Set()).add(backend);
      const existing = this.#exclusive.get(backend);
      if (existing?.usable === true) {
        upstream = existing;
      } else {
        upstream = this.#pool.exclusiveFor(backend, this.id);
        this.#exclusive.set(backend, upstream);
      }
    } else {
      upstream = this.#pool.upstreamFor(backend, this.id);
    }
    if (upstream === this.#lastUpstream && this.#lastAttachment !== undefined) return this.#lastAttachment;
    const attachment = upstream.attach(this);
    this.#attachments.add(attachment);
    // A consumer already not reading counts as such on a stream it joins.
    if (this.backpressure.consumerIsBlocked) attachment.pauseReading(true);
    this.#lastUpstream = upstream;
    this.#lastAttachment = attachment;
    return attachment;
  }

  /** dubbo-tunnel answers a request itself (no route, unreadable, too large, shutting down). */
  #answerLocally(header: FrameHeader, exchange: Exchange, answer: LocalAnswer): void {
    if (!header.twoWay) {
      exchange.complete(answer.status, answer);
      return;
    }
    const reply = encodeErrorResponse(header.requestId, answer.status, answer.message);
    this.toConsumer(reply);
    exchange.complete(answer.status, answer, false, reply);
  }

  #reverseResponse(header: FrameHeader, frame: Buffer): void {
    const upstream = this.#reverse.get(header.requestId);
    if (!upstream) return; // nothing asked for it; Java drops unknown responses the same way
    this.#reverse.delete(header.requestId);
    upstream.write(frame);
  }

  // UpstreamOwner: what upstreams report.

  toConsumer(frame: FrameBytes): void {
    if (!this.#writeOrWait(frame)) return;
    // An answer may have been the last one owed to a half-closed consumer or a shutdown.
    if (this.#peerEnded || this.#shuttingDown) this.#settle();
  }

  /** Writes a whole frame, or queues it behind the answer being streamed; true when it was written. */
  #writeOrWait(frame: FrameBytes): boolean {
    if (this.#streaming) {
      // Not into the middle of the answer being streamed: after it. Counted with what the socket
      // holds against the same limit, since both wait for this consumer alone.
      this.#waiting.push(frame);
      this.#waitingBytes += frameLength(frame);
      this.#checkHeld();
      return false;
    }
    this.#writeToConsumer(frame);
    return true;
  }

  startStreamedAnswer(first: readonly Buffer[]): boolean {
    if (this.#streaming) return false;
    this.#streaming = true;
    for (const piece of first) this.#writeToConsumer(piece);
    return true;
  }

  continueStreamedAnswer(piece: Buffer): void {
    this.#writeToConsumer(piece);
  }

  endStreamedAnswer(): void {
    this.#streaming = false;
    if (this.#waiting.length > 0) {
      const waiting = this.#waiting.splice(0);
      this.#waitingBytes = 0;
      for (const frame of waiting) this.#writeToConsumer(frame);
    }
    if (this.#peerEnded || this.#shuttingDown) this.#settle();
  }

  expectReverseAnswer(upstream: Upstream, requestId: bigint): void {
    this.#reverse.set(requestId, upstream);
  }

  detached(attachment: Attachment, _reason: string): void {
    this.#forget(attachment);
    this.#settle();
  }

  #forget(attachment: Attachment): void {
    const {upstream} = attachment;
    this.#attachments.delete(attachment);
    if (this.#lastAttachment === attachment) {
      this.#lastUpstream = undefined;
      this.#lastAttachment = undefined;
    }
    if (this.#exclusive.get(upstream.backend) === upstream) this.#exclusive.delete(upstream.backend);
    if (this.#reverse.size > 0) for (const [id, upstreamOfReverse] of this.#reverse) if (upstreamOfReverse === upstream) this.#reverse.delete(id);
  }

  /** This connection leaves every upstream it used; what it still waits for is answered with `reason`. */
  #leaveUpstreams(reason: string, code?: 'DT_ERR_CONSUMER_TOO_SLOW' | 'DT_ERR_STOPPED_BEFORE_ANSWER'): void {
    for (const attachment of [...this.#attachments]) {
      this.#forget(attachment);
      attachment.upstream.detach(this, reason, code);
    }
  }

  #writeToConsumer(frame: FrameBytes): void {
    if (this.#closed) return;
    if (this.writes.write(this.#socket, frame)) return;
    this.backpressure.consumerBlocked(true);
    this.#checkHeld();
  }

  /** Cuts the consumer off once the answers held for it (in its socket's buffer, or waiting) pass HELD_ANSWERS_LIMIT. */
  #checkHeld(): void {
    const heldBytes = this.#socket.writableLength + this.#waitingBytes;
    if (this.#closed || heldBytes <= HELD_ANSWERS_LIMIT) return;
    const held = (heldBytes / (1024 * 1024)).toFixed(1);
    this.#close(`it stopped reading: ${held} MiB of answers held for it, over the ${HELD_ANSWERS_LIMIT / (1024 * 1024)} MiB limit (its provider streams are shared with other consumers, which keep flowing)`, true, 'DT_ERR_CONSUMER_TOO_SLOW');
  }

  // Lifecycle.

  /**
   * Graceful stop, the way a Dubbo provider stops (HeaderExchangeServer.close): first a READONLY
   * event, so the consumer sends nothing new on this connection; a request that still comes is
   * answered with DT_ERR_SHUTTING_DOWN, answers on their way are delivered, and the connection ends
   * once the last one is written. A peer that leaves by itself (ConnectionAdmission.servesUntilPeerLeaves)
   * has what it still sends forwarded, and the connection ends when it closes. What is still owed after `timeoutMs`, or when `cutShort` aborts,
   * is answered with DT_ERR_STOPPED_BEFORE_ANSWER: a consumer never waits out its own timeout.
   */
  async shutdown(timeoutMs: number, cutShort?: AbortSignal): Promise<void> {
    if (this.#closed) return;
    this.#shuttingDown = true;
    this.#writeOrWait(encodeReadonlyEvent());
    if ((this.pendingCount > 0 || this.#servesUntilPeerLeaves) && cutShort?.aborted !== true) {
      await waitUntilAnswered(timeoutMs, cutShort, (done) => {
        this.#shutdownWaiter = done;
      });
    }
    this.#leaveUpstreams(whyNotAnswered(timeoutMs, cutShort), 'DT_ERR_STOPPED_BEFORE_ANSWER');
    await closeAfterAnswers(this.#socket, this.#closed, () => this.#socket.end());
  }

  #shutdownWaiter: (() => void) | undefined;

  /** The peer leaves by itself after READONLY (ConnectionAdmission.servesUntilPeerLeaves). */
  get #servesUntilPeerLeaves(): boolean {
    return this.#options.admission?.servesUntilPeerLeaves === true;
  }

  /** After an answer: finish a graceful shutdown or a half-closed consumer once nothing is owed. */
  #settle(): void {
    if (this.pendingCount > 0) return;
    if (this.#peerEnded && !this.#closed) this.#socket.end();
    if (this.#shuttingDown) this.#checkShutdownDone();
  }

  #checkShutdownDone(): void {
    if (this.#shuttingDown && this.pendingCount === 0 && (this.#peerEnded || !this.#servesUntilPeerLeaves) && this.#shutdownWaiter) {
      const waiter = this.#shutdownWaiter;
      this.#shutdownWaiter = undefined;
      waiter();
    }
  }

  #close(reason: string | undefined, destroy = false, code?: ErrorCode): void {
    if (this.#closed) return;
    this.#closed = true;
    this.backpressure.stop();
    this.#decoder.close();
    this.#waiting.length = 0;
    this.#waitingBytes = 0;
    this.#held = undefined;
    this.#options.admission?.closed?.();
    if (code === 'DT_ERR_CONSUMER_TOO_SLOW') this.#leaveUpstreams(`the consumer connection was cut off: ${reason ?? ''}`, code);
    else this.#leaveUpstreams('the consumer connection closed');
    if (destroy && !this.#socket.writableEnded) this.#socket.destroy();
    else if (destroy) setTimeout(() => this.#socket.destroy(), 200).unref();
    this.#options.events.emit('connection-closed', {connectionId: this.id, peer: this.peer, ...(reason === undefined ? {} : {reason}), ...(code === undefined ? {} : {code})});
    const waiter = this.#shutdownWaiter;
    this.#shutdownWaiter = undefined;
    waiter?.();
    this.#onClosed?.();
  }
}

/** Whether a request passes a callback: Dubbo marks each callback argument with an attachment. */
function passesCallback(request: RequestMetadata): boolean {
  const {attachments} = request;
  if (attachments.size === 0) return false;
  const count = Math.min(request.argumentCount, CALLBACK_ARGUMENT_KEYS.length);
  for (let index = 0; index < count; index++) if (attachments.has(CALLBACK_ARGUMENT_KEYS[index] as string)) return true;
  return false;
}
