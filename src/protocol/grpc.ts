/**
 * The few pieces of gRPC (and so of Dubbo 3's Triple, which is gRPC on the wire) that dubbo-tunnel
 * reads or writes itself: status codes, the `grpc-message` encoding, the `:path` service/method split,
 * `grpc-timeout`, and the 5-byte message prefix (for the demo provider and `call --triple`).
 * Forwarded streams are never re-encoded: the router reads headers only.
 * References: doc/PROTOCOL-HTTP2.md and doc/statuscodes.md in the grpc repository.
 */

/** gRPC status codes (doc/statuscodes.md), with the names grpc-java and grpcurl print. */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatus = (typeof GRPC_STATUS)[keyof typeof GRPC_STATUS];

const NAMES = new Map<number, string>(Object.entries(GRPC_STATUS).map(([name, code]) => [code, name]));

/** `UNAVAILABLE`, or `status 42` for a code outside the table. */
export function grpcStatusName(code: number): string {
  return NAMES.get(code) ?? `status ${code}`;
}

/**
 * `grpc-message` is percent-encoded UTF-8: printable ASCII except `%` stays as is, every other
 * byte becomes `%XX` (PROTOCOL-HTTP2.md, "Status-Message").
 */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The reverse of encodeGrpcMessage; malformed escapes are kept as they are, as grpc-java does. */
export function decodeGrpcMessage(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded[i] === '%' ? encoded.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(encoded[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `/com.example.UserService/getUser` -> service and method; undefined parts when the path has another shape. */
export function parseGrpcPath(path: string | undefined): {service: string | undefined; method: string | undefined} {
  const match = path === undefined ? null : /^\/([^/?]+)\/([^/?]+)$/.exec(path);
  if (!match) return {service: undefined, method: undefined};
  return {service: match[1], method: match[2]};
}

const TIMEOUT_UNITS: Record<string, number> = {H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001};

/** `grpc-timeout` (at most 8 digits and a unit) in milliseconds, or undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (TIMEOUT_UNITS[match[2] ?? ''] ?? 0);
}

/** One length-prefixed message: compressed flag (0) and a 4-byte big-endian length. */
export function encodeGrpcMessageFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = 0;
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

/**
 * Splits length-prefixed messages out of DATA chunks. Used only where dubbo-tunnel is an endpoint
 * itself (the demo provider, `call --triple`), never on forwarded streams.
 */
export class GrpcMessageReader {
  #buffered: Buffer = Buffer.alloc(0);
  readonly #maxLength: number;

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** Returns the messages completed by `chunk`; throws on a compressed or oversized message. */
  push(chunk: Buffer): Buffer[] {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const messages: Buffer[] = [];
    while (this.#buffered.length >= 5) {
      if (this.#buffered[0] !== 0) throw new Error('compressed gRPC messages are not supported here (send grpc-encoding identity)');
      const length = this.#buffered.readUInt32BE(1);
      if (length > this.#maxLength) throw new Error(`gRPC message of ${length} bytes is over the limit of ${this.#maxLength}`);
      if (this.#buffered.length < 5 + length) break;
      messages.push(this.#buffered.subarray(5, 5 + length));
      this.#buffered = this.#buffered.subarray(5 + length);
    }
    return messages;
  }

  /** True when a message has started but not finished (a stream that ends here was cut short). */
  get partial(): boolean {
    return this.#buffered.length > 0;
  }
}

/** Headers or trailers as node:http2 gives them (a plain record: no socket type in the codec). */
export type GrpcHeaders = Readonly<Record<string, string | string[] | number | undefined>>;

/**
 * One unary gRPC answer, put together from the events of the HTTP/2 stream that carries it: the
 * response headers, the DATA chunks, the trailers (or a trailers-only response). The caller wires
 * the stream's events to it; this only reads values, so the learner's probe and `call --triple` share
 * one reading of what a gRPC answer is.
 */
export class GrpcAnswerReader {
  readonly messages: Buffer[] = [];
  readonly #reader: GrpcMessageReader;
  #status: GrpcHeaders | undefined;
  #httpStatus: number | undefined;

  constructor(maxMessageLength: number) {
    this.#reader = new GrpcMessageReader(maxMessageLength);
  }

  /** The response headers; a trailers-only answer carries its grpc-status here. */
  headers(headers: GrpcHeaders): void {
    const status = headers[':status'];
    if (typeof status === 'number') this.#httpStatus = status;
    if (headers['grpc-status'] !== undefined) this.#status = headers;
  }

  trailers(trailers: GrpcHeaders): void {
    this.#status = trailers;
  }

  /** Throws on a compressed or oversized message, like GrpcMessageReader.push. */
  data(chunk: Buffer): void {
    this.messages.push(...this.#reader.push(chunk));
  }

  /** Once the stream closed: the gRPC status and its decoded message, or undefined when none came. */
  status(): {code: number; message: string} | undefined {
    const code = this.#status?.['grpc-status'];
    if (code === undefined) return undefined;
    const text = this.#status?.['grpc-message'];
    return {code: Number(code), message: decodeGrpcMessage(typeof text === 'string' ? text : '')};
  }

  /** The HTTP status of the response headers, when they came. */
  get httpStatus(): number | undefined {
    return this.#httpStatus;
  }
}

/** The pseudo-headers and headers every gRPC call starts with: POST to `path`, trailers asked for, its deadline as `grpc-timeout` (ms). */
export function grpcRequestHeaders(path: string, contentType: string, timeoutMs: number): Record<string, string> {
  return {
    ':method': 'POST',
    ':path': path,
    'content-type': contentType,
    'te': 'trailers',
    'grpc-timeout': `${Math.max(1, Math.floor(timeoutMs))}m`,
  };
}
