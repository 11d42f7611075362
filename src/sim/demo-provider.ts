/**
 * A small but real Dubbo 2 provider over TCP, for `dubbo-tunnel demo`: it answers the way a Java
 * provider does (HeaderExchangeHandler + DubboCodec), so the tunnel, `dubbo-tunnel call` and any
 * Dubbo consumer library see nothing unusual. Frames are cut by the product's FrameDecoder; bodies
 * are read with hessian.js DecoderV2 field by field, as DecodeableRpcInvocation does, and answers are
 * written with one EncoderV2, as DubboCodec.encodeResponseData does.
 */
import net from 'node:net';
import hessian from 'hessian.js';
import {countArguments} from '../protocol/descriptor.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import {HEADER_LENGTH, RESPONSE_FLAG, SERIALIZATION, STATUS, serializationName, writeHeader} from '../protocol/header.js';
import type {FrameHeader} from '../protocol/header.js';
import {encodeErrorResponse, heartbeatReply} from '../protocol/responses.js';

const {EncoderV2, DecoderV2} = hessian;


/** What 3.x providers export for application-level discovery (group = application name, version 1.0.0). */
const METADATA_SERVICE = 'org.apache.dubbo.metadata.MetadataService';

/** GenericService.$invoke(String method, String[] parameterTypes, Object[] args). */
const GENERIC_METHOD = '$invoke';
const GENERIC_DESCRIPTOR = 'Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;';

/** Thrown by a demo method: answered as the Java exception `javaClass` (status 20, exception flag). */
export class JavaException extends Error {
  constructor(readonly javaClass: string, message: string) {
    super(message);
    this.name = 'JavaException';
  }
}

export interface DemoCall {
  args: unknown[];
  attachments: Record<string, unknown>;
  /** The pod this provider stands in for (answers say who served them). */
  pod: string;
}

export interface DemoMethod {
  /** Java parameter types, e.g. ['java.lang.String', 'double']. */
  parameterTypes: readonly string[];
  /** Returns a hessian.js value (`{$class, $}` for POJOs); throw JavaException for a Java exception. */
  invoke(call: DemoCall): unknown;
}

export interface DemoService {
  /** The Java interface, e.g. `com.example.demo.UserService`. */
  interface: string;
  methods: Readonly<Record<string, DemoMethod>>;
}

export interface DemoProviderOptions {
  application: string;
  pod: string;
  services: readonly DemoService[];
  /** Default 127.0.0.1: the simulated cluster forwards to it, nobody else needs to reach it. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

const PRIMITIVE_DESCRIPTORS: Readonly<Record<string, string>> = {
  boolean: 'Z', byte: 'B', char: 'C', short: 'S', int: 'I', long: 'J', float: 'F', double: 'D',
};

/** `['java.lang.String', 'double']` -> `Ljava/lang/String;D` (JVM spec 4.3.2, ReflectUtils.getDesc). */
export function descriptorOf(types: readonly string[]): string {
  return types.map((type) => {
    let dims = 0;
    let name = type;
    while (name.endsWith('[]')) {
      dims++;
      name = name.slice(0, -2);
    }
    return '['.repeat(dims) + (PRIMITIVE_DESCRIPTORS[name] ?? `L${name.replace(/\./g, '/')};`);
  }).join('');
}

/**
 * Version.isSupportResponseAttachment: consumers from 2.0.2 up to 2.0.99 read attachments on
 * answers (getIntVersion pads "2.0.2" to 2.0.2.0 = 2000200).
 */
export function supportsResponseAttachments(dubboVersion: unknown): boolean {
  if (typeof dubboVersion !== 'string' || dubboVersion === '') return false;
  const parts = dubboVersion.split('.').slice(0, 4).map((part) => Number.parseInt(part, 10));
  if (parts.some((part) => Number.isNaN(part))) return false;
  while (parts.length < 4) parts.push(0);
  const value = parts.reduce((total, part) => total * 100 + Math.min(part, 99), 0);
  return value >= 2_000_200 && value <= 2_009_900;
}

/** A Throwable as hessian-lite's JavaSerializer writes it (detailMessage, cause = itself, stackTrace, suppressedExceptions). */
export function javaThrowable(javaClass: string, message: string): unknown {
  const fields: Record<string, unknown> = {
    detailMessage: message,
    cause: null,
    stackTrace: {$class: '[java.lang.StackTraceElement', $: []},
    suppressedExceptions: {$class: 'java.util.Collections$UnmodifiableRandomAccessList', $: []},
  };
  const throwable = {$class: javaClass, $: fields};
  // Throwable.cause defaults to `this`; hessian.js writes the second sight of an object as a reference.
  fields['cause'] = throwable;
  return throwable;
}

interface DecodedInvocation {
  dubboVersion: unknown;
  service: string;
  method: string;
  descriptor: string;
  args: unknown[];
  attachments: Record<string, unknown>;
}

type Answer =
  | {kind: 'value'; value: unknown}
  | {kind: 'exception'; javaClass: string; message: string}
  | {kind: 'status'; status: number; message: string};

export class DemoProvider {
  readonly application: string;
  readonly pod: string;
  readonly #server: net.Server;
  readonly #services: ReadonlyMap<string, DemoService>;
  readonly #sockets = new Set<net.Socket>();
  readonly #host: string;
  #requests = 0;

  private constructor(server: net.Server, options: DemoProviderOptions) {
    this.#server = server;
    this.application = options.application;
    this.pod = options.pod;
    this.#host = options.host ?? '127.0.0.1';
    this.#services = new Map(options.services.map((service) => [service.interface, service]));
  }

  static async start(options: DemoProviderOptions): Promise<DemoProvider> {
    const server = net.createServer({noDelay: true});
    const provider = new DemoProvider(server, options);
    server.on('connection', (socket) => provider.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, provider.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return provider;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get host(): string {
    return this.#host;
  }

  /** Requests answered so far (heartbeats not counted). */
  get requests(): number {
    return this.#requests;
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    const decoder = new FrameDecoder({
      frame: (header, frame) => this.#onFrame(socket, header, frame.subarray(HEADER_LENGTH)),
      // Too big for Dubbo's payload limit: ExchangeCodec.checkPayload ends the channel.
      oversize: () => socket.destroy(),
      // Not Dubbo: Java would hand the bytes to its telnet codec; we simply hang up.
      fatal: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      decoder.close();
      this.#sockets.delete(socket);
    });
  }

  #onFrame(socket: net.Socket, header: FrameHeader, body: Buffer): void {
    if (!header.isRequest) return; // answers to heartbeats we never send
    if (header.event) {
      // HeartbeatHandler answers two-way heartbeats; READONLY/WRITEABLE events need no answer.
      const reply = heartbeatReply(header, body);
      if (reply !== undefined) write(socket, reply);
      return;
    }
    this.#requests++;
    if (header.serializationId !== SERIALIZATION.HESSIAN2) {
      if (header.twoWay) {
        write(socket, encodeErrorResponse(header.requestId, STATUS.BAD_REQUEST,
          `Fail to decode request due to: the demo provider reads hessian2 only, not ${serializationName(header.serializationId)}`));
      }
      return;
    }
    let invocation: DecodedInvocation;
    try {
      invocation = decodeInvocation(body);
    } catch (error) {
      // DecodeableRpcInvocation failed: HeaderExchangeHandler answers BAD_REQUEST with the reason.
      if (header.twoWay) write(socket, encodeErrorResponse(header.requestId, STATUS.BAD_REQUEST, `Fail to decode request due to: ${(error as Error).message}`));
      return;
    }
    const answer = this.#answer(invocation);
    if (!header.twoWay) return;
    write(socket, encodeAnswer(header, invocation.dubboVersion, answer));
  }

  #answer(invocation: DecodedInvocation): Answer {
    if (invocation.service === METADATA_SERVICE && invocation.attachments['group'] === this.application) {
      const answer = this.#metadataService(invocation.method);
      if (answer) return answer;
    }
    const service = this.#services.get(invocation.service);
    if (!service) {
      // DubboProtocol.getInvoker: "Not found exported service", a SERVICE_ERROR from HeaderExchangeHandler.
      // 3.x lists its own MetadataService too, under the application's name as group.
      const exported = [...[...this.#services.keys()].map((name) => `${name}:20880`), `${this.application}/${METADATA_SERVICE}:1.0.0:20880`].join(', ');
      return {
        kind: 'status',
        status: STATUS.SERVICE_ERROR,
        message: `org.apache.dubbo.remoting.RemotingException: Not found exported service: ${invocation.service}:20880 in [${exported}], may be version or group mismatch , channel: demo`,
      };
    }
    let methodName = invocation.method;
    let descriptor = invocation.descriptor;
    let args = invocation.args;
    if (methodName === GENERIC_METHOD && descriptor === GENERIC_DESCRIPTOR) {
      // GenericFilter: $invoke(name, types, args) becomes the named method; types may be omitted.
      const [name, types, values] = args;
      methodName = typeof name === 'string' ? name : '';
      args = Array.isArray(values) ? values : [];
      descriptor = Array.isArray(types) && types.length > 0 ? descriptorOf(types.map(String)) : '';
      const candidate = service.methods[methodName];
      if (descriptor === '' && candidate && candidate.parameterTypes.length === args.length) descriptor = descriptorOf(candidate.parameterTypes);
    }
    const method = Object.hasOwn(service.methods, methodName) ? service.methods[methodName] : undefined;
    if (!method || descriptorOf(method.parameterTypes) !== descriptor) {
      // The proxy's Wrapper.invokeMethod throws NoSuchMethodException, AbstractProxyInvoker wraps it
      // in an RpcException, and the provider answers SERVICE_ERROR with the text.
      const known = Object.entries(service.methods).map(([name, m]) => `${name}(${m.parameterTypes.join(', ')})`).join(', ');
      return {
        kind: 'status',
        status: STATUS.SERVICE_ERROR,
        message: `org.apache.dubbo.rpc.RpcException: Failed to invoke remote proxy method ${methodName} of ${invocation.service}, cause: java.lang.NoSuchMethodException: Not found method "${methodName}" with parameter types (${describeDescriptor(descriptor)}); the service has ${known}`,
      };
    }
    try {
      return {kind: 'value', value: method.invoke({args, attachments: invocation.attachments, pod: this.pod})};
    } catch (error) {
      if (error instanceof JavaException) return {kind: 'exception', javaClass: error.javaClass, message: error.message};
      return {kind: 'exception', javaClass: 'java.lang.RuntimeException', message: (error as Error).message};
    }
  }

  /**
   * The MetadataService a 3.x provider with a registry exports (group = its application name): what
   * discovery asks first. Same Java types as the real answers (MetadataInfo, ServiceInfo in a
   * ConcurrentHashMap inside an ArrayList).
   */
  #metadataService(method: string): Answer | undefined {
    const names = [...this.#services.keys()].sort();
    switch (method) {
      case 'serviceName':
        return {kind: 'value', value: this.application};
      case 'version':
        return {kind: 'value', value: '1.0.0'};
      case 'getExportedURLs':
        return {kind: 'value', value: names.map((name) => `dubbo://${this.#host}:20880/${name}?application=${this.application}&interface=${name}&side=provider`)};
      case 'getMetadataInfos': {
        const services: Record<string, unknown> = {};
        for (const name of names) {
          services[`${name}:dubbo`] = {
            $class: 'org.apache.dubbo.metadata.MetadataInfo$ServiceInfo',
            $: {params: {application: this.application, interface: name, side: 'provider'}, path: name, port: 20880, protocol: 'dubbo', version: null, group: null, name},
          };
        }
        const info = {
          $class: 'org.apache.dubbo.metadata.MetadataInfo',
          $: {services: {$class: 'java.util.concurrent.ConcurrentHashMap', $: services}, revision: 'demo', app: this.application},
        };
        return {kind: 'value', value: {$class: 'java.util.ArrayList', $: [info]}};
      }
      default:
        return undefined;
    }
  }
}

/** DecodeableRpcInvocation.decode: dubbo version, path, version, method, descriptor, args, attachments. */
function decodeInvocation(body: Buffer): DecodedInvocation {
  const decoder = new DecoderV2(body);
  const dubboVersion = decoder.read();
  const service = decoder.read();
  decoder.read(); // the service version; the demo exports 0.0.0 only and does not check it
  const method = decoder.read();
  const descriptor = decoder.read();
  if (typeof service !== 'string' || typeof method !== 'string' || typeof descriptor !== 'string') {
    throw new Error('the request body does not start with the five strings of an invocation');
  }
  const args: unknown[] = [];
  for (let i = countArguments(descriptor); i > 0; i--) args.push(decoder.read());
  const attachments = decoder.byteBuffer.position() < body.length ? decoder.read() : {};
  return {
    dubboVersion,
    service,
    method,
    descriptor,
    args,
    attachments: attachments !== null && typeof attachments === 'object' ? attachments as Record<string, unknown> : {},
  };
}

/** `Ljava/lang/String;D` -> `java.lang.String, double`, for messages. */
function describeDescriptor(descriptor: string): string {
  const names = Object.fromEntries(Object.entries(PRIMITIVE_DESCRIPTORS).map(([name, letter]) => [letter, name]));
  const out: string[] = [];
  for (let i = 0; i < descriptor.length;) {
    let dims = 0;
    while (descriptor[i] === '[') {
      dims++;
      i++;
    }
    let name: string;
    if (descriptor[i] === 'L') {
      const end = descriptor.indexOf(';', i);
      name = descriptor.slice(i + 1, end === -1 ? descriptor.length : end).replace(/\//g, '.');
      i = end === -1 ? descriptor.length : end + 1;
    } else {
      name = names[descriptor[i] ?? ''] ?? '?';
      i++;
    }
    out.push(name + '[]'.repeat(dims));
  }
  return out.join(', ');
}

/** The response frame (ExchangeCodec.encodeResponse + DubboCodec.encodeResponseData). */
function encodeAnswer(request: FrameHeader, dubboVersion: unknown, answer: Answer): Buffer {
  if (answer.kind === 'status') return encodeErrorResponse(request.requestId, answer.status, answer.message);
  const attach = supportsResponseAttachments(dubboVersion);
  const encoder = new EncoderV2();
  // The flag is written with writeByte in Java, which Hessian 2 encodes as a compact int (0x90 + flag).
  if (answer.kind === 'exception') {
    encoder.writeInt(attach ? RESPONSE_FLAG.WITH_EXCEPTION_WITH_ATTACHMENTS : RESPONSE_FLAG.WITH_EXCEPTION);
    encoder.write(javaThrowable(answer.javaClass, answer.message));
  } else if (answer.value === null || answer.value === undefined) {
    encoder.writeInt(attach ? RESPONSE_FLAG.NULL_VALUE_WITH_ATTACHMENTS : RESPONSE_FLAG.NULL_VALUE);
  } else {
    encoder.writeInt(attach ? RESPONSE_FLAG.VALUE_WITH_ATTACHMENTS : RESPONSE_FLAG.VALUE);
    encoder.write(answer.value);
  }
  // The provider always adds its protocol version (DubboCodec: result.getObjectAttachments() + dubbo=2.0.2).
  if (attach) encoder.write({dubbo: '2.0.2'});
  const body = encoder.get();
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  // Response flags: the serialization id only (no request, two-way or event bits).
  writeHeader(frame, 0, {flags: request.serializationId, status: STATUS.OK, requestId: request.requestId, bodyLength: body.length});
  body.copy(frame, HEADER_LENGTH);
  return frame;
}

function write(socket: net.Socket, bytes: Buffer): void {
  if (!socket.destroyed) socket.write(bytes);
}
