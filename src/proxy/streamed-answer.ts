// Node's global `Buffer` is not a constant to the optimizer; the import is.
import {Buffer} from 'node:buffer';
import {RESPONSE_FLAG} from '../protocol/header.js';
import {localAnswer} from '../router/local-answer.js';
import type {LocalAnswer} from '../router/local-answer.js';
import {BoundedCopy} from './call-copy.js';
import type {Exchange} from './completion.js';

/**
 * Answers with a body at least this long are passed on as they arrive rather than held whole:
 * past one socket read (64 KiB), holding an answer delays its first byte by the time the rest
 * takes to come and keeps it all in memory; below, a frame comes in one or two reads anyway.
 */
export const STREAM_ANSWERS_FROM = 64 * 1024;

/**
 * The response flags (hessian2AnswerFlag) of OK Hessian 2 answers that end with their attachments
 * map (RESPONSE_FLAG.*_WITH_ATTACHMENTS). Only these are
 * streamed: an answer cut off midway is padded (see PAD_BYTE), and a body that ends with a map is
 * sure to fail to decode then; one that ends with a plain value could decode into a wrong value.
 */
const STREAMABLE_FLAGS: ReadonlySet<number | undefined> = new Set([RESPONSE_FLAG.WITH_EXCEPTION_WITH_ATTACHMENTS, RESPONSE_FLAG.VALUE_WITH_ATTACHMENTS, RESPONSE_FLAG.NULL_VALUE_WITH_ATTACHMENTS]);

/** Whether an OK answer with this response flag may be passed on as it arrives (see STREAMABLE_FLAGS). */
export function isStreamable(flag: number | undefined): boolean {
  return STREAMABLE_FLAGS.has(flag);
}

/**
 * What the rest of a streamed answer is filled with when its provider's stream dies midway: the
 * consumer already has its header, and its connection carries other answers, so the frame is
 * completed to its announced length rather than the connection closed. 0x40 is a code Hessian 2
 * leaves unassigned ('unknown code' in Hessian2Input.readObject), so the consumer's decoding fails
 * at the first value it reads from the padding, at the latest the attachments map that ends the
 * body: that one call fails, with Dubbo's decode error, and the consumer's other calls go on.
 */
export const PAD_BYTE = 0x40;
const PADDING = Buffer.alloc(64 * 1024, PAD_BYTE);

/** The consumer's place on the upstream, as far as a streamed answer uses it (an upstream's Attachment). */
export interface StreamedAnswerTarget {
  pending: number;
  readonly owner: {
    continueStreamedAnswer(piece: Buffer): void;
    endStreamedAnswer(): void;
  };
}

/**
 * An answer being passed on as it arrives (its header and first bytes already written to the
 * consumer); `to` undefined: its consumer left, the rest is dropped as it comes.
 */
export class StreamedAnswer {
  to: StreamedAnswerTarget | undefined;
  readonly exchange: Exchange | undefined;
  readonly #status: number;
  /** The answer carries the provider's exception: a failed call although its status is OK. */
  readonly #thrown: boolean;
  readonly #total: number;
  /** Bytes of the frame not yet passed on. */
  #left: number;
  /** What the consumer was sent of it, when the call is captured (Exchange.capturing). */
  readonly #copy: BoundedCopy | undefined;

  /** `held`: the bytes already written to `to` (its own id written back), of a frame of `total` bytes. */
  constructor(to: StreamedAnswerTarget | undefined, exchange: Exchange | undefined, status: number, flag: number | undefined, total: number, held: readonly Buffer[]) {
    this.to = to;
    this.exchange = to === undefined ? undefined : exchange;
    this.#status = status;
    this.#thrown = flag === RESPONSE_FLAG.WITH_EXCEPTION_WITH_ATTACHMENTS;
    this.#total = total;
    let heldLength = 0;
    for (const piece of held) heldLength += piece.length;
    this.#left = total - heldLength;
    if (to !== undefined && exchange?.capturing === true) {
      // Its first bytes as the consumer got them, the rest as they pass.
      this.#copy = new BoundedCopy();
      for (const piece of held) this.#copy.add(piece);
    }
  }

  /** The next piece of the frame, passed on to the consumer. */
  pass(piece: Buffer): void {
    this.#left -= piece.length;
    this.to?.owner.continueStreamedAnswer(piece);
    if (this.#copy !== undefined) this.#copy.add(piece);
  }

  /** The provider's stream died: the rest of the frame is passed on as PAD_BYTE; returns the failure the call completes with. */
  padRest(reason: string): LocalAnswer {
    this.#pad();
    return localAnswer('DT_ERR_BACKEND_CLOSED', `${reason}; ${this.#cutOffAt()}`);
  }

  /**
   * A stop's wait ended midway while its consumer is still connected (it gets its other answers,
   * or the stop's error for them, before the connection ends): the rest of the frame is passed on
   * as PAD_BYTE, the consumer's other writes go on, the call completes with the stop's error, and
   * what the provider still sends of this answer is dropped as it comes.
   */
  stoppedMidway(reason: string): void {
    if (this.to === undefined) return;
    this.#pad();
    this.finish(localAnswer('DT_ERR_STOPPED_BEFORE_ANSWER', `${reason}; ${this.#cutOffAt()}`));
    this.to = undefined;
  }

  #pad(): void {
    // The consumer may be cut off for not reading while this is written: then the rest is not.
    for (let left = this.#left; left > 0 && this.to !== undefined; left -= PADDING.length) {
      const padding = left >= PADDING.length ? PADDING : PADDING.subarray(0, left);
      this.to.owner.continueStreamedAnswer(padding);
      this.#copy?.add(padding);
    }
  }

  #cutOffAt(): string {
    return `the answer to ${this.exchange?.target ?? 'this request'} was cut off after ${this.#total - this.#left} of ${this.#total} bytes (the consumer got it padded so that it fails to decode)`;
  }

  /** Its consumer left midway: nothing more goes to it, and the call completes as `answer` says. */
  consumerLeft(answer: LocalAnswer | undefined): void {
    const to = this.to;
    if (to === undefined) return;
    this.to = undefined;
    to.pending--;
    if (answer !== undefined) this.exchange?.complete(answer.status, answer, false, this.#copy);
  }

  /** The frame is done (whole, or padded with `failure`): the consumer's writes go on, the call completes. */
  finish(failure?: LocalAnswer): void {
    const to = this.to;
    if (to === undefined) return;
    to.pending--;
    to.owner.endStreamedAnswer();
    if (failure === undefined) this.exchange?.complete(this.#status, undefined, this.#thrown, this.#copy);
    else this.exchange?.complete(failure.status, failure, false, this.#copy);
  }
}
