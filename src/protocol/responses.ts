/**
 * Frames the proxy writes itself: heartbeat answers and requests, and error responses. Layouts from
 * ExchangeCodec.encodeRequest / encodeResponse and HeartbeatHandler (docs/architecture.md, "Events stay local").
 */
import {ProtocolError} from '../core/errors.js';
import {FLAG_EVENT, FLAG_REQUEST, FLAG_TWOWAY, HEADER_LENGTH, RESPONSE_FLAG, SERIALIZATION, STATUS, serializationName, writeHeader, type FrameHeader} from './header.js';
import {hessian2StringLength, writeHessian2String} from './hessian-string.js';

/** Serialized null of hessian2 ('N'; CodecSupport.getNullBytesOf). */
const HESSIAN2_NULL = Buffer.from([0x4e]);
/** Serialized null of fastjson2: one record, length 1, JSONB BC_NULL (0xaf). */
const FASTJSON2_NULL = Buffer.from([0x00, 0x00, 0x00, 0x01, 0xaf]);

/** The "null bytes" a heartbeat carries for a serialization, or undefined when we do not know them. */
export function nullBytesOf(serializationId: number): Buffer | undefined {
  if (serializationId === SERIALIZATION.HESSIAN2) return HESSIAN2_NULL;
  if (serializationId === SERIALIZATION.FASTJSON2) return FASTJSON2_NULL;
  return undefined;
}

/** Heartbeat answer: flags = FLAG_EVENT | request's serialization id, status 20, same id, body = the request's body (the null bytes). */
export function encodeHeartbeatResponse(request: FrameHeader, requestBody: Buffer): Buffer {
  return encodeFrame(FLAG_EVENT | request.serializationId, STATUS.OK, request.requestId, requestBody);
}

/**
 * The answer an event frame needs, as HeartbeatHandler gives it: a two-way heartbeat request gets
 * its heartbeat response; anything else (READONLY, WRITEABLE, one-way events, responses) none.
 * Every peer that answers heartbeats (the listener, upstreams, the built-in client, the demo
 * provider) uses this one rule.
 */
export function heartbeatReply(header: FrameHeader, body: Buffer): Buffer | undefined {
  if (!header.isRequest || !header.event || !header.twoWay) return undefined;
  return classifyEvent(header, body) === 'heartbeat' ? encodeHeartbeatResponse(header, body) : undefined;
}

/** A heartbeat we send (to keep an upstream alive): flags 0xE0 | id, status 0, body = the serialization's null ('N' for hessian2). */
export function encodeHeartbeatRequest(requestId: bigint, serializationId: number = SERIALIZATION.HESSIAN2): Buffer {
  const body = nullBytesOf(serializationId);
  if (body === undefined) {
    throw new ProtocolError(
      'DT_ERR_UNSUPPORTED_SERIALIZATION',
      `cannot write a heartbeat in ${serializationName(serializationId)} (id ${serializationId}); only hessian2 (id 2) and fastjson2 (id 23) are known`,
    );
  }
  return encodeFrame(FLAG_REQUEST | FLAG_TWOWAY | FLAG_EVENT | serializationId, 0, requestId, body);
}

/**
 * The id of the READONLY events we send: -1 (all 64 bits set). A Java provider takes the next id of
 * its request counter, but a consumer library that reads every frame from its provider as a
 * response (dubbo-js) matches the id against its own calls and would fail the call that has it.
 * Consumers count their ids up from 0 or 1 (Java reads this one as -1, dubbo-js as 2^64 - 1), so no
 * call of theirs has it.
 */
export const READONLY_EVENT_ID = -1n;

/** hessian2 "R": a one-character string is its length byte, then the character. */
const READONLY_BODY = Buffer.from([0x01, 0x52]);

/**
 * READONLY event, as a Dubbo provider sends it to every consumer channel when it shuts down
 * gracefully (HeaderExchangeServer.sendChannelReadOnlyEvent): flags REQUEST|EVENT|hessian2 and no
 * TWOWAY (0xa2), status 0, body the hessian2 string "R" (`01 52`). A consumer marks the connection
 * read-only and sends no new requests on it (HeaderExchangeHandler.handlerEvent); it answers nothing.
 */
export function encodeReadonlyEvent(): Buffer {
  return encodeFrame(FLAG_REQUEST | FLAG_EVENT | SERIALIZATION.HESSIAN2, 0, READONLY_EVENT_ID, READONLY_BODY);
}

/**
 * An error response: flags = 2 (hessian2, no REQUEST/EVENT bits), the given status, the request's id,
 * body = ONE hessian2 string with the message (ExchangeCodec.encodeResponse: writeUTF(errorMessage)).
 */
export function encodeErrorResponse(requestId: bigint, status: number, message: string): Buffer {
  const bodyLength = hessian2StringLength(message);
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + bodyLength);
  writeHeader(frame, 0, {flags: SERIALIZATION.HESSIAN2, status, requestId, bodyLength});
  writeHessian2String(frame, HEADER_LENGTH, message);
  return frame;
}

export type EventKind = 'heartbeat' | 'readonly' | 'writeable' | 'other';

/**
 * Classifies an event frame (FLAG_EVENT set). READONLY is the string "R", WRITEABLE "W"
 * (CommonConstants.READONLY_EVENT / WRITEABLE_EVENT; hessian2 `01 52`, fastjson2 `00 00 00 02 4a 52`).
 * A heartbeat carries the null bytes of its serialization (CodecSupport.isHeartBeat); leniently, any
 * two-way event that is not R/W is a heartbeat too, since answering it is always safe.
 */
export function classifyEvent(header: FrameHeader, body: Buffer): EventKind {
  const text = eventString(body);
  if (text === 'R') return 'readonly';
  if (text === 'W') return 'writeable';
  const nulls = nullBytesOf(header.serializationId);
  if ((nulls !== undefined && body.equals(nulls)) || body.equals(HESSIAN2_NULL) || body.equals(FASTJSON2_NULL)) return 'heartbeat';
  if (header.twoWay) return 'heartbeat';
  return 'other';
}

/** A one-character event payload in hessian2 (`01 xx`) or fastjson2 (one record holding a 1-char JSONB string, 0x4a). */
function eventString(body: Buffer): string | undefined {
  if (body.length === 2 && body[0] === 0x01) return String.fromCharCode(body[1] as number);
  if (body.length === 6 && body.readInt32BE(0) === 2 && body[4] === 0x4a) return String.fromCharCode(body[5] as number);
  return undefined;
}

function encodeFrame(flags: number, status: number, requestId: bigint, body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(frame, 0, {flags, status, requestId, bodyLength: body.length});
  body.copy(frame, HEADER_LENGTH);
  return frame;
}

/**
 * The response flag (RESPONSE_FLAG) of a status-OK hessian2 answer, or undefined for anything else.
 * Hessian's compact int for a flag (0 to 15) is the one byte 0x90 + flag, and
 * DubboCodec.encodeResponseData writes the flag first, so one body byte tells it; that byte may
 * start in any of the pieces the frame arrived in. Other serializations are not read.
 */
export function hessian2AnswerFlag(header: FrameHeader, frame: Buffer | readonly Buffer[]): number | undefined {
  if (header.isRequest || header.event || header.status !== STATUS.OK || header.serializationId !== SERIALIZATION.HESSIAN2 || header.bodyLength === 0) return undefined;
  const first = byteAt(frame, HEADER_LENGTH);
  return first === undefined || first < 0x90 || first > 0x9f ? undefined : first - 0x90;
}

/**
 * True when a status-OK hessian2 answer carries a Java exception: the consumer gets a thrown
 * exception although the status byte says OK, so it is a failed call.
 */
export function answersWithException(header: FrameHeader, frame: Buffer | readonly Buffer[]): boolean {
  const flag = hessian2AnswerFlag(header, frame);
  return flag === RESPONSE_FLAG.WITH_EXCEPTION || flag === RESPONSE_FLAG.WITH_EXCEPTION_WITH_ATTACHMENTS;
}

function byteAt(frame: Buffer | readonly Buffer[], offset: number): number | undefined {
  if (Buffer.isBuffer(frame)) return frame[offset];
  let skipped = 0;
  for (const piece of frame) {
    if (offset < skipped + piece.length) return piece[offset - skipped];
    skipped += piece.length;
  }
  return undefined;
}
