import http2 from 'node:http2';
import type {IncomingHttpHeaders, OutgoingHttpHeaders} from 'node:http2';
import type {BackendPort} from '../../core/backend.js';
import {DubboTunnelError, errorMessage} from '../../core/errors.js';
import type {EncodedArguments} from '../../client/arguments.js';
import {JSON_CODEC, tripleTargetHeaders, wrapperCodec} from '../../client/triple-client.js';
import type {TripleCodec} from '../../client/triple-client.js';
import {GRPC_STATUS, GrpcAnswerReader, encodeGrpcMessageFrame, grpcRequestHeaders} from '../../protocol/grpc.js';
import type {Failure} from '../completion.js';
import {headerStrings} from '../http2/triple-copy.js';
import type {TripleCallCopy} from '../http2/triple-copy.js';
import type {TripleUpstreams} from '../http2/triple-upstreams.js';
import type {JsonCall} from './call-request.js';
import {toValueForm} from '../../inspect/java-values.js';
import {codedAnswer, grpcStatusAnswer, unreadableAnswer} from './http-answers.js';
import type {HttpAnswer} from './http-answers.js';

export interface TripleJsonCallOptions {
  readonly call: JsonCall;
  readonly application: string;
  readonly port: BackendPort;
  readonly upstreams: TripleUpstreams;
  readonly connectionId: number;
  readonly attachmentKey: string;
  /** The largest answer message read (the payload limit). */
  readonly maxMessageLength: number;
  /**
   * `json`: the arguments as they were, for a service that takes `application/grpc+json`;
   * `encoded`: as the Dubbo encoder shaped them, sent in wrapper mode (hessian2).
   */
  readonly arguments: {readonly json: readonly unknown[]} | {readonly encoded: EncodedArguments};
  /** Given the request headers as the stream opens: a copy to fill for the call inspector, or undefined while capture is off. */
  readonly capture: (headers: OutgoingHttpHeaders) => TripleCallCopy | undefined;
}

/** How a Triple call ended: the HTTP answer, and what its exchange reports. */
export interface TripleOutcome {
  readonly answer: HttpAnswer;
  /** The gRPC status the provider gave; undefined when dubbo-tunnel answered (see failure). */
  readonly grpcStatus: number | undefined;
  readonly failure?: Failure;
}

export interface RunningTripleCall {
  readonly answer: Promise<TripleOutcome>;
  /** The caller gave up (timeout, stop): the provider's stream is cancelled. */
  cancel(): void;
}

/**
 * One HTTP call sent as a Triple unary call on the listener's shared session to the application's
 * Triple port: `POST /<interface>/<method>` with the service key and attachments as headers, as a
 * Dubbo 3 consumer of a non-IDL interface sends it. The answer is decoded to JSON.
 */
export function tripleJsonCall(options: TripleJsonCallOptions): RunningTripleCall {
  const {call} = options;
  const codec: TripleCodec = 'json' in options.arguments ? JSON_CODEC : wrapperCodec(options.arguments.encoded.typeNames, true);
  const values = 'json' in options.arguments ? options.arguments.json : options.arguments.encoded.args;
  let cancelled = false;
  let cancelStream: (() => void) | undefined;
  const answer = (async (): Promise<TripleOutcome> => {
    let upstream;
    try {
      upstream = await options.upstreams.upstreamFor(options.application, options.port, options.connectionId);
    } catch (error) {
      const code = error instanceof DubboTunnelError ? error.code : 'DT_ERR_BACKEND_UNAVAILABLE';
      return refused(code, `${errorMessage(error)}; ${call.service}#${call.method} was not sent`);
    }
    if (cancelled) return refused('DT_ERR_HTTP_TIMEOUT', 'cancelled');
    return new Promise<TripleOutcome>((resolve) => {
      const headers: OutgoingHttpHeaders = {
        ...grpcRequestHeaders(`/${call.service}/${call.method}`, codec.contentType, call.timeoutMs),
        ...tripleTargetHeaders({application: call.application, attachmentKey: options.attachmentKey, version: call.version, group: call.group, attachments: call.attachments}),
      };
      const copy = options.capture(headers);
      let stream;
      try {
        stream = upstream.session.request({...headers, ...upstream.requestHeaders?.()});
      } catch (error) {
        resolve(refused('DT_ERR_BACKEND_UNAVAILABLE', `${upstream.failure ?? errorMessage(error)}; ${call.service}#${call.method} was not sent`));
        return;
      }
      cancelStream = () => stream.close(http2Cancel);
      const reader = new GrpcAnswerReader(options.maxMessageLength);
      let unreadable: string | undefined;
      stream.on('response', (response: IncomingHttpHeaders) => {
        reader.headers(response);
        if (copy !== undefined) copy.responseHeaders = headerStrings(response);
      });
      stream.on('trailers', (trailers: IncomingHttpHeaders) => {
        reader.trailers(trailers);
        if (copy !== undefined) copy.trailers = headerStrings(trailers);
      });
      stream.on('data', (chunk: Buffer) => {
        copy?.answer.add(chunk);
        try {
          reader.data(chunk);
        } catch (error) {
          unreadable = errorMessage(error);
          stream.close(http2Cancel);
        }
      });
      stream.on('error', () => undefined); // the outcome is read on 'close'
      stream.on('close', () => resolve(outcome(reader, unreadable, codec, upstream.failure)));
      const message = encodeGrpcMessageFrame(codec.encode(values));
      copy?.request.add(message);
      stream.end(message);
    });
  })();
  return {
    answer,
    cancel: () => {
      cancelled = true;
      cancelStream?.();
    },
  };
}

/** The caller no longer waits: the provider's stream is reset with CANCEL. */
const http2Cancel = http2.constants.NGHTTP2_CANCEL;

function refused(code: Failure['code'], message: string): TripleOutcome {
  return {answer: codedAnswer(code, message), grpcStatus: undefined, failure: {code, message: `dubbo-tunnel [${code}]: ${message}`}};
}

function outcome(reader: GrpcAnswerReader, unreadable: string | undefined, codec: TripleCodec, sessionFailure: string | undefined): TripleOutcome {
  if (unreadable !== undefined) return {answer: unreadableAnswer(unreadable), grpcStatus: undefined};
  const status = reader.status();
  if (status === undefined) {
    return refused('DT_ERR_BACKEND_CLOSED', `${sessionFailure ?? `the Triple answer ended without a gRPC status (HTTP ${reader.httpStatus ?? 'no response'})`}; the call may or may not have run on the provider`);
  }
  if (status.code !== GRPC_STATUS.OK) return {answer: grpcStatusAnswer(status.code, status.message), grpcStatus: status.code};
  const first = reader.messages[0];
  if (first === undefined) return {answer: {status: 200, body: null}, grpcStatus: status.code};
  try {
    return {answer: {status: 200, body: toValueForm(codec.decode(first))}, grpcStatus: status.code};
  } catch (error) {
    return {answer: unreadableAnswer(`the answer is not a ${codec.contentType} message this port can read: ${errorMessage(error)}`), grpcStatus: status.code};
  }
}
