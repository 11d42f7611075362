import type {ErrorCode} from '../core/errors.js';
import type {RequestCompleted} from '../core/events.js';
import {GRPC_STATUS, grpcStatusName} from '../protocol/grpc.js';
import {STATUS, statusName} from '../protocol/header.js';

/** Which request finished, and when it arrived (performance.now(); undefined when never timed). */
export interface CompletedRequest {
  readonly connectionId: number;
  readonly requestId: bigint;
  /** Where it was routed; undefined when no route was found. */
  readonly application: string | undefined;
  readonly target: string | undefined;
  readonly startedAt: number | undefined;
}

/**
 * The one builder of `request-completed` payloads. `status` is the Dubbo status the consumer got
 * (undefined for a one-way request); `failure` is set when dubbo-tunnel answered itself.
 */
export function requestCompleted(
  request: CompletedRequest,
  status: number | undefined,
  failure?: {readonly code: ErrorCode; readonly message: string},
): RequestCompleted {
  const latencyMs = request.startedAt === undefined ? 0 : performance.now() - request.startedAt;
  // Two literals rather than a spread: one object per request, of one of two fixed shapes.
  if (failure === undefined) {
    return {
      connectionId: request.connectionId,
      requestId: request.requestId,
      application: request.application,
      target: request.target,
      status,
      statusName: status === undefined ? undefined : statusName(status),
      ok: status === undefined || status === STATUS.OK,
      latencyMs,
      oneWay: status === undefined,
    };
  }
  return {
    connectionId: request.connectionId,
    requestId: request.requestId,
    application: request.application,
    target: request.target,
    status,
    statusName: status === undefined ? undefined : statusName(status),
    ok: false,
    latencyMs,
    error: failure.message,
    code: failure.code,
    oneWay: status === undefined,
  };
}

/**
 * The same for one Triple/gRPC stream: `status` is the gRPC status the consumer got (undefined when
 * the answer carried none), and the entry is marked `protocol: 'triple'`.
 */
export function streamCompleted(
  request: CompletedRequest,
  status: number | undefined,
  failure?: {readonly code: ErrorCode; readonly message: string},
): RequestCompleted {
  return {
    connectionId: request.connectionId,
    requestId: request.requestId,
    application: request.application,
    target: request.target,
    status,
    statusName: status === undefined ? undefined : `grpc ${grpcStatusName(status)}`,
    ok: failure === undefined && (status === undefined || status === GRPC_STATUS.OK),
    latencyMs: request.startedAt === undefined ? 0 : performance.now() - request.startedAt,
    ...(failure === undefined ? {} : {error: failure.message, code: failure.code}),
    oneWay: false,
    protocol: 'triple',
  };
}
