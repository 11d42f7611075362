/**
 * Reads what routing needs from a request body (service, method, attachments) without decoding the
 * arguments. Body layout: DubboCodec.encodeRequestData / DecodeableRpcInvocation.decode: dubbo
 * version, service path, service version, method, parameter-type descriptor, one value per
 * parameter, then the attachments map.
 */
import {ProtocolError} from '../core/errors.js';
import {SERIALIZATION, serializationName} from './header.js';
import {countArguments} from './descriptor.js';
import {peekFastjson2Request} from './fastjson2.js';
import {HessianWalker, SKIPPED} from './hessian-walker.js';
import type {AttachmentValue, RequestMetadata} from './request-metadata.js';

export type {AttachmentValue, RequestMetadata} from './request-metadata.js';

/**
 * Throws ProtocolError: 'DT_ERR_BAD_BODY' (the message says what is wrong and where) or
 * 'DT_ERR_UNSUPPORTED_SERIALIZATION' (the message names the serialization, e.g. "kryo (id 8)").
 */
export function peekRequest(serializationId: number, body: Buffer): RequestMetadata {
  if (serializationId === SERIALIZATION.HESSIAN2) return peekHessian2Request(body);
  if (serializationId === SERIALIZATION.FASTJSON2) return peekFastjson2Request(body);
  throw new ProtocolError(
    'DT_ERR_UNSUPPORTED_SERIALIZATION',
    `cannot read a request serialized with ${serializationName(serializationId)} (id ${serializationId}); only hessian2 (id 2) and fastjson2 (id 23) are understood`,
    {hint: 'make the consumer use hessian2: add serialization=hessian2 to its reference URL (dubbo://localhost:20880?serialization=hessian2)'},
  );
}

/** A peek that did not throw: the request's metadata, or why its body cannot be read. */
export type PeekResult =
  | {readonly readable: true; readonly serializationId: number; readonly request: RequestMetadata}
  | {readonly readable: false; readonly serializationId: number; readonly error: ProtocolError};

/**
 * peekRequest with its ProtocolError as a value, for the router to decide on. The fuzz tests hold
 * the peek to throwing only ProtocolError; should anything else escape, it still becomes an
 * unreadable body, so one odd request never takes down the connection or the process.
 */
export function tryPeekRequest(serializationId: number, body: Buffer): PeekResult {
  try {
    return {readable: true, serializationId, request: peekRequest(serializationId, body)};
  } catch (error) {
    const problem = error instanceof ProtocolError ? error : new ProtocolError('DT_ERR_BAD_BODY', `unexpected ${String(error)}`, {cause: error});
    return {readable: false, serializationId, error: problem};
  }
}

const HEADER_FIELDS = ['dubbo version (field 1)', 'service path (field 2)', 'service version (field 3)', 'method name (field 4)', 'parameter types (field 5)'];

/** A hessian2 (id 2) body: ONE Hessian stream, so class definitions carry from argument to argument. */
export function peekHessian2Request(body: Buffer): RequestMetadata {
  if (body.length === 0) throw new ProtocolError('DT_ERR_BAD_BODY', 'empty hessian2 request body');
  const walker = new HessianWalker(body);
  const fields: string[] = [];
  for (const what of HEADER_FIELDS) {
    walker.what = what;
    // Java reads these with readUTF(); a null (e.g. a missing version) is read as ''.
    fields.push(walker.readString() ?? '');
  }
  const [dubboVersion = '', service = '', serviceVersion = '', method = '', parameterTypes = ''] = fields;
  const argumentCount = countArguments(parameterTypes);
  for (let i = 1; i <= argumentCount; i++) {
    walker.what = `argument ${i} of ${argumentCount}`;
    walker.skipValue();
  }
  walker.what = 'attachments';
  const attachments = readAttachments(walker);
  return {dubboVersion, service, serviceVersion, method, parameterTypes, argumentCount, attachments, attachmentsRead: true};
}

/**
 * The attachments map: 'H' (a HashMap) or 'M' <type> (another Map class), pairs, 'Z'. 'N' or the end
 * of the body means none (DecodeableRpcInvocation reads them only if bytes remain). Bytes after
 * the map are ignored: dubbo-go appends an extra 'N'.
 */
function readAttachments(walker: HessianWalker): Map<string, AttachmentValue> {
  const map = new Map<string, AttachmentValue>();
  if (walker.atEnd) return map;
  const tag = walker.peek();
  if (tag === 0x4e) return map;
  if (tag !== 0x48 && tag !== 0x4d) walker.invalid(`expected a map ('H' or 'M'), got tag 0x${tag.toString(16).padStart(2, '0')}`);
  walker.pos++;
  if (tag === 0x4d) {
    if (walker.atString()) walker.readString();
    else walker.readInt();
  }
  for (;;) {
    if (walker.peek() === 0x5a) {
      walker.pos++;
      return map;
    }
    if (walker.atString()) {
      const key = walker.readString() as string;
      const value = walker.readPrimitiveOrSkip();
      if (value !== SKIPPED) map.set(key, value);
    } else {
      // A null or non-string key: not something a router can match on.
      walker.skipValue();
      walker.skipValue();
    }
  }
}
