/**
 * Cuts a Dubbo byte stream into whole frames by the 16-byte header alone (ExchangeCodec.decode:
 * magic, then the int32 body length at bytes 12-15). Bodies are never parsed here and frames are
 * handed on as their original bytes. No sockets, no events: the transport calls push() per chunk.
 *
 * Copy discipline (hot path): a frame lying inside one chunk is passed as a subarray of it; a frame
 * spanning chunks is handed out as its pieces (sinks with framePieces) or assembled once, into one
 * Buffer.allocUnsafe(total). A large frame a sink takes as a stream (streamStart) is handed out as
 * it arrives and never held whole.
 * An over-limit body is skipped as it arrives and never held.
 */
import {ProtocolError} from '../core/errors.js';
import {DEFAULT_PAYLOAD, HEADER_LENGTH, MAGIC_HIGH, MAGIC_LOW, emptyHeader, readHeader, readHeaderInto, type FrameHeader, type MutableFrameHeader} from './header.js';
import {describeNonDubbo} from './sniff.js';

export interface FrameSink {
  /** A whole frame. `frame` = header + body: the ORIGINAL bytes (forwarded as is). body = frame.subarray(16). */
  frame(header: FrameHeader, frame: Buffer): void;
  /**
   * Optional: a whole frame that arrived across several chunks, as those chunks' views (in order,
   * `length` bytes in all), so a sink that only forwards bytes never pays for a copy. Without this
   * method such a frame is assembled into one buffer and passed to frame().
   */
  framePieces?(header: FrameHeader, pieces: Buffer[], length: number): void;
  /** Body length > maxBodyLength: the body is skipped as it arrives, never buffered; decoding resumes after it. */
  oversize(header: FrameHeader): void;
  /** Not Dubbo / framing lost (bad magic at a frame start, negative body length). Nothing more is decoded after this. */
  fatal(error: ProtocolError, firstBytes: Buffer): void;
  /**
   * Optional (with streamPiece): a frame whose body is at least `streamFrom` bytes (within the
   * limit) has its header and at least one body byte in, but not the rest. Return true to take it
   * as it arrives: `held` (its first bytes, header first, as views of their chunks) now, the rest
   * through streamPiece; false to get it whole (frame or framePieces), as without this method.
   * Asked once per frame.
   */
  streamStart?(header: FrameHeader, held: readonly Buffer[], total: number): boolean;
  /** The next bytes of the frame streamStart took, in order; `end` with its last byte. */
  streamPiece?(piece: Buffer, end: boolean): void;
}

export interface FrameDecoderOptions {
  /** Largest body accepted, in bytes (default DEFAULT_PAYLOAD = 8 MiB; exactly max is allowed, max+1 is oversize). */
  maxBodyLength?: number;
  /**
   * Hand the sink the same header object for every frame, valid only during the call: for sinks
   * that keep nothing of it but its values (the proxy, which reads one per frame at line rate).
   */
  reuseHeader?: boolean;
  /** Frames with a body of at least this many bytes are offered to the sink's streamStart (default: none are). */
  streamFrom?: number;
}

/** How many bytes of a bad frame start are handed to fatal() and described in the error. */
const SNIFF_LENGTH = 64;

export class FrameDecoder {
  readonly #sink: FrameSink;
  readonly #maxBody: number;
  /** Pieces of the one frame (or header) being assembled; the last may end mid-frame. */
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  /** Set once the pending frame's 16 header bytes are in. */
  #pending: FrameHeader | undefined;
  #pendingTotal = 0;
  /** Bytes of an oversize body still to be discarded. */
  #skip = 0;
  readonly #streamFrom: number;
  /** Bytes of the frame the sink takes as a stream still to come. */
  #streamLeft = 0;
  /** The pending frame was offered to streamStart and refused: it is assembled as usual. */
  #declined = false;
  #closed = false;
  #failed = false;
  /** Stream offset of the next frame start, and frames seen: only for error messages. */
  #streamOffset = 0;
  #frames = 0;
  /** A header split across chunks is copied here to be read; reused, never handed out. */
  readonly #scratch = Buffer.allocUnsafe(HEADER_LENGTH);

  /** The one header object handed out when reuseHeader is set. */
  readonly #header: MutableFrameHeader | undefined;

  constructor(sink: FrameSink, options: FrameDecoderOptions = {}) {
    this.#sink = sink;
    this.#maxBody = options.maxBodyLength ?? DEFAULT_PAYLOAD;
    this.#streamFrom = sink.streamStart === undefined ? Infinity : options.streamFrom ?? Infinity;
    this.#header = options.reuseHeader === true ? emptyHeader() : undefined;
  }

  #readHeader(buf: Buffer, offset: number): FrameHeader {
    return this.#header === undefined ? readHeader(buf, offset) : readHeaderInto(this.#header, buf, offset);
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Bytes still to come of the frame the sink takes as a stream (0 when none is). */
  get streamBytesLeft(): number {
    return this.#streamLeft;
  }

  get failed(): boolean {
    return this.#failed;
  }

  /** Stop: later push() calls are ignored (safe to call from inside a sink callback). */
  close(): void {
    this.#closed = true;
    this.#release();
  }

  /**
   * Feeds the next bytes of the stream. Frames inside `chunk` are handed out as views of it, so the
   * caller must not reuse its memory (net.Socket never does). Not reentrant: a sink callback may
   * call close() but not push().
   */
  push(chunk: Buffer): void {
    if (this.#closed || this.#failed || chunk.length === 0) return;
    let data: Buffer | undefined = chunk;
    if (this.#skip > 0) {
      if (data.length <= this.#skip) {
        this.#skip -= data.length;
        this.#streamOffset += data.length;
        return;
      }
      this.#streamOffset += this.#skip;
      data = data.subarray(this.#skip);
      this.#skip = 0;
    }
    if (this.#streamLeft > 0) {
      data = this.#streamOn(data);
      if (data === undefined) return;
    }
    if (this.#buffered > 0) {
      data = this.#continue(data);
      if (data === undefined) return;
    }
    this.#scan(data);
  }

  /** Nothing is buffered: emit every whole frame of `data` as a subarray, keep the tail. */
  #scan(data: Buffer): void {
    const length = data.length;
    let offset = 0;
    while (offset < length) {
      const available = length - offset;
      // One byte cannot be judged (a lone 0xda is a split magic): wait for the second.
      if (available < 2) break;
      if (data[offset] !== MAGIC_HIGH || data[offset + 1] !== MAGIC_LOW) {
        this.#badMagic(data.subarray(offset, offset + SNIFF_LENGTH));
        return;
      }
      if (available < HEADER_LENGTH) break;
      const header = this.#readHeader(data, offset);
      const bodyLength = header.bodyLength;
      if (bodyLength < 0) {
        this.#badLength(header, data.subarray(offset, offset + SNIFF_LENGTH));
        return;
      }
      if (bodyLength > this.#maxBody) {
        const inChunk = available - HEADER_LENGTH;
        if (inChunk >= bodyLength) {
          offset += HEADER_LENGTH + bodyLength;
          this.#streamOffset += HEADER_LENGTH + bodyLength;
        } else {
          this.#skip = bodyLength - inChunk;
          this.#streamOffset += available;
          offset = length;
        }
        this.#sink.oversize(header);
        if (this.#closed) return;
        continue;
      }
      const total = HEADER_LENGTH + bodyLength;
      if (available < total) {
        if (bodyLength >= this.#streamFrom && available > HEADER_LENGTH) {
          this.#declined = true;
          if (this.#sink.streamStart?.(header, [offset === 0 ? data : data.subarray(offset)], total) === true) {
            this.#streaming(available, total);
            return;
          }
          if (this.#closed) return;
        }
        this.#pending = header;
        this.#pendingTotal = total;
        break;
      }
      // A chunk that is exactly one frame (one request in flight) is handed on as it is.
      const frame = total === length ? data : data.subarray(offset, offset + total);
      offset += total;
      this.#streamOffset += total;
      this.#frames++;
      this.#sink.frame(header, frame);
      if (this.#closed) return;
    }
    if (offset < length) {
      this.#chunks.push(offset === 0 ? data : data.subarray(offset));
      this.#buffered = length - offset;
    }
  }

  /**
   * Part of a frame is buffered: add `data`; once the frame is whole, assemble and emit it.
   * Returns the bytes after that frame (to scan), or undefined when there are none or we stopped.
   */
  #continue(data: Buffer): Buffer | undefined {
    const before = this.#buffered;
    this.#chunks.push(data);
    this.#buffered += data.length;

    if (this.#pending === undefined) {
      if (before < 2 && this.#buffered >= 2) {
        // The magic was split after its first byte (ExchangeCodec checks both bytes).
        const first = this.#chunks[0];
        const second = first !== undefined && first.length >= 2 ? first[1] : data[1 - before];
        if (first?.[0] !== MAGIC_HIGH || second !== MAGIC_LOW) {
          this.#badMagic(this.#gather(SNIFF_LENGTH));
          return undefined;
        }
      }
      if (this.#buffered < HEADER_LENGTH) return undefined;
      this.#copyOut(this.#scratch, HEADER_LENGTH);
      const header = this.#readHeader(this.#scratch, 0);
      if (header.bodyLength < 0) {
        this.#badLength(header, this.#gather(SNIFF_LENGTH));
        return undefined;
      }
      if (header.bodyLength > this.#maxBody) return this.#oversizeBuffered(header, data);
      this.#pending = header;
      this.#pendingTotal = HEADER_LENGTH + header.bodyLength;
    }

    const total = this.#pendingTotal;
    if (this.#buffered < total) {
      if (!this.#declined && this.#buffered > HEADER_LENGTH && total - HEADER_LENGTH >= this.#streamFrom) {
        // Asked once: refused, the frame is assembled as usual.
        this.#declined = true;
        const held = this.#buffered;
        if (this.#sink.streamStart?.(this.#pending, this.#chunks.slice(), total) === true) {
          this.#release();
          this.#streaming(held, total);
        }
      }
      return undefined;
    }
    // Every piece but the last lies wholly inside this frame: before `data` came, fewer than
    // `total` bytes were held. So only `data` can carry bytes of the next frame.
    const chunks = this.#chunks;
    const last = chunks.length - 1;
    const fromLast = total - (this.#buffered - data.length);
    const header = this.#pending;
    if (this.#sink.framePieces) {
      const pieces = chunks.slice(0, last);
      pieces.push(fromLast === data.length ? data : data.subarray(0, fromLast));
      this.#release();
      this.#streamOffset += total;
      this.#frames++;
      this.#sink.framePieces(header, pieces, total);
    } else {
      const frame = Buffer.allocUnsafe(total);
      let offset = 0;
      for (let i = 0; i < last; i++) {
        const piece = chunks[i] as Buffer;
        piece.copy(frame, offset);
        offset += piece.length;
      }
      data.copy(frame, offset, 0, fromLast);
      this.#release();
      this.#streamOffset += total;
      this.#frames++;
      this.#sink.frame(header, frame);
    }
    if (this.#closed || fromLast === data.length) return undefined;
    return data.subarray(fromLast);
  }

  /** The sink took the frame whose first `held` bytes it has: the rest goes to it as it comes. */
  #streaming(held: number, total: number): void {
    this.#streamLeft = total - held;
    this.#streamOffset += held;
    this.#frames++;
  }

  /** Hands the sink the next bytes of the frame it streams; returns what follows that frame, if anything. */
  #streamOn(data: Buffer): Buffer | undefined {
    const take = Math.min(this.#streamLeft, data.length);
    this.#streamLeft -= take;
    this.#streamOffset += take;
    (this.#sink.streamPiece as (piece: Buffer, end: boolean) => void)(take === data.length ? data : data.subarray(0, take), this.#streamLeft === 0);
    if (this.#closed || take === data.length) return undefined;
    return data.subarray(take);
  }

  /** An over-limit header completed while buffering: drop what is held, skip the rest of the body. */
  #oversizeBuffered(header: FrameHeader, data: Buffer): Buffer | undefined {
    const bodyHeld = this.#buffered - HEADER_LENGTH;
    let rest: Buffer | undefined;
    if (bodyHeld >= header.bodyLength) {
      // Only `data` can reach past the body (fewer than 16 bytes were held before it).
      const after = bodyHeld - header.bodyLength;
      rest = after > 0 ? data.subarray(data.length - after) : undefined;
      this.#streamOffset += HEADER_LENGTH + header.bodyLength;
    } else {
      this.#skip = header.bodyLength - bodyHeld;
      this.#streamOffset += this.#buffered;
    }
    this.#release();
    this.#sink.oversize(header);
    return this.#closed ? undefined : rest;
  }

  #badMagic(firstBytes: Buffer): void {
    const where = this.#frames === 0 ? 'at the start of the stream' : `at byte ${this.#streamOffset}, after ${this.#frames} frame(s)`;
    this.#fail(
      new ProtocolError('DT_ERR_BAD_MAGIC', `not Dubbo: expected magic 0xdabb ${where} but got ${describeNonDubbo(firstBytes)}`, {
        hint: 'only dubbo:// (Dubbo 2 binary protocol) consumers can use this port; Triple/gRPC, HTTP, TLS and telnet are not supported',
      }),
      firstBytes,
    );
  }

  #badLength(header: FrameHeader, firstBytes: Buffer): void {
    this.#fail(
      new ProtocolError(
        'DT_ERR_BAD_LENGTH',
        `framing lost: negative body length ${header.bodyLength} in the frame header at byte ${this.#streamOffset} (request id ${header.requestId})`,
        {hint: 'the peer sent a corrupt Dubbo header; the connection cannot be resynchronised'},
      ),
      firstBytes,
    );
  }

  #fail(error: ProtocolError, firstBytes: Buffer): void {
    this.#failed = true;
    // Copy: firstBytes may point into a chunk the transport reuses, and fatal() may keep it.
    const copy = Buffer.from(firstBytes);
    this.#release();
    this.#sink.fatal(error, copy);
  }

  /** Copies the first `n` held bytes into `target` (n <= bufferedBytes). */
  #copyOut(target: Buffer, n: number): void {
    let offset = 0;
    for (const piece of this.#chunks) {
      const take = Math.min(piece.length, n - offset);
      piece.copy(target, offset, 0, take);
      offset += take;
      if (offset === n) return;
    }
  }

  /** Up to `n` held bytes as one buffer (error paths only). */
  #gather(n: number): Buffer {
    const out = Buffer.allocUnsafe(Math.min(n, this.#buffered));
    this.#copyOut(out, out.length);
    return out;
  }

  #release(): void {
    this.#chunks.length = 0;
    this.#buffered = 0;
    this.#pending = undefined;
    this.#pendingTotal = 0;
    this.#declined = false;
  }
}
