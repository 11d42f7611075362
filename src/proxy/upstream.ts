// Node's global `Buffer` is not a constant to the optimizer; the import is.
import {Buffer} from 'node:buffer';
import type {Duplex} from 'node:stream';
import type {Backend} from '../core/backend.js';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {ProtocolError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import type {FrameSink} from '../protocol/frame-decoder.js';
import {STATUS} from '../protocol/header.js';
import type {FrameHeader} from '../protocol/header.js';
import {answersWithException, classifyEvent, hessian2AnswerFlag, encodeErrorResponse, encodeHeartbeatRequest, heartbeatReply} from '../protocol/responses.js';
import {isAnswerCode, localAnswer} from '../router/local-answer.js';
import type {AnswerCode, LocalAnswer} from '../router/local-answer.js';
import type {Backpressure} from './backpressure.js';
import type {Exchange} from './completion.js';
import {PendingRequests} from './pending-requests.js';
import {STREAM_ANSWERS_FROM, StreamedAnswer, isStreamable} from './streamed-answer.js';
import {frameLength, writeFrames} from './write-batch.js';
import type {FrameBytes, WriteBatch} from './write-batch.js';

/**
 * What a shared upstream needs from each consumer connection that sends through it. The upstream
 * owns the pending requests: it answers them (provider answer, or an error it writes itself) and
 * completes each one's exchange; the owner only writes bytes to its consumer and keeps its books.
 */
export interface UpstreamOwner {
  /** The consumer connection's id: the exchanges of its requests carry it. */
  readonly id: number;
  /** Where the upstream says its writes are backed up or flowing again (one entry per attachment). */
  readonly backpressure: Backpressure<Attachment>;
  /** Writes a frame to the consumer as is: a provider's answer or callback request, or an error answer. */
  toConsumer(frame: FrameBytes): void;
  /**
   * Starts writing a frame whose bytes arrive over time (`first`: its header and what came with
   * it); the rest follows through continueStreamedAnswer, and endStreamedAnswer ends it. Frames written meanwhile
   * (toConsumer) wait until then, so nothing is written into the middle of it. False, and nothing
   * written, while another such frame is being written to this consumer.
   */
  startStreamedAnswer(first: readonly Buffer[]): boolean;
  continueStreamedAnswer(piece: Buffer): void;
  endStreamedAnswer(): void;
  /** The provider sent a two-way callback request with this id: the consumer's answer must come back here. */
  expectReverseAnswer(upstream: Upstream, requestId: bigint): void;
  /** The upstream closed; it has answered this consumer's pending requests already. */
  detached(attachment: Attachment, reason: string): void;
}

/** What every upstream of a session shares: the bus, the payload limit, the one write batch, and who keeps the books. */
export interface UpstreamContext {
  readonly events: TunnelEventBus;
  readonly maxBodyLength: number;
  /** One batch for the listener: dispatching is synchronous, so one chunk is dispatched at a time. */
  readonly writes: WriteBatch;
  /**
   * How long a shared stream no consumer connection uses is kept open (0: it closes at once). A
   * consumer that reconnects within it finds the stream open instead of paying a new port-forward.
   */
  readonly lingerMs: number;
  /** The upstream closed (after answering every pending request); `reason` says why. */
  closed(upstream: Upstream, reason: string): void;
}

/**
 * One consumer connection on one upstream: its requests in flight there, and whether the consumer
 * stopped reading. The consumer's Backpressure keys on it, so a consumer pauses or resumes one
 * shared stream without knowing who else uses it.
 */
export class Attachment {
  readonly upstream: Upstream;
  readonly owner: UpstreamOwner;
  /** Two-way requests of this consumer waiting for an answer on this upstream. */
  pending = 0;
  /** The consumer's socket is backed up. */
  blocked = false;

  constructor(upstream: Upstream, owner: UpstreamOwner) {
    this.upstream = upstream;
    this.owner = owner;
  }

  /** Called by the consumer's Backpressure: its writes are backed up (true) or flowing (false). */
  pauseReading(paused: boolean): void {
    this.upstream.consumerBlocked(this, paused);
  }
}

type State = 'connecting' | 'open' | 'draining' | 'closed';

/**
 * How long an upstream may stay silent before we send it a heartbeat. Providers close channels
 * idle for 3 x heartbeat = 180 s (NettyServer IdleStateHandler), and consumer heartbeats are
 * answered by dubbo-tunnel itself, so without our own heartbeats an idle tunnel would be cut.
 */
export const UPSTREAM_HEARTBEAT_MS = 60_000;

/** Why a shared stream closes when no consumer connection used it for the linger time: the normal end, not a failure. */
export const NO_CONSUMER_LEFT = 'no consumer connection uses it any more';

/**
 * How long a shared stream is kept after its last consumer connection left. A consumer that
 * restarts or reconnects (a Java consumer reconnects after a broken connection within seconds)
 * finds its stream open; dubbo-tunnel has no idle timeout of its own for upstreams, and a minute
 * is also when a Dubbo consumer would send its first heartbeat on a quiet connection.
 */
export const DEFAULT_SHARED_STREAM_LINGER_MS = 60_000;

/** High-water mark for frames queued while the stream is still being opened. */
const CONNECT_QUEUE_LIMIT = 1024 * 1024;

/**
 * One stream to one provider (a pod, or a static address), shared by every consumer connection
 * that calls its application. Consumers' request ids collide (each counts on its own socket), so
 * each request leaves with an id of this stream's own counter, and its answer gets the consumer's
 * id back before it is written: the pending request (its Exchange) knows both the consumer
 * connection and the original id. A private upstream (`exclusive`) serves one consumer only: one
 * that registered a callback, which the provider will later call on this very stream.
 */
export class Upstream implements FrameSink {
  readonly backend: Backend;
  /** Set for a stream that serves one consumer connection only (see the class comment). */
  readonly exclusive: boolean;
  remote: string;
  /** The pod the stream goes to: the one asked for until it is open, then the one the backend chose. */
  pod: string | undefined;
  /** Two-way requests sent and not answered yet, by the id they left with. */
  readonly #pending = new PendingRequests<Exchange, number>();
  /** The consumer connections using this stream, by connection id. */
  readonly #consumers = new Map<number, Attachment>();
  /** Consumers whose sockets are backed up; the stream is not read while all of them are. */
  #blockedConsumers = 0;
  #paused = false;
  /** Writes to the provider are backed up: every consumer using the stream waits. */
  #blocked = false;
  /** Ids requests leave with; answers to our heartbeats count down from -1, so they never meet. */
  #nextId = 1;
  #state: State = 'connecting';
  #stream: Duplex | undefined;
  #queue: FrameBytes[] = [];
  #queuedBytes = 0;
  readonly #context: UpstreamContext;
  readonly #writes: WriteBatch;
  readonly #decoder: FrameDecoder;
  readonly #abort = new AbortController();
  #lastRead = Date.now();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #heartbeatId = -1n;
  #drainReason = '';
  /** The answer being streamed to its consumer, if any (one at a time: the provider sends them in turn). */
  #outgoing: StreamedAnswer | undefined;
  /** Runs while a shared stream has no consumer connection: it closes when this fires. */
  #lingerTimer: NodeJS.Timeout | undefined;

  constructor(backend: Backend, context: UpstreamContext, options: {pod?: string; exclusive?: boolean} = {}) {
    this.backend = backend;
    this.remote = backend.describe();
    this.pod = options.pod;
    this.exclusive = options.exclusive === true;
    this.#context = context;
    this.#writes = context.writes;
    this.#decoder = new FrameDecoder(this, {maxBodyLength: context.maxBodyLength, reuseHeader: true, streamFrom: STREAM_ANSWERS_FROM});
  }

  get state(): State {
    return this.#state;
  }

  /** Two-way requests sent and not answered yet, of every consumer. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Consumer connections using the stream right now. */
  get consumerCount(): number {
    return this.#consumers.size;
  }

  /** False until the backend stream opened: requests failed before that never left this process. */
  get connected(): boolean {
    return this.#stream !== undefined;
  }

  /** True while the stream can take new requests. */
  get usable(): boolean {
    return this.#state === 'connecting' || this.#state === 'open';
  }

  /** The consumer's place on this stream; made on its first request here. */
  attach(owner: UpstreamOwner): Attachment {
    const known = this.#consumers.get(owner.id);
    if (known !== undefined) return known;
    const attachment = new Attachment(this, owner);
    this.#consumers.set(owner.id, attachment);
    this.#stopLingering();
    if (this.#blocked) owner.backpressure.upstreamBlocked(attachment, true);
    // A consumer that reads is here now: a stream paused for blocked consumers alone reads again.
    this.#updatePause();
    return attachment;
  }

  /**
   * The consumer connection leaves (it closed, or it is shutting down): its pending requests are
   * dropped here, and answered with `reason` (to a closed socket that writes nothing); answers to
   * them that come later are discarded, as they are for no one. The stream stays while another
   * consumer connection uses it (a Java consumer keeps its connection for as long as it runs); with
   * none left it lingers (see UpstreamContext.lingerMs), and an exclusive one closes at once.
   */
  detach(owner: UpstreamOwner, reason: string, code?: 'DT_ERR_CONSUMER_TOO_SLOW' | 'DT_ERR_STOPPED_BEFORE_ANSWER'): void {
    const attachment = this.#consumers.get(owner.id);
    if (attachment === undefined) return;
    const outgoing = this.#outgoing;
    if (outgoing?.to === attachment) {
      const exchange = outgoing.exchange;
      // A stop that waited long enough: the consumer is still connected and owed its other answers
      // after this frame, so the frame is completed (padded) rather than left cut. Otherwise the
      // rest of the answer has no one to go to.
      if (code === 'DT_ERR_STOPPED_BEFORE_ANSWER') outgoing.stoppedMidway(reason);
      else outgoing.consumerLeft(exchange === undefined ? undefined : code === undefined ? this.#failure(reason, undefined, exchange) : localAnswer(code, `${reason}; ${exchange.target} got part of its answer`));
    }
    if (attachment.pending > 0) {
      for (const [id, exchange] of this.#pending.takeAll()) {
        if (exchange.connectionId !== owner.id) this.#pending.set(id, exchange);
        else if (code !== undefined) this.#answer(attachment, exchange, localAnswer(code, `${reason}; ${exchange.target} got no answer (it may or may not have run on the provider)`));
        else this.#answer(attachment, exchange, this.#failure(reason, undefined, exchange));
      }
    }
    this.#consumers.delete(owner.id);
    if (attachment.blocked) this.#blockedConsumers--;
    owner.backpressure.upstreamGone(attachment);
    this.#updatePause();
    if (this.exclusive) this.fail(NO_CONSUMER_LEFT);
    // A draining stream whose last answers were this consumer's is done; it takes no new consumers.
    else if (this.#state === 'draining') this.#closeIfDrained();
    else if (this.#consumers.size === 0) this.#linger();
  }

  /**
   * No consumer connection uses this shared stream now: keep it for the linger time, so a consumer
   * that comes back finds it open, then close it. READONLY, a retiring pod, a broken stream or the
   * listener stopping close it sooner, as they would with consumers on it.
   */
  #linger(): void {
    const lingerMs = this.#context.lingerMs;
    if (lingerMs <= 0) {
      this.fail(NO_CONSUMER_LEFT);
      return;
    }
    this.#stopLingering();
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      if (this.#consumers.size === 0) this.fail(NO_CONSUMER_LEFT);
    }, lingerMs);
    // A stream kept for consumers that may come back is no reason for the process to stay up.
    this.#lingerTimer.unref();
  }

  #stopLingering(): void {
    if (this.#lingerTimer === undefined) return;
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
  }

  /** Opens the stream; frames sent before it is open are queued. Resolves when settled. */
  async open(): Promise<void> {
    try {
      const connection = await this.backend.connect(this.#abort.signal, this.pod);
      const {stream, remote} = connection;
      if (this.#state === 'closed') {
        stream.destroy();
        return;
      }
      this.#stream = stream;
      this.remote = remote;
      if (connection.pod !== undefined) this.pod = connection.pod;
      this.#state = this.#state === 'draining' ? 'draining' : 'open';
      stream.on('data', (chunk: Buffer) => {
        this.#lastRead = Date.now();
        this.#writes.dispatch(this.#decoder, chunk);
      });
      stream.on('drain', () => this.#setBlocked(false));
      stream.on('error', (error: Error) => this.fail(`${this.backend.application}: connection to ${this.remote} failed: ${errorMessage(error)}`));
      stream.on('close', () => this.fail(`${this.backend.application}: ${this.remote} closed the connection`));
      stream.on('end', () => stream.end());
      if (this.#paused) stream.pause();
      const queued = this.#queue;
      this.#queue = [];
      this.#queuedBytes = 0;
      if (queued.length > 0 && !writeFrames(stream, queued)) this.#setBlocked(true);
      // The queue may have blocked the consumers; if the kernel took it all, no 'drain' will come.
      if (!stream.writableNeedDrain) this.#setBlocked(false);
      this.#startHeartbeats();
      connection.onRetire?.((reason) => {
        if (this.usable) this.#drain(reason);
      });
    } catch (error) {
      // The backend's own code (no ready pods, port-forward refused) is what the consumer should see.
      this.fail(errorMessage(error), error instanceof DubboTunnelError && isAnswerCode(error.code) ? error.code : undefined);
    }
  }

  /**
   * Sends a whole request frame of `attachment`'s consumer under an id of this stream (written
   * into the frame's header: the bytes are the consumer's chunk, which nothing reads after this);
   * `exchange` (two-way requests only) waits for its answer here and keeps the consumer's id.
   * Returns the stream's id of the request (for abandon).
   */
  send(attachment: Attachment, frame: FrameBytes, exchange: Exchange | undefined): number {
    const id = this.#nextId++;
    writeRequestId(frame, id);
    if (exchange !== undefined) {
      this.#pending.set(id, exchange);
      attachment.pending++;
    }
    this.write(frame);
    return id;
  }

  /**
   * The owner stops waiting for one request it sent (`id`, as send returned it): an HTTP caller
   * whose own timeout ran out. Its answer, if it still comes, is dropped like one for a consumer
   * that left; the owner completes the exchange itself. Returns the exchange when it was pending.
   */
  abandon(attachment: Attachment, id: number): Exchange | undefined {
    const exchange = this.#pending.take(id);
    if (exchange === undefined) return undefined;
    attachment.pending--;
    this.#closeIfDrained();
    return exchange;
  }

  /** Writes raw frame bytes (also used for replies to the provider's callback requests). */
  write(frame: FrameBytes): void {
    if (this.#state === 'closed') return;
    if (!this.#stream) {
      this.#queue.push(frame);
      this.#queuedBytes += frameLength(frame);
      if (this.#queuedBytes > CONNECT_QUEUE_LIMIT) this.#setBlocked(true);
      return;
    }
    this.#writeNow(frame);
  }

  #writeNow(frame: FrameBytes): void {
    const stream = this.#stream;
    if (!stream || stream.destroyed) return;
    if (!this.#writes.write(stream, frame)) this.#setBlocked(true);
  }

  /** Writes to the provider backed up (true) or flowing (false): every consumer on the stream is told. */
  #setBlocked(blocked: boolean): void {
    if (this.#blocked === blocked) return;
    this.#blocked = blocked;
    for (const attachment of this.#consumers.values()) attachment.owner.backpressure.upstreamBlocked(attachment, blocked);
  }

  /**
   * A consumer's socket is backed up (true) or drained (false). The stream stops reading only
   * while every consumer on it is backed up: then nobody is held back. Otherwise the ones that
   * read keep getting their answers, and a consumer that does not read has its own answers held
   * in its socket's buffer, which its connection bounds (it is cut off past the limit).
   */
  consumerBlocked(attachment: Attachment, blocked: boolean): void {
    if (attachment.blocked === blocked || this.#consumers.get(attachment.owner.id) !== attachment) return;
    attachment.blocked = blocked;
    this.#blockedConsumers += blocked ? 1 : -1;
    this.#updatePause();
  }

  #updatePause(): void {
    const paused = this.#consumers.size > 0 && this.#blockedConsumers === this.#consumers.size;
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (!this.#stream) return;
    if (paused) this.#stream.pause();
    else this.#stream.resume();
  }

  /**
   * Take no new requests (the pool opens a fresh upstream for them) and close once the last
   * pending answer has arrived: the provider sent READONLY, or the backend retired the stream (pod
   * terminating, application deselected). `reason` completes "<application>: …".
   */
  #drain(reason: string): void {
    if (this.#state === 'closed') return;
    const inFlight = this.#pending.size;
    this.#context.events.log('info', `${this.backend.application}: ${reason}${inFlight === 0 ? '' : ` (${inFlight} request${inFlight === 1 ? ' in flight finishes' : 's in flight finish'} first)`}`);
    this.#state = 'draining';
    this.#drainReason = reason;
    this.#closeIfDrained();
  }

  #closeIfDrained(): void {
    if (this.#state === 'draining' && this.#pending.size === 0 && this.#outgoing === undefined) this.fail(`drained after: ${this.#drainReason}`);
  }

  /**
   * Closes the stream now and answers every request still pending on it, whoever sent it, with an
   * error that says `reason` (the session is stopping; the stream broke; a drained stream has none
   * left). `code`: why requests that never left this process were not sent (default
   * DT_ERR_BACKEND_UNAVAILABLE).
   */
  fail(reason: string, code?: AnswerCode): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#decoder.close();
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    this.#stopLingering();
    this.#abort.abort();
    this.#stream?.destroy();
    this.#queue = [];
    // First the answer cut off midway: the consumer's other answers (below) must not land inside it.
    this.#cutOff(reason);
    for (const [, exchange] of this.#pending.takeAll()) {
      const attachment = this.#consumers.get(exchange.connectionId);
      const answer = this.#failure(reason, code, exchange);
      if (attachment !== undefined) this.#answer(attachment, exchange, answer);
      else exchange.complete(answer.status, answer);
    }
    const consumers = [...this.#consumers.values()];
    this.#consumers.clear();
    for (const attachment of consumers) {
      // Writes backed up here no longer hold the consumer back.
      attachment.owner.backpressure.upstreamGone(attachment);
      attachment.owner.detached(attachment, reason);
    }
    this.#context.closed(this, reason);
  }

  #failure(reason: string, code: AnswerCode | undefined, exchange: Exchange): LocalAnswer {
    return this.connected
      ? localAnswer('DT_ERR_BACKEND_CLOSED', `${reason}; ${exchange.target} got no answer (it may or may not have run on the provider)`)
      : localAnswer(code ?? 'DT_ERR_BACKEND_UNAVAILABLE', `${reason}; ${exchange.target} was not sent`);
  }

  /** Answers a request with an error written here instead of the provider's answer. */
  #answer(attachment: Attachment, exchange: Exchange, answer: LocalAnswer): void {
    attachment.pending--;
    const reply = encodeErrorResponse(exchange.requestId, answer.status, answer.message);
    attachment.owner.toConsumer(reply);
    exchange.complete(answer.status, answer, false, reply);
  }

  /**
   * The provider's answer goes to the consumer that asked, with the consumer's id put back in its
   * header (one buffer, or the pieces it arrived in: the bytes are this stream's chunks, and only
   * the answer's own header is written). An answer nobody waits for (its consumer left) is dropped.
   */
  #deliver(header: FrameHeader, frame: FrameBytes): void {
    const exchange = this.#pending.take(Number(header.requestId));
    if (exchange !== undefined) {
      const attachment = this.#consumers.get(exchange.connectionId);
      let delivered: FrameBytes | undefined;
      if (attachment !== undefined) {
        attachment.pending--;
        writeRequestId(frame, exchange.requestId);
        attachment.owner.toConsumer(frame);
        delivered = frame;
      }
      // Status OK with the provider's exception in the body is a failed call all the same.
      exchange.complete(header.status, undefined, answersWithException(header, frame), delivered);
    }
    this.#closeIfDrained();
  }

  #startHeartbeats(): void {
    const interval = Math.max(1000, Math.floor(UPSTREAM_HEARTBEAT_MS / 4));
    this.#heartbeatTimer = setInterval(() => {
      if (Date.now() - this.#lastRead >= UPSTREAM_HEARTBEAT_MS) {
        // Our own heartbeat ids count down from -1; request ids count up from 1: they never meet.
        this.#writeNow(encodeHeartbeatRequest(this.#heartbeatId--));
        this.#lastRead = Date.now();
      }
    }, interval);
    this.#heartbeatTimer.unref();
  }

  // FrameSink: frames from the provider.

  frame(header: FrameHeader, frame: Buffer): void {
    if (header.isRequest) {
      if (header.event) {
        const body = frame.subarray(16);
        // Never forward READONLY: a Java consumer would mark the whole shared connection
        // (every application behind this port) unavailable. Drain this stream instead.
        if (classifyEvent(header, body) === 'readonly') this.#drain(`${this.remote} is shutting down (READONLY); new requests use a fresh connection`);
        const reply = heartbeatReply(header, body);
        if (reply !== undefined) this.#writeNow(reply);
        return;
      }
      this.#callback(header, frame);
      return;
    }
    if (header.event) return; // the answer to one of our heartbeats
    this.#deliver(header, frame);
  }

  /**
   * A callback request from the provider (Dubbo callback parameters) belongs to the consumer that
   * exported the callback on this connection. Consumers that register callbacks get an exclusive
   * stream (ConsumerConnection), so the stream's only consumer is the one; a stream shared by
   * several cannot tell whose it is, and guessing would run one consumer's callback in another:
   * the provider gets an error answer instead.
   */
  #callback(header: FrameHeader, frame: Buffer): void {
    if (this.#consumers.size === 1) {
      for (const attachment of this.#consumers.values()) {
        if (header.twoWay) attachment.owner.expectReverseAnswer(this, header.requestId);
        attachment.owner.toConsumer(frame);
      }
      return;
    }
    const users = this.#consumers.size === 0 ? 'no consumer uses now' : `${this.#consumers.size} consumers share`;
    const message = `dubbo-tunnel: a callback request from ${this.remote} arrived on a connection ${users}, so its consumer is unknown; it was not delivered`;
    this.#context.events.log('warn', `${this.backend.application}: ${message}`);
    if (header.twoWay) this.#writeNow(encodeErrorResponse(header.requestId, STATUS.SERVICE_ERROR, message));
  }

  /**
   * A large answer whose header is in: passed on to its consumer as it arrives, so its first byte
   * leaves at once and no more than a chunk of it is held here. Only OK Hessian 2 answers that end
   * with their attachments (isStreamable, streamed-answer.ts), and only while no other answer is being
   * streamed to that consumer; the others are forwarded whole.
   */
  streamStart(header: FrameHeader, held: readonly Buffer[], total: number): boolean {
    const flag = hessian2AnswerFlag(header, held);
    if (!isStreamable(flag)) return false;
    const id = Number(header.requestId);
    const exchange = this.#pending.take(id);
    let to = exchange === undefined ? undefined : this.#consumers.get(exchange.connectionId);
    if (exchange === undefined || to === undefined) {
      // Nobody waits for it (its consumer left): the rest is dropped as it comes, never held.
      exchange?.complete(header.status);
    } else {
      writeRequestId(held, exchange.requestId);
      if (!to.owner.startStreamedAnswer(held)) {
        // Another answer is being streamed to this consumer: this one is forwarded whole, after it.
        writeRequestId(held, id);
        this.#pending.set(id, exchange);
        return false;
      }
      if (this.#consumers.get(to.owner.id) !== to) {
        // Writing its first bytes cut the consumer off (over its held-answers limit): it left
        // without this answer, which its leaving could not see yet.
        to = undefined;
        const answer = this.#failure('the consumer connection was cut off', undefined, exchange);
        exchange.complete(answer.status, answer);
      }
    }
    this.#outgoing = new StreamedAnswer(to, exchange, header.status, flag, total, held);
    return true;
  }

  streamPiece(piece: Buffer, end: boolean): void {
    const outgoing = this.#outgoing;
    if (outgoing === undefined) return;
    outgoing.pass(piece);
    if (end) this.#endOutgoing(outgoing);
  }

  #endOutgoing(outgoing: StreamedAnswer, failure?: LocalAnswer): void {
    this.#outgoing = undefined;
    outgoing.finish(failure);
    this.#closeIfDrained();
  }

  /** The stream died in the middle of an answer being streamed: the consumer gets it padded to its length (PAD_BYTE). */
  #cutOff(reason: string): void {
    const outgoing = this.#outgoing;
    if (outgoing === undefined) return;
    this.#endOutgoing(outgoing, outgoing.padRest(reason));
  }

  /** A response that arrived in several chunks is forwarded as those chunks: no copy. */
  framePieces(header: FrameHeader, pieces: Buffer[], length: number): void {
    if (header.isRequest || header.event) {
      this.frame(header, Buffer.concat(pieces, length));
      return;
    }
    this.#deliver(header, pieces);
  }

  oversize(header: FrameHeader): void {
    if (header.isRequest) return;
    const exchange = this.#pending.take(Number(header.requestId));
    // An answer to a request no one waits for any more has no consumer to tell.
    const attachment = exchange === undefined ? undefined : this.#consumers.get(exchange.connectionId);
    if (exchange !== undefined && attachment !== undefined) {
      this.#answer(attachment, exchange, localAnswer('DT_ERR_RESPONSE_TOO_LARGE',
        `the response of ${this.backend.application} to ${exchange.target ?? 'this request'} is ${header.bodyLength} bytes, over the payload limit of ${this.#context.maxBodyLength} (raise it with --max-payload <bytes>)`));
    }
    this.#closeIfDrained();
  }

  fatal(error: ProtocolError): void {
    this.fail(`${this.backend.application}: ${this.remote} sent bytes that are not Dubbo (${error.message})`);
  }
}

/**
 * Writes `id` into bytes 4–11 of a frame's header: the frame's own bytes, whether one buffer or
 * the chunks it arrived in (the header may straddle two of them). A consumer's id is a bigint; an
 * upstream's own is a counter (a number below 2^53).
 */
export function writeRequestId(frame: FrameBytes, id: bigint | number): void {
  const first = Buffer.isBuffer(frame) ? frame : frame[0];
  if (first !== undefined && first.length >= 12) {
    writeId(first, 4, id);
    return;
  }
  const bytes = Buffer.allocUnsafe(8);
  writeId(bytes, 0, id);
  let at = 0;
  for (const piece of frame as readonly Buffer[]) {
    for (let i = 0; i < piece.length && at < 12; i++, at++) if (at >= 4) piece[i] = bytes[at - 4] ?? 0;
    if (at >= 12) return;
  }
}

/** Byte by byte: Buffer's checked writers cost more than the write itself on the request path. */
function writeId(target: Buffer, offset: number, id: bigint | number): void {
  let high: number;
  let low: number;
  if (typeof id === 'number') {
    high = Math.floor(id / 0x100000000);
    low = id >>> 0;
  } else if (id >= 0n && id <= 0xffffffffn) {
    high = 0;
    low = Number(id);
  } else if (id < 0n && id >= -0x80000000n) {
    high = -1;
    low = Number(id) >>> 0;
  } else {
    target.writeBigInt64BE(BigInt.asIntN(64, id), offset);
    return;
  }
  target[offset] = high >>> 24;
  target[offset + 1] = (high >>> 16) & 0xff;
  target[offset + 2] = (high >>> 8) & 0xff;
  target[offset + 3] = high & 0xff;
  target[offset + 4] = low >>> 24;
  target[offset + 5] = (low >>> 16) & 0xff;
  target[offset + 6] = (low >>> 8) & 0xff;
  target[offset + 7] = low & 0xff;
}
