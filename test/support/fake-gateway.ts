// A small team gateway on loopback for the laptop end's tests: it speaks the hello/catalog contract
// with the shared codec (src/gateway/protocol.ts), checks tokens against a table, and answers
// ordinary requests itself like a provider would ('<target-application>:<method>'), so the laptop's
// streams can be counted and their first frames checked. The real gateway is tested end to end
// elsewhere; this one is a real TCP peer with rules simple enough to assert on.
import http2 from 'node:http2';
import type {ClientHttp2Session, IncomingHttpHeaders, ServerHttp2Stream} from 'node:http2';
import net from 'node:net';
import {readHeader} from '../../src/protocol/header.js';
import {
  AUTHORIZATION_HEADER, bearerToken, decodeGatewayRequest, encodeCatalogAnswer, encodeGatewayError, encodeHelloAnswer, isGatewayRequest, parseHello,
} from '../../src/gateway/protocol.js';
import type {Catalog} from '../../src/gateway/protocol.js';
import {decodeRequest, encodeHeartbeatResponse, encodeResponse, WireReader} from './dubbo-wire.js';
import type {WireFrame} from './dubbo-wire.js';

export class FakeGateway {
  catalog: Catalog;
  /** token → username: what a TokenReview would say. */
  readonly users: Map<string, string>;
  /** Connections accepted since the start. */
  connections = 0;
  hellos = 0;
  catalogPolls = 0;
  /** Ordinary requests answered, as `<user> <application>:<method>`. */
  readonly served: string[] = [];
  /** HTTP/2 connections accepted, and the authorization header of each stream (as `<user>` or `refused`). */
  http2Connections = 0;
  readonly http2Streams: string[] = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #http2 = http2.createServer();
  /** Where HTTP/2 streams go once their token is accepted: a gRPC provider (GrpcProvider). */
  readonly #grpcPort: number | undefined;
  #grpc: ClientHttp2Session | undefined;

  private constructor(server: net.Server, catalog: Catalog, users: Map<string, string>, grpcPort: number | undefined) {
    this.#server = server;
    this.catalog = catalog;
    this.users = users;
    this.#grpcPort = grpcPort;
    this.#http2.on('stream', (stream, headers) => this.#forwardGrpc(stream, headers));
    if (process.env['DEBUG_FAKE_GATEWAY']) this.#http2.on('sessionError', (error) => console.error('fake gateway http2', error));
  }

  static async start(options: {catalog: Catalog; users: Record<string, string>; grpcPort?: number}): Promise<FakeGateway> {
    const server = net.createServer();
    const gateway = new FakeGateway(server, options.catalog, new Map(Object.entries(options.users)), options.grpcPort);
    server.on('connection', (socket) => gateway.#accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return gateway;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get openConnections(): number {
    return this.#sockets.size;
  }

  /** The gateway pod goes: every stream is cut. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  async close(): Promise<void> {
    this.dropConnections();
    this.#grpc?.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      // One port for both, told apart by the first bytes, as the real listener does.
      if (first.subarray(0, 3).toString('latin1') === 'PRI') {
        // node's HTTP/2 session takes the socket, the bytes put back included (left paused).
        this.http2Connections++;
        this.#http2.emit('connection', socket);
      } else {
        this.connections++;
        this.#dubbo(socket);
        socket.resume();
      }
    });
  }

  /** Checks the stream's token, strips it, and relays the stream to the gRPC provider. */
  #forwardGrpc(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const user = this.users.get(bearerToken(headers[AUTHORIZATION_HEADER]) ?? '');
    this.http2Streams.push(user ?? 'refused');
    if (user === undefined || this.#grpcPort === undefined) {
      stream.respond({':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'dubbo-tunnel [DT_ERR_GATEWAY_UNAUTHENTICATED]: no valid token'}, {endStream: true});
      return;
    }
    const forwarded: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || name === AUTHORIZATION_HEADER || name === 'connection') continue;
      forwarded[name] = value;
    }
    this.#grpc ??= http2.connect(`http://127.0.0.1:${this.#grpcPort}`);
    const upstream = this.#grpc.request(forwarded);
    let trailers: Record<string, string | string[]> = {};
    upstream.on('response', (response) => {
      const out: Record<string, string | string[] | number> = {};
      for (const [name, value] of Object.entries(response)) if (value !== undefined && (name === ':status' || !name.startsWith(':'))) out[name] = value;
      stream.respond(out, {waitForTrailers: true});
      upstream.pipe(stream);
    });
    upstream.on('trailers', (received: IncomingHttpHeaders) => {
      trailers = {};
      for (const [name, value] of Object.entries(received)) if (typeof value === 'string' || Array.isArray(value)) trailers[name] = value;
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.on('error', () => undefined);
    upstream.on('error', () => stream.destroy());
    stream.pipe(upstream);
  }

  #dubbo(socket: net.Socket): void {
    const reader = new WireReader();
    let user: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) user = this.#onFrame(socket, frame, user);
    });
  }

  #onFrame(socket: net.Socket, frame: WireFrame, user: string | undefined): string | undefined {
    if (frame.event && frame.isRequest) {
      socket.write(encodeHeartbeatResponse(frame.id));
      return user;
    }
    if (!frame.isRequest) return user;
    const request = decodeRequest(frame);
    if (isGatewayRequest({service: request.service})) {
      const gatewayRequest = decodeGatewayRequest(readHeader(frame.raw), frame.raw);
      if (gatewayRequest.method === 'hello') {
        this.hellos++;
        parseHello(gatewayRequest.argument);
        const known = gatewayRequest.token === undefined ? undefined : this.users.get(gatewayRequest.token);
        if (known === undefined) {
          socket.end(encodeGatewayError(frame.id, 'DT_ERR_GATEWAY_UNAUTHENTICATED', 'the token was not accepted (TokenReview: not authenticated)'));
          return undefined;
        }
        socket.write(encodeHelloAnswer(frame.id, {protocolVersion: 1, user: known, catalog: this.catalog}));
        return known;
      }
      this.catalogPolls++;
      socket.write(user === undefined
        ? encodeGatewayError(frame.id, 'DT_ERR_GATEWAY_UNAUTHENTICATED', 'no hello on this stream')
        : encodeCatalogAnswer(frame.id, this.catalog));
      return user;
    }
    const named = request.attachments['target-application'];
    const application = typeof named === 'string' ? named : this.#applicationOf(request.service) ?? '?';
    if (user === undefined) {
      socket.write(encodeGatewayError(frame.id, 'DT_ERR_GATEWAY_UNAUTHENTICATED', 'send a hello first'));
      return user;
    }
    this.served.push(`${user} ${application}:${request.method}`);
    socket.write(encodeResponse({id: frame.id, result: {kind: 'value', value: `${application}:${request.method}`}}));
    return user;
  }

  #applicationOf(service: string): string | undefined {
    return this.catalog.applications.find((entry) => entry.services.includes(service))?.name;
  }
}
