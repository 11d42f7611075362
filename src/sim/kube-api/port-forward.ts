/**
 * The kubelet/CRI side of a legacy WebSocket port-forward, as the API server proxies it for
 * `GET /api/v1/namespaces/{ns}/pods/{pod}/portforward?ports=N` with a `*.channel.k8s.io` subprotocol.
 *
 * Model: kubernetes/kubernetes staging/src/k8s.io/kubelet/pkg/cri/streaming/portforward/websocket.go
 * (channels, port prefix, error text) and containerd internal/cri/server/sandbox_portforward_linux.go
 * (dial inside the pod network namespace, its error text). Behaviour only, no code taken from them.
 */
import net from 'node:net';
import {WebSocket, type RawData} from 'ws';

/** Subprotocols the kubelet's port-forward server accepts; "" = none requested (binary framing). */
export const PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'] as const;
export type ChannelProtocol = '' | (typeof PORT_FORWARD_PROTOCOLS)[number];

/**
 * wsstream handshake: the first protocol in the client's list that the server supports wins; a client
 * that asked for protocols but got none of ours is refused.
 */
export function negotiateProtocol(header: string | undefined): {protocol: ChannelProtocol} | {error: string} {
  if (header === undefined || header.trim() === '') return {protocol: ''};
  const offered = header.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of offered) {
    const supported = PORT_FORWARD_PROTOCOLS.find((s) => s === p);
    if (supported !== undefined) return {protocol: supported};
  }
  return {error: `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [ ${PORT_FORWARD_PROTOCOLS.join(' ')}]`};
}

export interface PodIdentity {
  namespace: string;
  name: string;
  /** containerd names the pod by its sandbox id in port-forward errors. */
  sandboxId: string;
  netnsPath: string;
}

export interface TcpTarget {
  host: string;
  port: number;
}

export type KillMode = 'terminate' | 'close' | 'reset';

/** Byte counters of one port-forward WebSocket (all ports together). */
export interface PortForwardStats {
  /** Payload bytes received from the client on data channels. */
  fromClient: number;
  /** Payload bytes sent to the client on data channels (prefixes excluded). */
  toClient: number;
  /** Bytes accepted from the client but not yet handed to the pod sockets' kernel buffers. */
  queuedToPod: number;
  /** Bytes queued on the WebSocket towards the client (`ws.bufferedAmount`). */
  queuedToClient: number;
}

interface PortStream {
  port: number;
  socket?: net.Socket;
  connected: boolean;
  done: boolean;
  /** Its socket's buffer was full at a write and has not said 'drain' since (one 'drain' ends any number of full writes). */
  congested: boolean;
}

/** Above this many buffered bytes on the WebSocket the pod sockets stop being read. */
const HIGH_WATER = 1 << 20;
const LOW_WATER = 256 << 10;

const GO_DIAL_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
  ETIMEDOUT: 'connect: connection timed out',
};

/** Go's net.OpError text for a failed dial. */
function goDialError(err: NodeJS.ErrnoException): string {
  return GO_DIAL_ERRORS[err.code ?? ''] ?? `connect: ${err.message}`;
}

export class PortForwardSession {
  readonly closed: Promise<void>;
  private readonly streams: PortStream[];
  private readingPaused = false;
  private stalled = false;
  private congestedTargets = 0;
  private resolveClosed!: () => void;
  private fromClient = 0;
  private toClient = 0;

  constructor(
    readonly ws: WebSocket,
    readonly protocol: ChannelProtocol,
    readonly pod: PodIdentity,
    ports: readonly number[],
    resolveTarget: (port: number) => TcpTarget | undefined,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.streams = ports.map((port) => ({port, connected: false, done: false, congested: false}));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onWsClosed());
    ws.on('error', () => this.onWsClosed());

    // websocket.go: the port goes out first, uint16 little-endian, as its own message on the data
    // channel and then on the error channel of every port.
    this.streams.forEach((s, i) => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16LE(s.port, 0);
      this.send(2 * i, prefix);
      this.send(2 * i + 1, prefix);
    });
    this.streams.forEach((s, i) => this.dial(s, i, resolveTarget(s.port)));
  }

  stats(): PortForwardStats {
    return {
      fromClient: this.fromClient,
      toClient: this.toClient,
      queuedToPod: this.streams.reduce((n, s) => n + (s.socket?.writableLength ?? 0), 0),
      queuedToClient: this.ws.bufferedAmount,
    };
  }

  /** Ends the session the way a dying pod or node would. */
  kill(mode: KillMode = 'terminate'): void {
    if (mode === 'reset') {
      this.streams.forEach((s, i) => {
        const local = s.socket?.localPort ?? 0;
        this.finish(i, `read tcp4 127.0.0.1:${local}->127.0.0.1:${s.port}: read: connection reset by peer`);
      });
      return;
    }
    for (const s of this.streams) {
      s.done = true;
      s.socket?.destroy();
    }
    if (mode === 'terminate') this.ws.terminate();
    else this.ws.close(1000);
  }

  private dial(stream: PortStream, index: number, target: TcpTarget | undefined): void {
    if (target === undefined) {
      // Nothing listens on that port inside the pod.
      const refused = {code: 'ECONNREFUSED', message: 'connection refused'} as NodeJS.ErrnoException;
      this.finish(index, this.dialFailure(stream.port, refused));
      return;
    }
    const socket = net.connect({host: target.host, port: target.port});
    stream.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => (stream.connected = true));
    socket.on('data', (chunk: Buffer) => {
      this.toClient += chunk.length;
      this.send(2 * index, chunk);
      if (!this.readingPaused && this.ws.bufferedAmount > HIGH_WATER) this.pauseReading();
    });
    socket.on('drain', () => this.uncongest(stream));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!stream.connected) {
        this.finish(index, this.dialFailure(stream.port, err));
      } else {
        const reason = err.code === 'ECONNRESET' ? 'read: connection reset by peer' : err.message;
        this.finish(index, `read tcp4 127.0.0.1:${socket.localPort ?? 0}->127.0.0.1:${stream.port}: ${reason}`);
      }
    });
    // The pod closed its side: containerd's copy loop ends, the kubelet closes the whole connection.
    socket.on('close', () => this.finish(index));
  }

  private dialFailure(port: number, err: NodeJS.ErrnoException): string {
    const reason = goDialError(err);
    // containerd tries tcp4 then tcp6 and reports both; note its trailing space.
    return `failed to connect to localhost:${port} inside namespace "${this.pod.sandboxId}", ` +
      `IPv4: dial tcp4 127.0.0.1:${port}: ${reason} IPv6 dial tcp6 [::1]:${port}: ${reason} `;
  }

  /** One port is over; with an error its text goes to the port's error channel first. */
  private finish(index: number, error?: string): void {
    const stream = this.streams[index];
    if (stream === undefined || stream.done) return;
    stream.done = true;
    if (error !== undefined) {
      // websocket.go: `error forwarding port %d to pod %s, uid %v: %v`; containerd passes no uid.
      const text = `error forwarding port ${stream.port} to pod ${this.pod.sandboxId}, uid : ` +
        `failed to execute portforward in network namespace "${this.pod.netnsPath}": ${error}`;
      this.send(2 * index + 1, Buffer.from(text, 'utf8'));
    }
    stream.socket?.destroy();
    // A port that is over no longer holds the others back.
    this.uncongest(stream);
    if (this.streams.every((s) => s.done) && this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
  }

  private uncongest(stream: PortStream): void {
    if (!stream.congested) return;
    stream.congested = false;
    this.congestedTargets--;
    if (this.congestedTargets === 0 && !this.stalled) this.ws.resume();
  }

  private send(channel: number, payload: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const afterWrite = (): void => {
      if (this.readingPaused && this.ws.bufferedAmount <= LOW_WATER) this.resumeReading();
    };
    if (this.protocol === 'v4.base64.channel.k8s.io') {
      // Base64 framing: channel as the ASCII digit '0'+n, payload base64, text frames.
      this.ws.send(String.fromCharCode(48 + channel) + payload.toString('base64'), afterWrite);
    } else {
      const frame = Buffer.allocUnsafe(payload.length + 1);
      frame[0] = channel;
      payload.copy(frame, 1);
      this.ws.send(frame, {binary: true}, afterWrite);
    }
  }

  private pauseReading(): void {
    this.readingPaused = true;
    for (const s of this.streams) s.socket?.pause();
  }

  /** A stopped (not closed) API server: nothing is relayed either way until `stall(false)`. */
  stall(stalled: boolean): void {
    this.stalled = stalled;
    if (stalled) {
      this.ws.pause();
      for (const s of this.streams) s.socket?.pause();
      return;
    }
    if (this.congestedTargets === 0) this.ws.resume();
    if (!this.readingPaused) for (const s of this.streams) if (!s.done) s.socket?.resume();
  }

  private resumeReading(): void {
    this.readingPaused = false;
    if (this.stalled) return;
    for (const s of this.streams) if (!s.done) s.socket?.resume();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    let buf: Buffer;
    if (Array.isArray(data)) buf = Buffer.concat(data);
    else if (data instanceof ArrayBuffer) buf = Buffer.from(data);
    else buf = data;
    if (buf.length === 0) return;
    let channel: number;
    let payload: Buffer;
    if (this.protocol === 'v4.base64.channel.k8s.io' && !isBinary) {
      channel = buf[0]! - 48;
      payload = Buffer.from(buf.subarray(1).toString('latin1'), 'base64');
    } else {
      channel = buf[0]!;
      payload = buf.subarray(1);
    }
    // Only even (data) channels are readable; writes to error channels or unknown channels are dropped.
    if (channel % 2 !== 0) return;
    const stream = this.streams[channel / 2];
    if (stream === undefined || stream.done || stream.socket === undefined || payload.length === 0) return;
    this.fromClient += payload.length;
    // Messages already read from the WebSocket's socket still arrive after pause(), so a congested
    // stream is counted once, not once per write that found its buffer full.
    if (!stream.socket.write(payload) && !stream.congested) {
      stream.congested = true;
      this.congestedTargets++;
      this.ws.pause();
    }
  }

  private onWsClosed(): void {
    for (const s of this.streams) {
      s.done = true;
      s.socket?.destroy();
    }
    this.resolveClosed();
  }
}
