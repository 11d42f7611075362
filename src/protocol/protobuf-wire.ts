/**
 * The protobuf wire format (protobuf.dev/programming-guides/encoding), only as far as the messages
 * dubbo-tunnel writes and reads itself need it: Dubbo's Triple wrapper messages and gRPC server
 * reflection. Varints, length-delimited fields, and a reader that lists a message's fields in order.
 * Messages described by a user's .proto file go through protobufjs instead (src/client).
 */
import {ProtocolError} from '../core/errors.js';

/** Wire types (encoding guide, "Message Structure"). */
export const WIRE_TYPE = {VARINT: 0, I64: 1, LEN: 2, I32: 5} as const;

export function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** One length-delimited field (strings, bytes and embedded messages): tag, length, payload. */
export function lengthDelimitedField(field: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([encodeVarint(field * 8 + WIRE_TYPE.LEN), encodeVarint(bytes.length), bytes]);
}

/** One field as read: a varint's value, or the bytes of a length-delimited or fixed-size field. */
export type WireField =
  | {field: number; wireType: typeof WIRE_TYPE.VARINT; value: number}
  | {field: number; wireType: typeof WIRE_TYPE.LEN | typeof WIRE_TYPE.I64 | typeof WIRE_TYPE.I32; bytes: Buffer};

/** Every field of one message, in wire order; throws ProtocolError on bytes that are not a message. */
export function readFields(message: Buffer): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (offset >= message.length) throw malformed('a varint runs past the end');
      const byte = message[offset++] ?? 0;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 0x80;
      if (scale > 2 ** 63) throw malformed('a varint is longer than 10 bytes');
    }
  };
  const take = (length: number): Buffer => {
    if (offset + length > message.length) throw malformed('a field runs past the end');
    const bytes = message.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  while (offset < message.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0) throw malformed('field number 0');
    switch (wireType) {
      case WIRE_TYPE.VARINT:
        fields.push({field, wireType, value: varint()});
        break;
      case WIRE_TYPE.LEN:
        fields.push({field, wireType, bytes: take(varint())});
        break;
      case WIRE_TYPE.I64:
        fields.push({field, wireType, bytes: take(8)});
        break;
      case WIRE_TYPE.I32:
        fields.push({field, wireType, bytes: take(4)});
        break;
      default:
        throw malformed(`wire type ${wireType} (groups are not read)`);
    }
  }
  return fields;
}

/** The bytes of every length-delimited occurrence of `field`. */
export function bytesOf(fields: readonly WireField[], field: number): Buffer[] {
  const found: Buffer[] = [];
  for (const item of fields) if (item.field === field && item.wireType === WIRE_TYPE.LEN) found.push(item.bytes);
  return found;
}

/** The last occurrence of a string field (proto3: the last one wins), or undefined. */
export function stringOf(fields: readonly WireField[], field: number): string | undefined {
  return bytesOf(fields, field).at(-1)?.toString('utf8');
}

/** Only answers are read with this (a provider's or a reflection service's), so a bad one is a bad answer. */
function malformed(what: string): ProtocolError {
  return new ProtocolError('DT_ERR_CALL_BAD_ANSWER', `not a protobuf message: ${what}`);
}
