// A laptop's stream to a team gateway, byte by byte: raw Dubbo frames in and out, for tests that
// speak the gateway's wire protocol themselves (hello, catalog, calls) without the laptop end.
import net from 'node:net';
import {decodeGatewayAnswer, type GatewayAnswer} from '../../src/gateway/protocol.js';
import {readHeader} from '../../src/protocol/header.js';
import {decodeResponse, encodeRequest, parseFrame} from './dubbo-wire.js';
import {waitFor} from './wait.js';

/** A laptop stream: raw frames in and out. */
export class LaptopStream {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<LaptopStream> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({port, host: '127.0.0.1'}, () => resolve(new LaptopStream(socket)));
      socket.once('error', reject);
    });
  }

  /** The next whole frame. */
  async frame(timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buffer.length >= 16) {
        const length = 16 + this.#buffer.readInt32BE(12);
        if (this.#buffer.length >= length) {
          const frame = this.#buffer.subarray(0, length);
          this.#buffer = this.#buffer.subarray(length);
          return frame;
        }
      }
      if (this.closed) throw new Error('the stream closed');
      if (Date.now() > deadline) throw new Error('no frame in time');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async ask(bytes: Buffer): Promise<GatewayAnswer> {
    this.socket.write(bytes);
    const frame = await this.frame();
    return decodeGatewayAnswer(readHeader(frame), frame);
  }

  async call(id: bigint, application: string, service = 'com.example.UserService'): Promise<ReturnType<typeof decodeResponse>> {
    this.socket.write(encodeRequest({id, service, method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {'target-application': application}}));
    return decodeResponse(parseFrame(await this.frame()));
  }

  async waitClosed(): Promise<void> {
    await waitFor(() => this.closed, {timeoutMs: 5000, message: 'the gateway did not close the stream'});
  }

  close(): void {
    this.socket.destroy();
  }
}

