/**
 * One captured call (the bytes of `call-captured`) into a CallRecord: the request's service,
 * method, parameter types, arguments and attachments, and what came back. Runs off the request
 * path (CallLog batches it), and never throws: bytes it cannot read become an `undecoded` part
 * with the reason and the first bytes in hex.
 *
 * Dubbo bodies are read as DecodeableRpcInvocation reads them: ONE Hessian 2 stream for the whole
 * body (dubbo version, path, version, method, descriptor, each argument, the attachments), so
 * class definitions and references carry from one argument to the next. Answers are read by the
 * client's decodeResponse (one reading of DecodeableRpcResult for `call` and for the inspector).
 */
import hessian from 'hessian.js';
import type {CapturedBytes, CapturedCall, CapturedDubboCall, CapturedTripleCall} from '../core/calls.js';
import type {RequestCompleted} from '../core/events.js';
import {errorMessage} from '../core/errors.js';
import {descriptorTypeNames} from '../protocol/descriptor.js';
import {decodeGrpcMessage, grpcStatusName, parseGrpcPath} from '../protocol/grpc.js';
import {HEADER_LENGTH, SERIALIZATION, STATUS, readHeader, serializationName, statusName} from '../protocol/header.js';
import {tryPeekRequest} from '../protocol/request-peek.js';
import {WRAPPER_HESSIAN2, decodeTripleRequestWrapper, decodeTripleResponseWrapper} from '../protocol/triple-wrapper.js';
import {decodeResponse} from '../client/dubbo-client.js';
import type {CallAnswer, CallRecord, UndecodedPart} from './call-record.js';
import {toValueForm} from './java-values.js';
import type {Redaction} from './redaction.js';

const {DecoderV2} = hessian;

/** How many leading bytes an undecoded part shows. */
export const HEX_HEAD_BYTES = 32;

/** Decodes one captured call. Never throws. */
export function decodeCall(captured: CapturedCall, seq: number, redaction: Redaction): CallRecord {
  try {
    return captured.protocol === 'dubbo' ? decodeDubboCall(captured, seq, redaction) : decodeTripleCall(captured, seq, redaction);
  } catch (error) {
    // Every reader below catches its own failures; this is the last guard for a record at all.
    return {
      ...commonFields(captured, seq),
      service: undefined,
      method: undefined,
      parameterTypes: [],
      arguments: undefined,
      attachments: {},
      answer: undefined,
      undecodedRequest: {reason: `cannot decode the call: ${errorMessage(error)}`, hexHead: hexHead(captured.request.bytes)},
    };
  }
}

/** `da bb c2 00 ...`: the first bytes, for a part that could not be decoded. */
export function hexHead(bytes: Buffer): string {
  return [...bytes.subarray(0, HEX_HEAD_BYTES)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

type Common = Pick<CallRecord, 'seq' | 'at' | 'protocol' | 'origin' | 'connectionId' | 'application' | 'status' | 'ok' | 'latencyMs' | 'requestBytes' | 'answerBytes'>;

function commonFields(captured: CapturedCall, seq: number): Common {
  const completed = captured.completed;
  return {
    seq,
    at: new Date(captured.at).toISOString(),
    protocol: captured.protocol,
    origin: captured.origin,
    connectionId: completed.connectionId,
    application: completed.application,
    status: completed.statusName,
    ok: completed.ok,
    latencyMs: completed.latencyMs,
    requestBytes: captured.request.length,
    answerBytes: captured.answer?.length ?? 0,
  };
}

function isCut(bytes: CapturedBytes): boolean {
  return bytes.bytes.length < bytes.length;
}

function cutReason(bytes: CapturedBytes): string {
  return `cut at the capture bound (${bytes.bytes.length} of ${bytes.length} bytes kept)`;
}

// ---------------------------------------------------------------------------------------------
// Dubbo

interface DubboRequest {
  service: string | undefined;
  version: string | undefined;
  method: string | undefined;
  parameterTypes: string[];
  arguments: unknown[] | undefined;
  attachments: Record<string, unknown>;
  undecoded: UndecodedPart | undefined;
  /** Decoded in part because the capture was cut. */
  partial: boolean;
  serializationId: number | undefined;
}

function decodeDubboCall(captured: CapturedDubboCall, seq: number, redaction: Redaction): CallRecord {
  const request = readDubboRequest(captured.request);
  const answer = captured.answer === undefined ? undefined : readDubboAnswer(captured.answer, captured.completed, request.serializationId, redaction);
  const group = request.attachments['group'];
  const truncated = request.partial || (captured.answer !== undefined && isCut(captured.answer));
  return {
    ...commonFields(captured, seq),
    service: request.service,
    ...(typeof group === 'string' && group !== '' ? {group} : {}),
    ...(request.version !== undefined ? {version: request.version} : {}),
    method: request.method,
    parameterTypes: request.parameterTypes,
    arguments: request.arguments,
    attachments: redaction.apply(request.attachments),
    answer,
    ...(request.undecoded !== undefined ? {undecodedRequest: request.undecoded} : {}),
    ...(truncated ? {truncated: true} : {}),
  };
}

function readDubboRequest(captured: CapturedBytes): DubboRequest {
  const frame = captured.bytes;
  const result: DubboRequest = {
    service: undefined, version: undefined, method: undefined, parameterTypes: [], arguments: undefined, attachments: {},
    undecoded: undefined, partial: isCut(captured), serializationId: undefined,
  };
  if (frame.length < HEADER_LENGTH) {
    result.undecoded = {reason: 'the request is shorter than a Dubbo header', hexHead: hexHead(frame)};
    return result;
  }
  const header = readHeader(frame);
  const body = frame.subarray(HEADER_LENGTH, HEADER_LENGTH + Math.max(0, header.bodyLength));
  result.serializationId = header.serializationId;
  if (header.serializationId !== SERIALIZATION.HESSIAN2) {
    readOtherSerialization(header.serializationId, body, result);
    return result;
  }
  const decoder = new DecoderV2(body);
  // hessian.js does not always throw when a value runs past the end of its buffer: it may hand
  // back a shorter string or NaN. So a value counts only when it ended within the bytes there are.
  const read = (withType: boolean): unknown => {
    const value = decoder.read(withType);
    if (decoder.byteBuffer.position() > body.length) throw new Error('a value runs past the end of the bytes');
    return value;
  };
  // What is read so far stays in `result`: a body cut at the capture bound keeps its whole values.
  try {
    read(false); // dubbo version
    result.service = textOrUndefined(read(false));
    result.version = textOrUndefined(read(false));
    result.method = textOrUndefined(read(false));
    const descriptor = read(false);
    if (typeof descriptor !== 'string') throw new Error(`the parameter types (field 5) are not a string: ${typeof descriptor}`);
    result.parameterTypes = descriptorTypeNames(descriptor);
    const args: unknown[] = [];
    result.arguments = args;
    for (let i = 0; i < result.parameterTypes.length; i++) args.push(toValueForm(read(true)));
    // DecodeableRpcInvocation reads attachments only when bytes remain.
    if (decoder.byteBuffer.position() < body.length) {
      const attachments = toValueForm(read(true));
      if (attachments !== null && typeof attachments === 'object' && !Array.isArray(attachments)) result.attachments = attachments as Record<string, unknown>;
    }
  } catch (error) {
    if (!result.partial) result.undecoded = {reason: `cannot decode the hessian2 request: ${errorMessage(error)}`, hexHead: hexHead(body)};
  }
  return result;
}

/**
 * A body in another serialization: the router's peek still names service, method and attachments
 * for fastjson2; the arguments stay undecoded.
 */
function readOtherSerialization(serializationId: number, body: Buffer, result: DubboRequest): void {
  const peek = tryPeekRequest(serializationId, body);
  if (peek.readable) {
    result.service = textOrUndefined(peek.request.service);
    result.version = textOrUndefined(peek.request.serviceVersion);
    result.method = textOrUndefined(peek.request.method);
    try {
      result.parameterTypes = descriptorTypeNames(peek.request.parameterTypes);
    } catch {
      result.parameterTypes = [];
    }
    const attachments: Record<string, unknown> = {};
    for (const [name, value] of peek.request.attachments) attachments[name] = toValueForm(value);
    result.attachments = attachments;
  }
  result.undecoded = {reason: `the arguments are serialized with ${serializationName(serializationId)}; only hessian2 is decoded`, hexHead: hexHead(body)};
}

function readDubboAnswer(captured: CapturedBytes, completed: RequestCompleted, requestSerialization: number | undefined, redaction: Redaction): CallAnswer {
  const frame = captured.bytes;
  if (frame.length < HEADER_LENGTH) return {kind: 'undecoded', reason: 'the answer is shorter than a Dubbo header', hexHead: hexHead(frame)};
  const header = readHeader(frame);
  const body = frame.subarray(HEADER_LENGTH);
  if (header.status !== STATUS.OK) return errorAnswer(header.status, frame, completed);
  if (isCut(captured)) return {kind: 'undecoded', reason: cutReason(captured), hexHead: hexHead(body)};
  if (header.serializationId !== SERIALIZATION.HESSIAN2) {
    const of = requestSerialization === header.serializationId ? '' : ` (the request's was ${serializationName(requestSerialization ?? -1)})`;
    return {kind: 'undecoded', reason: `the answer is serialized with ${serializationName(header.serializationId)}${of}; only hessian2 is decoded`, hexHead: hexHead(body)};
  }
  const decoded = decodeResponse(header, frame, true);
  switch (decoded.kind) {
    case 'value':
      return {kind: 'value', value: toValueForm(decoded.value), ...answerAttachments(decoded.attachments, redaction)};
    case 'exception':
      return {kind: 'exception', className: decoded.exceptionClass, message: decoded.message, ...answerAttachments(decoded.attachments, redaction)};
    case 'error':
      return {kind: 'error', message: decoded.message, ...(completed.code !== undefined ? {code: completed.code} : {})};
    case 'bad-response':
      return {kind: 'undecoded', reason: decoded.message, hexHead: hexHead(body)};
  }
}

/** A non-OK status: the body is the error text (readUTF); dubbo-tunnel's own answers carry a code. */
function errorAnswer(status: number, frame: Buffer, completed: RequestCompleted): CallAnswer {
  let message = completed.error;
  if (message === undefined) {
    const decoded = decodeResponse(readHeader(frame), frame);
    message = decoded.kind === 'error' && decoded.message !== '(no message)' ? decoded.message : `${statusName(status) ?? 'status'} (${status})`;
  }
  return {kind: 'error', message, ...(completed.code !== undefined ? {code: completed.code} : {})};
}

function answerAttachments(attachments: Record<string, unknown>, redaction: Redaction): {attachments?: Record<string, unknown>} {
  const form = toValueForm(attachments);
  if (form === null || typeof form !== 'object' || Array.isArray(form) || Object.keys(form).length === 0) return {};
  return {attachments: redaction.apply(form as Record<string, unknown>)};
}

function textOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Triple

function decodeTripleCall(captured: CapturedTripleCall, seq: number, redaction: Redaction): CallRecord {
  const {service, method} = parseGrpcPath(captured.path);
  const requestHeaders = redaction.apply(captured.requestHeaders);
  const attachments: Record<string, string> = {};
  for (const [name, value] of Object.entries(requestHeaders)) if (!name.startsWith(':')) attachments[name] = value;
  // A trailers-only answer (an error before any message) puts grpc-status in the response headers.
  const statusSource = captured.trailers ?? captured.responseHeaders ?? {};
  const statusText = statusSource['grpc-status'];
  const grpcStatus = statusText !== undefined && /^\d+$/.test(statusText) ? Number(statusText) : undefined;
  const messageText = statusSource['grpc-message'];
  const grpcMessage = messageText === undefined ? undefined : decodeGrpcMessage(messageText);
  const request = readTripleRequest(captured.request, captured.requestHeaders['content-type'] ?? '');
  const answer = readTripleAnswer(captured, grpcStatus, grpcMessage, redaction);
  const group = captured.requestHeaders['tri-service-group'];
  const version = captured.requestHeaders['tri-service-version'];
  const truncated = isCut(captured.request) || isCut(captured.answer);
  return {
    ...commonFields(captured, seq),
    service,
    ...(group !== undefined && group !== '' ? {group} : {}),
    ...(version !== undefined && version !== '' ? {version} : {}),
    method,
    parameterTypes: request.parameterTypes,
    arguments: request.arguments,
    attachments,
    answer,
    triple: {
      path: captured.path,
      requestHeaders,
      responseHeaders: captured.responseHeaders === undefined ? undefined : redaction.apply(captured.responseHeaders),
      trailers: captured.trailers === undefined ? undefined : redaction.apply(captured.trailers),
      grpcStatus,
      grpcMessage,
    },
    ...(request.undecoded !== undefined ? {undecodedRequest: request.undecoded} : {}),
    ...(truncated ? {truncated: true} : {}),
  };
}

type PayloadKind = 'json' | 'grpc-json' | 'grpc-proto' | 'other';

function payloadKind(contentType: string): PayloadKind {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'application/grpc+json') return 'grpc-json';
  if (type === 'application/grpc' || type === 'application/grpc+proto') return 'grpc-proto';
  return 'other';
}

/** The whole gRPC messages in the bytes (5-byte prefix: compressed flag, big-endian length). */
function grpcMessages(bytes: Buffer): {messages: Buffer[]; compressed: boolean} {
  const messages: Buffer[] = [];
  let offset = 0;
  let compressed = false;
  while (offset + 5 <= bytes.length) {
    const length = bytes.readUInt32BE(offset + 1);
    if (offset + 5 + length > bytes.length) break;
    if (bytes[offset] !== 0) compressed = true;
    messages.push(bytes.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return {messages, compressed};
}

interface TripleRequest {
  parameterTypes: string[];
  arguments: unknown[] | undefined;
  undecoded: UndecodedPart | undefined;
}

function readTripleRequest(captured: CapturedBytes, contentType: string): TripleRequest {
  const bytes = captured.bytes;
  const kind = payloadKind(contentType);
  try {
    if (kind === 'json') {
      // Triple's unary JSON form: the body is the arguments, as an array when there are several.
      if (isCut(captured)) return {parameterTypes: [], arguments: undefined, undecoded: {reason: cutReason(captured), hexHead: hexHead(bytes)}};
      const value = JSON.parse(bytes.toString('utf8')) as unknown;
      return {parameterTypes: [], arguments: Array.isArray(value) ? value : [value], undecoded: undefined};
    }
    const {messages, compressed} = grpcMessages(bytes);
    if (compressed) return {parameterTypes: [], arguments: undefined, undecoded: {reason: 'the messages are compressed (grpc-encoding)', hexHead: hexHead(bytes)}};
    if (kind === 'grpc-json') {
      return {parameterTypes: [], arguments: messages.map((message) => JSON.parse(message.toString('utf8')) as unknown), undecoded: undefined};
    }
    if (kind === 'grpc-proto' && messages.length === 1 && messages[0] !== undefined) {
      const wrapper = decodeTripleRequestWrapper(messages[0]);
      if (isHessian(wrapper.serializeType)) {
        const args = wrapper.args.map((arg) => toValueForm(new DecoderV2(arg).read(true)));
        return {parameterTypes: [...wrapper.argTypes], arguments: args, undecoded: undefined};
      }
      return {parameterTypes: [...wrapper.argTypes], arguments: undefined, undecoded: {reason: `the arguments are serialized with ${wrapper.serializeType}; only hessian2 is decoded`, hexHead: hexHead(bytes)}};
    }
  } catch (error) {
    if (kind !== 'grpc-proto') return {parameterTypes: [], arguments: undefined, undecoded: {reason: `cannot decode the ${contentType} request: ${errorMessage(error)}`, hexHead: hexHead(bytes)}};
  }
  const reason = kind === 'grpc-proto' ? 'protobuf without a schema (not Triple wrapper mode)' : `content type ${JSON.stringify(contentType)} is not decoded`;
  return {parameterTypes: [], arguments: undefined, undecoded: {reason: isCut(captured) ? `${reason}; ${cutReason(captured)}` : reason, hexHead: hexHead(bytes)}};
}

function readTripleAnswer(captured: CapturedTripleCall, grpcStatus: number | undefined, grpcMessage: string | undefined, redaction: Redaction): CallAnswer | undefined {
  const completed = captured.completed;
  const code = completed.code !== undefined ? {code: completed.code} : {};
  if (grpcStatus !== undefined && grpcStatus !== 0) {
    return {kind: 'error', message: grpcMessage ?? completed.error ?? grpcStatusName(grpcStatus), ...code};
  }
  if (completed.error !== undefined) return {kind: 'error', message: completed.error, ...code};
  const bytes = captured.answer.bytes;
  if (captured.responseHeaders === undefined && bytes.length === 0) return undefined;
  const contentType = captured.responseHeaders?.['content-type'] ?? captured.requestHeaders['content-type'] ?? '';
  const kind = payloadKind(contentType);
  const undecoded = (reason: string): CallAnswer => ({kind: 'undecoded', reason, hexHead: hexHead(bytes)});
  if (isCut(captured.answer)) return undecoded(cutReason(captured.answer));
  try {
    if (kind === 'json') return {kind: 'value', value: JSON.parse(bytes.toString('utf8')) as unknown};
    const {messages, compressed} = grpcMessages(bytes);
    if (compressed) return undecoded('the messages are compressed (grpc-encoding)');
    if (kind === 'grpc-json') {
      const values = messages.map((message) => JSON.parse(message.toString('utf8')) as unknown);
      return {kind: 'value', value: values.length === 1 ? values[0] : values};
    }
    if (kind === 'grpc-proto' && messages.length === 1 && messages[0] !== undefined) {
      const wrapper = decodeTripleResponseWrapper(messages[0]);
      if (!isHessian(wrapper.serializeType)) return undecoded(`the answer is serialized with ${wrapper.serializeType}; only hessian2 is decoded`);
      const value = wrapper.data === undefined || wrapper.data.length === 0 ? null : toValueForm(new DecoderV2(wrapper.data).read(true));
      const headers = captured.responseHeaders === undefined ? {} : attachmentHeaders(redaction.apply(captured.responseHeaders));
      return {kind: 'value', value, ...(Object.keys(headers).length > 0 ? {attachments: headers} : {})};
    }
  } catch (error) {
    if (kind !== 'grpc-proto') return undecoded(`cannot decode the ${contentType} answer: ${errorMessage(error)}`);
  }
  return undecoded(kind === 'grpc-proto' ? 'protobuf without a schema (not Triple wrapper mode)' : `content type ${JSON.stringify(contentType)} is not decoded`);
}

/** Triple's answer attachments are its response headers other than HTTP/2's and gRPC's own. */
function attachmentHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || name === 'content-type' || name.startsWith('grpc-') || name === 'date') continue;
    out[name] = value;
  }
  return out;
}

/** A wrapper's serializeType for hessian2: `hessian4` on the wire (ReflectionPackableMethod), `hessian2` by name. */
function isHessian(serializeType: string): boolean {
  return serializeType === WRAPPER_HESSIAN2 || serializeType === 'hessian2';
}
