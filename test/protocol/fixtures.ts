// Helpers for the codec tests: a recording FrameSink, the whole / byte-by-byte / split-everywhere
// runner, hand-built headers, hessian bodies written through ONE hessian.js encoder (as Java's
// DubboCodec does), a tiny JSONB writer for fastjson2 records, and a seeded PRNG.
import assert from 'node:assert/strict';
import hessian from 'hessian.js';
import {ProtocolError} from '../../src/core/errors.js';
import type {FrameHeader} from '../../src/protocol/header.js';
import {FrameDecoder, type FrameSink} from '../../src/protocol/frame-decoder.js';
import {createEncoder, encodeFrame} from '../support/dubbo-wire.js';

export type HessianEncoder = InstanceType<typeof hessian.EncoderV2>;

export type DecoderEvent =
  | {kind: 'frame'; header: FrameHeader; bytes: Buffer}
  | {kind: 'oversize'; header: FrameHeader}
  | {kind: 'fatal'; code: string; message: string; firstBytes: Buffer};

/** Records what the decoder reports; frame bytes are copied (the decoder may hand out subarrays). */
export class RecordingSink implements FrameSink {
  readonly events: DecoderEvent[] = [];
  /** The frame buffers exactly as handed over (not copied), for zero-copy assertions. */
  readonly raw: Buffer[] = [];
  onFrame: ((header: FrameHeader, frame: Buffer) => void) | undefined;

  frame(header: FrameHeader, frame: Buffer): void {
    this.raw.push(frame);
    this.events.push({kind: 'frame', header, bytes: Buffer.from(frame)});
    this.onFrame?.(header, frame);
  }

  oversize(header: FrameHeader): void {
    this.events.push({kind: 'oversize', header});
  }

  fatal(error: ProtocolError, firstBytes: Buffer): void {
    assert.ok(error instanceof ProtocolError);
    this.events.push({kind: 'fatal', code: error.code, message: error.message, firstBytes: Buffer.from(firstBytes)});
  }
}

export interface DecodeResult {
  events: DecoderEvent[];
  bufferedBytes: number;
  failed: boolean;
}

export function decodeChunks(chunks: Iterable<Buffer>, options?: {maxBodyLength?: number}): DecodeResult {
  const sink = new RecordingSink();
  const decoder = new FrameDecoder(sink, options);
  for (const chunk of chunks) decoder.push(chunk);
  return {events: sink.events, bufferedBytes: decoder.bufferedBytes, failed: decoder.failed};
}

function* byteByByte(bytes: Buffer): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
}

/**
 * Split points for the split-everywhere run: every offset for streams up to `exhaustiveUpTo` bytes;
 * beyond that (a 70 KiB frame has 70 000 of them, each a full decode) every offset of the headers
 * region and around chunk-boundary-like sizes, plus a stride across the rest.
 */
export function splitPoints(length: number, exhaustiveUpTo = 8192): number[] {
  if (length <= exhaustiveUpTo) return Array.from({length: Math.max(0, length - 1)}, (_, i) => i + 1);
  const points = new Set<number>();
  for (let i = 1; i < Math.min(length, 64); i++) points.add(i);
  for (let i = Math.max(1, length - 64); i < length; i++) points.add(i);
  for (let i = 97; i < length; i += 997) points.add(i);
  for (const k of [0x8000, 0x10000, 4096, 8192]) {
    for (let d = -3; d <= 3; d++) if (k + d > 0 && k + d < length) points.add(k + d);
  }
  return [...points].sort((a, b) => a - b);
}

/**
 * Feeds `bytes` whole, byte by byte, and split in two at every offset (see splitPoints), asserting
 * that every way yields the same events, bufferedBytes and failed state. Returns the whole-chunk result.
 * A fatal error is reported as soon as two bytes show it, so its firstBytes (and the description
 * in its message) can only cover what had arrived: they must be a prefix of the whole run's.
 */
export function decodeAllWays(bytes: Buffer, options?: {maxBodyLength?: number}): DecodeResult {
  const whole = decodeChunks([bytes], options);
  const expected = comparable(whole);
  const check = (result: DecodeResult, how: string): void => {
    assert.deepStrictEqual(comparable(result), expected, `${how} differs from whole`);
    const fatal = result.events.at(-1);
    const wholeFatal = whole.events.at(-1);
    if (fatal?.kind === 'fatal' && wholeFatal?.kind === 'fatal') {
      assert.ok(fatal.firstBytes.length >= 2, `${how}: fatal decided on fewer than 2 bytes`);
      assert.deepStrictEqual(fatal.firstBytes, wholeFatal.firstBytes.subarray(0, fatal.firstBytes.length), `${how}: firstBytes`);
    }
  };
  check(decodeChunks(byteByByte(bytes), options), 'byte by byte');
  for (const at of splitPoints(bytes.length)) {
    check(decodeChunks([bytes.subarray(0, at), bytes.subarray(at)], options), `split at ${at}`);
  }
  return whole;
}

function comparable(result: DecodeResult): unknown {
  return {
    ...result,
    events: result.events.map((e) => (e.kind === 'fatal' ? {kind: e.kind, code: e.code} : e)),
  };
}

/** A header built field by field (ExchangeCodec layout) followed by `body`. */
export function header(fields: {magic?: number; flags: number; status?: number; id: bigint; length: number}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16BE(fields.magic ?? 0xdabb, 0);
  b[2] = fields.flags;
  b[3] = fields.status ?? 0;
  b.writeBigInt64BE(fields.id, 4);
  b.writeInt32BE(fields.length, 12);
  return b;
}

export function frameOf(flags: number, id: bigint, body: Buffer, status = 0): Buffer {
  return encodeFrame({id, flags, status, body});
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** A hessian2 request body the way DubboCodec writes it, through ONE encoder, with full control of the tail. */
export function hessianRequestBody(spec: {
  dubboVersion?: string;
  service?: string;
  version?: string;
  method?: string;
  desc: string;
  args?: unknown[];
  /** Writes the arguments yourself instead of `args` (e.g. raw bytes). */
  writeArgs?: (enc: HessianEncoder) => void;
  /** An object (written as an untyped 'H' map like a HashMap), or a writer, or 'absent'. */
  attachments?: Record<string, unknown> | ((enc: HessianEncoder) => void) | 'absent';
}): Buffer {
  const enc = createEncoder();
  enc.writeString(spec.dubboVersion ?? '2.0.2');
  enc.writeString(spec.service ?? 'com.example.DemoService');
  enc.writeString(spec.version ?? '0.0.0');
  enc.writeString(spec.method ?? 'call');
  enc.writeString(spec.desc);
  if (spec.writeArgs) spec.writeArgs(enc);
  for (const arg of spec.args ?? []) enc.write(arg);
  const attachments = spec.attachments ?? {};
  if (typeof attachments === 'function') attachments(enc);
  else if (attachments !== 'absent') enc.write(attachments);
  return enc.get();
}

/** Appends raw bytes to an encoder (for hand-written Hessian the encoder never produces). */
export function rawBytes(enc: HessianEncoder, bytes: Buffer | number[]): void {
  (enc.byteBuffer as unknown as {put(b: Buffer): void}).put(Buffer.from(bytes));
}

/** Offsets at which hessian.js's DecoderV2 finds each top-level value of `body` (the reference walker). */
export function referenceValueEnds(body: Buffer, count: number): number[] {
  const decoder = new hessian.DecoderV2(body);
  const ends: number[] = [];
  for (let i = 0; i < count; i++) {
    decoder.read();
    ends.push(decoder.byteBuffer.position());
  }
  return ends;
}

// ---------------------------------------------------------------------------------------------
// JSONB (fastjson2), written from JSONB.java Constants and JSONWriterJSONB / JSONB.IO.writeInt32.

export const jsonb = {
  /** JSONB.IO.writeInt32: one byte for -16..47, 0x30-0x3f + 1 byte, 0x40-0x47 + 2 bytes, else 0x48 + int32. */
  int: (v: number): Buffer => {
    if (v >= -16 && v <= 47) return Buffer.from([v & 0xff]);
    if (v >= -0x800 && v <= 0x7ff) return Buffer.from([0x38 + (v >> 8), v & 0xff]);
    if (v >= -0x40000 && v <= 0x3ffff) return Buffer.from([0x44 + (v >> 16), (v >> 8) & 0xff, v & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = 0x48;
    b.writeInt32BE(v, 1);
    return b;
  },
  /** JSONB.IO.writeInt64 compact forms (0xd8-0xef, 0xc8-0xd7, 0xc0-0xc7, 0xbf int32, 0xbe int64). */
  long: (v: bigint): Buffer => {
    if (v >= -8n && v <= 15n) return Buffer.from([0xe0 + Number(v)]);
    if (v >= -0x800n && v <= 0x7ffn) return Buffer.from([0xd0 + (Number(v) >> 8), Number(v) & 0xff]);
    if (v >= -0x40000n && v <= 0x3ffffn) return Buffer.from([0xc4 + (Number(v) >> 16), (Number(v) >> 8) & 0xff, Number(v) & 0xff]);
    if (v >= -0x80000000n && v <= 0x7fffffffn) {
      const b = Buffer.alloc(5);
      b[0] = 0xbf;
      b.writeInt32BE(Number(v), 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b[0] = 0xbe;
    b.writeBigInt64BE(v, 1);
    return b;
  },
  /** Latin-1 strings: 0x49+len up to 47 bytes, else BC_STR_ASCII (0x79) len; otherwise BC_STR_UTF8 (0x7a) len. */
  string: (s: string): Buffer => {
    // eslint-disable-next-line no-control-regex
    if (/^[\u0000-\u00ff]*$/.test(s)) {
      const bytes = Buffer.from(s, 'latin1');
      if (bytes.length <= 47) return Buffer.concat([Buffer.from([0x49 + bytes.length]), bytes]);
      return Buffer.concat([Buffer.from([0x79]), jsonb.int(bytes.length), bytes]);
    }
    const bytes = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([0x7a]), jsonb.int(bytes.length), bytes]);
  },
  utf16le: (s: string): Buffer => {
    const bytes = Buffer.from(s, 'utf16le');
    return Buffer.concat([Buffer.from([0x7c]), jsonb.int(bytes.length), bytes]);
  },
  utf16be: (s: string): Buffer => {
    const bytes = Buffer.from(s, 'utf16le').swap16();
    return Buffer.concat([Buffer.from([0x7d]), jsonb.int(bytes.length), bytes]);
  },
  null: Buffer.from([0xaf]),
  true: Buffer.from([0xb1]),
  false: Buffer.from([0xb0]),
  /** BC_OBJECT (0xa6) key value ... BC_OBJECT_END (0xa5). */
  object: (entries: [Buffer, Buffer][]): Buffer => {
    return Buffer.concat([Buffer.from([0xa6]), ...entries.flat(), Buffer.from([0xa5])]);
  },
  /** BC_ARRAY_FIX_0 + n for up to 15 items. */
  array: (items: Buffer[]): Buffer => {
    return Buffer.concat([Buffer.from([0x94 + items.length]), ...items]);
  },
  /** FastJson2ObjectOutput.writeObject: int32 big-endian length, then the JSONB bytes. */
  record: (value: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeInt32BE(value.length);
    return Buffer.concat([len, value]);
  },
};

/** A fastjson2 request body: 5 string records, one record per argument, the attachments record. */
export function fastjson2RequestBody(spec: {
  service: string;
  method: string;
  desc: string;
  args: Buffer[];
  attachments?: Buffer;
  version?: string;
}): Buffer {
  const records = [
    jsonb.string('2.0.2'),
    jsonb.string(spec.service),
    jsonb.string(spec.version ?? '0.0.0'),
    jsonb.string(spec.method),
    jsonb.string(spec.desc),
    ...spec.args,
  ];
  if (spec.attachments) records.push(spec.attachments);
  return Buffer.concat(records.map((r) => jsonb.record(r)));
}

// ---------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG so fuzz failures replay. */
export function prng(seed: number): {next(): number; int(n: number): number; bytes(n: number): Buffer} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    bytes(n: number): Buffer {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}

export class OutOfRangeRead extends Error {}

/**
 * `buf` behind a Proxy that throws OutOfRangeRead on any index read at or past its length (a plain
 * Buffer would quietly give undefined). Methods run on the real buffer, so their own RangeErrors show too.
 */
export function guarded(buf: Buffer): Buffer {
  return new Proxy(buf, {
    get(target, prop) {
      if (typeof prop === 'string' && prop.length > 0 && prop.charCodeAt(0) >= 0x30 && prop.charCodeAt(0) <= 0x39) {
        const index = Number(prop);
        if (Number.isInteger(index) && index >= target.length) throw new OutOfRangeRead(`read of index ${index} of ${target.length}`);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
