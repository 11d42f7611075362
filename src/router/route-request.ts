import type {Backend} from '../core/backend.js';
import {describeTarget, serializationName} from '../protocol/header.js';
import type {PeekResult} from '../protocol/request-peek.js';
import type {LocalAnswer} from './local-answer.js';
import {localAnswer} from './local-answer.js';
import type {RouteTable} from './route-table.js';
import type {RoutingInput} from './resolve.js';
import {resolveRoute} from './resolve.js';

/** Where one request goes: to a backend, or answered by dubbo-tunnel itself. */
export type RequestDecision =
  | {readonly forward: true; readonly backend: Backend; readonly target: string}
  /** `target` is undefined when the body could not be read at all. */
  | {readonly forward: false; readonly target: string | undefined; readonly answer: LocalAnswer};

/**
 * The routing policy for one request, from what the peek found: an unreadable body is answered
 * (40); a serialization whose attachments cannot be read still routes where the routing order
 * needs no attachment (interface map, the only backend); otherwise resolveRoute's order applies.
 * The transport only peeks, asks, and forwards or answers.
 */
export function routeRequest(table: RouteTable, peek: PeekResult, attachmentKey: string): RequestDecision {
  let input: RoutingInput;
  if (peek.readable) {
    const {request} = peek;
    // One object literal per request, no spread: a spread builds the object through the runtime.
    input = {
      service: request.service || undefined,
      method: request.method || undefined,
      version: request.serviceVersion,
      attachments: request.attachmentsRead ? request.attachments : undefined,
      unreadableBecause: request.attachmentsRead ? undefined : `its ${serializationName(peek.serializationId)} (id ${peek.serializationId}) attachments cannot be read`,
    };
  } else if (peek.error.code === 'DT_ERR_UNSUPPORTED_SERIALIZATION') {
    input = {service: undefined, method: undefined, attachments: undefined, unreadableBecause: peek.error.message};
  } else {
    return {forward: false, target: undefined, answer: localAnswer('DT_ERR_BAD_BODY', `cannot read the request body: ${peek.error.message}`)};
  }
  const target = describeTarget(input.service, input.method);
  const decision = resolveRoute(table, input, attachmentKey);
  if (decision.ok) return {forward: true, backend: decision.backend, target};
  return {forward: false, target, answer: localAnswer(decision.code, decision.message)};
}
