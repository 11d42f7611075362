/**
 * A tiny Dubbo 2 consumer: one connection, one request, one answer. It encodes the request the way
 * a Java 3.x consumer does (DubboCodec.encodeRequestData: ONE Hessian 2 stream for the whole body,
 * attachments as an untyped 'H' map) and decodes the answer like DecodeableRpcResult.
 * Frames are cut by the product's FrameDecoder; headers use src/protocol/header.ts.
 * Used by `dubbo-tunnel call` and reusable by anything that needs a real consumer (the demo).
 */
import net from 'node:net';
import hessian from 'hessian.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import type {FrameSink} from '../protocol/frame-decoder.js';
import {
  DEFAULT_PAYLOAD, FLAG_REQUEST, FLAG_TWOWAY, HEADER_LENGTH, RESPONSE_FLAG, SERIALIZATION, STATUS, describeTarget, serializationName, statusName as dubboStatusName, writeHeader,
} from '../protocol/header.js';
import type {FrameHeader} from '../protocol/header.js';
import {heartbeatReply} from '../protocol/responses.js';
import {formatHostPort} from '../core/host-port.js';

const {EncoderV2, DecoderV2} = hessian;

/** Version.DEFAULT_DUBBO_PROTOCOL_VERSION: what 2.6.x, 2.7.x and 3.x consumers write as body field 1. */
export const DUBBO_PROTOCOL_VERSION = '2.0.2';
export const DEFAULT_ATTACHMENT_KEY = 'target-application';
/** The `remote.application` we announce (ConsumerContextFilter sends the consumer's own application name). */
export const CLIENT_APPLICATION = 'dubbo-tunnel-cli';


export interface CallOptions {
  host: string;
  port: number;
  /** The provider application, sent as the `target-application` attachment; undefined sends none. */
  application: string | undefined;
  /** The Java interface (body field 2 and the `path`/`interface` attachments). */
  service: string;
  method: string;
  /** JVM descriptor, e.g. `Ljava/lang/String;I` (see src/client/arguments.ts). */
  parameterTypes: string;
  /** hessian.js values, one per descriptor item. */
  args: readonly unknown[];
  /** Extra attachments; they override the defaults (e.g. `generic: 'true'`). */
  attachments?: Readonly<Record<string, unknown>>;
  /** Whole call: connect, send and wait for the answer. */
  timeoutMs: number;
  /** Service version (default '0.0.0', as DubboInvoker sends it). */
  version?: string;
  /** Service group; sent as the `group` attachment when set. */
  group?: string;
  /** Attachment that names the target (default `target-application`, as `dubbo-tunnel up --attachment-key`). */
  attachmentKey?: string;
  /** default 1 */
  requestId?: bigint;
  signal?: AbortSignal;
  /** Given the answer's whole frame before it is decoded (replay decodes it the way a recording did). */
  onAnswerFrame?: (frame: Buffer) => void;
}

interface Answered {
  readonly requestId: bigint;
  readonly elapsedMs: number;
}

/** Every way one call can end. callOnce resolves with one of these and rejects only on bad input. */
export type CallResult =
  /** Status 20 with a value (null for a void method or a null return). */
  | (Answered & {kind: 'value'; value: unknown; attachments: Record<string, unknown>})
  /** Status 20 carrying the provider's Throwable. */
  | (Answered & {kind: 'exception'; exceptionClass: string; message: string; attachments: Record<string, unknown>})
  /** A non-OK status (the router's "no route" is 60; a provider failure 70, ...): the body is the error text. */
  | (Answered & {kind: 'error'; status: number; statusName: string; message: string})
  /** An answer came but could not be read (not Dubbo, another serialization, a broken body). */
  | (Answered & {kind: 'bad-response'; message: string})
  /** No answer: nothing listening, the connection dropped, or the time ran out. */
  | {kind: 'connect-failed'; code: string; message: string; elapsedMs: number}
  | {kind: 'closed'; message: string; elapsedMs: number}
  | {kind: 'timeout'; connected: boolean; message: string; elapsedMs: number};

export type CallKind = CallResult['kind'];

/** The attachments a Java 3.x consumer puts on a request, plus the target and the caller's extras. */
export function requestAttachments(options: CallOptions): Record<string, unknown> {
  const attachments: Record<string, unknown> = {
    // DubboInvoker / AbstractInvoker: path, interface, version; 3.1+ send timeout as a String.
    path: options.service,
    interface: options.service,
    version: options.version ?? '0.0.0',
    timeout: String(options.timeoutMs),
    'remote.application': CLIENT_APPLICATION,
  };
  if (options.group !== undefined && options.group !== '') attachments['group'] = options.group;
  if (options.application !== undefined) attachments[options.attachmentKey ?? DEFAULT_ATTACHMENT_KEY] = options.application;
  return {...attachments, ...options.attachments};
}

/**
 * The whole request frame: header (flags 0xC2: request, two-way, hessian2) and the body written
 * through ONE EncoderV2, so class definitions and references are shared across fields as in Java.
 */
export function encodeRequest(options: CallOptions): Buffer {
  const encoder = new EncoderV2();
  // DubboCodec.encodeRequestData field order: dubbo version, path (the interface), version, method, descriptor, args, attachments.
  encoder.writeString(DUBBO_PROTOCOL_VERSION);
  encoder.writeString(options.service);
  encoder.writeString(options.version ?? '0.0.0');
  encoder.writeString(options.method);
  encoder.writeString(options.parameterTypes);
  for (const arg of options.args) encoder.write(arg);
  // A plain object is written by hessian.js as an untyped map 'H' ... 'Z', like Java's HashMap (MapSerializer).
  encoder.write(requestAttachments(options));
  const body = encoder.get();
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(frame, 0, {
    flags: FLAG_REQUEST | FLAG_TWOWAY | SERIALIZATION.HESSIAN2,
    status: 0,
    requestId: options.requestId ?? 1n,
    bodyLength: body.length,
  });
  body.copy(frame, HEADER_LENGTH);
  return frame;
}

export function statusName(status: number): string {
  return dubboStatusName(status) ?? 'UNKNOWN_STATUS';
}

export type DecodedResponse =
  | {kind: 'value'; value: unknown; attachments: Record<string, unknown>}
  | {kind: 'exception'; exceptionClass: string; message: string; attachments: Record<string, unknown>}
  | {kind: 'error'; status: number; statusName: string; message: string}
  | {kind: 'bad-response'; message: string};

/**
 * Reads a response frame's body (DecodeableRpcResult for status 20, readUTF for any other status).
 * `withType`: values and attachments as hessian.js typed values (`{$class, $}`), for the call
 * inspector's value form; `call` prints them plain.
 */
export function decodeResponse(header: FrameHeader, frame: Buffer, withType = false): DecodedResponse {
  const body = frame.subarray(HEADER_LENGTH);
  if (header.serializationId !== SERIALIZATION.HESSIAN2) {
    const what = header.status === STATUS.OK ? 'answer' : `status ${header.status} (${statusName(header.status)}) answer`;
    return {kind: 'bad-response', message: `the ${what} is in ${serializationName(header.serializationId)}, which this client cannot read (only hessian2)`};
  }
  try {
    const decoder = new DecoderV2(body);
    if (header.status !== STATUS.OK) {
      // ExchangeCodec.encodeResponse: writeUTF(errorMessage), a Hessian string or 'N'.
      const text = body.length === 0 ? null : decoder.read();
      return {kind: 'error', status: header.status, statusName: statusName(header.status), message: typeof text === 'string' ? text : '(no message)'};
    }
    const flag = decoder.read();
    const readAttachments = (): Record<string, unknown> => {
      const map = decoder.read(withType);
      return map !== null && typeof map === 'object' ? (map as Record<string, unknown>) : {};
    };
    switch (flag) {
      case RESPONSE_FLAG.VALUE:
        return {kind: 'value', value: decoder.read(withType), attachments: {}};
      case RESPONSE_FLAG.VALUE_WITH_ATTACHMENTS: {
        const value = decoder.read(withType);
        return {kind: 'value', value, attachments: readAttachments()};
      }
      case RESPONSE_FLAG.NULL_VALUE:
        return {kind: 'value', value: null, attachments: {}};
      case RESPONSE_FLAG.NULL_VALUE_WITH_ATTACHMENTS:
        return {kind: 'value', value: null, attachments: readAttachments()};
      case RESPONSE_FLAG.WITH_EXCEPTION:
      case RESPONSE_FLAG.WITH_EXCEPTION_WITH_ATTACHMENTS: {
        // Read twice from the start: with types for the class name, and without, because hessian.js
        // only fills an Error's message (from detailMessage) when it reads without types.
        const typed = decoder.read(true);
        const attachments = flag === RESPONSE_FLAG.WITH_EXCEPTION_WITH_ATTACHMENTS ? readAttachments() : {};
        const plain = new DecoderV2(body);
        plain.read();
        return {kind: 'exception', ...describeException(typed, plain.read(false)), attachments};
      }
      default:
        return {kind: 'bad-response', message: `unknown response flag ${JSON.stringify(flag)} (DubboCodec knows 0-5)`};
    }
  } catch (error) {
    return {kind: 'bad-response', message: `cannot decode the answer: ${(error as Error).message}`};
  }
}

/**
 * Class and message of a Throwable. hessian.js turns classes named *Exception into an Error (name =
 * class, message = detailMessage); other Throwables (*Error) stay field maps.
 */
function describeException(typed: unknown, plain: unknown): {exceptionClass: string; message: string} {
  const record = typed !== null && typeof typed === 'object' ? (typed as {$class?: unknown; $?: unknown}) : {};
  const exceptionClass = typeof record.$class === 'string' ? record.$class : 'java.lang.Throwable';
  if (plain instanceof Error) return {exceptionClass, message: plain.message === exceptionClass ? '' : plain.message};
  const detail = plain !== null && typeof plain === 'object' ? (plain as Record<string, unknown>)['detailMessage'] : undefined;
  return {exceptionClass, message: typeof detail === 'string' ? detail : ''};
}

/** Sends one request and waits for its answer. Never rejects for network trouble: see CallResult. */
export function callOnce(options: CallOptions): Promise<CallResult> {
  const frame = encodeRequest(options);
  const requestId = options.requestId ?? 1n;
  const where = formatHostPort(options.host, options.port);
  const target = describeTarget(options.service, options.method);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  return new Promise<CallResult>((resolve) => {
    let done = false;
    let connected = false;
    const socket = net.connect({host: options.host, port: options.port});
    const finish = (result: CallResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      decoder.close();
      socket.destroy();
      resolve(result);
    };
    const sink: FrameSink = {
      frame(header, bytes) {
        if (header.isRequest) {
          // A 2.6.x provider sends heartbeats too; answer like HeartbeatHandler (nothing else needs a reply here).
          const body = bytes.subarray(HEADER_LENGTH);
          const reply = heartbeatReply(header, body);
          if (reply !== undefined) socket.write(reply);
          return;
        }
        if (header.event || header.requestId !== requestId) return; // heartbeat answers, stray ids
        options.onAnswerFrame?.(bytes);
        finish({requestId, elapsedMs: elapsed(), ...decodeResponse(header, bytes)});
      },
      oversize(header) {
        if (!header.isRequest && header.requestId === requestId) {
          finish({requestId, elapsedMs: elapsed(), kind: 'bad-response', message: `the answer is ${header.bodyLength} bytes, over this client's limit`});
        }
      },
      fatal(error) {
        finish({requestId, elapsedMs: elapsed(), kind: 'bad-response', message: `${where} did not answer in Dubbo: ${error.message}`});
      },
    };
    const decoder = new FrameDecoder(sink, {maxBodyLength: 8 * DEFAULT_PAYLOAD});
    const timer = setTimeout(() => {
      finish(connected
        ? {kind: 'timeout', connected, elapsedMs: elapsed(), message: `no answer from ${where} within ${options.timeoutMs} ms (${target}, request id ${requestId})`}
        : {kind: 'timeout', connected, elapsedMs: elapsed(), message: `could not connect to ${where} within ${options.timeoutMs} ms`});
    }, options.timeoutMs);
    const onAbort = () => finish({kind: 'closed', elapsedMs: elapsed(), message: 'the call was cancelled'});
    options.signal?.addEventListener('abort', onAbort, {once: true});
    if (options.signal?.aborted) onAbort();

    socket.setNoDelay(true);
    socket.on('connect', () => {
      connected = true;
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (connected) {
        finish({kind: 'closed', elapsedMs: elapsed(), message: `the connection to ${where} failed before the answer came: ${socketErrorText(error)}`});
        return;
      }
      const code = errorCode(error);
      finish({kind: 'connect-failed', code, elapsedMs: elapsed(), message: `cannot connect to ${where}: ${socketErrorText(error)}`});
    });
    socket.on('close', () => {
      finish({kind: 'closed', elapsedMs: elapsed(), message: `${where} closed the connection before the answer came (${target})`});
    });
  });
}

/** Node 20 tries IPv6 and IPv4 for `localhost` (autoSelectFamily) and reports an AggregateError. */
function errorCode(error: NodeJS.ErrnoException): string {
  if (error.code !== undefined) return error.code;
  const inner = (error as unknown as {errors?: NodeJS.ErrnoException[]}).errors;
  return inner?.find((e) => e.code !== undefined)?.code ?? 'UNKNOWN';
}

function socketErrorText(error: NodeJS.ErrnoException): string {
  switch (errorCode(error)) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing is listening there)';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return error.message || errorCode(error);
  }
}
