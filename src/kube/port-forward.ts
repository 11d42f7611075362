import {Agent as HttpAgent} from 'node:http';
import type {IncomingMessage} from 'node:http';
import {Agent as HttpsAgent} from 'node:https';
import {Duplex} from 'node:stream';
import {WebSocket} from 'ws';
import type {RawData} from 'ws';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import type {ConnectionOptions, KubeClient} from './client.js';
import {parseStatus} from './client.js';
import {KubeRequestError} from './errors.js';
import type {ResourceRef} from './errors.js';

/*
 * Why not client-node's `PortForward` (1.4.0: portforward.js over web-socket-handler.js): its promise
 * resolves when the WebSocket opens, before the kubelet has announced the port; error-channel text
 * (a refused dial inside the pod) is only copied to a stream, nothing fails; `output.write()`'s return
 * value is ignored and input is sent without waiting (no backpressure either way); the server closing
 * the WebSocket never ends the output, and errors after the open are dropped, so requests in flight
 * would never be answered; a refused upgrade is ws's "Unexpected server response: 403" without the
 * Status that names the missing permission; and it has no time limit or AbortSignal. Each of those is
 * something a Dubbo upstream relies on (see PortForwardStream), so this file speaks v4 over ws itself.
 */

/**
 * The legacy WebSocket port-forward protocol, binary flavour. The kubelet's streaming server
 * (kubelet/pkg/cri/streaming/portforward/websocket.go) accepts "", v4.channel.k8s.io and
 * v4.base64.channel.k8s.io; the API server passes every subprotocol except SPDY/3.1+portforward.k8s.io
 * through to it, so this works on current clusters too.
 */
export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';

/** websocket.go: data channel 2i, error channel 2i+1 for the i-th port; we forward one port. */
const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;
/**
 * Most data bytes in one WebSocket message; bigger writes are split so one frame never hogs the API
 * server. Each message is one frame: the kubelet (wsstream over golang.org/x/net/websocket) takes
 * every frame as a whole message whose first byte is the channel, so a message cannot be sent as a
 * channel-byte fragment followed by the data.
 */
const MAX_MESSAGE = 1024 * 1024;
/**
 * Send-side flow control: a write is acknowledged at once while fewer than SEND_HIGH_WATER bytes wait
 * in the WebSocket (ws's queue plus its socket's buffer), so the writer keeps the kernel's send
 * buffer full instead of waiting for each message to reach it; past that, the acknowledgement waits
 * until the backlog is down to SEND_LOW_WATER (not to zero, which would leave the socket idle).
 */
const SEND_HIGH_WATER = 1024 * 1024;
const SEND_LOW_WATER = 256 * 1024;
/** Received bytes buffered for a reader that is behind before reading from the API server pauses. */
const RECEIVE_HIGH_WATER = 1024 * 1024;
const BINARY = {binary: true} as const;

export interface PortForwardTarget {
  namespace: string;
  pod: string;
  port: number;
}

export interface PortForwardOptions {
  signal?: AbortSignal;
  /** Limit for the HTTP upgrade plus the kubelet's first message. Default 10 s. */
  timeoutMs?: number;
  /**
   * How long to wait after the port announcement for error-channel text before resolving. The
   * kubelet announces the port first and dials the pod after, and v4 has no "connected" message, so
   * a refused dial ("connection refused") only shows up as error text a moment later. Default 0.
   */
  settleMs?: number;
}

export function portForwardRef(target: PortForwardTarget): ResourceRef {
  return {verb: 'create', group: '', resource: 'pods', subresource: 'portforward', namespace: target.namespace, name: target.pod};
}

/**
 * Opens one port-forward WebSocket to `pod:port` and resolves with a Duplex once the kubelet has
 * announced the port (the first message on the data channel). Rejects with KubeRequestError when the
 * upgrade is refused (401/403/404 with the server's Status), with a DT_ERR_PORT_FORWARD error when the
 * kubelet reports a failure, and with the network error otherwise.
 */
export async function openPortForward(client: KubeClient, target: PortForwardTarget, options: PortForwardOptions = {}): Promise<PortForwardStream> {
  const connection = await client.connectionOptions();
  options.signal?.throwIfAborted();
  const url = client.url(
    `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/portforward`,
    {ports: String(target.port)},
  );
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers: Record<string, string> = {'User-Agent': 'dubbo-tunnel'};
  for (const [key, value] of Object.entries(connection.headers ?? {})) headers[key] = Array.isArray(value) ? value.join(', ') : String(value);
  if (connection.auth !== undefined && connection.auth !== null) {
    headers['Authorization'] ??= `Basic ${Buffer.from(connection.auth).toString('base64')}`;
  }
  const ws = new WebSocket(url, [PORT_FORWARD_PROTOCOL], {
    agent: typeof connection.agent === 'object' ? connection.agent : undefined,
    headers,
    // TLS material from the kubeconfig; ws hands these to https.request like any request option.
    ...tlsOptions(connection),
    perMessageDeflate: false,
    ...(maskingProtectsNothing(url, connection.agent) ? {generateMask: zeroMask} : {}),
    // Our own timer (below) fires first and can tell a silent API server from a silent kubelet.
    handshakeTimeout: timeoutMs + 1000,
  });
  let answered = false;
  ws.once('upgrade', () => {
    answered = true;
  });
  const stream = new PortForwardStream(ws, target);
  return await new Promise<PortForwardStream>((resolve, reject) => {
    let settled = false;
    let settleTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => fail(answered
      ? new DubboTunnelError('DT_ERR_PORT_FORWARD', `${describePod(target)}: port-forward did not start within ${Math.round(timeoutMs / 1000)} s (the kubelet did not announce the port)`)
      // No HTTP answer at all: the API server (or a proxy or VPN in between) is stalled, for every pod alike.
      : new DubboTunnelError('DT_ERR_KUBE_UNREACHABLE', `the API server ${client.server} did not answer the port-forward request for ${describePod(target)} within ${Math.round(timeoutMs / 1000)} s`, {
        hint: 'the API server, or a proxy or VPN on the way, accepts connections but does not answer; check the cluster and the network path (dubbo-tunnel keeps retrying)',
      })), timeoutMs);
    const onAbort = (): void => {
      const error = new Error('aborted');
      error.name = 'AbortError';
      fail(error);
    };
    options.signal?.addEventListener('abort', onAbort, {once: true});
    function cleanup(): void {
      settled = true;
      clearTimeout(timer);
      clearTimeout(settleTimer);
      options.signal?.removeEventListener('abort', onAbort);
      stream.off('ported', onPorted);
      stream.off('error', onStreamError);
      stream.off('close', onStreamClose);
    }
    function fail(error: Error): void {
      if (settled) return;
      cleanup();
      stream.on('error', () => {}); // the caller never sees this stream; don't let its teardown crash
      stream.destroy();
      reject(error);
    }
    function onPorted(): void {
      // Resolve a moment later (at least on the next turn): error-channel text that follows the port
      // announcement (a refused dial) then fails this call instead of a stream nobody listens to yet.
      const done = (): void => {
        if (settled) return;
        cleanup();
        resolve(stream);
      };
      const settleMs = options.settleMs ?? 0;
      if (settleMs > 0) settleTimer = setTimeout(done, settleMs);
      else setImmediate(done);
    }
    function onStreamError(error: Error): void {
      fail(error);
    }
    function onStreamClose(): void {
      fail(new DubboTunnelError('DT_ERR_PORT_FORWARD', `${describePod(target)}: the port-forward closed before it started`));
    }
    stream.once('ported', onPorted);
    stream.once('error', onStreamError);
    stream.once('close', onStreamClose);
    // A refused upgrade: read the Status body so the error can say what is wrong (ws alone would
    // only say "Unexpected server response: 403").
    ws.once('unexpected-response', (_request, response: IncomingMessage) => {
      answered = true;
      if (response.statusCode === 401) client.unauthorized();
      void readBody(response).then((body) => {
        fail(new KubeRequestError(response.statusCode ?? 0, parseStatus(body), portForwardRef(target)));
      });
    });
  });
}

/**
 * RFC 6455 masks client frames with a random key so that a cleartext intermediary (a transparent
 * HTTP proxy or cache) cannot be made to read attacker-chosen bytes as HTTP. Where no such
 * intermediary can see the frames, the mask protects nothing and costs a copy of every byte sent
 * (ws masks in JavaScript without the bufferutil addon, which a single executable cannot carry):
 * over TLS (a proxy on the way only tunnels it, CONNECT or SOCKS), and to a loopback API server
 * reached without a proxy (`kubectl proxy`, kind with a plain port). Servers unmask whatever key
 * they get; ws itself skips both masking and unmasking for a key of zeros.
 */
export function maskingProtectsNothing(url: URL, agent: unknown): boolean {
  if (url.protocol === 'wss:') return true;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  // client-node hands a proxy (proxy-url) over as an agent of a subclass; a plain Agent dials directly.
  const direct = agent === undefined || Object.getPrototypeOf(agent) === HttpAgent.prototype || Object.getPrototypeOf(agent) === HttpsAgent.prototype;
  return loopback && direct;
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

function tlsOptions(connection: ConnectionOptions): Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'> {
  return {ca: connection.ca, cert: connection.cert, key: connection.key, rejectUnauthorized: connection.rejectUnauthorized, servername: connection.servername};
}

async function readBody(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  try {
    for await (const chunk of response) {
      text += chunk as string;
      if (text.length > 64 * 1024) break;
    }
  } catch {
    // the body is a nice-to-have
  }
  response.destroy();
  return text;
}

export function describePod(target: {namespace: string; pod: string}): string {
  return `pod ${target.namespace}/${target.pod}`;
}

/**
 * One TCP connection into a pod, carried by one port-forward WebSocket.
 *
 * - Readable side: data-channel payloads, with the 2-byte little-endian port prefix the kubelet puts
 *   at the start of each channel removed (and checked), passed on without a copy. When push() says
 *   the buffer is full (RECEIVE_HIGH_WATER) the WebSocket is paused (ws stops reading its socket)
 *   until the consumer reads again.
 * - Writable side: what is written is sent as it comes, one data-channel message per write (or per
 *   batch of corked writes, or of writes made in the same tick), the channel byte and the data
 *   copied once into the message, at most MAX_MESSAGE bytes of data each. The write
 *   is acknowledged at once while the WebSocket's backlog is under SEND_HIGH_WATER, else once it is
 *   down to SEND_LOW_WATER, so a slow API server slows the writer down without the stream ever
 *   running dry while the writer has more.
 * - Error channel text (e.g. "error forwarding port 20880 to pod ..., uid : ... connection refused")
 *   destroys the stream with DT_ERR_PORT_FORWARD.
 * - WebSocket closed by the server: the readable side ends (and with it the stream); the stream ended
 *   or destroyed by us: the WebSocket is closed. v4 has no half-close, so end() closes both ways.
 */
export class PortForwardStream extends Duplex {
  readonly target: PortForwardTarget;
  /** `pod dev/user-rpc-7d9f:20880`, for logs and the UI. */
  readonly remote: string;
  readonly #ws: WebSocket;
  readonly #prefix: [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];
  #ported = false;
  #remoteClosed = false;
  #bytesReceived = 0;
  /** The acknowledgement of the last write, held while the WebSocket's backlog is over SEND_HIGH_WATER. */
  #held: ((error?: Error | null) => void) | undefined;
  readonly #onSent = (error?: Error): void => this.#sent(error);
  /** Corked by #send until the end of the tick, so that the writes that follow leave together. */
  #joining = false;
  readonly #endJoining = (): void => {
    this.#joining = false;
    // end() uncorks all the way: then there is nothing left to undo.
    if (this.writableCorked > 0) this.uncork();
  };

  constructor(ws: WebSocket, target: PortForwardTarget) {
    super({allowHalfOpen: false, readableHighWaterMark: RECEIVE_HIGH_WATER, writableHighWaterMark: SEND_HIGH_WATER});
    this.#ws = ws;
    this.target = target;
    this.remote = `${describePod(target)}:${target.port}`;
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(toBuffer(data), isBinary));
    ws.on('open', () => {
      if (ws.protocol !== PORT_FORWARD_PROTOCOL) {
        this.destroy(new DubboTunnelError('DT_ERR_PORT_FORWARD', `${describePod(target)}: the API server chose WebSocket subprotocol '${ws.protocol}', not ${PORT_FORWARD_PROTOCOL}`));
      }
    });
    ws.on('error', (error: Error) => {
      this.destroy(this.#ported
        ? new DubboTunnelError('DT_ERR_PORT_FORWARD', `${describePod(target)}: port-forward connection failed: ${errorMessage(error)}`, {cause: error})
        : error);
    });
    ws.on('close', () => {
      this.#remoteClosed = true;
      if (this.destroyed) return;
      if (!this.#ported) {
        this.destroy(new DubboTunnelError('DT_ERR_PORT_FORWARD', `${describePod(target)}: the port-forward closed before the kubelet announced port ${target.port}`));
        return;
      }
      this.push(null);
    });
  }

  /** True once the kubelet's port announcement arrived on the data channel. */
  get ported(): boolean {
    return this.#ported;
  }

  /** Data-channel bytes received from the pod so far. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** True while reading from the API server is paused because our reader is behind (diagnostics, tests). */
  get wsPaused(): boolean {
    return this.#ws.isPaused;
  }

  /** Bytes waiting in the WebSocket's send buffer (for diagnostics). */
  get wsBufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    // v4.channel.k8s.io is binary; text frames belong to the base64 flavour we never negotiate.
    if (!isBinary || data.length === 0 || this.destroyed) return;
    const channel = data[0];
    if (channel !== DATA_CHANNEL && channel !== ERROR_CHANNEL) return; // websocket.go ignores unknown channels too
    let payload = data.subarray(1);
    const prefix = this.#prefix[channel];
    if (prefix.length < 2) {
      // websocket.go writes the port (binary.LittleEndian.PutUint16) as the first message of each channel.
      const taken = payload.subarray(0, 2 - prefix.length);
      const joined = Buffer.concat([prefix, taken]);
      this.#prefix[channel] = joined;
      payload = payload.subarray(taken.length);
      if (joined.length < 2) return;
      const announced = joined.readUInt16LE(0);
      if (announced !== this.target.port) {
        this.destroy(new DubboTunnelError('DT_ERR_PORT_FORWARD', `${describePod(this.target)}: the kubelet announced port ${announced} on channel ${channel}, expected ${this.target.port}`));
        return;
      }
      if (channel === DATA_CHANNEL) {
        this.#ported = true;
        this.emit('ported');
      }
    }
    if (payload.length === 0) return;
    if (channel === ERROR_CHANNEL) {
      const text = payload.toString('utf8').trim();
      this.destroy(new DubboTunnelError('DT_ERR_PORT_FORWARD', `${describePod(this.target)}: ${text}`, {
        hint: /connection refused/.test(text)
          ? `nothing listens on port ${this.target.port} inside the pod; check the container port and that the provider started`
          : undefined,
      }));
      return;
    }
    this.#bytesReceived += payload.length;
    if (!this.push(payload)) this.#ws.pause();
  }

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send([chunk], chunk.length, callback);
  }

  override _writev(chunks: {chunk: Buffer}[], callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((entry) => entry.chunk);
    let length = 0;
    for (const buffer of buffers) length += buffer.length;
    this.#send(buffers, length, callback);
  }

  #send(chunks: Buffer[], length: number, callback: (error?: Error | null) => void): void {
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) {
      callback(new DubboTunnelError('DT_ERR_BACKEND_CLOSED', `${describePod(this.target)}: the port-forward is closed`));
      return;
    }
    // One copy per byte: the channel byte and the data go into each message together (ws sends a
    // readonly buffer as is when it does not mask, and its own masked copy when it does).
    let index = 0;
    let offset = 0;
    for (let left = length; left > 0;) {
      const size = Math.min(left, MAX_MESSAGE);
      const message = Buffer.allocUnsafe(size + 1);
      message[0] = DATA_CHANNEL;
      let filled = 1;
      while (filled <= size) {
        const chunk = chunks[index] as Buffer;
        const copied = chunk.copy(message, filled, offset, Math.min(chunk.length, offset + size + 1 - filled));
        filled += copied;
        offset += copied;
        if (offset === chunk.length) {
          index++;
          offset = 0;
        }
      }
      left -= size;
      ws.send(message, BINARY, this.#onSent);
    }
    // Writes made later in this same tick (several frames written one by one) are joined into one
    // message when the tick is over, rather than each paying for a message of its own.
    if (!this.#joining) {
      this.#joining = true;
      this.cork();
      process.nextTick(this.#endJoining);
    }
    if (ws.bufferedAmount <= SEND_HIGH_WATER) callback();
    else this.#held = callback;
  }

  /** ws's callback for each message, in order, once it reached the socket or failed. */
  #sent(error?: Error): void {
    const held = this.#held;
    if (held === undefined) return; // acknowledged already; a failure also closes the WebSocket, which ends the stream
    if (error) {
      this.#held = undefined;
      held(error);
    } else if (this.#ws.bufferedAmount <= SEND_LOW_WATER) {
      this.#held = undefined;
      held();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#close();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#held = undefined;
    this.#close();
    callback(error);
  }

  #close(): void {
    const ws = this.#ws;
    if (this.#remoteClosed || ws.readyState === WebSocket.CLOSED) return;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return;
    }
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    // The closing handshake needs the peer; don't let a silent one hold the socket for ws's 30 s.
    const timer = setTimeout(() => ws.terminate(), 2000);
    ws.once('close', () => clearTimeout(timer));
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
