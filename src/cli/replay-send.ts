/**
 * Sending a recorded call again (`replay`, `call --from`) and reading its answer the way the
 * recording read the first one: the replayed request and answer bytes go through the same
 * `decodeCall` as captured calls, so the two answers are compared in one value form.
 *
 * A Dubbo call is re-encoded from its `parameterTypes` and `arguments` (src/client/arguments.ts),
 * with its attachments minus the redacted ones, and the target application set to `--to` or the
 * one it was routed to. A Triple call is re-sent when its payload was readable JSON or hessian2
 * wrapper mode; a protobuf payload without a schema cannot be rebuilt and is skipped.
 */
import http2 from 'node:http2';
import type {IncomingHttpHeaders} from 'node:http2';
import hessian from 'hessian.js';
import type {CapturedCall} from '../core/calls.js';
import type {RequestCompleted} from '../core/events.js';
import type {ErrorCode} from '../core/errors.js';
import {errorMessage} from '../core/errors.js';
import {buildArguments} from '../client/arguments.js';
import {parseJavaType} from '../client/java-types.js';
import {callOnce, encodeRequest} from '../client/dubbo-client.js';
import type {CallOptions, CallResult} from '../client/dubbo-client.js';
import {grpcExchange} from '../client/triple-client.js';
import {encodeGrpcMessageFrame, grpcStatusName} from '../protocol/grpc.js';
import {statusName as dubboStatusName} from '../protocol/header.js';
import {TRIPLE_CONTENT_TYPE, WRAPPER_HESSIAN2, encodeTripleRequestWrapper} from '../protocol/triple-wrapper.js';
import type {CallAnswer, CallRecord} from '../inspect/call-record.js';
import {decodeCall} from '../inspect/decode-call.js';
import {REDACTED, Redaction} from '../inspect/redaction.js';

const {EncoderV2} = hessian;

export interface ReplayTarget {
  readonly host: string;
  readonly port: number;
  /** `--to`: the application to send to instead of the recorded one. */
  readonly to: string | undefined;
  /** The attachment (Triple: header) that names the application. */
  readonly attachmentKey: string;
  readonly timeoutMs: number;
}

/** How one re-sent call went: its answer (in the recording's value form), no answer, or not sent. */
export type ReplayOutcome =
  | {readonly kind: 'answered'; readonly answer: CallAnswer | undefined; readonly latencyMs: number}
  | {readonly kind: 'failed'; readonly message: string; readonly code?: ErrorCode; readonly connectRefused: boolean}
  | {readonly kind: 'skipped'; readonly reason: string};

/** Why a recorded call cannot be sent again; undefined when it can. */
export function unsendableReason(record: CallRecord): string | undefined {
  if (record.service === undefined || record.method === undefined) return 'its request could not be read when it was recorded';
  if (record.truncated === true) return 'it was over the capture bound and recorded in part';
  if (record.arguments === undefined) return `its arguments could not be decoded${record.undecodedRequest === undefined ? '' : ` (${record.undecodedRequest.reason})`}`;
  if (record.protocol === 'triple') {
    const kind = tripleKind(record);
    if (kind === undefined) return `its Triple payload is ${contentTypeOf(record) || 'of no content type'} without hessian2 wrapper mode (protobuf needs its schema to be rebuilt)`;
  }
  return undefined;
}

/** The Dubbo request `call --from` and `replay` send for a recorded call (throws on arguments that no longer encode). */
export function dubboRequestOf(record: CallRecord, target: ReplayTarget): CallOptions {
  const {attachmentKey} = target;
  const application = target.to ?? record.application;
  const encoded = buildArguments((record.arguments ?? []).map((value) => JSON.stringify(value)), record.parameterTypes.map(parseJavaType));
  const attachments: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record.attachments)) {
    // A redacted credential cannot be sent again; the provider sees the call without it. The
    // recorded target stays when nothing names another (a call that had no route has none).
    if (value === REDACTED || (name === attachmentKey && application !== undefined)) continue;
    attachments[name] = value;
  }
  return {
    host: target.host,
    port: target.port,
    application,
    attachmentKey,
    service: record.service ?? '',
    method: record.method ?? '',
    parameterTypes: encoded.parameterTypes,
    args: encoded.args,
    attachments,
    timeoutMs: target.timeoutMs,
    ...(record.version === undefined ? {} : {version: record.version}),
    ...(record.group === undefined ? {} : {group: record.group}),
  };
}

/** Sends the recorded call once and decodes its answer; never throws for what the network does. */
export async function replayCall(record: CallRecord, target: ReplayTarget): Promise<ReplayOutcome> {
  const reason = unsendableReason(record);
  if (reason !== undefined) return {kind: 'skipped', reason};
  try {
    return record.protocol === 'dubbo' ? await replayDubbo(record, target) : await replayTriple(record, target);
  } catch (error) {
    // Arguments that no longer encode (a type the recording wrote that the encoder refuses).
    return {kind: 'skipped', reason: `its arguments do not encode again: ${errorMessage(error)}`};
  }
}

async function replayDubbo(record: CallRecord, target: ReplayTarget): Promise<ReplayOutcome> {
  const request = dubboRequestOf(record, target);
  let answerFrame: Buffer | undefined;
  const result = await callOnce({...request, onAnswerFrame: (frame) => (answerFrame = frame)});
  if (answerFrame === undefined) return failure(result);
  const requestFrame = encodeRequest(request);
  const answer = decodeAnswer({
    protocol: 'dubbo',
    at: Date.now(),
    origin: 'consumer',
    completed: completedOf(record, target, result.elapsedMs, answerFrame.readUInt8(3), codeOf(result)),
    request: {bytes: requestFrame, length: requestFrame.length},
    answer: {bytes: answerFrame, length: answerFrame.length},
  });
  return {kind: 'answered', answer, latencyMs: result.elapsedMs};
}

/** No answer frame: the call could not be made or got nothing back. */
function failure(result: CallResult): ReplayOutcome {
  switch (result.kind) {
    case 'connect-failed':
      return {kind: 'failed', message: result.message, code: 'DT_ERR_CALL_CONNECT', connectRefused: result.code === 'ECONNREFUSED'};
    case 'closed':
      return {kind: 'failed', message: result.message, code: 'DT_ERR_CALL_CLOSED', connectRefused: false};
    case 'timeout':
      return {kind: 'failed', message: result.message, code: 'DT_ERR_CALL_TIMEOUT', connectRefused: false};
    case 'bad-response':
    case 'value':
    case 'exception':
    case 'error':
      return {kind: 'failed', message: 'message' in result ? result.message : 'the answer could not be read', code: 'DT_ERR_CALL_BAD_ANSWER', connectRefused: false};
  }
}

type TripleKind = 'grpc-json' | 'json' | 'wrapper';

function contentTypeOf(record: CallRecord): string {
  return (record.triple?.requestHeaders['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** JSON over gRPC, unary JSON (no gRPC framing), or hessian2 wrapper mode; undefined: cannot be rebuilt. */
function tripleKind(record: CallRecord): TripleKind | undefined {
  const type = contentTypeOf(record);
  if (type === 'application/grpc+json') return 'grpc-json';
  if (type === 'application/json') return 'json';
  // Wrapper mode is the only protobuf form whose arguments come with their Java types.
  if ((type === TRIPLE_CONTENT_TYPE || type === 'application/grpc') && record.parameterTypes.length === (record.arguments?.length ?? -1)) return 'wrapper';
  return undefined;
}

/** Headers of the recorded request that are sent again: not HTTP/2's own, not redacted, the target set. */
function tripleHeadersOf(record: CallRecord, target: ReplayTarget): Record<string, string> {
  const application = target.to ?? record.application;
  // The recorded target stays when nothing names another (a call that had no route has none).
  const skip = new Set(['content-type', 'content-length', 'te', 'grpc-timeout', 'user-agent', 'host', 'connection', ...(application === undefined ? [] : [target.attachmentKey])]);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.triple?.requestHeaders ?? {})) {
    if (name.startsWith(':') || skip.has(name) || value === REDACTED) continue;
    headers[name] = value;
  }
  if (application !== undefined) headers[target.attachmentKey] = application;
  return headers;
}

async function replayTriple(record: CallRecord, target: ReplayTarget): Promise<ReplayOutcome> {
  const kind = tripleKind(record);
  const path = record.triple?.path ?? `/${record.service ?? ''}/${record.method ?? ''}`;
  const args = record.arguments ?? [];
  const headers = tripleHeadersOf(record, target);
  const contentType = record.triple?.requestHeaders['content-type'] ?? 'application/grpc+json';
  if (kind === 'json') return replayUnaryJson(record, target, path, headers, contentType, Buffer.from(JSON.stringify(args.length === 1 ? args[0] : args), 'utf8'));
  // A gRPC JSON call is recorded one argument per message (a JSON client sends one: the array of
  // the Java arguments), so each is one message again.
  const messages = kind === 'wrapper' ? [wrapperMessage(record)] : args.map((message) => Buffer.from(JSON.stringify(message), 'utf8'));
  const started = performance.now();
  const result = await grpcExchange({host: target.host, port: target.port, path, contentType, headers, messages, timeoutMs: target.timeoutMs});
  const latencyMs = Math.round(performance.now() - started);
  if (result.kind !== 'answered') {
    return {kind: 'failed', message: result.message, connectRefused: result.kind === 'connect-failed', code: result.kind === 'connect-failed' ? 'DT_ERR_CALL_CONNECT' : result.kind === 'timeout' ? 'DT_ERR_CALL_TIMEOUT' : result.kind === 'closed' ? 'DT_ERR_CALL_CLOSED' : 'DT_ERR_CALL_BAD_ANSWER'};
  }
  const requestBytes = Buffer.concat(messages.map(encodeGrpcMessageFrame));
  const answerBytes = Buffer.concat(result.messages.map(encodeGrpcMessageFrame));
  const answer = decodeAnswer({
    protocol: 'triple',
    at: Date.now(),
    origin: 'consumer',
    completed: {...completedOf(record, target, latencyMs, undefined, undefined), protocol: 'triple', status: result.code, statusName: `grpc ${grpcStatusName(result.code)}`, ok: result.code === 0},
    path,
    requestHeaders: {...headers, 'content-type': contentType},
    request: {bytes: requestBytes, length: requestBytes.length},
    responseHeaders: result.headers,
    answer: {bytes: answerBytes, length: answerBytes.length},
    trailers: result.trailers ?? {'grpc-status': String(result.code)},
  });
  return {kind: 'answered', answer, latencyMs};
}

/** Each argument hessian2-encoded on its own, with the Java types (ReflectionPackableMethod). */
function wrapperMessage(record: CallRecord): Buffer {
  const encoded = buildArguments((record.arguments ?? []).map((value) => JSON.stringify(value)), record.parameterTypes.map(parseJavaType));
  return encodeTripleRequestWrapper({
    serializeType: WRAPPER_HESSIAN2,
    args: encoded.args.map((value) => new EncoderV2().write(value).get()),
    argTypes: record.parameterTypes,
  });
}

/** Triple's unary JSON form: one HTTP/2 POST, the body the arguments, no gRPC framing. */
function replayUnaryJson(record: CallRecord, target: ReplayTarget, path: string, headers: Record<string, string>, contentType: string, body: Buffer): Promise<ReplayOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const session = http2.connect(`http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`);
    const done = (outcome: ReplayOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({kind: 'failed', message: `no answer within ${target.timeoutMs} ms`, code: 'DT_ERR_CALL_TIMEOUT', connectRefused: false}), target.timeoutMs);
    session.on('error', (error: NodeJS.ErrnoException) => done({kind: 'failed', message: `cannot reach ${target.host}:${target.port}: ${error.message}`, code: 'DT_ERR_CALL_CONNECT', connectRefused: error.code === 'ECONNREFUSED'}));
    const stream = session.request({':method': 'POST', ':path': path, 'content-type': contentType, ...headers});
    let responseHeaders: Record<string, string> | undefined;
    let trailers: Record<string, string> | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (response) => (responseHeaders = headerText(response)));
    stream.on('trailers', (received: IncomingHttpHeaders) => (trailers = headerText(received)));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (responseHeaders === undefined) {
        done({kind: 'failed', message: 'the stream ended without an answer', code: 'DT_ERR_CALL_CLOSED', connectRefused: false});
        return;
      }
      const latencyMs = Math.round(performance.now() - started);
      const answerBytes = Buffer.concat(chunks);
      const answer = decodeAnswer({
        protocol: 'triple',
        at: Date.now(),
        origin: 'consumer',
        completed: {...completedOf(record, target, latencyMs, undefined, undefined), protocol: 'triple'},
        path,
        requestHeaders: {...headers, 'content-type': contentType},
        request: {bytes: body, length: body.length},
        responseHeaders,
        answer: {bytes: answerBytes, length: answerBytes.length},
        trailers,
      });
      done({kind: 'answered', answer, latencyMs});
    });
    stream.end(body);
  });
}

function headerText(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  return out;
}

/** Decoded with no names redacted: only the answer is compared, and it is never written anywhere. */
function decodeAnswer(captured: CapturedCall): CallAnswer | undefined {
  return decodeCall(captured, 0, new Redaction()).answer;
}

/** The `request-completed` the tunnel would have emitted for this call, as far as the decoder reads it. */
function completedOf(record: CallRecord, target: ReplayTarget, latencyMs: number, status: number | undefined, code: ErrorCode | undefined): RequestCompleted {
  return {
    connectionId: 0,
    requestId: 1n,
    application: target.to ?? record.application,
    target: `${record.service ?? '?'}#${record.method ?? '?'}`,
    status,
    statusName: status === undefined ? undefined : dubboStatusName(status),
    ok: status === 20,
    latencyMs,
    oneWay: false,
    ...(code === undefined ? {} : {code}),
  };
}

/** dubbo-tunnel's own error answers carry their code in the text: `dubbo-tunnel [DT_ERR_NO_ROUTE]: …`. */
function codeOf(result: CallResult): ErrorCode | undefined {
  if (result.kind !== 'error') return undefined;
  return /^dubbo-tunnel \[(DT_ERR_[A-Z_]+)\]: /.exec(result.message)?.[1] as ErrorCode | undefined;
}
