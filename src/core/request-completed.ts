import type {ErrorCode} from './errors.js';

/** What `request-completed` says of one finished request (Dubbo frame or Triple stream); `call-captured` carries the same object. */
export interface RequestCompleted {
  connectionId: number;
  requestId: bigint;
  /** Application the request was routed to; undefined when no route was found. */
  application: string | undefined;
  /** `com.foo.UserService#getUser`, or undefined when the body could not be read. */
  target: string | undefined;
  /**
   * Dubbo status byte of the answer (20 = OK); undefined for one-way requests. For a Triple/gRPC
   * stream (`protocol: 'triple'`), the gRPC status (0 = OK); undefined when the answer had none.
   */
  status: number | undefined;
  /** Dubbo's name of that status (`OK`, `SERVICE_NOT_FOUND`), `grpc UNAVAILABLE` for a Triple stream; undefined for one-way requests or unknown bytes. */
  statusName: string | undefined;
  /** False when the consumer got an error: from dubbo-tunnel (then `code` is set) or a non-OK status. */
  ok: boolean;
  /** Milliseconds from the request arriving to the answer being queued for the consumer. */
  latencyMs: number;
  /** Set when dubbo-tunnel answered itself: the message the consumer got, and its stable code. */
  error?: string;
  code?: ErrorCode;
  oneWay: boolean;
  /** Which protocol the consumer spoke; absent means Dubbo. A Triple entry is one HTTP/2 stream. */
  protocol?: 'dubbo' | 'triple';
}
