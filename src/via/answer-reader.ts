import type {Duplex} from 'node:stream';
import {DubboTunnelError} from '../core/errors.js';
import type {ErrorCode} from '../core/errors.js';
import {decodeGatewayAnswer} from '../gateway/protocol.js';
import type {GatewayAnswer} from '../gateway/protocol.js';
import {FLAG_REQUEST, HEADER_LENGTH, MAGIC_HIGH, MAGIC_LOW, int32At, readHeader} from '../protocol/header.js';

// A gateway link's own answers (to its hello and catalog polls), read from a stream it may share
// with upstreams, and the gateway's refusals as coded errors with their fix.

/** A hello (or a catalog poll) that gets no answer within this long fails the stream. */
const ANSWER_TIMEOUT_MS = 10_000;

/** The value of an answer, or the gateway's refusal as an error with its code. */
export function valueOf(answer: GatewayAnswer, what: string): unknown {
  if (answer.kind === 'value') return answer.value;
  const code: ErrorCode = answer.code ?? 'DT_ERR_GATEWAY_PROTOCOL';
  const text = answer.message.replace(/^dubbo-tunnel \[[A-Z_]+\]:\s*/, '');
  return failWith(code, `the gateway refused the ${what}: ${text === '' ? `status ${answer.status}` : text}`);
}

function failWith(code: ErrorCode, message: string): never {
  throw new DubboTunnelError(code, message, {hint: hintFor(code)});
}

function hintFor(code: ErrorCode): string | undefined {
  if (code === 'DT_ERR_GATEWAY_UNAUTHENTICATED') return 'log in again with your cluster\'s tool (`kubectl auth whoami` shows whether the credential works), or use a context with a valid token; see docs/team-mode.md';
  if (code === 'DT_ERR_GATEWAY_PROTOCOL') return 'use the same dubbo-tunnel version on the laptop as the gateway runs';
  return undefined;
}

/**
 * Reads the link's own answers from a stream it shares (or is greeting on): it follows the frame
 * boundaries by their headers alone, copies out only the frames whose id `mine` claims, and leaves
 * every byte to whoever else reads the stream.
 */
export class AnswerReader {
  readonly #stream: Duplex;
  readonly #mine: (id: bigint) => boolean;
  readonly #waiting = new Map<bigint, {resolve: (answer: GatewayAnswer) => void; reject: (error: Error) => void; timer: NodeJS.Timeout}>();
  /** Bytes of the header being read, while it is split between chunks. */
  #header = Buffer.alloc(0);
  /** Body bytes left in the current frame, and the frame's bytes when it is one of ours. */
  #left = 0;
  #own: Buffer[] | undefined;
  #ownHeader: Buffer | undefined;
  #broken = false;
  readonly #onData = (chunk: Buffer) => this.#read(chunk);
  readonly #onClose = () => this.fail('the gateway closed the stream');
  readonly #onError = (error: Error) => this.fail(`the stream to the gateway failed: ${error.message}`);

  constructor(stream: Duplex, mine: (id: bigint) => boolean) {
    this.#stream = stream;
    this.#mine = mine;
    stream.on('data', this.#onData);
    stream.once('close', this.#onClose);
    stream.on('error', this.#onError);
  }

  expect(id: bigint): Promise<GatewayAnswer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new DubboTunnelError('DT_ERR_BACKEND_UNAVAILABLE', `the gateway did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`));
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      this.#waiting.set(id, {resolve, reject, timer});
    });
  }

  fail(reason: string, code: ErrorCode = 'DT_ERR_BACKEND_UNAVAILABLE'): void {
    for (const [id, waiter] of this.#waiting) {
      clearTimeout(waiter.timer);
      this.#waiting.delete(id);
      waiter.reject(new DubboTunnelError(code, reason, {hint: hintFor(code)}));
    }
  }

  /**
   * Stops reading (the hello is done). The stream stays flowing: its next reader attaches before
   * any more bytes can arrive (only promise callbacks run in between), and the gateway sends nothing
   * unasked.
   */
  detach(): void {
    this.#stream.off('data', this.#onData);
    this.#stream.off('close', this.#onClose);
    this.#stream.off('error', this.#onError);
  }

  #read(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.#broken) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, chunk.length - at);
        this.#own?.push(chunk.subarray(at, at + take));
        this.#left -= take;
        at += take;
        if (this.#left === 0) this.#finish();
        continue;
      }
      const need = HEADER_LENGTH - this.#header.length;
      const piece = chunk.subarray(at, at + need);
      this.#header = this.#header.length === 0 ? Buffer.from(piece) : Buffer.concat([this.#header, piece]);
      at += piece.length;
      if (this.#header.length < HEADER_LENGTH) break;
      const header = this.#header;
      this.#header = Buffer.alloc(0);
      if (header[0] !== MAGIC_HIGH || header[1] !== MAGIC_LOW) {
        // Not Dubbo: whoever reads the stream closes it; nothing more can be found here.
        this.#broken = true;
        // Something listens there, but not a gateway (an HTTP server, a database): not a network fault.
        this.fail('the peer sent bytes that are not Dubbo: it is not a dubbo-tunnel gateway', 'DT_ERR_GATEWAY_PROTOCOL');
        return;
      }
      this.#left = int32At(header, 12);
      const isRequest = ((header[2] ?? 0) & FLAG_REQUEST) !== 0;
      const id = header.readBigInt64BE(4);
      const ours = !isRequest && this.#mine(id) && this.#waiting.has(id);
      this.#own = ours ? [] : undefined;
      this.#ownHeader = ours ? header : undefined;
      if (this.#left === 0) this.#finish();
    }
  }

  #finish(): void {
    const header = this.#ownHeader;
    const body = this.#own;
    this.#own = undefined;
    this.#ownHeader = undefined;
    if (header === undefined || body === undefined) return;
    const frame = Buffer.concat([header, ...body]);
    const parsed = readHeader(frame);
    const waiter = this.#waiting.get(parsed.requestId);
    if (waiter === undefined) return;
    this.#waiting.delete(parsed.requestId);
    clearTimeout(waiter.timer);
    try {
      waiter.resolve(decodeGatewayAnswer(parsed, frame));
    } catch (error) {
      waiter.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
