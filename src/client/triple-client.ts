/**
 * `dubbo-tunnel call --triple`: one unary Triple call over HTTP/2 (prior knowledge, cleartext) to
 * the local port, the way a Dubbo 3 JSON client calls a non-IDL interface: `POST /<interface>/<method>`,
 * `content-type: application/grpc+json`, the arguments as one JSON array message.
 */
import http2 from 'node:http2';
import type {IncomingHttpHeaders} from 'node:http2';
import {GRPC_STATUS, GrpcMessageReader, decodeGrpcMessage, encodeGrpcMessageFrame, grpcStatusName} from '../protocol/grpc.js';

const MAX_MESSAGE = 64 * 1024 * 1024;

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
}

export type TripleCallResult =
  | {kind: 'value'; value: unknown}
  | {kind: 'status'; code: number; statusName: string; message: string}
  | {kind: 'connect-failed' | 'closed' | 'timeout' | 'bad-response'; message: string; code?: string};

export function callTriple(options: TripleCallOptions): Promise<TripleCallResult> {
  return new Promise((resolve) => {
    let settled = false;
    const session = http2.connect(`http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`);
    const done = (result: TripleCallResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.close();
      session.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({kind: 'timeout', message: `no answer within ${options.timeoutMs} ms`}), options.timeoutMs);
    session.on('error', (error: NodeJS.ErrnoException) => {
      const where = `${options.host}:${options.port}`;
      done(error.code === 'ECONNREFUSED'
        ? {kind: 'connect-failed', code: error.code, message: `cannot connect to ${where}: connection refused`}
        : {kind: 'closed', message: `connection to ${where} failed: ${error.message}`});
    });
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': `/${options.service}/${options.method}`,
      'content-type': 'application/grpc+json',
      'te': 'trailers',
      'grpc-timeout': `${Math.max(1, Math.floor(options.timeoutMs))}m`,
      ...options.attachments,
      ...(options.application === undefined ? {} : {[options.attachmentKey]: options.application}),
      ...(options.version === undefined ? {} : {'tri-service-version': options.version}),
      ...(options.group === undefined ? {} : {'tri-service-group': options.group}),
    };
    const stream = session.request(headers);
    const reader = new GrpcMessageReader(MAX_MESSAGE);
    const messages: Buffer[] = [];
    let statusHeaders: IncomingHttpHeaders | undefined;
    stream.on('response', (response) => {
      if (response['grpc-status'] !== undefined) statusHeaders = response;
    });
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      statusHeaders = trailers;
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        messages.push(...reader.push(chunk));
      } catch (error) {
        done({kind: 'bad-response', message: error instanceof Error ? error.message : String(error)});
      }
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      const status = statusHeaders?.['grpc-status'];
      if (status === undefined) {
        done({kind: 'closed', message: `the stream ended without a gRPC status (HTTP/2 code ${stream.rstCode ?? '?'})`});
        return;
      }
      const code = Number(status);
      if (code !== GRPC_STATUS.OK) {
        const text = statusHeaders?.['grpc-message'];
        done({kind: 'status', code, statusName: grpcStatusName(code), message: decodeGrpcMessage(typeof text === 'string' ? text : '')});
        return;
      }
      try {
        done({kind: 'value', value: messages.length === 0 ? null : JSON.parse(messages[0]?.toString('utf8') ?? 'null')});
      } catch {
        done({kind: 'bad-response', message: 'the answer is not JSON (does the provider serve application/grpc+json?)'});
      }
    });
    stream.end(encodeGrpcMessageFrame(Buffer.from(JSON.stringify(options.args), 'utf8')));
  });
}
