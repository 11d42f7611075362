import type {ErrorCode} from '../core/errors.js';
import {STATUS} from '../protocol/header.js';

/**
 * What dubbo-tunnel answers a request with when it cannot deliver it: one Dubbo status per cause
 * (Response.java), and a message that starts with the stable code, e.g.
 * `dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for …`, so a consumer's log, the `--json` lines and
 * docs/errors.md all name the same thing.
 */
export const ANSWER_STATUS = {
  DT_ERR_NO_ROUTE: STATUS.SERVICE_NOT_FOUND,
  DT_ERR_AMBIGUOUS_SERVICE: STATUS.SERVICE_NOT_FOUND,
  DT_ERR_UNSUPPORTED_SERIALIZATION: STATUS.SERVICE_NOT_FOUND,
  DT_ERR_BAD_BODY: STATUS.BAD_REQUEST,
  DT_ERR_FRAME_TOO_LARGE: STATUS.BAD_REQUEST,
  DT_ERR_SHUTTING_DOWN: STATUS.SERVER_ERROR,
  DT_ERR_BACKEND_UNAVAILABLE: STATUS.SERVER_ERROR,
  DT_ERR_BACKEND_CLOSED: STATUS.SERVER_ERROR,
  DT_ERR_CONSUMER_TOO_SLOW: STATUS.SERVER_ERROR,
  DT_ERR_NO_READY_PODS: STATUS.SERVER_ERROR,
  DT_ERR_PORT_FORWARD: STATUS.SERVER_ERROR,
  DT_ERR_RESPONSE_TOO_LARGE: STATUS.BAD_RESPONSE,
  // The team gateway's refusals (src/gateway/protocol.ts keeps the same statuses).
  DT_ERR_GATEWAY_UNAUTHENTICATED: STATUS.SERVICE_ERROR,
  DT_ERR_GATEWAY_FORBIDDEN: STATUS.SERVICE_ERROR,
  DT_ERR_GATEWAY_PROTOCOL: STATUS.SERVICE_ERROR,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type AnswerCode = keyof typeof ANSWER_STATUS;

export interface LocalAnswer {
  readonly code: AnswerCode;
  /** The Dubbo status byte of the error response. */
  readonly status: number;
  /** The error response's text: the code, then what happened and what to do. */
  readonly message: string;
}

export function isAnswerCode(code: string): code is AnswerCode {
  return Object.hasOwn(ANSWER_STATUS, code);
}

export function localAnswer(code: AnswerCode, reason: string): LocalAnswer {
  return {code, status: ANSWER_STATUS[code], message: `dubbo-tunnel [${code}]: ${reason}`};
}
