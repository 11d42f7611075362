import type {ErrorCode} from '../core/errors.js';

/**
 * One decoded call: what the calls view shows, what a recording line holds (one JSON object per
 * line, `--record` and `--json --payloads`), what `replay` and `call --from` send again.
 *
 * Java values are written as JSON in the form `call` reads as arguments (`src/client/arguments.ts`),
 * so a recorded call's `arguments` with its `parameterTypes` encode back to the same Hessian 2 values:
 * strings, numbers and booleans as themselves, a long beyond 2^53 as a decimal string, a POJO as an
 * object with `"$class"` and its fields, a Map as an object, a List or array as an array, an enum as
 * `{"$class": "...", "name": "..."}`, and the types JSON has no word for (BigDecimal, Date, byte[])
 * as `{"$class": ..., "$": <text>}` (see docs/inspector.md).
 */
export interface CallRecord {
  /** Increasing per session: the calls view and `replay --filter` name a call by it. */
  readonly seq: number;
  /** ISO 8601 time the request arrived. */
  readonly at: string;
  readonly protocol: 'dubbo' | 'triple';
  /** `http` when the call came as HTTP/1.1 JSON on the port. */
  readonly origin: 'consumer' | 'http';
  readonly connectionId: number;
  /** Where it was routed; undefined when no route was found. */
  readonly application: string | undefined;
  /** The interface (Triple: the gRPC service), undefined when the request could not be read. */
  readonly service: string | undefined;
  readonly group?: string;
  readonly version?: string;
  readonly method: string | undefined;
  /** Java names of the parameter types (`java.lang.String`, `int`); for Triple only what wrapper mode names, else empty. */
  readonly parameterTypes: readonly string[];
  /** The arguments as JSON values (see above); undefined when they could not be decoded. */
  readonly arguments: readonly unknown[] | undefined;
  /** The request's attachments (Triple: its headers), credential-like values redacted. */
  readonly attachments: Readonly<Record<string, unknown>>;
  /** The status the consumer got: Dubbo's name (`OK`, `SERVICE_NOT_FOUND`, `EXCEPTION`), or `grpc OK`, `grpc UNAVAILABLE`. */
  readonly status: string | undefined;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly requestBytes: number;
  readonly answerBytes: number;
  /** What came back: a value, a Java exception, or dubbo-tunnel's own coded error. */
  readonly answer: CallAnswer | undefined;
  /** Set for Triple calls. */
  readonly triple?: TripleDetails;
  /** True when a request or answer was bigger than the capture bound and was decoded in part. */
  readonly truncated?: boolean;
  /** Set when the request's arguments could not be decoded: why, and its first bytes. */
  readonly undecodedRequest?: UndecodedPart;
}

/** Bytes that could not be decoded (another serialization, protobuf without a schema, a broken body). */
export interface UndecodedPart {
  readonly reason: string;
  /** The first bytes in hex, two digits each, separated by spaces. */
  readonly hexHead: string;
}

export type CallAnswer =
  | {readonly kind: 'value'; readonly value: unknown; readonly attachments?: Readonly<Record<string, unknown>>}
  | {readonly kind: 'exception'; readonly className: string; readonly message: string; readonly attachments?: Readonly<Record<string, unknown>>}
  /** dubbo-tunnel answered itself (no route, unreachable, ...) or the provider sent an error status. */
  | {readonly kind: 'error'; readonly message: string; readonly code?: ErrorCode}
  /** The bytes could not be decoded (another serialization, protobuf without a schema): size and a hex head. */
  | {readonly kind: 'undecoded'; readonly reason: string; readonly hexHead: string};

export interface TripleDetails {
  readonly path: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly responseHeaders: Readonly<Record<string, string>> | undefined;
  readonly trailers: Readonly<Record<string, string>> | undefined;
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string | undefined;
}

/**
 * What a renderer may ask of the recent calls (the calls view): a bounded ring of decoded calls,
 * kept in step with the bus. Capture is on only while someone holds the log open.
 */
export interface CallLogView {
  /** The calls kept (oldest first), at most the ring's size. */
  snapshot(): readonly CallRecord[];
  /** `listener` runs (at most a few times a second) when calls were added; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Starts capturing calls (the view opened); the function it returns stops it again. */
  open(): () => void;
  /** Calls captured but never decoded: they came faster than the log decodes while only a view reads it. */
  skipped(): number;
}
