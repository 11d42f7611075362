import {performance} from 'node:perf_hooks';
import type {ErrorCode} from '../core/errors.js';
import type {RequestCompleted, TunnelEventBus} from '../core/events.js';
import {GRPC_STATUS, grpcStatusName} from '../protocol/grpc.js';
import {STATUS, statusName} from '../protocol/header.js';
import type {BoundedCopy, CallCopy} from './call-copy.js';
import type {FrameBytes} from './write-batch.js';

/** Which request finished, and when it arrived (performance.now(); undefined when never timed). */
export interface CompletedRequest {
  readonly connectionId: number;
  readonly requestId: bigint;
  /** Where it was routed; undefined when no route was found. */
  readonly application: string | undefined;
  readonly target: string | undefined;
  readonly startedAt: number | undefined;
}

/** Why dubbo-tunnel answered a request itself: the code and the message the consumer got. */
export interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * One request (a Dubbo frame, or a Triple/gRPC stream) from the moment it is accepted until its
 * answer: the only place that emits `request-completed`, and only once, whichever path answered
 * (the provider, an upstream that failed, the listener itself, a stream's end). A Dubbo request's
 * exchange is also the record its upstream keeps while the answer is pending.
 */
export class Exchange implements CompletedRequest {
  readonly connectionId: number;
  readonly requestId: bigint;
  /** Where it was routed; undefined while not (yet) routed. */
  application: string | undefined;
  readonly target: string | undefined;
  readonly startedAt: number | undefined;
  /**
   * How the request came: `http` when dubbo-tunnel turned an HTTP/1.1 JSON call on the port into
   * this request. Whoever does that sets it before the exchange completes; the call inspector
   * shows it (`call-captured`).
   */
  origin: 'consumer' | 'http' = 'consumer';
  readonly #events: TunnelEventBus;
  readonly #protocol: 'dubbo' | 'triple';
  /** A one-way Dubbo request: nothing is answered, the entry has no status. */
  readonly #oneWay: boolean;
  #completed = false;
  /** Set when calls were captured as the request arrived; undefined: nothing of this call is copied. */
  #copy: CallCopy | undefined = undefined;

  constructor(
    events: TunnelEventBus,
    protocol: 'dubbo' | 'triple',
    connectionId: number,
    requestId: bigint,
    oneWay: boolean,
    application: string | undefined,
    target: string | undefined,
    startedAt: number | undefined,
  ) {
    this.#events = events;
    this.#protocol = protocol;
    this.connectionId = connectionId;
    this.requestId = requestId;
    this.#oneWay = oneWay;
    this.application = application;
    this.target = target;
    this.startedAt = startedAt;
  }

  get completed(): boolean {
    return this.#completed;
  }

  /**
   * Calls are captured (CallCapture.on at the request's arrival): `complete` emits `call-captured`
   * with `copy` after `request-completed`. Decided once: an exchange made while capture was off
   * stays uncaptured even if capture turns on before its answer.
   */
  captureWith(copy: CallCopy): void {
    this.#copy = copy;
  }

  /** Whether this call is captured: a path that passes the answer on in pieces collects them then. */
  get capturing(): boolean {
    return this.#copy !== undefined;
  }

  /**
   * The consumer got its answer: `status` is the Dubbo status (ignored for a one-way request) or,
   * for Triple, the gRPC status (undefined when the answer carried none); `failure` when
   * dubbo-tunnel answered itself; `thrown` when an OK Dubbo answer carries the provider's exception;
   * `answer` the Dubbo answer the consumer got (read only when the call is captured). Emits
   * `request-completed` the first time, then `call-captured` when captured; later calls do nothing.
   */
  complete(status: number | undefined, failure?: Failure, thrown = false, answer?: FrameBytes | BoundedCopy): void {
    if (this.#completed) return;
    this.#completed = true;
    const entry = this.#protocol === 'triple'
      ? streamCompleted(this, status, failure)
      : requestCompleted(this, this.#oneWay ? undefined : status, failure, thrown);
    this.#events.emit('request-completed', entry);
    const copy = this.#copy;
    if (copy !== undefined) this.#events.emit('call-captured', copy.finish(entry, this.origin, answer));
  }
}

/** The status name of an OK answer that carries the provider's exception (a failed call). */
export const EXCEPTION_STATUS_NAME = 'EXCEPTION';

/**
 * The builder of Dubbo `request-completed` payloads. `status` is the Dubbo status the consumer got
 * (undefined for a one-way request); `failure` is set when dubbo-tunnel answered itself; `thrown`
 * when the status is OK but the body is the provider's exception (the consumer sees it thrown).
 */
export function requestCompleted(
  request: CompletedRequest,
  status: number | undefined,
  failure?: Failure,
  thrown = false,
): RequestCompleted {
  if (thrown && status === STATUS.OK) return completed(request, status, EXCEPTION_STATUS_NAME, false, failure, false);
  return completed(request, status, status === undefined ? undefined : statusName(status), status === undefined || status === STATUS.OK, failure, status === undefined);
}

/**
 * The same for one Triple/gRPC stream: `status` is the gRPC status the consumer got (undefined when
 * the answer carried none), and the entry is marked `protocol: 'triple'`.
 */
export function streamCompleted(
  request: CompletedRequest,
  status: number | undefined,
  failure?: Failure,
): RequestCompleted {
  const entry = completed(request, status, status === undefined ? undefined : `grpc ${grpcStatusName(status)}`, status === undefined || status === GRPC_STATUS.OK, failure, false);
  entry.protocol = 'triple';
  return entry;
}

/** One object per request, built without spreads: a request path that runs at line rate should make one allocation here, not three. */
function completed(
  request: CompletedRequest,
  status: number | undefined,
  name: string | undefined,
  statusOk: boolean,
  failure: Failure | undefined,
  oneWay: boolean,
): RequestCompleted {
  const entry: RequestCompleted = {
    connectionId: request.connectionId,
    requestId: request.requestId,
    application: request.application,
    target: request.target,
    status,
    statusName: name,
    ok: failure === undefined && statusOk,
    latencyMs: request.startedAt === undefined ? 0 : performance.now() - request.startedAt,
    oneWay,
  };
  if (failure !== undefined) {
    entry.error = failure.message;
    entry.code = failure.code;
  }
  return entry;
}
