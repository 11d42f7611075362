// An independent Dubbo 2 wire codec for tests. It deliberately imports nothing from src/: it is the
// yardstick the product is measured against, so it must not share the product's bugs. Values are
// encoded with npm hessian.js the way Java's hessian-lite writes them (the header as in
// ExchangeCodec.java, the bodies as in DubboCodec.java), one EncoderV2/DecoderV2 per body like
// DubboCodec.encodeRequestData / DecodeableRpcInvocation.decode.
import hessian from 'hessian.js';

const {EncoderV2, DecoderV2} = hessian;

// ExchangeCodec.java constants (identical on 2.5.x .. 3.3).
export const HEADER_LENGTH = 16;
export const FLAG_REQUEST = 0x80;
export const FLAG_TWOWAY = 0x40;
export const FLAG_EVENT = 0x20;
export const SERIALIZATION_MASK = 0x1f;
export const HESSIAN2 = 2;
export const STATUS_OK = 20;

// DubboCodec.java response flags.
export const RESPONSE_WITH_EXCEPTION = 0;
export const RESPONSE_VALUE = 1;
export const RESPONSE_NULL_VALUE = 2;
export const RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS = 3;
export const RESPONSE_VALUE_WITH_ATTACHMENTS = 4;
export const RESPONSE_NULL_VALUE_WITH_ATTACHMENTS = 5;

/** hessian2 null bytes: CodecSupport.getNullBytesOf(hessian2) is the single byte 'N'. */
const HESSIAN_NULL = Buffer.from([0x4e]);

// ---------------------------------------------------------------------------------------------
// hessian.js encoder set up like hessian-lite

/**
 * Map classes that hessian-lite's MapSerializer writes as maps. HashMap (and java.util.Map, which
 * hessian.js also folds into it) become an untyped 'H' map; every other Serializable map class is
 * written as 'M' <type> ... 'Z'. hessian.js only knows HashMap/Map, so anything else would come out
 * as a 'C'/'O' object: we extend its isMap() test per encoder.
 */
const JAVA_MAP_TYPES = new Set<string>([
  'java.util.HashMap', 'java.util.Map', 'java.util.TreeMap', 'java.util.LinkedHashMap', 'java.util.Hashtable',
  'java.util.concurrent.ConcurrentHashMap', 'java.util.concurrent.ConcurrentSkipListMap', 'java.util.IdentityHashMap',
  'java.util.WeakHashMap', 'java.util.Properties',
]);

type HessianEncoder = InstanceType<typeof EncoderV2>;

/** A fresh EncoderV2 whose map detection matches hessian-lite (see JAVA_MAP_TYPES). */
export function createEncoder(): HessianEncoder {
  const encoder = new EncoderV2();
  // hessian.js v1/encoder.js consults `this.isMap(className)` inside writeObject.
  (encoder as unknown as {isMap: (type: string) => boolean}).isMap = (type) => JAVA_MAP_TYPES.has(type);
  return encoder;
}

/** Values shaped the way hessian-lite writes the Java types. */
export const java = {
  /** BigDecimal: hessian-lite writes an object with one field `value` (a string). */
  bigDecimal(v: string): unknown {
    return {$class: 'java.math.BigDecimal', $: {value: v}};
  },
  /** java.util.Date: hessian.js writes 0x4B on a whole minute and 0x4A otherwise, like writeUTCDate. */
  date(ms: number): Date {
    return new Date(ms);
  },
  /** Enums: EnumSerializer writes an object with the single field `name`. */
  enumValue(cls: string, name: string): unknown {
    return {$class: cls, $: {name}};
  },
  /** A POJO: class definition 'C' on first use in the body, then 0x60+n (or 'O' n) instances. */
  pojo(cls: string, fields: Record<string, unknown>): unknown {
    return {$class: cls, $: fields};
  },
  /**
   * A list. `java.util.ArrayList` is written untyped (0x78+n / 0x58), as CollectionSerializer does;
   * any other class or an array type (`[int`, `[string`, `[com.foo.Bar`) is a typed list (0x70+n / 'V').
   */
  typedList(type: string, items: unknown[]): unknown {
    return {$class: type, $: items};
  },
  /** A map. `java.util.HashMap` is an untyped 'H' map; another map class is 'M' <type> ... 'Z'. */
  typedMap(type: string, entries: Record<string, unknown>): unknown {
    JAVA_MAP_TYPES.add(type);
    return {$class: type, $: entries};
  },
  /** A Java long, even when small (hessian.js would write a small JS number as an int). */
  long(v: string | number): unknown {
    return {$class: 'long', $: v};
  },
  /** A byte[] of n bytes with a recognisable pattern; hessian.js writes binary chunks like Java. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
    return b;
  },
  /** An ASCII string of n characters (over 32768 it is written as 'R' chunks, like Hessian2Output.writeString). */
  longString(n: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let s = '';
    while (s.length < n) s += alphabet;
    return s.slice(0, n);
  },
  /**
   * A Throwable as hessian-lite's JavaSerializer writes it: Throwable's non-transient fields
   * detailMessage, cause, stackTrace, suppressedExceptions. `cause` defaults to `this` in Java,
   * so the body contains a back-reference 'Q' to the exception itself.
   */
  exception(cls: string, message: string): unknown {
    const fields: Record<string, unknown> = {
      detailMessage: message,
      cause: null,
      stackTrace: {$class: '[java.lang.StackTraceElement', $: []},
      suppressedExceptions: {$class: 'java.util.Collections$UnmodifiableRandomAccessList', $: []},
    };
    const ex = {$class: cls, $: fields};
    fields.cause = ex; // hessian.js writes an already-written object as 'Q' <ref>, like Java.
    return ex;
  },
};

// ---------------------------------------------------------------------------------------------
// Frames

export interface FrameSpec {
  id: bigint;
  flags: number;
  status?: number;
  body: Buffer;
  /** Overrides the length field (to forge bad frames); defaults to body.length. */
  lengthField?: number;
}

/** The 16-byte header followed by the body (ExchangeCodec: big-endian, Bytes.long2bytes / int2bytes). */
export function encodeFrame(spec: FrameSpec): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + spec.body.length);
  frame[0] = 0xda;
  frame[1] = 0xbb;
  frame[2] = spec.flags & 0xff;
  frame[3] = (spec.status ?? 0) & 0xff;
  frame.writeBigInt64BE(BigInt.asIntN(64, spec.id), 4);
  frame.writeInt32BE(spec.lengthField ?? spec.body.length, 12);
  spec.body.copy(frame, HEADER_LENGTH);
  return frame;
}

export interface RequestSpec {
  id: bigint;
  /** default true */
  twoWay?: boolean;
  /** default 2 (hessian2). The body is hessian2 regardless; other ids are for routing tests. */
  serializationId?: number;
  /** default '2.0.2' */
  dubboVersion?: string;
  service: string;
  /** default '0.0.0' */
  version?: string;
  method: string;
  parameterTypes: string;
  /** hessian.js values, including {$class, $} */
  args: unknown[];
  /** Written like a Java HashMap: untyped 'H' map, string keys, values through encoder.write. */
  attachments: Record<string, unknown>;
}

/** The request body, in DubboCodec.encodeRequestData order, through ONE encoder (shared class/ref tables). */
export function encodeRequestBody(spec: Omit<RequestSpec, 'id'>): Buffer {
  const enc = createEncoder();
  enc.writeString(spec.dubboVersion ?? '2.0.2');
  enc.writeString(spec.service);
  enc.writeString(spec.version ?? '0.0.0');
  enc.writeString(spec.method);
  enc.writeString(spec.parameterTypes);
  for (const arg of spec.args) enc.write(arg);
  // A plain object goes through hessian.js _writeHashMap: 'H' (writeString key, write value)* 'Z'.
  enc.write(spec.attachments);
  return enc.get();
}

/** A whole request frame: flags 0x80 | 0x40 (two-way) | serialization id, status 0 (ExchangeCodec.encodeRequest). */
export function encodeRequest(spec: RequestSpec): Buffer {
  const twoWay = spec.twoWay ?? true;
  const flags = FLAG_REQUEST | (twoWay ? FLAG_TWOWAY : 0) | ((spec.serializationId ?? HESSIAN2) & SERIALIZATION_MASK);
  return encodeFrame({id: spec.id, flags, status: 0, body: encodeRequestBody(spec)});
}

/** `da bb e2 00 <id> 00 00 00 01 4e`: REQUEST|TWOWAY|EVENT, body = hessian2 null (ExchangeCodec, HeartbeatTimerTask). */
export function encodeHeartbeatRequest(id: bigint, serializationId = HESSIAN2): Buffer {
  return encodeFrame({id, flags: FLAG_REQUEST | FLAG_TWOWAY | FLAG_EVENT | serializationId, status: 0, body: HESSIAN_NULL});
}

/** `da bb 22 14 <id> 00 00 00 01 4e`: EVENT, status 20, body = hessian2 null. */
export function encodeHeartbeatResponse(id: bigint, serializationId = HESSIAN2): Buffer {
  return encodeFrame({id, flags: FLAG_EVENT | serializationId, status: STATUS_OK, body: HESSIAN_NULL});
}

/** `da bb a2 00 <id> 00 00 00 02 01 52`: a one-way REQUEST|EVENT carrying the string "R" or "W". */
export function encodeReadonlyEvent(id: bigint, kind: 'R' | 'W' = 'R'): Buffer {
  const body = createEncoder().writeString(kind).get();
  return encodeFrame({id, flags: FLAG_REQUEST | FLAG_EVENT | HESSIAN2, status: 0, body});
}

export type ResponseResult =
  | {kind: 'value'; value: unknown}
  | {kind: 'null'}
  | {kind: 'exception'; exception: unknown};

export interface ResponseSpec {
  id: bigint;
  /** default 20 */
  status?: number;
  /** default 2 */
  serializationId?: number;
  /** for status 20; default {kind: 'null'} */
  result?: ResponseResult;
  /** present => the *_WITH_ATTACHMENTS flag (3/4/5) */
  attachments?: Record<string, unknown>;
  /** status != 20: the body is this one hessian string ('N' when undefined) */
  errorMessage?: string;
}

/** The response body only (DubboCodec.encodeResponseData, or ExchangeCodec's writeUTF for errors). */
export function encodeResponseBody(opts: Omit<ResponseSpec, 'id'>): Buffer {
  const enc = createEncoder();
  const status = opts.status ?? STATUS_OK;
  if (status !== STATUS_OK) {
    if (opts.errorMessage === undefined) enc.writeNull();
    else enc.writeString(opts.errorMessage);
    return enc.get();
  }
  const result = opts.result ?? {kind: 'null'};
  const withAttachments = opts.attachments !== undefined;
  // The flag goes through Hessian2ObjectOutput.writeByte, which is writeInt: flag n is byte 0x90+n.
  switch (result.kind) {
    case 'value':
      enc.writeInt(withAttachments ? RESPONSE_VALUE_WITH_ATTACHMENTS : RESPONSE_VALUE);
      enc.write(result.value);
      break;
    case 'null':
      enc.writeInt(withAttachments ? RESPONSE_NULL_VALUE_WITH_ATTACHMENTS : RESPONSE_NULL_VALUE);
      break;
    case 'exception':
      enc.writeInt(withAttachments ? RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS : RESPONSE_WITH_EXCEPTION);
      enc.write(result.exception);
      break;
  }
  if (opts.attachments !== undefined) enc.write(opts.attachments);
  return enc.get();
}

/** A whole response frame: flags = serialization id only, status, the request's id (ExchangeCodec.encodeResponse). */
export function encodeResponse(opts: ResponseSpec): Buffer {
  return encodeFrame({
    id: opts.id,
    flags: (opts.serializationId ?? HESSIAN2) & SERIALIZATION_MASK,
    status: opts.status ?? STATUS_OK,
    body: encodeResponseBody(opts),
  });
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface WireFrame {
  id: bigint;
  flags: number;
  status: number;
  isRequest: boolean;
  twoWay: boolean;
  event: boolean;
  serializationId: number;
  /** The body bytes (a copy, safe to keep). */
  body: Buffer;
  /** Header + body (a copy). */
  raw: Buffer;
}

export class WireFormatError extends Error {}

/** Parses one complete frame (header + exactly its body). */
export function parseFrame(raw: Buffer): WireFrame {
  if (raw.length < HEADER_LENGTH || raw[0] !== 0xda || raw[1] !== 0xbb) throw new WireFormatError('not a Dubbo frame');
  const flags = raw[2] ?? 0;
  const length = raw.readInt32BE(12);
  if (raw.length !== HEADER_LENGTH + length) throw new WireFormatError(`frame length ${raw.length} != 16 + ${length}`);
  return {
    id: raw.readBigInt64BE(4),
    flags,
    status: raw[3] ?? 0,
    isRequest: (flags & FLAG_REQUEST) !== 0,
    twoWay: (flags & FLAG_TWOWAY) !== 0,
    event: (flags & FLAG_EVENT) !== 0,
    serializationId: flags & SERIALIZATION_MASK,
    body: raw.subarray(HEADER_LENGTH),
    raw,
  };
}

/** A simple framer: accumulate bytes, cut whole frames by the header's length field. Throws on bad magic. */
export class WireReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBodyLength = 64 * 1024 * 1024) {}

  push(chunk: Buffer): WireFrame[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: WireFrame[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 2) {
      if (this.pending[offset] !== 0xda || this.pending[offset + 1] !== 0xbb) {
        throw new WireFormatError(`bad magic 0x${this.pending.subarray(offset, offset + 2).toString('hex')} at offset ${offset}`);
      }
      if (this.pending.length - offset < HEADER_LENGTH) break;
      const length = this.pending.readInt32BE(offset + 12);
      if (length < 0 || length > this.maxBodyLength) throw new WireFormatError(`bad body length ${length}`);
      const end = offset + HEADER_LENGTH + length;
      if (this.pending.length < end) break;
      frames.push(parseFrame(Buffer.from(this.pending.subarray(offset, end))));
      offset = end;
    }
    this.pending = offset === 0 ? this.pending : this.pending.subarray(offset);
    return frames;
  }

  get buffered(): number {
    return this.pending.length;
  }
}

/** Splits a JVM parameter descriptor into its items (ReflectUtils.DESC_REGEX grammar). */
export function splitDescriptor(desc: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i < desc.length) {
    const start = i;
    while (desc[i] === '[') i++;
    if (desc[i] === 'L') {
      const semi = desc.indexOf(';', i);
      if (semi < 0) throw new WireFormatError(`bad descriptor ${desc}`);
      i = semi + 1;
    } else if (i < desc.length && 'VZBCDFIJS'.includes(desc[i] ?? '')) {
      i++;
    } else {
      throw new WireFormatError(`bad descriptor ${desc}`);
    }
    items.push(desc.slice(start, i));
  }
  return items;
}

export interface DecodedRequest {
  id: bigint;
  twoWay: boolean;
  dubboVersion: string;
  service: string;
  version: string;
  method: string;
  parameterTypes: string;
  args: unknown[];
  attachments: Record<string, unknown>;
  frame: WireFrame;
}

function readString(dec: InstanceType<typeof DecoderV2>, what: string): string {
  const v = dec.read();
  if (typeof v !== 'string') throw new WireFormatError(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Decodes a hessian2 request body with one DecoderV2, read() per value, args counted from the descriptor.
 * `withType: true` returns args as hessian.js `{$class, $}` values (to check class names survived).
 */
export function decodeRequest(frame: WireFrame, options: {withType?: boolean} = {}): DecodedRequest {
  if (!frame.isRequest || frame.event) throw new WireFormatError('not an RPC request frame');
  if (frame.serializationId !== HESSIAN2) throw new WireFormatError(`serialization id ${frame.serializationId} is not hessian2`);
  const dec = new DecoderV2(frame.body);
  const dubboVersion = readString(dec, 'dubbo version');
  const service = readString(dec, 'service');
  const version = readString(dec, 'version');
  const method = readString(dec, 'method');
  const parameterTypes = readString(dec, 'parameter types');
  const args: unknown[] = [];
  for (let n = splitDescriptor(parameterTypes).length; n > 0; n--) args.push(dec.read(options.withType ?? false));
  // Java reads the attachments only if bytes remain (DecodeableRpcInvocation: in.readAttachments()).
  const attachments = dec.byteBuffer.position() < frame.body.length ? dec.read() : {};
  if (attachments === null || typeof attachments !== 'object') {
    throw new WireFormatError(`attachments: expected a map, got ${JSON.stringify(attachments)}`);
  }
  return {
    id: frame.id, twoWay: frame.twoWay, dubboVersion, service, version, method, parameterTypes, args,
    attachments: attachments as Record<string, unknown>, frame,
  };
}

export type DecodedResponse = {id: bigint; status: number; event: boolean; serializationId: number; frame: WireFrame} & (
  | {kind: 'value'; value: unknown; attachments?: Record<string, unknown>}
  | {kind: 'null'; attachments?: Record<string, unknown>}
  | {kind: 'exception'; exception: unknown; attachments?: Record<string, unknown>}
  | {kind: 'error'; message: string}
  | {kind: 'heartbeat'}
);

/** Decodes a response frame: heartbeat (event), error status (one string), or the flagged OK body. */
export function decodeResponse(frame: WireFrame): DecodedResponse {
  if (frame.isRequest) throw new WireFormatError('not a response frame');
  const base = {id: frame.id, status: frame.status, event: frame.event, serializationId: frame.serializationId, frame};
  if (frame.event) return {...base, kind: 'heartbeat'};
  if (frame.serializationId !== HESSIAN2) throw new WireFormatError(`serialization id ${frame.serializationId} is not hessian2`);
  const dec = new DecoderV2(frame.body);
  if (frame.status !== STATUS_OK) {
    const message = frame.body.length === 0 ? null : dec.read();
    return {...base, kind: 'error', message: typeof message === 'string' ? message : String(message)};
  }
  const flag = dec.read();
  const readAttachments = (): Record<string, unknown> => {
    const a = dec.read();
    if (a === null || typeof a !== 'object') throw new WireFormatError(`response attachments: got ${JSON.stringify(a)}`);
    return a as Record<string, unknown>;
  };
  switch (flag) {
    case RESPONSE_VALUE:
      return {...base, kind: 'value', value: dec.read()};
    case RESPONSE_VALUE_WITH_ATTACHMENTS: {
      const value = dec.read();
      return {...base, kind: 'value', value, attachments: readAttachments()};
    }
    case RESPONSE_NULL_VALUE:
      return {...base, kind: 'null'};
    case RESPONSE_NULL_VALUE_WITH_ATTACHMENTS:
      return {...base, kind: 'null', attachments: readAttachments()};
    case RESPONSE_WITH_EXCEPTION:
      return {...base, kind: 'exception', exception: dec.read()};
    case RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS: {
      const exception = dec.read();
      return {...base, kind: 'exception', exception, attachments: readAttachments()};
    }
    default:
      throw new WireFormatError(`unknown response flag ${JSON.stringify(flag)}`);
  }
}

/**
 * Version.isSupportResponseAttachment: true when the request's dubbo version parses (Version.getIntVersion)
 * to 2.0.2 .. 2.0.99, i.e. 2000200 .. 2009900. "2.5.10" (a 2.5.x framework version) is outside.
 */
export function isSupportResponseAttachment(version: string): boolean {
  if (!version) return false;
  const parts = version.split('.');
  let v = 0;
  parts.forEach((part, i) => {
    const digits = /^\d*/.exec(part)?.[0] ?? '';
    if (digits) v += Number.parseInt(digits, 10) * 10 ** ((parts.length - i - 1) * 2);
  });
  if (parts.length === 3) v *= 100;
  return v >= 2000200 && v <= 2009900;
}
