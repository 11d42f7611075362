import type {Duplex} from 'node:stream';
import type {Backend} from '../core/backend.js';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {ProtocolError} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import type {FrameSink} from '../protocol/frame-decoder.js';
import type {FrameHeader} from '../protocol/header.js';
import {classifyEvent, encodeErrorResponse, encodeHeartbeatRequest, heartbeatReply} from '../protocol/responses.js';
import {isAnswerCode, localAnswer} from '../router/local-answer.js';
import type {AnswerCode, LocalAnswer} from '../router/local-answer.js';
import type {Backpressure} from './backpressure.js';
import {Exchange} from './completion.js';
import {PendingRequests} from './pending-requests.js';
import {frameLength, writeFrames} from './write-batch.js';
import type {FrameBytes, WriteBatch} from './write-batch.js';

/**
 * What an upstream needs from the consumer connection that owns it. The upstream owns its pending
 * requests: it answers them (provider answer, or an error it writes itself) and completes each
 * one's exchange; the owner only writes bytes to the consumer and keeps its own books.
 */
export interface UpstreamOwner {
  /** The consumer connection's id, for the exchange of an answer no pending request is known for. */
  readonly id: number;
  readonly maxBodyLength: number;
  readonly events: TunnelEventBus;
  /** The consumer connection's write batch: what one incoming chunk causes leaves in one write per stream. */
  readonly writes: WriteBatch;
  /** Where the upstream says its writes are backed up or flowing again. */
  readonly backpressure: Backpressure<Upstream>;
  /** Writes a frame to the consumer as is: a provider's answer or callback request, or an error answer. */
  toConsumer(frame: FrameBytes): void;
  /** The provider sent a two-way callback request with this id: the consumer's answer must come back here. */
  expectReverseAnswer(upstream: Upstream, requestId: bigint): void;
  /** The upstream is closed; it has answered all of its pending requests already. */
  closed(upstream: Upstream, reason: string): void;
}

type State = 'connecting' | 'open' | 'draining' | 'closed';

/**
 * How long an upstream may stay silent before we send it a heartbeat. Providers close channels
 * idle for 3 x heartbeat = 180 s (NettyServer IdleStateHandler), and consumer heartbeats are
 * answered by dubbo-tunnel itself, so without our own heartbeats an idle tunnel would be cut.
 */
export const UPSTREAM_HEARTBEAT_MS = 60_000;

/** High-water mark for frames queued while the stream is still being opened. */
const CONNECT_QUEUE_LIMIT = 1024 * 1024;

/**
 * One stream to one backend on behalf of one consumer connection. Request ids pass through
 * unchanged: a consumer's ids are unique on its own socket, and no other consumer shares this
 * stream, so ids can never collide here.
 */
export class Upstream implements FrameSink {
  readonly backend: Backend;
  remote: string;
  /** Two-way requests sent and not answered yet. */
  readonly #pending = new PendingRequests<Exchange>();
  #state: State = 'connecting';
  #stream: Duplex | undefined;
  #queue: FrameBytes[] = [];
  #queuedBytes = 0;
  readonly #owner: UpstreamOwner;
  readonly #writes: WriteBatch;
  readonly #decoder: FrameDecoder;
  readonly #abort = new AbortController();
  #lastRead = Date.now();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #heartbeatId = -1n;
  #drainReason = '';

  constructor(backend: Backend, owner: UpstreamOwner) {
    this.backend = backend;
    this.remote = backend.describe();
    this.#owner = owner;
    this.#writes = owner.writes;
    this.#decoder = new FrameDecoder(this, {maxBodyLength: owner.maxBodyLength, reuseHeader: true});
  }

  get state(): State {
    return this.#state;
  }

  /** Two-way requests sent and not answered yet. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** False until the backend stream opened: requests failed before that never left this process. */
  get connected(): boolean {
    return this.#stream !== undefined;
  }

  /** True while the stream can take new requests. */
  get usable(): boolean {
    return this.#state === 'connecting' || this.#state === 'open';
  }

  /** Opens the stream; frames sent before it is open are queued. Resolves when settled. */
  async open(): Promise<void> {
    try {
      const connection = await this.backend.connect(this.#abort.signal);
      const {stream, remote} = connection;
      if (this.#state === 'closed') {
        stream.destroy();
        return;
      }
      this.#stream = stream;
      this.remote = remote;
      this.#state = this.#state === 'draining' ? 'draining' : 'open';
      stream.on('data', (chunk: Buffer) => {
        this.#lastRead = Date.now();
        this.#writes.dispatch(this.#decoder, chunk);
      });
      stream.on('drain', () => this.#setBlocked(false));
      stream.on('error', (error: Error) => this.fail(`${this.backend.application}: connection to ${this.remote} failed: ${errorMessage(error)}`));
      stream.on('close', () => this.fail(`${this.backend.application}: ${this.remote} closed the connection`));
      stream.on('end', () => stream.end());
      const queued = this.#queue;
      this.#queue = [];
      this.#queuedBytes = 0;
      if (queued.length > 0 && !writeFrames(stream, queued)) this.#setBlocked(true);
      // The queue may have blocked the consumer; if the kernel took it all, no 'drain' will come.
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

  /** Sends a whole request frame; `exchange` (two-way requests only) waits for its answer here. */
  send(header: FrameHeader, frame: FrameBytes, exchange: Exchange | undefined): void {
    if (exchange) this.#pending.set(header.requestId, exchange);
    this.write(frame);
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

  #setBlocked(blocked: boolean): void {
    this.#owner.backpressure.upstreamBlocked(this, blocked);
  }

  /** Stop or resume reading provider bytes (the consumer socket is backed up). */
  pauseReading(paused: boolean): void {
    if (!this.#stream) return;
    if (paused) this.#stream.pause();
    else this.#stream.resume();
  }

  /**
   * Take no new requests (the owner opens a fresh upstream for them) and close once the last
   * pending answer has arrived: the provider sent READONLY, or the backend retired the stream (pod
   * terminating, application deselected). `reason` completes "<application>: …".
   */
  #drain(reason: string): void {
    if (this.#state === 'closed') return;
    const inFlight = this.#pending.size;
    this.#owner.events.log('info', `${this.backend.application}: ${reason}${inFlight === 0 ? '' : ` (${inFlight} request${inFlight === 1 ? ' in flight finishes' : 's in flight finish'} first)`}`);
    this.#state = 'draining';
    this.#drainReason = reason;
    this.#closeIfDrained();
  }

  #closeIfDrained(): void {
    if (this.#state === 'draining' && this.#pending.size === 0) this.fail(`drained after: ${this.#drainReason}`);
  }

  /**
   * Closes the stream now and answers every request still pending on it with an error that says
   * `reason` (the owner is shutting down or lost its consumer; the stream broke; a drained stream
   * has none left). `code`: why requests that never left this process were not sent (default
   * DT_ERR_BACKEND_UNAVAILABLE).
   */
  fail(reason: string, code?: AnswerCode): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#decoder.close();
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    this.#abort.abort();
    this.#stream?.destroy();
    this.#queue = [];
    // Writes backed up here no longer hold the consumer back.
    this.#owner.backpressure.upstreamGone(this);
    for (const [, exchange] of this.#pending.takeAll()) {
      this.#answer(exchange, this.connected
        ? localAnswer('DT_ERR_BACKEND_CLOSED', `${reason}; ${exchange.target} got no answer (it may or may not have run on the provider)`)
        : localAnswer(code ?? 'DT_ERR_BACKEND_UNAVAILABLE', `${reason}; ${exchange.target} was not sent`));
    }
    this.#owner.closed(this, reason);
  }

  /** Answers a request with an error written here instead of the provider's answer. */
  #answer(exchange: Exchange, answer: LocalAnswer): void {
    this.#owner.toConsumer(encodeErrorResponse(exchange.requestId, answer.status, answer.message));
    exchange.complete(answer.status, answer);
  }

  /** The provider's answer goes to the consumer as is (one buffer, or the pieces it arrived in). */
  #deliver(header: FrameHeader, frame: FrameBytes): void {
    const exchange = this.#pending.take(header.requestId);
    this.#owner.toConsumer(frame);
    exchange?.complete(header.status);
    this.#closeIfDrained();
  }

  #startHeartbeats(): void {
    const interval = Math.max(1000, Math.floor(UPSTREAM_HEARTBEAT_MS / 4));
    this.#heartbeatTimer = setInterval(() => {
      if (Date.now() - this.#lastRead >= UPSTREAM_HEARTBEAT_MS) {
        // Our own heartbeat ids count down from -1 so they cannot collide with a consumer's
        // (Java's counters count up from 0 or a random start; a collision would only make the
        // answer be swallowed as a heartbeat anyway, which is harmless).
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
      // A callback request from the provider (Dubbo callback parameters) goes to the consumer.
      if (header.twoWay) this.#owner.expectReverseAnswer(this, header.requestId);
      this.#owner.toConsumer(frame);
      return;
    }
    if (header.event) return; // the answer to one of our heartbeats
    this.#deliver(header, frame);
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
    // An answer to no request we know of is still answered, and still counted (without a target or a start time).
    const exchange = this.#pending.take(header.requestId)
      ?? new Exchange(this.#owner.events, 'dubbo', this.#owner.id, header.requestId, false, this.backend.application, undefined, undefined);
    this.#answer(exchange, localAnswer('DT_ERR_RESPONSE_TOO_LARGE',
      `the response of ${this.backend.application} to ${exchange.target ?? 'this request'} is ${header.bodyLength} bytes, over the payload limit of ${this.#owner.maxBodyLength} (raise it with --max-payload <bytes>)`));
    this.#closeIfDrained();
  }

  fatal(error: ProtocolError): void {
    this.fail(`${this.backend.application}: ${this.remote} sent bytes that are not Dubbo (${error.message})`);
  }
}
