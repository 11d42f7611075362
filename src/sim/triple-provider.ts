/**
 * The demo's Triple provider: the same demo services over HTTP/2 as Dubbo 3's Triple serves a
 * non-IDL interface to a JSON client, `POST /<interface>/<method>` with gRPC framing and
 * `content-type: application/grpc+json`: the request message is the JSON array of arguments, the
 * answer one JSON message, the outcome in `grpc-status` / `grpc-message` trailers. Unary only.
 */
import http2 from 'node:http2';
import type {ServerHttp2Stream} from 'node:http2';
import {GRPC_STATUS, GrpcMessageReader, encodeGrpcMessage, encodeGrpcMessageFrame, parseGrpcPath} from '../protocol/grpc.js';
import {JavaException} from './demo-provider.js';
import type {DemoService} from './demo-provider.js';

const MAX_MESSAGE = 4 * 1024 * 1024;

export interface TripleDemoProviderOptions {
  application: string;
  pod: string;
  services: readonly DemoService[];
  host?: string;
}

export class TripleDemoProvider {
  readonly host: string;
  readonly port: number;
  readonly pod: string;
  readonly #server: http2.Http2Server;
  readonly #sessions: Set<http2.ServerHttp2Session>;

  private constructor(server: http2.Http2Server, sessions: Set<http2.ServerHttp2Session>, host: string, port: number, pod: string) {
    this.#server = server;
    this.#sessions = sessions;
    this.host = host;
    this.port = port;
    this.pod = pod;
  }

  static async start(options: TripleDemoProviderOptions): Promise<TripleDemoProvider> {
    const host = options.host ?? '127.0.0.1';
    const server = http2.createServer();
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
    });
    server.on('stream', (stream, headers) => answer(stream, headers[':path'], options));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return new TripleDemoProvider(server, sessions, host, port, options.pod);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      // Sessions of a tunnel that is still up would keep close() waiting.
      for (const session of this.#sessions) session.destroy();
    });
  }
}

function answer(stream: ServerHttp2Stream, path: string | undefined, options: TripleDemoProviderOptions): void {
  stream.on('error', () => undefined);
  const finish = (status: number, message: string, body?: unknown) => {
    if (stream.destroyed || stream.closed) return;
    const headers = {':status': 200, 'content-type': 'application/grpc+json'};
    const trailers = {'grpc-status': String(status), ...(message === '' ? {} : {'grpc-message': encodeGrpcMessage(message)})};
    if (body === undefined) {
      stream.respond({...headers, ...trailers}, {endStream: true});
      return;
    }
    stream.respond(headers, {waitForTrailers: true});
    stream.once('wantTrailers', () => stream.sendTrailers(trailers));
    stream.end(encodeGrpcMessageFrame(Buffer.from(JSON.stringify(body) ?? 'null', 'utf8')));
  };
  const {service, method} = parseGrpcPath(path);
  const implementation = options.services.find((candidate) => candidate.interface === service)?.methods[method ?? ''];
  if (!implementation) {
    finish(GRPC_STATUS.UNIMPLEMENTED, `${options.application} has no method ${service ?? '?'}/${method ?? '?'}`);
    return;
  }
  const reader = new GrpcMessageReader(MAX_MESSAGE);
  const messages: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    try {
      messages.push(...reader.push(chunk));
    } catch (error) {
      finish(GRPC_STATUS.INVALID_ARGUMENT, error instanceof Error ? error.message : String(error));
    }
  });
  stream.on('end', () => {
    let args: unknown;
    try {
      args = messages.length === 0 ? [] : JSON.parse(messages[0]?.toString('utf8') ?? '[]');
    } catch {
      finish(GRPC_STATUS.INVALID_ARGUMENT, 'the request message is not JSON');
      return;
    }
    try {
      const value = implementation.invoke({args: Array.isArray(args) ? args : [args], attachments: {}, pod: options.pod});
      finish(GRPC_STATUS.OK, '', plain(value));
    } catch (error) {
      if (error instanceof JavaException) finish(GRPC_STATUS.UNKNOWN, `${error.javaClass}: ${error.message}`);
      else finish(GRPC_STATUS.INTERNAL, error instanceof Error ? error.message : String(error));
    }
  });
}

/** hessian.js typed values (`{$class, $}`) as plain JSON, as a JSON client sees a Java object. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if ('$class' in record && '$' in record) return plain(record.$);
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, plain(item)]));
  }
  return value;
}
