import type {ErrorCode} from '../../core/errors.js';
import {STATUS} from '../../protocol/header.js';
import {encodeErrorResponse} from '../../protocol/responses.js';
import {ANSWER_STATUS, isAnswerCode} from '../../router/local-answer.js';
import type {LocalAnswer} from '../../router/local-answer.js';
import type {Exchange, Failure} from '../completion.js';

// A call on the HTTP/1.1 JSON port that dubbo-tunnel answers itself (no route, bad JSON, a timeout):
// the refusal, and how its exchange completes so that `request-completed` and the inspector show what
// a Dubbo consumer would have read.

/** Why dubbo-tunnel answered a call itself: the code and what to say (without the `dubbo-tunnel [CODE]: ` prefix). */
export interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

/** A router's answer as a refusal: its text without the `dubbo-tunnel [CODE]: ` prefix (the JSON has the code on its own). */
export function refusalOf(answer: LocalAnswer): Refusal {
  return {code: answer.code, message: answer.message.replace(/^dubbo-tunnel \[DT_ERR_[A-Z_]+\]: /, '')};
}

/** What `request-completed` carries for a refusal: the code, and the text a Dubbo consumer would have read. */
export function failureOf(refusal: Refusal): Failure {
  return {code: refusal.code, message: `dubbo-tunnel [${refusal.code}]: ${refusal.message}`};
}

/**
 * Ends a Dubbo exchange dubbo-tunnel answered itself; a captured one gets the error answer a Dubbo
 * consumer would have read, so the inspector shows the coded text.
 */
export function completeRefused(exchange: Exchange, refusal: Refusal): void {
  const status = dubboStatusOf(refusal.code);
  const failure = failureOf(refusal);
  exchange.complete(status, failure, false, exchange.capturing ? encodeErrorResponse(exchange.requestId, status, failure.message) : undefined);
}

/** The Dubbo status a consumer would have got for the same cause (HTTP's own causes: a client timeout, a bad request). */
function dubboStatusOf(code: ErrorCode): number {
  if (isAnswerCode(code)) return ANSWER_STATUS[code];
  return code === 'DT_ERR_HTTP_TIMEOUT' ? STATUS.CLIENT_TIMEOUT : STATUS.BAD_REQUEST;
}
