/**
 * fastjson2 (serialization id 23) request bodies. FastJson2ObjectOutput writes every value as its
 * own record, `[int32 big-endian length][JSONB bytes]` (each record one JSONB.toBytes call, so no
 * symbol table carries over). A request is: 5 string records (dubbo version, path, version,
 * method, descriptor), one record per argument, then the attachments map as the last record.
 *
 * JSONB type bytes: alibaba/fastjson2 core/.../JSONB.java `Constants` (BC_*), JSONWriterJSONB and
 * JSONReaderJSONB. We decode only strings, scalars and one flat string-keyed object; anything we
 * cannot read with confidence leaves `attachmentsRead` false instead of guessing.
 */
import {ProtocolError} from '../core/errors.js';
import {countArguments} from './descriptor.js';
import type {AttachmentValue, RequestMetadata} from './request-metadata.js';

// JSONB.Constants (byte values as unsigned).
const BC_CHAR = 0x90;
const BC_BINARY = 0x91;
const BC_TYPED_ANY = 0x92;
const BC_REFERENCE = 0x93;
const BC_ARRAY_FIX_MIN = 0x94; // 0x94-0xa3: arrays of 0-15 items
const BC_ARRAY = 0xa4; // length int, items
const BC_OBJECT_END = 0xa5;
const BC_OBJECT = 0xa6;
const BC_LOCAL_TIME = 0xa7;
const BC_LOCAL_DATETIME = 0xa8;
const BC_LOCAL_DATE = 0xa9;
const BC_TIMESTAMP_MILLIS = 0xab;
const BC_TIMESTAMP_SECONDS = 0xac;
const BC_TIMESTAMP_MINUTES = 0xad;
const BC_NULL = 0xaf;
const BC_FALSE = 0xb0;
const BC_TRUE = 0xb1;
const BC_DOUBLE_NUM_0 = 0xb2;
const BC_DOUBLE_NUM_1 = 0xb3;
const BC_DOUBLE_LONG = 0xb4;
const BC_DOUBLE = 0xb5;
const BC_FLOAT_INT = 0xb6;
const BC_FLOAT = 0xb7;
const BC_DECIMAL_LONG = 0xb8;
const BC_DECIMAL = 0xb9;
const BC_BIGINT_LONG = 0xba;
const BC_BIGINT = 0xbb;
const BC_INT16 = 0xbc;
const BC_INT8 = 0xbd;
const BC_INT64 = 0xbe;
const BC_INT64_INT = 0xbf;
const BC_INT32 = 0x48;
const BC_STR_ASCII_FIX_MIN = 0x49; // 0x49-0x78: latin-1 strings of 0-47 bytes
const BC_STR_ASCII = 0x79; // latin-1, length int
const BC_STR_UTF8 = 0x7a;
const BC_STR_UTF16 = 0x7b; // java.nio UTF_16: BOM decides the byte order, big-endian without one
const BC_STR_UTF16LE = 0x7c;
const BC_STR_UTF16BE = 0x7d;
const BC_STR_GB18030 = 0x7e;
// 0x7f BC_SYMBOL (a symbol-table reference) is deliberately not understood: we have no table.

/** A JSONB value we cannot read with confidence (unknown type, symbol reference, bad length...). */
class NotUnderstood extends Error {}

const MAX_NESTING = 64;

/** Reads a fastjson2 request body; throws ProtocolError 'DT_ERR_BAD_BODY' when the record framing is broken. */
export function peekFastjson2Request(body: Buffer): RequestMetadata {
  const records = splitRecords(body);
  if (records.length < 5) {
    throw new ProtocolError(
      'DT_ERR_BAD_BODY',
      `bad fastjson2 body: ${records.length} record(s), a request has at least 5 (dubbo version, path, version, method, parameter types)`,
    );
  }
  const header = records.slice(0, 5).map((r) => recordString(body, r) ?? '');
  const [dubboVersion = '', service = '', serviceVersion = '', method = '', parameterTypes = ''] = header;
  const descKnown = isStringRecord(body, records[4]);
  let argumentCount: number;
  let attachmentsRecord: Range | undefined;
  if (descKnown) {
    argumentCount = countArguments(parameterTypes);
    if (records.length < 5 + argumentCount) {
      throw new ProtocolError(
        'DT_ERR_BAD_BODY',
        `truncated fastjson2 body: ${records.length - 5} argument record(s) for ${argumentCount} parameter(s) in "${parameterTypes}"`,
      );
    }
    attachmentsRecord = records[5 + argumentCount];
  } else {
    // Without the descriptor, the attachments are still the last record (DubboCodec writes them last).
    argumentCount = Math.max(0, records.length - 6);
    attachmentsRecord = records.length > 5 ? records[records.length - 1] : undefined;
  }
  let attachments = new Map<string, AttachmentValue>();
  let attachmentsRead = true;
  if (attachmentsRecord !== undefined) {
    const read = readAttachmentRecord(body, attachmentsRecord);
    if (read === undefined) attachmentsRead = false;
    else attachments = read;
  }
  return {dubboVersion, service, serviceVersion, method, parameterTypes, argumentCount, attachments, attachmentsRead};
}

interface Range {
  start: number;
  end: number;
}

function splitRecords(body: Buffer): Range[] {
  const records: Range[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (body.length - pos < 4) {
      throw new ProtocolError('DT_ERR_BAD_BODY', `truncated fastjson2 body: record ${records.length + 1} length field ends past the body (offset ${pos + 4} of ${body.length})`);
    }
    const length = body.readInt32BE(pos);
    const start = pos + 4;
    if (length < 0) throw new ProtocolError('DT_ERR_BAD_BODY', `bad fastjson2 body: record ${records.length + 1} has length ${length} at offset ${pos}`);
    if (length > body.length - start) {
      throw new ProtocolError('DT_ERR_BAD_BODY', `truncated fastjson2 body: record ${records.length + 1} ends past the body (offset ${start + length} of ${body.length})`);
    }
    records.push({start, end: start + length});
    pos = start + length;
  }
  return records;
}

function isStringRecord(body: Buffer, record: Range | undefined): boolean {
  return record !== undefined && recordString(body, record) !== undefined;
}

/** The record's value when it is a JSONB string we can decode, else undefined. */
function recordString(body: Buffer, record: Range): string | undefined {
  try {
    const reader = new JsonbReader(body, record.start, record.end);
    const value = reader.readString();
    return typeof value === 'string' ? value : undefined;
  } catch (error) {
    if (error instanceof NotUnderstood) return undefined;
    throw error;
  }
}

/** A flat JSONB object of string keys; primitive values kept, others skipped. undefined if not understood. */
function readAttachmentRecord(body: Buffer, record: Range): Map<string, AttachmentValue> | undefined {
  const reader = new JsonbReader(body, record.start, record.end);
  try {
    const map = new Map<string, AttachmentValue>();
    let tag = reader.peek();
    if (tag === BC_NULL) return map;
    if (tag === BC_TYPED_ANY) {
      // A map class other than HashMap (NotWriteHashMapArrayListClassName leaves HashMap untyped).
      reader.pos++;
      reader.skipTypeName();
      tag = reader.peek();
    }
    if (tag !== BC_OBJECT) return undefined;
    reader.pos++;
    for (;;) {
      if (reader.peek() === BC_OBJECT_END) return map;
      const key = reader.readString();
      if (typeof key !== 'string') return undefined;
      const value = reader.readPrimitiveOrSkip();
      if (value !== SKIP) map.set(key, value);
    }
  } catch (error) {
    if (error instanceof NotUnderstood) return undefined;
    throw error;
  }
}

const SKIP: unique symbol = Symbol('skip');

/** A bounds-checked cursor over one JSONB record. */
class JsonbReader {
  pos: number;
  readonly #buf: Buffer;
  readonly #end: number;

  constructor(buf: Buffer, start: number, end: number) {
    this.#buf = buf;
    this.pos = start;
    this.#end = end;
  }

  peek(): number {
    if (this.pos >= this.#end) throw new NotUnderstood('end of record');
    return this.#buf[this.pos] as number;
  }

  #take(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.#end) throw new NotUnderstood('length past the record');
    this.pos = at + n;
    return at;
  }

  /** JSONB int32 in any compact form (JSONB.IO.writeInt32). */
  readInt32(): number {
    const buf = this.#buf;
    const tag = this.peek();
    this.pos++;
    if (tag >= 0xf0 || tag <= 0x2f) return (tag << 24) >> 24; // -16..47 as a signed byte
    if (tag >= 0x30 && tag <= 0x3f) return ((tag - 0x38) << 8) + (buf[this.#take(1)] as number);
    if (tag >= 0x40 && tag <= 0x47) return ((tag - 0x44) << 16) + buf.readUInt16BE(this.#take(2));
    if (tag === BC_INT32) return buf.readInt32BE(this.#take(4));
    throw new NotUnderstood('not an int32');
  }

  /** A string (null for BC_NULL); NotUnderstood for anything else, including symbol references. */
  readString(): string | null {
    const buf = this.#buf;
    const tag = this.peek();
    if (tag === BC_NULL) {
      this.pos++;
      return null;
    }
    if (tag >= BC_STR_ASCII_FIX_MIN && tag < BC_STR_ASCII) {
      this.pos++;
      const len = tag - BC_STR_ASCII_FIX_MIN;
      const at = this.#take(len);
      return buf.toString('latin1', at, at + len);
    }
    if (tag < BC_STR_ASCII || tag > BC_STR_GB18030) throw new NotUnderstood('not a string');
    this.pos++;
    const len = this.readInt32();
    // A negative length names an entry of a shared symbol table we do not have.
    const at = this.#take(len);
    const bytes = buf.subarray(at, at + len);
    switch (tag) {
      case BC_STR_ASCII:
        return bytes.toString('latin1');
      case BC_STR_UTF8:
        return bytes.toString('utf8');
      case BC_STR_UTF16LE:
        return bytes.toString('utf16le');
      case BC_STR_UTF16BE:
        if (len % 2 !== 0) throw new NotUnderstood('odd UTF-16 length');
        return Buffer.from(bytes).swap16().toString('utf16le');
      case BC_STR_UTF16:
        if (len % 2 !== 0) throw new NotUnderstood('odd UTF-16 length');
        if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
        if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
        return Buffer.from(bytes).swap16().toString('utf16le');
      default:
        try {
          return new TextDecoder('gb18030').decode(bytes);
        } catch {
          throw new NotUnderstood('no GB18030 decoder');
        }
    }
  }

  /** BC_TYPED_ANY's type: a name string then its symbol int, or a symbol int alone. */
  skipTypeName(): void {
    const tag = this.peek();
    if (tag >= BC_STR_ASCII_FIX_MIN && tag <= BC_STR_GB18030) {
      this.readString();
      this.readInt32();
    } else {
      this.readInt32();
    }
  }

  readPrimitiveOrSkip(): AttachmentValue | typeof SKIP {
    const buf = this.#buf;
    const tag = this.peek();
    if (tag >= BC_STR_ASCII_FIX_MIN && tag <= BC_STR_GB18030) return this.readString();
    if (tag >= 0xf0 || tag <= BC_INT32) return this.readInt32();
    this.pos++;
    switch (tag) {
      case BC_NULL:
        return null;
      case BC_TRUE:
        return true;
      case BC_FALSE:
        return false;
      case BC_INT8:
        return buf.readInt8(this.#take(1));
      case BC_INT16:
        return buf.readInt16BE(this.#take(2));
      case BC_INT64_INT:
        return buf.readInt32BE(this.#take(4));
      case BC_INT64:
        return safeNumber(buf.readBigInt64BE(this.#take(8)));
      case BC_DOUBLE_NUM_0:
        return 0;
      case BC_DOUBLE_NUM_1:
        return 1;
      case BC_DOUBLE:
        return buf.readDoubleBE(this.#take(8));
      case BC_FLOAT:
        return buf.readFloatBE(this.#take(4));
      case BC_DOUBLE_LONG: {
        const v = this.#readInt64();
        return typeof v === 'bigint' ? Number(v) : v;
      }
      case BC_FLOAT_INT:
        return this.readInt32();
      case BC_CHAR:
        return String.fromCharCode(this.readInt32() & 0xffff);
      default:
        break;
    }
    if (tag >= 0xc0 && tag <= 0xef) {
      this.pos--;
      return this.#readInt64();
    }
    this.pos--;
    this.#skip(0);
    return SKIP;
  }

  /** JSONB int64 in any compact form (JSONB.IO.writeInt64). */
  #readInt64(): number | bigint {
    const buf = this.#buf;
    const tag = this.peek();
    this.pos++;
    if (tag >= 0xd8 && tag <= 0xef) return tag - 0xe0;
    if (tag >= 0xc8 && tag <= 0xd7) return ((tag - 0xd0) << 8) + (buf[this.#take(1)] as number);
    if (tag >= 0xc0 && tag <= 0xc7) return ((tag - 0xc4) << 16) + buf.readUInt16BE(this.#take(2));
    if (tag === BC_INT64_INT) return buf.readInt32BE(this.#take(4));
    if (tag === BC_INT64) return safeNumber(buf.readBigInt64BE(this.#take(8)));
    this.pos--;
    return this.readInt32();
  }

  /** Skips one value (JSONReaderJSONB.skipValue); NotUnderstood for types whose size we do not know. */
  #skip(depth: number): void {
    if (depth > MAX_NESTING) throw new NotUnderstood('nested too deep');
    const tag = this.peek();
    if ((tag >= BC_STR_ASCII_FIX_MIN && tag <= BC_STR_GB18030) || tag === BC_NULL) {
      this.readString();
      return;
    }
    if (tag >= 0xf0 || tag <= BC_INT32) {
      this.readInt32();
      return;
    }
    if (tag >= 0xc0 && tag <= 0xef) {
      this.#readInt64();
      return;
    }
    this.pos++;
    switch (tag) {
      case BC_FALSE:
      case BC_TRUE:
      case BC_DOUBLE_NUM_0:
      case BC_DOUBLE_NUM_1:
        return;
      case BC_INT8:
        this.#take(1);
        return;
      case BC_INT16:
        this.#take(2);
        return;
      case BC_INT64_INT:
      case BC_FLOAT:
      case BC_LOCAL_DATE:
      case BC_TIMESTAMP_SECONDS:
      case BC_TIMESTAMP_MINUTES:
        this.#take(4);
        return;
      case BC_INT64:
      case BC_DOUBLE:
      case BC_TIMESTAMP_MILLIS:
        this.#take(8);
        return;
      case BC_LOCAL_TIME:
        this.#take(3);
        this.readInt32();
        return;
      case BC_LOCAL_DATETIME:
        this.#take(7);
        this.readInt32();
        return;
      case BC_CHAR:
      case BC_FLOAT_INT:
        this.readInt32();
        return;
      case BC_DOUBLE_LONG:
      case BC_DECIMAL_LONG:
      case BC_BIGINT_LONG:
        this.#readInt64();
        return;
      case BC_BIGINT:
      case BC_BINARY:
        this.#take(this.readInt32());
        return;
      case BC_DECIMAL:
        this.readInt32(); // scale
        this.#skip(depth + 1); // unscaled value: BC_BIGINT, BC_BIGINT_LONG or a compact number
        return;
      case BC_TYPED_ANY:
        this.skipTypeName();
        this.#skip(depth + 1);
        return;
      case BC_REFERENCE:
        this.readString(); // a JSONPath such as "$.a"
        return;
      case BC_ARRAY: {
        const n = this.readInt32();
        if (n < 0 || n > this.#end - this.pos) throw new NotUnderstood('bad array length');
        for (let i = 0; i < n; i++) this.#skip(depth + 1);
        return;
      }
      case BC_OBJECT:
        while (this.peek() !== BC_OBJECT_END) {
          this.#skip(depth + 1);
          this.#skip(depth + 1);
        }
        this.pos++;
        return;
      default:
        if (tag >= BC_ARRAY_FIX_MIN && tag < BC_ARRAY) {
          for (let i = tag - BC_ARRAY_FIX_MIN; i > 0; i--) this.#skip(depth + 1);
          return;
        }
        throw new NotUnderstood(`JSONB type 0x${tag.toString(16)}`);
    }
  }
}

function safeNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
