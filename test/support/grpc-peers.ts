// gRPC providers and clients for the Triple path, built on @grpc/grpc-js and @grpc/proto-loader
// (an independent HTTP/2 + gRPC implementation): imports nothing from src/.
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'grpc', 'echo.proto');

export const USER_SERVICE = 'tunnel.test.UserService';
export const ORDER_SERVICE = 'tunnel.test.OrderService';

export interface EchoRequest {
  text?: string;
  count?: number;
  delayMs?: number;
  failCode?: number;
  failMessage?: string;
  blob?: Buffer;
}

export interface EchoReply {
  text: string;
  servedBy: string;
  header: string;
  blob: Buffer;
  index: number;
  timeout: string;
}

const definition = protoLoader.loadSync(PROTO, {keepCase: false, longs: Number, defaults: true});
const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  tunnel: {test: {UserService: grpc.ServiceClientConstructor; OrderService: grpc.ServiceClientConstructor}};
};
const SERVICES = {UserService: loaded.tunnel.test.UserService, OrderService: loaded.tunnel.test.OrderService};

export type ServiceName = keyof typeof SERVICES;

type Any = grpc.ServerUnaryCall<EchoRequest, EchoReply>;

/** A gRPC provider application serving both test services; every reply says which application served it. */
export class GrpcProvider {
  readonly application: string;
  readonly port: number;
  readonly #server: grpc.Server;
  /** Calls whose consumer went away (client cancel, deadline, tunnel cancel) as the provider saw them. */
  cancelled = 0;
  /** Calls that started. */
  started = 0;
  /** The metadata keys of every call answered, oldest first (what a proxy passed on). */
  readonly metadataKeys: string[][] = [];

  private constructor(application: string, server: grpc.Server, port: number) {
    this.application = application;
    this.#server = server;
    this.port = port;
  }

  static async start(application: string, port = 0, host = '127.0.0.1'): Promise<GrpcProvider> {
    const server = new grpc.Server();
    const holder: {provider?: GrpcProvider} = {};
    const implementation = GrpcProvider.#implementation(application, () => holder.provider);
    for (const service of Object.values(SERVICES)) server.addService(service.service, implementation);
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, actual) => (error ? reject(error) : resolve(actual)));
    });
    holder.provider = new GrpcProvider(application, server, bound);
    return holder.provider;
  }

  static #implementation(application: string, self: () => GrpcProvider | undefined): grpc.UntypedServiceImplementation {
    const track = (call: {on(event: 'cancelled', listener: () => void): unknown}) => {
      const provider = self();
      if (provider) provider.started++;
      call.on('cancelled', () => {
        const current = self();
        if (current) current.cancelled++;
      });
    };
    const reply = (call: Pick<Any, 'metadata' | 'getDeadline'>, request: EchoRequest, index = 0): EchoReply => {
      const deadline = call.getDeadline();
      self()?.metadataKeys.push(Object.keys(call.metadata.getMap()));
      const finite = deadline instanceof Date ? deadline.getTime() : Number(deadline);
      return {
        text: request.text ?? '',
        servedBy: application,
        header: String(call.metadata.get('x-test')[0] ?? ''),
        blob: request.blob ?? Buffer.alloc(0),
        index,
        timeout: Number.isFinite(finite) ? 'set' : '',
      };
    };
    const failure = (request: EchoRequest): Partial<grpc.StatusObject> | undefined =>
      request.failCode ? {code: request.failCode, details: request.failMessage ?? ''} : undefined;
    return {
      Unary: (call: Any, callback: grpc.sendUnaryData<EchoReply>) => {
        track(call);
        const request = call.request;
        setTimeout(() => {
          if (call.cancelled) return;
          const failed = failure(request);
          if (failed) callback(failed);
          else callback(null, reply(call, request));
        }, request.delayMs ?? 0);
      },
      ServerStream: (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => {
        track(call);
        const request = call.request;
        let index = 0;
        const next = () => {
          if (call.cancelled) return;
          if (index >= (request.count ?? 0)) {
            const failed = failure(request);
            if (failed) call.emit('error', failed);
            else call.end();
            return;
          }
          call.write(reply(call, request, index++));
          setTimeout(next, request.delayMs ?? 0);
        };
        next();
      },
      ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
        track(call);
        const texts: string[] = [];
        let bytes = 0;
        call.on('data', (request: EchoRequest) => {
          texts.push(request.text ?? '');
          bytes += request.blob?.length ?? 0;
        });
        call.on('end', () => callback(null, {...reply(call, {}), text: texts.join(','), index: bytes}));
      },
      Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
        track(call);
        let index = 0;
        call.on('data', (request: EchoRequest) => {
          const failed = failure(request);
          if (failed) {
            call.emit('error', failed);
            return;
          }
          call.write(reply(call, request, index++));
        });
        call.on('end', () => call.end());
      },
    };
  }

  /** Graceful stop (GOAWAY, running calls finish). */
  close(): Promise<void> {
    return new Promise((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  /** Abrupt stop: every connection is cut, as when a pod dies. */
  kill(): void {
    this.#server.forceShutdown();
  }
}

/** One HTTP/2 connection to `target` shared by clients of both services (as one Channel). */
export class GrpcConsumer {
  readonly channel: grpc.Channel;
  readonly #clients = new Map<ServiceName, grpc.Client>();

  constructor(target: string) {
    this.channel = new grpc.Channel(target, grpc.credentials.createInsecure(), {'grpc.enable_retries': 0, 'grpc.use_local_subchannel_pool': 1});
  }

  client(service: ServiceName): grpc.Client & Record<string, (...args: unknown[]) => unknown> {
    let client = this.#clients.get(service);
    if (!client) {
      client = new SERVICES[service](this.channel.getTarget(), grpc.credentials.createInsecure(), {channelOverride: this.channel});
      this.#clients.set(service, client);
    }
    return client as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  }

  unary(service: ServiceName, request: EchoRequest, options: {metadata?: Record<string, string>; deadlineMs?: number} = {}): Promise<EchoReply> {
    const client = this.client(service);
    return new Promise((resolve, reject) => {
      const call = client.Unary as (r: EchoRequest, m: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<EchoReply>) => grpc.ClientUnaryCall;
      call.call(client, request, metadataOf(options.metadata), callOptions(options.deadlineMs), (error, value) => (error ? reject(error) : resolve(value as EchoReply)));
    });
  }

  serverStream(service: ServiceName, request: EchoRequest, options: {metadata?: Record<string, string>; deadlineMs?: number} = {}): grpc.ClientReadableStream<EchoReply> {
    const client = this.client(service);
    const call = client.ServerStream as (r: EchoRequest, m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientReadableStream<EchoReply>;
    return call.call(client, request, metadataOf(options.metadata), callOptions(options.deadlineMs));
  }

  clientStream(service: ServiceName, callback: grpc.requestCallback<EchoReply>, options: {metadata?: Record<string, string>} = {}): grpc.ClientWritableStream<EchoRequest> {
    const client = this.client(service);
    const call = client.ClientStream as (m: grpc.Metadata, o: grpc.CallOptions, cb: grpc.requestCallback<EchoReply>) => grpc.ClientWritableStream<EchoRequest>;
    return call.call(client, metadataOf(options.metadata), {}, callback);
  }

  bidi(service: ServiceName, options: {metadata?: Record<string, string>} = {}): grpc.ClientDuplexStream<EchoRequest, EchoReply> {
    const client = this.client(service);
    const call = client.Bidi as (m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<EchoRequest, EchoReply>;
    return call.call(client, metadataOf(options.metadata), {});
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.channel.close();
  }
}

/** Collects a server stream: its replies and its final status. */
export function collect(stream: grpc.ClientReadableStream<EchoReply>): Promise<{replies: EchoReply[]; status: grpc.StatusObject}> {
  const replies: EchoReply[] = [];
  return new Promise((resolve) => {
    stream.on('data', (reply: EchoReply) => replies.push(reply));
    stream.on('error', () => undefined);
    stream.on('status', (status: grpc.StatusObject) => resolve({replies, status}));
  });
}

function metadataOf(headers: Record<string, string> | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(headers ?? {})) metadata.set(key, value);
  return metadata;
}

function callOptions(deadlineMs: number | undefined): grpc.CallOptions {
  return deadlineMs === undefined ? {} : {deadline: Date.now() + deadlineMs};
}

export {grpc};
