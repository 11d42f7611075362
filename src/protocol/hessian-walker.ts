/**
 * A cursor over one Hessian 2 body that skips values without building them and decodes only the
 * few strings and primitives routing needs. Grammar: Hessian2Input.readObject / Hessian2Constants
 * in apache/dubbo-hessian-lite (the Hessian 2.0 serialization protocol spec lists the byte ranges).
 *
 * One walker per body: a Dubbo body is ONE Hessian stream (DubboCodec.encodeRequestData writes all
 * values through one Hessian2Output), so class definitions ('C') made in an early argument are used
 * by 0x60+n / 'O' instances in later ones. Refs ('Q') and type refs are just ints to a skipper.
 *
 * Safety: every length is checked against the end of the body before it is used (never a read out
 * of range), nesting uses an explicit stack (no recursion), and each step consumes at least one byte
 * (no hang). Errors are ProtocolError 'DT_ERR_BAD_BODY' naming `what` was being read and where.
 */
import {ProtocolError} from '../core/errors.js';
import {internAscii, internedAt} from './ascii-intern.js';
import {decodeCesu8} from './hessian-string.js';

/** Returned by readPrimitiveOrSkip() for a value that is not a string, number, boolean or null. */
export const SKIPPED: unique symbol = Symbol('skipped');

export type HessianPrimitive = string | number | bigint | boolean | null;

// Open containers on the skip stack: a positive number is a fixed count of values still to come.
const OPEN_LIST = -1; // values until 'Z'
const MAP_KEY = -2; // a key or 'Z' comes next
const MAP_VALUE = -3; // the value of a pair comes next
const MAX_DEPTH = 10_000;

export class HessianWalker {
  buf: Buffer;
  end: number;
  pos = 0;
  /** What is being read, for error messages, e.g. "attachments". */
  what = 'value';
  /** When reading an argument: which one, of how many (the message says "argument 2 of 3"; no string is built unless it is needed). */
  argument = 0;
  argumentCount = 0;
  /** Field count of each class definition seen so far in this body, by definition index. */
  readonly #classFields: number[] = [];
  readonly #stack: number[] = [];
  /** The string chunk header just read by #stringChunk(): its length in UTF-16 units, and whether it is the last chunk. */
  #chunkUnits = 0;
  #chunkFinal = true;
  /** Where the body starts in `buf` (reset(frame, 16) reads a body inside its frame); offsets in messages count from it. */
  #base = 0;

  constructor(body: Buffer) {
    this.buf = body;
    this.end = body.length;
  }

  #reading(): string {
    return this.argument > 0 ? `argument ${this.argument} of ${this.argumentCount}` : this.what;
  }

  /** Starts over on another body (`buf` from `start` to its end), so one walker can read request after request without being made anew. */
  reset(buf: Buffer, start = 0): void {
    this.buf = buf;
    this.end = buf.length;
    this.pos = start;
    this.#base = start;
    this.what = 'value';
    this.argument = 0;
    this.argumentCount = 0;
    // Setting an array's length is a call into the runtime even when it changes nothing.
    if (this.#classFields.length > 0) this.#classFields.length = 0;
    // The skip stack's entries are written before they are read; it is only let go of when a
    // deeply nested body grew it.
    if (this.#stack.length > 64) this.#stack.length = 0;
    this.#chunkUnits = 0;
    this.#chunkFinal = true;
  }

  /** How many class definitions ('C') the body has made so far. */
  get classDefinitions(): number {
    return this.#classFields.length;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The next tag byte (throws if the body ends here). */
  peek(): number {
    if (this.pos >= this.end) this.truncated(this.pos + 1);
    return this.buf[this.pos] as number;
  }

  truncated(needEnd: number): never {
    throw new ProtocolError(
      'DT_ERR_BAD_BODY',
      `truncated hessian2 body: ${this.#reading()} ends past the body (offset ${needEnd - this.#base} of ${this.end - this.#base})`,
    );
  }

  invalid(detail: string, at = this.pos): never {
    throw new ProtocolError('DT_ERR_BAD_BODY', `bad hessian2 body: ${detail} in ${this.#reading()} at offset ${at - this.#base}`);
  }

  /** Skips one complete value, including any class definitions in front of it. */
  skipValue(): void {
    const buf = this.buf;
    const end = this.end;
    const stack = this.#stack;
    let depth = 0;
    for (;;) {
      if (this.pos >= end) this.truncated(this.pos + 1);
      const tag = buf[this.pos] as number;
      // true when a whole value was consumed; false when a container was opened or a class defined.
      let done = true;
      if (tag < 0x20) {
        this.#skipString();
      } else if (tag < 0x30) {
        this.#advance(1 + tag - 0x20); // binary, length in the tag
      } else if (tag < 0x34) {
        this.#skipString();
      } else if (tag < 0x38) {
        this.#need(2);
        this.#advance(2 + ((tag - 0x34) << 8) + (buf[this.pos + 1] as number));
      } else if (tag < 0x40) {
        this.#advance(3); // long, 3 bytes
      } else if (tag >= 0x80) {
        // 0x80-0xbf int, 0xd8-0xef long: 1 byte; 0xc0-0xcf int, 0xf0-0xff long: 2; 0xd0-0xd7 int: 3.
        this.#advance(tag < 0xc0 ? 1 : tag < 0xd0 ? 2 : tag < 0xd8 ? 3 : tag < 0xf0 ? 1 : 2);
      } else if (tag >= 0x60) {
        this.pos++;
        if (tag < 0x70) {
          done = this.#openObject(tag - 0x60, depth);
        } else {
          if (tag < 0x78) this.#skipType();
          done = this.#openFixed(tag & 0x07, depth);
        }
        if (!done) depth++;
      } else {
        switch (tag) {
          case 0x41: // 'A' binary chunk, then more chunks
          case 0x42: // 'B' final binary chunk
            this.#skipBinaryChunks();
            break;
          case 0x43: // 'C' class definition: type string, field count, field-name strings
            this.#defineClass();
            done = false;
            break;
          case 0x44: // 'D' double
          case 0x4a: // date, ms
          case 0x4c: // 'L' long
            this.#advance(9);
            break;
          case 0x46: // 'F'
          case 0x4e: // 'N'
          case 0x54: // 'T'
          case 0x5b: // double 0.0
          case 0x5c: // double 1.0
            this.pos++;
            break;
          case 0x49: // 'I' int
          case 0x4b: // date, minutes
          case 0x59: // long as int32
          case 0x5f: // double as int32 mills
            this.#advance(5);
            break;
          case 0x5d: // double from byte
            this.#advance(2);
            break;
          case 0x5e: // double from short
            this.#advance(3);
            break;
          case 0x48: // 'H' untyped map
            this.pos++;
            this.#push(depth++, MAP_KEY);
            done = false;
            break;
          case 0x4d: // 'M' typed map
            this.pos++;
            this.#skipType();
            this.#push(depth++, MAP_KEY);
            done = false;
            break;
          case 0x4f: // 'O' object, class index as an int
            this.pos++;
            done = this.#openObject(this.readInt(), depth);
            if (!done) depth++;
            break;
          case 0x51: // 'Q' ref to an earlier list, map or object
            this.pos++;
            this.readInt();
            break;
          case 0x52: // 'R' string chunk
          case 0x53: // 'S' final string chunk
            this.#skipString();
            break;
          case 0x55: // variable typed list
            this.pos++;
            this.#skipType();
            this.#push(depth++, OPEN_LIST);
            done = false;
            break;
          case 0x56: // 'V' fixed typed list
            this.pos++;
            this.#skipType();
            done = this.#openFixed(this.readInt(), depth);
            if (!done) depth++;
            break;
          case 0x57: // variable untyped list
            this.pos++;
            this.#push(depth++, OPEN_LIST);
            done = false;
            break;
          case 0x58: // fixed untyped list
            this.pos++;
            done = this.#openFixed(this.readInt(), depth);
            if (!done) depth++;
            break;
          case 0x5a: {
            // 'Z' ends a variable list or a map where its next key would be.
            const top = depth > 0 ? stack[depth - 1] : undefined;
            if (top !== OPEN_LIST && top !== MAP_KEY) this.invalid('unexpected end marker Z');
            this.pos++;
            depth--;
            break;
          }
          default: // 0x40, 0x45, 0x47, 0x50 are reserved
            this.invalid(`unexpected tag 0x${tag.toString(16).padStart(2, '0')}`);
        }
      }
      if (!done) continue;
      // A value is complete: count it against the containers it closes.
      while (depth > 0) {
        const top = stack[depth - 1] as number;
        if (top > 1) {
          stack[depth - 1] = top - 1;
          break;
        }
        if (top === 1) {
          depth--; // the fixed container is complete, which completes a value of its parent
          continue;
        }
        if (top === MAP_KEY) stack[depth - 1] = MAP_VALUE;
        else if (top === MAP_VALUE) stack[depth - 1] = MAP_KEY;
        break; // OPEN_LIST stays open
      }
      if (depth === 0) return;
    }
  }

  /** Reads an int in any int form (0x80-0xd7, 'I'): class indexes, list lengths, refs, type refs. */
  readInt(): number {
    const buf = this.buf;
    if (this.pos >= this.end) this.truncated(this.pos + 1);
    const tag = buf[this.pos] as number;
    if (tag >= 0x80 && tag < 0xc0) {
      this.pos++;
      return tag - 0x90;
    }
    if (tag >= 0xc0 && tag < 0xd0) {
      this.#need(2);
      const v = ((tag - 0xc8) << 8) + (buf[this.pos + 1] as number);
      this.pos += 2;
      return v;
    }
    if (tag >= 0xd0 && tag < 0xd8) {
      this.#need(3);
      const v = ((tag - 0xd4) << 16) + buf.readUInt16BE(this.pos + 1);
      this.pos += 3;
      return v;
    }
    if (tag === 0x49) {
      this.#need(5);
      const v = buf.readInt32BE(this.pos + 1);
      this.pos += 5;
      return v;
    }
    return this.invalid(`expected an int, got tag 0x${tag.toString(16).padStart(2, '0')}`);
  }

  /** True if the next byte starts a string (0x00-0x1f, 0x30-0x33, 'R', 'S'). */
  atString(): boolean {
    if (this.pos >= this.end) return false;
    const tag = this.buf[this.pos] as number;
    return tag < 0x20 || (tag >= 0x30 && tag < 0x34) || tag === 0x52 || tag === 0x53;
  }

  /** Reads a string ('N' gives null), decoding CESU-8 as Hessian2Input.parseUTF8Char does. */
  readString(): string | null {
    // The usual string is one short chunk of ASCII seen before: one pass over its bytes. Its
    // header is the tag alone (0x00-0x1f: up to 31 units) or the tag and one byte (0x30-0x33).
    const buf = this.buf;
    const pos = this.pos;
    const tag = pos < this.end ? (buf[pos] as number) : -1;
    const headerLength = tag >= 0 && tag < 0x20 ? 1 : tag >= 0x30 && tag < 0x34 && pos + 2 <= this.end ? 2 : 0;
    if (headerLength > 0) {
      const units = headerLength === 1 ? tag : ((tag - 0x30) << 8) + (buf[pos + 1] as number);
      const start = pos + headerLength;
      const known = start + units <= this.end ? internedAt(buf, start, units) : undefined;
      if (known !== undefined) {
        this.pos = start + units;
        return known;
      }
    }
    return this.#readStringChunks();
  }

  #readStringChunks(): string | null {
    if (this.peek() === 0x4e) {
      this.pos++;
      return null;
    }
    if (!this.atString()) this.invalid(`expected a string, got tag 0x${this.peek().toString(16).padStart(2, '0')}`);
    let result = '';
    for (;;) {
      this.#stringChunk();
      const units = this.#chunkUnits;
      const final = this.#chunkFinal;
      const start = this.pos;
      const ascii = this.#skipUnits(units);
      // The usual case, one short ASCII chunk, allocates nothing when the same string came before.
      if (final && ascii && result === '') return internAscii(this.buf, start, this.pos);
      result += ascii ? this.buf.toString('latin1', start, this.pos) : decodeCesu8(this.buf, start, this.pos, units);
      if (final) return result;
      if (!this.atString()) this.#badChunk('string');
    }
  }

  /**
   * Reads a string, int, long, double, boolean or null; anything else (dates, binary, lists, maps,
   * objects, refs) is skipped and SKIPPED returned. Longs outside 2^53 come back as bigint.
   */
  readPrimitiveOrSkip(): HessianPrimitive | typeof SKIPPED {
    const buf = this.buf;
    const tag = this.peek();
    if (this.atString() || tag === 0x4e) return this.readString();
    if ((tag >= 0x80 && tag < 0xd8) || tag === 0x49) return this.readInt();
    switch (tag) {
      case 0x54:
        this.pos++;
        return true;
      case 0x46:
        this.pos++;
        return false;
      case 0x4c: {
        this.#need(9);
        const v = buf.readBigInt64BE(this.pos + 1);
        this.pos += 9;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0x59:
        this.#need(5);
        this.pos += 5;
        return buf.readInt32BE(this.pos - 4);
      case 0x5b:
        this.pos++;
        return 0;
      case 0x5c:
        this.pos++;
        return 1;
      case 0x5d:
        this.#need(2);
        this.pos += 2;
        return buf.readInt8(this.pos - 1);
      case 0x5e:
        this.#need(3);
        this.pos += 3;
        return buf.readInt16BE(this.pos - 2);
      case 0x5f:
        // BC_DOUBLE_MILL: Hessian2Input reads an int32 and multiplies by 0.001.
        this.#need(5);
        this.pos += 5;
        return buf.readInt32BE(this.pos - 4) * 0.001;
      case 0x44:
        this.#need(9);
        this.pos += 9;
        return buf.readDoubleBE(this.pos - 8);
      default:
        break;
    }
    if (tag >= 0xd8 && tag < 0xf0) {
      this.pos++;
      return tag - 0xe0;
    }
    if (tag >= 0xf0) {
      this.#need(2);
      this.pos += 2;
      return ((tag - 0xf8) << 8) + (buf[this.pos - 1] as number);
    }
    if (tag >= 0x38 && tag < 0x40) {
      this.#need(3);
      this.pos += 3;
      return ((tag - 0x3c) << 16) + buf.readUInt16BE(this.pos - 2);
    }
    this.skipValue();
    return SKIPPED;
  }

  /** 'C' type-string field-count field-name* : records the field count for later instances. */
  #defineClass(): void {
    const at = this.pos;
    this.pos++;
    if (!this.atString()) this.invalid('class definition without a type name', at);
    this.#skipString();
    const fields = this.readInt();
    if (fields < 0) this.invalid(`class definition with ${fields} fields`, at);
    if (fields > this.end - this.pos) this.truncated(this.pos + fields);
    for (let i = 0; i < fields; i++) {
      if (!this.atString()) {
        if (this.pos >= this.end) this.truncated(this.pos + 1);
        this.invalid('class definition field name is not a string');
      }
      this.#skipString();
    }
    this.#classFields.push(fields);
  }

  /** Opens an object of class definition `index`; false when it has fields to skip (pushed). */
  #openObject(index: number, depth: number): boolean {
    const fields = this.#classFields[index];
    if (fields === undefined) {
      this.invalid(`object refers to class definition ${index}, but only ${this.#classFields.length} are defined`);
    }
    if (fields === 0) return true;
    this.#push(depth, fields);
    return false;
  }

  /** Opens a fixed-length list of `count` values; false when it has values to skip (pushed). */
  #openFixed(count: number, depth: number): boolean {
    if (count < 0) this.invalid(`list length ${count}`);
    if (count === 0) return true;
    // Every value takes at least one byte.
    if (count > this.end - this.pos) this.truncated(this.pos + count);
    this.#push(depth, count);
    return false;
  }

  #push(depth: number, entry: number): void {
    // Java's recursive reader overflows its thread stack long before this; a bound keeps a hostile
    // body of nested list openers from growing the stack to the size of the body.
    if (depth >= MAX_DEPTH) this.invalid(`values nested deeper than ${MAX_DEPTH} levels`);
    this.#stack[depth] = entry;
  }

  /** A list or map type: a type-name string (added to the type table) or an int type ref. */
  #skipType(): void {
    if (this.atString()) this.#skipString();
    else this.readInt();
  }

  /** Skips a whole string: 'R' chunks, then a final 'S' / 0x00-0x1f / 0x30-0x33 chunk. */
  #skipString(): void {
    for (;;) {
      this.#stringChunk();
      this.#skipUnits(this.#chunkUnits);
      if (this.#chunkFinal) return;
      if (!this.atString()) this.#badChunk('string');
    }
  }

  /** Reads the string chunk header at pos (a string tag) into #chunkUnits/#chunkFinal and moves past it. */
  #stringChunk(): void {
    const buf = this.buf;
    const tag = buf[this.pos] as number;
    if (tag < 0x20) {
      this.pos++;
      this.#chunkUnits = tag;
      this.#chunkFinal = true;
    } else if (tag < 0x34) {
      this.#need(2);
      this.#chunkUnits = ((tag - 0x30) << 8) + (buf[this.pos + 1] as number);
      this.#chunkFinal = true;
      this.pos += 2;
    } else {
      this.#need(3);
      this.#chunkUnits = buf.readUInt16BE(this.pos + 1);
      this.#chunkFinal = tag === 0x53;
      this.pos += 3;
    }
  }

  /**
   * Moves past `units` UTF-16 units of CESU-8 (Hessian2Output.printString: 1-3 bytes per unit,
   * supplementary characters as two 3-byte surrogates). A 4-byte UTF-8 lead is tolerated as two
   * units for non-Java writers. Returns true when every unit was one byte (ASCII).
   */
  #skipUnits(units: number): boolean {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos;
    let remaining = units;
    let ascii = true;
    while (remaining > 0) {
      if (p >= end) this.truncated(p + remaining);
      const b = buf[p] as number;
      if (b < 0x80) {
        p++;
      } else {
        ascii = false;
        if ((b & 0xe0) === 0xc0) p += 2;
        else if ((b & 0xf0) === 0xe0) p += 3;
        else if ((b & 0xf8) === 0xf0 && remaining >= 2) {
          p += 4;
          remaining--;
        } else this.invalid(`bad UTF-8 lead byte 0x${b.toString(16)} in a string`, p);
      }
      remaining--;
    }
    if (p > end) this.truncated(p);
    this.pos = p;
    return ascii;
  }

  #skipBinaryChunks(): void {
    const buf = this.buf;
    for (;;) {
      const tag = buf[this.pos] as number;
      if (tag === 0x41 || tag === 0x42) {
        this.#need(3);
        this.#advance(3 + buf.readUInt16BE(this.pos + 1));
        if (tag === 0x42) return;
      } else if (tag >= 0x20 && tag < 0x30) {
        this.#advance(1 + tag - 0x20);
        return;
      } else if (tag >= 0x34 && tag < 0x38) {
        this.#need(2);
        this.#advance(2 + ((tag - 0x34) << 8) + (buf[this.pos + 1] as number));
        return;
      } else {
        this.#badChunk('binary');
      }
      if (this.pos >= this.end) this.truncated(this.pos + 1);
    }
  }

  #badChunk(kind: string): never {
    if (this.pos >= this.end) this.truncated(this.pos + 1);
    return this.invalid(`a ${kind} chunk is followed by tag 0x${this.peek().toString(16).padStart(2, '0')}`);
  }

  #need(n: number): void {
    if (this.pos + n > this.end) this.truncated(this.pos + n);
  }

  #advance(n: number): void {
    const next = this.pos + n;
    if (next > this.end) this.truncated(next);
    this.pos = next;
  }
}
