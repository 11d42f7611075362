// Node's global `Buffer` is not a constant to the optimizer; the import is.
import {Buffer} from 'node:buffer';
import {CAPTURE_LIMIT_BYTES} from '../core/calls.js';
import type {CapturedBytes, CapturedCall} from '../core/calls.js';
import type {RequestCompleted} from '../core/events.js';
import {HEADER_LENGTH, writeHeader} from '../protocol/header.js';
import type {FrameHeader} from '../protocol/header.js';
import type {FrameBytes} from './write-batch.js';

/**
 * The copies the call inspector is given (`call-captured`, core/calls.ts). Made only for a request
 * that arrived while `CallCapture.on`: an exchange without one copies nothing, whatever answers it.
 * Copies, not references: the bytes passed on are the sockets' chunks and the listener's reused
 * read buffer, and a request's id bytes are overwritten with the upstream's own when it is sent.
 */

/** Bytes that pass in pieces (a streamed answer, a Triple stream's DATA): copied up to CAPTURE_LIMIT_BYTES, the rest counted. */
export class BoundedCopy {
  readonly #pieces: Buffer[] = [];
  #copied = 0;
  #length = 0;

  add(piece: Buffer): void {
    this.#length += piece.length;
    const room = CAPTURE_LIMIT_BYTES - this.#copied;
    if (room <= 0 || piece.length === 0) return;
    const copy = Buffer.from(piece.subarray(0, room));
    this.#pieces.push(copy);
    this.#copied += copy.length;
  }

  /** What was copied, in one buffer, and how long it all was. */
  result(): CapturedBytes {
    return {bytes: Buffer.concat(this.#pieces, this.#copied), length: this.#length};
  }
}

/** A whole frame (one buffer, or the pieces it came in) copied up to CAPTURE_LIMIT_BYTES. */
export function copyFrame(frame: FrameBytes): CapturedBytes {
  if (Buffer.isBuffer(frame)) return {bytes: Buffer.from(frame.subarray(0, CAPTURE_LIMIT_BYTES)), length: frame.length};
  const copy = new BoundedCopy();
  for (const piece of frame) copy.add(piece);
  return copy.result();
}

/**
 * The header alone of a request that was too large to be read (it is skipped, never buffered):
 * what the consumer sent is known only that far, and `length` says how long it really was.
 */
export function headerOnly(header: FrameHeader): CapturedBytes {
  const bytes = Buffer.alloc(HEADER_LENGTH);
  writeHeader(bytes, 0, header);
  return {bytes, length: HEADER_LENGTH + header.bodyLength};
}

/** What a captured exchange keeps until it completes, and how it becomes the `call-captured` payload. */
export interface CallCopy {
  /**
   * `answer`: the answer the consumer got, when the path that answered wrote it whole (a frame) or
   * collected it as it passed (a BoundedCopy); undefined when the consumer got none.
   */
  finish(completed: RequestCompleted, origin: 'consumer' | 'http', answer: FrameBytes | BoundedCopy | undefined): CapturedCall;
}

/** One Dubbo request as the consumer sent it: header included, with its own request id. */
export class DubboCallCopy implements CallCopy {
  readonly at = Date.now();
  readonly #request: CapturedBytes;

  constructor(request: CapturedBytes) {
    this.#request = request;
  }

  finish(completed: RequestCompleted, origin: 'consumer' | 'http', answer: FrameBytes | BoundedCopy | undefined): CapturedCall {
    return {
      protocol: 'dubbo',
      at: this.at,
      completed,
      origin,
      request: this.#request,
      // A one-way request has no answer, whatever its path did.
      answer: completed.oneWay || answer === undefined ? undefined : answer instanceof BoundedCopy ? answer.result() : copyFrame(answer),
    };
  }
}
