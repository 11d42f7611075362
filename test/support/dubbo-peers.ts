// Real TCP Dubbo peers for tests: a provider that answers like a Java provider (HeaderExchangeHandler
// + DubboCodec) and a consumer that pipelines requests like a Java consumer sharing one socket (DEFAULT_SHARE_CONNECTIONS = 1).
// They use only ./dubbo-wire.ts, never src/, so they stay an independent yardstick.
import net from 'node:net';
import {
  decodeRequest, decodeResponse, encodeHeartbeatResponse, encodeRequest, encodeResponse, isSupportResponseAttachment,
  java, WireReader, type DecodedRequest, type DecodedResponse, type RequestSpec, type WireFrame,
} from './dubbo-wire.js';

export type ProviderReply =
  | {value: unknown; attachments?: Record<string, unknown>}
  | {nullValue: true; attachments?: Record<string, unknown>}
  | {exception: string; exceptionClass?: string; attachments?: Record<string, unknown>}
  | {status: number; errorMessage: string}
  | {noReply: true};

export interface ProviderOptions {
  application: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default: `{value: '<application>:<method>', attachments: {dubbo: '2.0.2'}}` */
  handler?: (req: DecodedRequest) => ProviderReply | Promise<ProviderReply>;
  /** default true */
  answerHeartbeats?: boolean;
}

/** Status 40 text used by HeaderExchangeHandler.handleRequest for a broken request. */
const BAD_REQUEST = 40;
const SERVICE_ERROR = 70;

export class TestProvider {
  readonly application: string;
  /** every non-event request, in arrival order */
  readonly received: DecodedRequest[] = [];
  /** event request frames other than heartbeats (READONLY / WRITEABLE / anything else with the EVENT bit) */
  readonly eventsReceived: WireFrame[] = [];
  /** response frames received (e.g. heartbeat responses to `sendToAll(encodeHeartbeatRequest(..))`) */
  readonly responsesReceived: WireFrame[] = [];
  /** request frames that could not be decoded (answered with status 40 when two-way) */
  readonly badRequests: WireFrame[] = [];
  private heartbeats = 0;
  private total = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    private readonly options: ProviderOptions,
  ) {
    this.application = options.application;
  }

  static async start(options: ProviderOptions): Promise<TestProvider> {
    const server = net.createServer();
    const provider = new TestProvider(server, options);
    server.on('connection', (socket) => provider.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return provider;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get address(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  get heartbeatsReceived(): number {
    return this.heartbeats;
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  get totalConnections(): number {
    return this.total;
  }

  /** Writes `frame` to every connected client (a heartbeat request, a READONLY event, ...). */
  sendToAll(frame: Buffer): void {
    for (const socket of this.sockets) socket.write(frame);
  }

  /** Simulates a provider crash: every client socket is reset (RST) at once. The listener stays open. */
  destroyConnections(): void {
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  private accept(socket: net.Socket): void {
    this.total++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const reader = new WireReader();
    socket.on('data', (chunk: Buffer) => {
      let frames: WireFrame[];
      try {
        frames = reader.push(chunk);
      } catch {
        // Java would hand non-magic bytes to the telnet codec; a test provider just drops the peer.
        socket.destroy();
        return;
      }
      for (const frame of frames) this.onFrame(socket, frame);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private onFrame(socket: net.Socket, frame: WireFrame): void {
    if (!frame.isRequest) {
      this.responsesReceived.push(frame);
      return;
    }
    if (frame.event) {
      // CodecSupport.isHeartBeat: EVENT bit and a body equal to the null bytes ('N' for hessian2).
      const heartbeat = frame.twoWay && frame.body.length === 1 && frame.body[0] === 0x4e;
      if (heartbeat) {
        this.heartbeats++;
        if (this.options.answerHeartbeats ?? true) write(socket, encodeHeartbeatResponse(frame.id, frame.serializationId));
      } else {
        this.eventsReceived.push(frame);
      }
      return;
    }
    let req: DecodedRequest;
    try {
      req = decodeRequest(frame);
    } catch (err) {
      this.badRequests.push(frame);
      if (frame.twoWay) {
        write(socket, encodeResponse({
          id: frame.id, status: BAD_REQUEST, serializationId: frame.serializationId,
          errorMessage: `Fail to decode request due to: ${(err as Error).message}`,
        }));
      }
      return;
    }
    this.received.push(req);
    void this.answer(socket, req);
  }

  private async answer(socket: net.Socket, req: DecodedRequest): Promise<void> {
    let reply: ProviderReply;
    try {
      reply = this.options.handler
        ? await this.options.handler(req)
        : {value: `${this.application}:${req.method}`, attachments: {dubbo: '2.0.2'}};
    } catch (err) {
      // HeaderExchangeHandler: reply() threw => status 70 with the exception text.
      reply = {status: SERVICE_ERROR, errorMessage: String(err)};
    }
    if (!req.twoWay || 'noReply' in reply) return;
    write(socket, encodeReply(req, reply));
  }
}

/** Builds the response a Java provider would send for `reply` to `req` (DubboCodec.encodeResponseData). */
export function encodeReply(req: DecodedRequest, reply: Exclude<ProviderReply, {noReply: true}>): Buffer {
  const serializationId = req.frame.serializationId;
  if ('status' in reply) {
    return encodeResponse({id: req.id, status: reply.status, serializationId, errorMessage: reply.errorMessage});
  }
  // Version.isSupportResponseAttachment decides between flags 1/2/0 and 4/5/3; the provider always adds dubbo=2.0.2.
  const attachments = isSupportResponseAttachment(req.dubboVersion) ? {dubbo: '2.0.2', ...reply.attachments} : undefined;
  if ('nullValue' in reply) return encodeResponse({id: req.id, serializationId, result: {kind: 'null'}, attachments});
  if ('exception' in reply) {
    const exception = java.exception(reply.exceptionClass ?? 'java.lang.RuntimeException', reply.exception);
    return encodeResponse({id: req.id, serializationId, result: {kind: 'exception', exception}, attachments});
  }
  return encodeResponse({id: req.id, serializationId, result: {kind: 'value', value: reply.value}, attachments});
}

function write(socket: net.Socket, bytes: Buffer): void {
  if (!socket.destroyed) socket.write(bytes);
}

interface PendingCall {
  resolve: (res: DecodedResponse) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface FrameWaiter {
  predicate: (f: WireFrame) => boolean;
  resolve: (f: WireFrame) => void;
}

export interface ConsumerOptions {
  /** Answer heartbeat requests from the peer like HeartbeatHandler does (default true). */
  answerHeartbeats?: boolean;
}

export class TestConsumer {
  /** every frame received, in order */
  readonly frames: WireFrame[] = [];
  /** set when the peer sent bytes that are not Dubbo frames (framing stops; bytes stay in receivedBytes) */
  framingError: Error | undefined;
  private readonly chunks: Buffer[] = [];
  private readonly reader = new WireReader();
  private readonly pending = new Map<bigint, PendingCall>();
  private readonly waiters = new Set<FrameWaiter>();
  private nextId = 1n;
  private isClosed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    private readonly options: ConsumerOptions,
  ) {
    this.closedPromise = new Promise<void>((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        for (const [id, call] of this.pending) {
          clearTimeout(call.timer);
          call.reject(new Error(`connection closed before the response to id ${id}`));
        }
        this.pending.clear();
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static async connect(port: number, host = '127.0.0.1', options: ConsumerOptions = {}): Promise<TestConsumer> {
    const socket = net.connect({port, host});
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return new TestConsumer(socket, options);
  }

  /** The local port of this consumer's socket (to tell consumers apart on the far side). */
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  /**
   * Sends a request (id from a counter starting at 1 if omitted) and resolves with the response for
   * that id. Rejects after timeoutMs (default 5000) or when the socket closes. Calls may overlap.
   * A one-way request (twoWay: false) cannot be answered: use `send(encodeRequest(..))` for it.
   */
  call(spec: Omit<RequestSpec, 'id'> & {id?: bigint}, timeoutMs = 5000): Promise<DecodedResponse> {
    if (spec.twoWay === false) return Promise.reject(new Error('call() needs a two-way request; use send()'));
    const id = spec.id ?? this.nextId++;
    if (this.pending.has(id)) return Promise.reject(new Error(`id ${id} is already in flight`));
    if (this.isClosed) return Promise.reject(new Error('consumer socket is closed'));
    return new Promise<DecodedResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no response to id ${id} (${spec.service}.${spec.method}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {resolve, reject, timer});
      this.socket.write(encodeRequest({...spec, id}));
    });
  }

  /** Raw bytes: garbage, partial frames, heartbeats, one-way requests. */
  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves with the first frame (already received, from index `fromIndex` on, or future) matching predicate. */
  waitForFrame(predicate: (f: WireFrame) => boolean, timeoutMs = 5000, fromIndex = 0): Promise<WireFrame> {
    const existing = this.frames.slice(fromIndex).find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise<WireFrame>((resolve, reject) => {
      const waiter: FrameWaiter = {
        predicate,
        resolve: (f) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms (${this.frames.length} frames received)`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves when the socket has closed (by either side); rejects after timeoutMs. */
  async waitForClose(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.closedPromise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Every byte received, for answers that are not Dubbo frames (telnet text, garbage). */
  get receivedBytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Number of calls still waiting for a response. */
  get inFlight(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    this.socket.end();
    this.socket.destroySoon();
    // end() + destroySoon() close gracefully; a peer that never closes its side is cut after 1 s.
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await this.closedPromise;
    clearTimeout(timer);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    if (this.framingError) return;
    let frames: WireFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.framingError = err as Error;
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: WireFrame): void {
    this.frames.push(frame);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(frame)) waiter.resolve(frame);
    }
    if (frame.isRequest) {
      const heartbeat = frame.event && frame.twoWay && frame.body.length === 1 && frame.body[0] === 0x4e;
      if (heartbeat && (this.options.answerHeartbeats ?? true) && !this.socket.destroyed) {
        this.socket.write(encodeHeartbeatResponse(frame.id, frame.serializationId));
      }
      return;
    }
    if (frame.event) return; // heartbeat responses are swallowed by HeartbeatHandler, not matched to calls
    const call = this.pending.get(frame.id);
    if (!call) return; // "The timeout response finally returned": Java logs and drops it
    this.pending.delete(frame.id);
    clearTimeout(call.timer);
    try {
      call.resolve(decodeResponse(frame));
    } catch (err) {
      call.reject(err as Error);
    }
  }
}
