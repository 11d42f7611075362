/**
 * `dubbo-tunnel call --triple`: one unary Triple (gRPC) call over HTTP/2 (prior knowledge,
 * cleartext) to the local port. By default the way a Dubbo 3 JSON client calls a non-IDL
 * interface: `POST /<interface>/<method>`, `content-type: application/grpc+json`, the arguments as
 * one JSON array message. With a protobuf method (protobuf-schema.ts) the request is that message,
 * encoded from the JSON argument, and the answer is decoded back to JSON.
 */
import http2 from 'node:http2';
import type {IncomingHttpHeaders, OutgoingHttpHeaders} from 'node:http2';
import hessian from 'hessian.js';
import {GRPC_STATUS, GrpcAnswerReader, encodeGrpcMessageFrame, grpcRequestHeaders, grpcStatusName} from '../protocol/grpc.js';
import {TRIPLE_CONTENT_TYPE, WRAPPER_HESSIAN2, decodeTripleResponseWrapper, encodeTripleRequestWrapper} from '../protocol/triple-wrapper.js';

const MAX_MESSAGE = 64 * 1024 * 1024;

/** How the request message is written and the answer read; JSON_CODEC unless a schema says otherwise. */
export interface TripleCodec {
  readonly contentType: string;
  encode(args: readonly unknown[]): Buffer;
  /** Throws when the bytes are not an answer of this codec. */
  decode(message: Buffer): unknown;
}

/** Dubbo 3's JSON serialization for interfaces without IDL: all arguments as one JSON array. */
export const JSON_CODEC: TripleCodec = {
  contentType: 'application/grpc+json',
  encode: (args) => Buffer.from(JSON.stringify(args), 'utf8'),
  decode: (message) => JSON.parse(message.toString('utf8')) as unknown,
};

/**
 * Dubbo 3's wrapper mode for a Java interface without IDL (application/grpc+proto): each argument
 * written on its own in hessian2 (hessian.js values, shaped as src/client/arguments.ts makes them),
 * with the Java parameter types the provider picks the method by; the answer is one hessian2
 * value in a TripleResponseWrapper (ReflectionPackableMethod, Dubbo 3.2). `withType`: the answer
 * as hessian.js typed values (`{$class, $}`), for the call inspector's value form.
 */
export function wrapperCodec(typeNames: readonly string[], withType = false): TripleCodec {
  return {
    contentType: TRIPLE_CONTENT_TYPE,
    encode: (args) => encodeTripleRequestWrapper({
      serializeType: WRAPPER_HESSIAN2,
      args: args.map((arg) => new hessian.EncoderV2().write(arg).get()),
      argTypes: typeNames,
    }),
    decode: (message) => {
      const {data} = decodeTripleResponseWrapper(message);
      return data === undefined || data.length === 0 ? null : new hessian.DecoderV2(data).read(withType);
    },
  };
}

export interface TripleCallOptions {
  host: string;
  port: number;
  /** Sent as the `target-application` header (or `attachmentKey`); undefined sends none. */
  application: string | undefined;
  attachmentKey: string;
  service: string;
  method: string;
  /** JSON values, one per parameter. */
  args: readonly unknown[];
  timeoutMs: number;
  version?: string;
  group?: string;
  attachments?: Record<string, string>;
  /** Default: JSON_CODEC. */
  codec?: TripleCodec;
}

export type TripleCallResult =
  | {kind: 'value'; value: unknown}
  | {kind: 'status'; code: number; statusName: string; message: string}
  | {kind: 'connect-failed' | 'closed' | 'timeout' | 'bad-response'; message: string; code?: string};

/** What one gRPC exchange gave: the status and every message, or why there was no status. */
export type GrpcExchangeResult =
  /** `headers` and `trailers` as they came (replay decodes the answer the way a recording did). */
  | {kind: 'answered'; code: number; message: string; messages: Buffer[]; headers?: Record<string, string>; trailers?: Record<string, string>}
  | {kind: 'connect-failed' | 'closed' | 'timeout' | 'bad-response'; message: string; code?: string};

export interface GrpcExchange {
  host: string;
  port: number;
  path: string;
  contentType: string;
  /** Sent after the pseudo-headers, content type, `te` and `grpc-timeout`. */
  headers: OutgoingHttpHeaders;
  /** The request messages (without the 5-byte prefix); the stream is half-closed after the last. */
  messages: readonly Buffer[];
  timeoutMs: number;
}

/** Opens a session, sends `messages` on one stream and collects the answer; the session is closed after. */
export function grpcExchange(call: GrpcExchange): Promise<GrpcExchangeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const session = http2.connect(`http://${call.host.includes(':') ? `[${call.host}]` : call.host}:${call.port}`);
    const done = (result: GrpcExchangeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.close();
      session.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({kind: 'timeout', message: `no answer within ${call.timeoutMs} ms`}), call.timeoutMs);
    session.on('error', (error: NodeJS.ErrnoException) => {
      const where = `${call.host}:${call.port}`;
      done(error.code === 'ECONNREFUSED'
        ? {kind: 'connect-failed', code: error.code, message: `cannot connect to ${where}: connection refused`}
        : {kind: 'closed', message: `connection to ${where} failed: ${error.message}`});
    });
    const stream = session.request({...grpcRequestHeaders(call.path, call.contentType, call.timeoutMs), ...call.headers});
    const answer = new GrpcAnswerReader(MAX_MESSAGE);
    let responseHeaders: Record<string, string> | undefined;
    let responseTrailers: Record<string, string> | undefined;
    stream.on('response', (response) => {
      responseHeaders = headerText(response);
      answer.headers(response);
    });
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      responseTrailers = headerText(trailers);
      answer.trailers(trailers);
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        answer.data(chunk);
      } catch (error) {
        done({kind: 'bad-response', message: error instanceof Error ? error.message : String(error)});
      }
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      const status = answer.status();
      if (status === undefined) {
        done({kind: 'closed', message: `the stream ended without a gRPC status (HTTP/2 code ${stream.rstCode ?? '?'})`});
        return;
      }
      done({kind: 'answered', ...status, messages: answer.messages, ...(responseHeaders === undefined ? {} : {headers: responseHeaders}), ...(responseTrailers === undefined ? {} : {trailers: responseTrailers})});
    });
    for (const message of call.messages) stream.write(encodeGrpcMessageFrame(message));
    stream.end();
  });
}

/** Header values as text (a repeated header joined with `, `, as HTTP allows). */
function headerText(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** The headers that name the target: the application (when given), version and group, attachments. */
export function tripleTargetHeaders(options: Pick<TripleCallOptions, 'application' | 'attachmentKey' | 'version' | 'group' | 'attachments'>): OutgoingHttpHeaders {
  return {
    ...options.attachments,
    ...(options.application === undefined ? {} : {[options.attachmentKey]: options.application}),
    ...(options.version === undefined ? {} : {'tri-service-version': options.version}),
    ...(options.group === undefined ? {} : {'tri-service-group': options.group}),
  };
}

export async function callTriple(options: TripleCallOptions): Promise<TripleCallResult> {
  const codec = options.codec ?? JSON_CODEC;
  const result = await grpcExchange({
    host: options.host,
    port: options.port,
    path: `/${options.service}/${options.method}`,
    contentType: codec.contentType,
    headers: tripleTargetHeaders(options),
    messages: [codec.encode(options.args)],
    timeoutMs: options.timeoutMs,
  });
  if (result.kind !== 'answered') return result;
  if (result.code !== GRPC_STATUS.OK) return {kind: 'status', code: result.code, statusName: grpcStatusName(result.code), message: result.message};
  const first = result.messages[0];
  if (first === undefined) return {kind: 'value', value: null};
  try {
    return {kind: 'value', value: codec.decode(first)};
  } catch (error) {
    return {kind: 'bad-response', message: codec === JSON_CODEC
      ? 'the answer is not JSON (does the provider serve application/grpc+json? For a protobuf service give --proto <file>)'
      : `the answer is not a ${codec.contentType} message of the method's type: ${error instanceof Error ? error.message : String(error)}`};
  }
}
