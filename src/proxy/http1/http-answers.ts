/**
 * How an HTTP call's outcome is told: an HTTP status and a JSON body. A value is 200 with the
 * value in the call inspector's value form (src/inspect/java-values.ts: what `call` and an HTTP
 * call take back as arguments); a Java exception 500 `{"exception", "message"}`; dubbo-tunnel's own answers carry their
 * stable code `{"code", "message"}` with the status of their cause; a provider's non-OK Dubbo status
 * or a gRPC status maps to the HTTP status that means the same. No sockets here.
 */
import {decodeResponse} from '../../client/dubbo-client.js';
import type {ErrorCode} from '../../core/errors.js';
import {toValueForm} from '../../inspect/java-values.js';
import {GRPC_STATUS, grpcStatusName} from '../../protocol/grpc.js';
import {STATUS, readHeader, statusName} from '../../protocol/header.js';

/** An HTTP answer: a JSON `body`, or plain `text` (what the port says to a request that is not a call). */
export type HttpAnswer =
  | {readonly status: number; readonly body: unknown}
  | {readonly status: number; readonly text: string};

/** The HTTP status of each of dubbo-tunnel's own answers, by cause (what is not listed: 502). */
const STATUS_OF_CODE: Partial<Record<ErrorCode, number>> = {
  DT_ERR_NO_ROUTE: 404,
  DT_ERR_UNSUPPORTED_SERIALIZATION: 404,
  DT_ERR_AMBIGUOUS_SERVICE: 409,
  DT_ERR_BAD_BODY: 400,
  DT_ERR_HTTP_BAD_REQUEST: 400,
  DT_ERR_FRAME_TOO_LARGE: 413,
  DT_ERR_BACKEND_UNAVAILABLE: 503,
  DT_ERR_NO_READY_PODS: 503,
  DT_ERR_PORT_FORWARD: 503,
  DT_ERR_KUBE_UNREACHABLE: 503,
  DT_ERR_SHUTTING_DOWN: 503,
  DT_ERR_STOPPED_BEFORE_ANSWER: 503,
  DT_ERR_HTTP_TIMEOUT: 504,
  DT_ERR_GATEWAY_UNAUTHENTICATED: 401,
  DT_ERR_GATEWAY_FORBIDDEN: 403,
  DT_ERR_INTERNAL: 500,
};

/** One of dubbo-tunnel's coded answers. `message` is the text without the `dubbo-tunnel [CODE]: ` prefix. */
export function codedAnswer(code: ErrorCode, message: string): HttpAnswer {
  return {status: STATUS_OF_CODE[code] ?? 502, body: {code, message}};
}

/** The text of an error response dubbo-tunnel wrote (router/local-answer.ts): its code and the rest. */
const CODED_TEXT = /^dubbo-tunnel \[(DT_ERR_[A-Z_]+)\]: ([\s\S]*)$/;

/** The HTTP status of a provider's non-OK Dubbo status (Response.java's codes). */
function httpStatusOfDubbo(status: number): number {
  switch (status) {
    case STATUS.CLIENT_TIMEOUT:
    case STATUS.SERVER_TIMEOUT:
      return 504;
    case STATUS.BAD_REQUEST:
      return 400;
    case STATUS.SERVICE_NOT_FOUND:
      return 404;
    case STATUS.SERVER_THREADPOOL_EXHAUSTED_ERROR:
      return 503;
    case STATUS.BAD_RESPONSE:
      return 502;
    default:
      return 500;
  }
}

/** An error response (a non-OK Dubbo status): dubbo-tunnel's own by its code, else the provider's by its status. */
export function dubboErrorAnswer(status: number, text: string): HttpAnswer {
  const coded = CODED_TEXT.exec(text);
  if (coded !== null) return codedAnswer(coded[1] as ErrorCode, coded[2] ?? '');
  return {status: httpStatusOfDubbo(status), body: {status: statusName(status) ?? `status ${status}`, message: text}};
}

/** A provider's exception: its Java class and message. */
export function exceptionAnswer(exceptionClass: string, message: string): HttpAnswer {
  return {status: 500, body: {exception: exceptionClass, message}};
}

/** An answer that came but cannot be read (another serialization, a cut-off body). */
export function unreadableAnswer(message: string): HttpAnswer {
  return {status: 502, body: {code: 'DT_ERR_CALL_BAD_ANSWER', message}};
}

/** How gRPC statuses read as HTTP (the mapping of gRPC's own HTTP gateways). */
const HTTP_OF_GRPC: Readonly<Record<number, number>> = {
  [GRPC_STATUS.CANCELLED]: 499,
  [GRPC_STATUS.UNKNOWN]: 500,
  [GRPC_STATUS.INVALID_ARGUMENT]: 400,
  [GRPC_STATUS.DEADLINE_EXCEEDED]: 504,
  [GRPC_STATUS.NOT_FOUND]: 404,
  [GRPC_STATUS.ALREADY_EXISTS]: 409,
  [GRPC_STATUS.PERMISSION_DENIED]: 403,
  [GRPC_STATUS.RESOURCE_EXHAUSTED]: 429,
  [GRPC_STATUS.FAILED_PRECONDITION]: 400,
  [GRPC_STATUS.ABORTED]: 409,
  [GRPC_STATUS.OUT_OF_RANGE]: 400,
  [GRPC_STATUS.UNIMPLEMENTED]: 501,
  [GRPC_STATUS.INTERNAL]: 500,
  [GRPC_STATUS.UNAVAILABLE]: 503,
  [GRPC_STATUS.DATA_LOSS]: 500,
  [GRPC_STATUS.UNAUTHENTICATED]: 401,
};

/** A Triple provider's non-OK gRPC status. */
export function grpcStatusAnswer(code: number, message: string): HttpAnswer {
  return {status: HTTP_OF_GRPC[code] ?? 500, body: {grpcStatus: grpcStatusName(code), message}};
}

/** The Dubbo answer to an HTTP call, as JSON. */
export function dubboAnswer(frame: Buffer): HttpAnswer {
  const decoded = decodeResponse(readHeader(frame), frame, true);
  switch (decoded.kind) {
    case 'value':
      return {status: 200, body: toValueForm(decoded.value)};
    case 'exception':
      return exceptionAnswer(decoded.exceptionClass, decoded.message);
    case 'error':
      return dubboErrorAnswer(decoded.status, decoded.message);
    case 'bad-response':
      return unreadableAnswer(decoded.message);
  }
}
