// Node's global `Buffer` is not a constant to the optimizer; the import is.
import {Buffer} from 'node:buffer';
import type {Duplex} from 'node:stream';
import type {FrameDecoder} from '../protocol/frame-decoder.js';
import {HEADER_LENGTH, MAGIC_HIGH, MAGIC_LOW, int32At} from '../protocol/header.js';

/** A frame's original bytes: one buffer, or the socket chunks it arrived in (never copied together). */
export type FrameBytes = Buffer | readonly Buffer[];

/**
 * How much may wait in a stream's buffer before its writer is told to wait for 'drain'. A socket's
 * own mark (16 KiB) is a fraction of one large frame: stopping the other side there makes reading
 * and writing take turns, once per chunk. With this much, the next bytes are read while the last
 * ones are written; it is also what the tunnel holds at most per destination beyond one chunk.
 */
export const WRITE_SLACK = 1024 * 1024;

/**
 * The writes caused by one incoming chunk, joined so that they leave in one system call per
 * destination: a stream written to while a chunk is dispatched is corked at its first write and
 * uncorked when the chunk is done, before control goes back to the event loop. At 64 requests in
 * flight this halves the CPU per request; at 1 in flight it costs nothing (no tick is scheduled,
 * and a single frame leaves as a plain write). See docs/performance.md.
 *
 * One batch serves a consumer connection and its upstreams: they are the only ones writing to each
 * other's streams, and dispatching is synchronous, so one chunk of theirs is dispatched at a time
 * (a dispatch nested in another, from a stream that emits data while it is written to, joins it).
 */
export class WriteBatch {
  /** Streams corked during the chunk being dispatched. */
  readonly #corked: Duplex[] = [];
  #depth = 0;

  /** Feeds one incoming chunk to its frame decoder; what the frames cause to be written leaves when it is done. */
  dispatch(decoder: FrameDecoder, chunk: Buffer): void {
    // One whole frame (as at one request in flight), or a chunk wholly inside a frame being streamed
    // through, writes to one stream at most: nothing to join, so it goes out as a plain write,
    // without the cork's bookkeeping.
    if (this.#depth === 0 && decoder.bufferedBytes === 0 && (chunk.length <= decoder.streamBytesLeft || isOneFrame(chunk))) {
      decoder.push(chunk);
      return;
    }
    this.#depth++;
    try {
      decoder.push(chunk);
    } finally {
      if (--this.#depth === 0) this.#uncorkAll();
    }
  }

  /**
   * Writes a frame, joined with the others of the chunk being dispatched; false when the stream
   * holds more than WRITE_SLACK and the writer should wait for its 'drain'.
   */
  write(stream: Duplex, frame: FrameBytes): boolean {
    if (this.#depth > 0 && stream.writableCorked === 0) {
      stream.cork();
      this.#corked.push(stream);
    }
    return writeNow(stream, frame) || stream.writableLength <= WRITE_SLACK;
  }

  #uncorkAll(): void {
    // uncork() may end up in code that writes again (an error answer): the depth is back at 0, so
    // that write goes out directly.
    const corked = this.#corked;
    for (let i = 0; i < corked.length; i++) corked[i]?.uncork();
    corked.length = 0;
  }
}

function isOneFrame(chunk: Buffer): boolean {
  if (chunk.length < HEADER_LENGTH || chunk[0] !== MAGIC_HIGH || chunk[1] !== MAGIC_LOW) return false;
  return int32At(chunk, 12) === chunk.length - HEADER_LENGTH;
}

/** Writes a frame as it is (one buffer, or its pieces); false when the stream wants us to wait for 'drain'. */
function writeNow(stream: Duplex, frame: FrameBytes): boolean {
  if (Buffer.isBuffer(frame)) return stream.write(frame);
  let flowing = true;
  for (const piece of frame) flowing = stream.write(piece) && flowing;
  return flowing;
}

/** Writes several frames (queued while a stream was connecting) in one system call. */
export function writeFrames(stream: Duplex, frames: readonly FrameBytes[]): boolean {
  stream.cork();
  let flowing = true;
  for (const frame of frames) flowing = writeNow(stream, frame) && flowing;
  stream.uncork();
  return flowing;
}

export function frameLength(frame: FrameBytes): number {
  if (Buffer.isBuffer(frame)) return frame.length;
  let total = 0;
  for (const piece of frame) total += piece.length;
  return total;
}
