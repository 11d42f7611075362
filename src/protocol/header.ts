/**
 * The 16-byte Dubbo 2 header. Names follow Java's ExchangeCodec so the two can be read side by side
 * (dubbo-remoting-api .../exchange/codec/ExchangeCodec.java; integers are big-endian, Bytes.java).
 *
 *   0-1  magic 0xdabb
 *   2    flags: 0x80 request, 0x40 two-way, 0x20 event, low 5 bits serialization id
 *   3    status (responses only)
 *   4-11 request id, signed int64
 *   12-15 body length, signed int32 (header not included)
 */
export const HEADER_LENGTH = 16;
export const MAGIC = 0xdabb;
export const MAGIC_HIGH = 0xda;
export const MAGIC_LOW = 0xbb;
export const FLAG_REQUEST = 0x80;
export const FLAG_TWOWAY = 0x40;
export const FLAG_EVENT = 0x20;
export const SERIALIZATION_MASK = 0x1f;

/** Dubbo's default `payload` limit (remoting/Constants.java DEFAULT_PAYLOAD): 8 MiB of body is allowed. */
export const DEFAULT_PAYLOAD = 8 * 1024 * 1024;

/** Serialization ids (dubbo-serialization-api .../serialize/Constants.java, 3.3). */
export const SERIALIZATION = {
  HESSIAN2: 2,
  JAVA: 3,
  COMPACTED_JAVA: 4,
  FASTJSON: 6,
  NATIVE_JAVA: 7,
  KRYO: 8,
  FST: 9,
  NATIVE_HESSIAN: 10,
  AVRO: 11,
  PROTOSTUFF: 12,
  GSON: 16,
  JACKSON: 18,
  PROTOBUF_JSON: 21,
  PROTOBUF: 22,
  FASTJSON2: 23,
  KRYO2: 25,
  MSGPACK: 27,
  FURY: 28,
  CUSTOM_MSGPACK: 31,
} as const;

const SERIALIZATION_NAMES = new Map<number, string>([
  [2, 'hessian2'], [3, 'java'], [4, 'compactedjava'], [6, 'fastjson'], [7, 'nativejava'], [8, 'kryo'],
  [9, 'fst'], [10, 'native-hessian'], [11, 'avro'], [12, 'protostuff'], [16, 'gson'], [18, 'jackson'],
  [21, 'protobuf-json'], [22, 'protobuf'], [23, 'fastjson2'], [25, 'kryo2'], [27, 'msgpack'], [28, 'fury'],
  [31, 'msgpack'],
]);

export function serializationName(id: number): string {
  return SERIALIZATION_NAMES.get(id) ?? `serialization id ${id}`;
}

/** Response status byte values (remoting/exchange/Response.java). */
export const STATUS = {
  OK: 20,
  SERIALIZATION_ERROR: 25,
  CLIENT_TIMEOUT: 30,
  SERVER_TIMEOUT: 31,
  CHANNEL_INACTIVE: 35,
  BAD_REQUEST: 40,
  BAD_RESPONSE: 50,
  SERVICE_NOT_FOUND: 60,
  SERVICE_ERROR: 70,
  SERVER_ERROR: 80,
  CLIENT_ERROR: 90,
  SERVER_THREADPOOL_EXHAUSTED_ERROR: 100,
} as const;

const STATUS_NAMES = new Map<number, string>(Object.entries(STATUS).map(([name, value]) => [value, name]));

/** Response.java's name of a status byte (`OK`, `SERVICE_NOT_FOUND`), or undefined when Dubbo has none. */
export function statusName(status: number): string | undefined {
  return STATUS_NAMES.get(status);
}

/**
 * The first value of an OK response body (DubboCodec.encodeResponseData, written with writeByte, so a
 * Hessian int: flag n is the byte 0x90 + n). The *_WITH_ATTACHMENTS forms answer consumers whose
 * dubbo version is 2.0.2 to 2.0.99 (Version.isSupportResponseAttachment).
 */
export const RESPONSE_FLAG = {
  WITH_EXCEPTION: 0,
  VALUE: 1,
  NULL_VALUE: 2,
  WITH_EXCEPTION_WITH_ATTACHMENTS: 3,
  VALUE_WITH_ATTACHMENTS: 4,
  NULL_VALUE_WITH_ATTACHMENTS: 5,
} as const;

export interface FrameHeader {
  /** Byte 2 as sent: flags plus serialization id. */
  readonly flags: number;
  /** Byte 3. */
  readonly status: number;
  readonly requestId: bigint;
  readonly bodyLength: number;
  readonly isRequest: boolean;
  readonly twoWay: boolean;
  readonly event: boolean;
  readonly serializationId: number;
}

export type MutableFrameHeader = {-readonly [K in keyof FrameHeader]: FrameHeader[K]};

/** Reads a header at `offset`. The caller has checked that 16 bytes are there and the magic matches. */
export function readHeader(buf: Buffer, offset = 0): FrameHeader {
  return readHeaderInto(emptyHeader(), buf, offset);
}

export function emptyHeader(): MutableFrameHeader {
  return {flags: 0, status: 0, requestId: 0n, bodyLength: 0, isRequest: false, twoWay: false, event: false, serializationId: 0};
}

/**
 * readHeader into an object the caller reuses (FrameDecoder's reuseHeader). Bytes are read one by
 * one rather than through Buffer's read methods: those are calls the optimizer does not always
 * inline, and this runs twice per request.
 */
export function readHeaderInto(target: MutableFrameHeader, buf: Buffer, offset = 0): FrameHeader {
  const flags = buf[offset + 2] as number;
  target.flags = flags;
  target.status = buf[offset + 3] as number;
  target.requestId = requestIdAt(buf, offset + 4);
  target.bodyLength = int32At(buf, offset + 12);
  target.isRequest = (flags & FLAG_REQUEST) !== 0;
  target.twoWay = (flags & FLAG_TWOWAY) !== 0;
  target.event = (flags & FLAG_EVENT) !== 0;
  target.serializationId = flags & SERIALIZATION_MASK;
  return target;
}

/** The signed big-endian 32-bit number at `offset` (the caller checked that 4 bytes are there). */
export function int32At(buf: Buffer, offset: number): number {
  return ((buf[offset] as number) << 24) | ((buf[offset + 1] as number) << 16) | ((buf[offset + 2] as number) << 8) | (buf[offset + 3] as number);
}

/**
 * The signed 64-bit id at `offset`. Java's ids count up from 0 (and ours for heartbeats down from
 * -1), so the high half is nearly always 0 or -1 and the id is made from one number: one bigint
 * instead of the four a general 64-bit read builds.
 */
function requestIdAt(buf: Buffer, offset: number): bigint {
  const high = int32At(buf, offset);
  const low = int32At(buf, offset + 4) >>> 0;
  if (high === 0) return BigInt(low);
  if (high === -1) return BigInt(low - 0x100000000);
  return (BigInt(high) << 32n) | BigInt(low);
}

export function writeHeader(
  target: Buffer,
  offset: number,
  fields: {flags: number; status: number; requestId: bigint; bodyLength: number},
): void {
  target.writeUInt8(MAGIC_HIGH, offset);
  target.writeUInt8(MAGIC_LOW, offset + 1);
  target.writeUInt8(fields.flags & 0xff, offset + 2);
  target.writeUInt8(fields.status & 0xff, offset + 3);
  target.writeBigInt64BE(BigInt.asIntN(64, fields.requestId), offset + 4);
  target.writeInt32BE(fields.bodyLength, offset + 12);
}

/** Targets already built, by service and method: every request names one, and they repeat. */
const targets = new Map<string, Map<string, string>>();
/** Bound on the cache: a peer sending ever-new names only makes it start over. */
const TARGETS_MAX = 4096;
let targetCount = 0;

/** `target` for logs: `com.foo.UserService#getUser` (the same string each time for the same pair). */
export function describeTarget(service: string | undefined, method: string | undefined): string {
  // Most requests name the same pair as the one before (the peek hands back the same strings).
  if (service === lastService && method === lastMethod && lastTarget !== undefined) return lastTarget;
  const serviceName = service ?? '?';
  const methodName = method ?? '?';
  const target = targetOf(serviceName, methodName);
  lastService = service;
  lastMethod = method;
  lastTarget = target;
  return target;
}

let lastService: string | undefined;
let lastMethod: string | undefined;
let lastTarget: string | undefined;

function targetOf(serviceName: string, methodName: string): string {
  let byMethod = targets.get(serviceName);
  let target = byMethod?.get(methodName);
  if (target !== undefined) return target;
  target = `${serviceName}#${methodName}`;
  if (targetCount >= TARGETS_MAX) {
    targets.clear();
    targetCount = 0;
    byMethod = undefined;
  }
  if (byMethod === undefined) {
    byMethod = new Map();
    targets.set(serviceName, byMethod);
  }
  byMethod.set(methodName, target);
  targetCount++;
  return target;
}
