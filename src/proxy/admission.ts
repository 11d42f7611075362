import type {IncomingHttpHeaders} from 'node:http2';
import type {Backend} from '../core/backend.js';
import type {ErrorCode} from '../core/errors.js';
import type {FrameHeader} from '../protocol/header.js';
import type {PeekResult} from '../protocol/request-peek.js';
import type {LocalAnswer} from '../router/local-answer.js';
import type {RequestDecision} from '../router/route-request.js';

/**
 * What a listener asks, per accepted connection, before it forwards anything: who may use it. `up`
 * has none (only this machine's own peers get in); the team gateway gives each connection one that
 * knows the connection's user (src/gateway/). Kept in the proxy as a seam only: the transport
 * stays the same, the policy lives with its owner.
 */
export interface ConnectionAdmission {
  /**
   * A Dubbo request, peeked and routed, before it is forwarded or answered:
   * - undefined: go on as without an admission;
   * - `reply`: write these bytes as the answer (a request the admission serves itself), then
   *   `close` the connection if asked;
   * - `refuse`: answer with this coded error instead of forwarding, then `close` if asked;
   * - `wait`: ask again once the promise settles (a token or permission being checked). The
   *   connection keeps its later requests behind this one, in order.
   * `frame` and `peek` are valid only during the call.
   */
  dubbo(header: FrameHeader, frame: Buffer, peek: PeekResult, decision: RequestDecision): DubboVerdict;
  /** An HTTP/2 stream routed to `application`: undefined to forward it, or why not. */
  triple(headers: IncomingHttpHeaders, backend: Backend): Promise<TripleRefusal | undefined>;
  /** Request headers that are the admission's own business and never reach a provider. */
  readonly privateHeaders: readonly string[];
  /** The connection closed. */
  closed?(): void;
  /**
   * True when the peer is known to move its requests elsewhere once it reads READONLY and then to
   * close the connection itself (a dubbo-tunnel laptop). A graceful stop then keeps forwarding what
   * the peer sent before it read READONLY, and keeps the connection until the peer leaves (within
   * the drain bound), instead of refusing those requests and closing once nothing is owed: a
   * request on the wire when the connection went idle would otherwise be lost.
   */
  readonly servesUntilPeerLeaves?: boolean;
}

export type DubboVerdict =
  | undefined
  | {readonly reply: Buffer; readonly status: number; readonly close?: boolean}
  | {readonly refuse: LocalAnswer; readonly close?: boolean}
  | {readonly wait: Promise<unknown>};

export interface TripleRefusal {
  readonly grpcStatus: number;
  readonly code: ErrorCode;
  readonly reason: string;
}

/** Gives each accepted connection its admission. */
export type AdmissionFactory = (connection: {readonly id: number; readonly peer: string}) => ConnectionAdmission;
