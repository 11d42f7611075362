/**
 * Reads what routing needs from a request body (service, method, attachments) without decoding the
 * arguments. Body layout: DubboCodec.encodeRequestData / DecodeableRpcInvocation.decode: dubbo
 * version, service path, service version, method, parameter-type descriptor, one value per
 * parameter, then the attachments map.
 */
import {ProtocolError} from '../core/errors.js';
import {HEADER_LENGTH, SERIALIZATION, serializationName} from './header.js';
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
    return unreadable(serializationId, error);
  }
}

function unreadable(serializationId: number, error: unknown): PeekResult {
  const problem = error instanceof ProtocolError ? error : new ProtocolError('DT_ERR_BAD_BODY', `unexpected ${String(error)}`, {cause: error});
  return {readable: false, serializationId, error: problem};
}

/**
 * Reads request after request into the same objects, so routing a request allocates nothing here:
 * one walker, one metadata object, one attachments map and one result per consumer connection.
 * What `peek` returns is only valid until its next call; the router reads it and lets it go.
 *
 * A consumer calls the same methods with the same attachments again and again, so the peeker also
 * keeps the bytes of the last request's leading fields (dubbo version, service, version, method,
 * parameter types) and of its attachments map. When a body starts with the same bytes, what they
 * said is known without reading them again: one byte-for-byte comparison instead of decoding a
 * dozen strings. Only the arguments are always walked (to find where the attachments start).
 */
export class RequestPeeker {
  readonly #walker = new HessianWalker(Buffer.alloc(0));
  readonly #request: MutableRequestMetadata = emptyMetadata(new Map());
  readonly #readable: {readable: true; serializationId: number; request: RequestMetadata} = {readable: true, serializationId: SERIALIZATION.HESSIAN2, request: this.#request};
  readonly #seen: SeenFields = {leading: new ByteMemo(), fields: emptyMetadata(new Map()), attachments: new ByteMemo()};

  /** The request in `frame` (its 16-byte header, then the body). */
  peek(serializationId: number, frame: Buffer): PeekResult {
    if (serializationId !== SERIALIZATION.HESSIAN2 || frame.length <= HEADER_LENGTH) return tryPeekRequest(serializationId, frame.subarray(HEADER_LENGTH));
    try {
      this.#walker.reset(frame, HEADER_LENGTH);
      readHessian2Request(this.#walker, this.#request, this.#seen);
      return this.#readable;
    } catch (error) {
      return unreadable(serializationId, error);
    }
  }
}

/**
 * What the last request's leading fields and attachments said, with their bytes. Each memo is
 * forgotten before its fields are read anew and remembered once they were, so a read that fails
 * halfway never leaves a memo that disagrees with what the metadata object holds.
 */
interface SeenFields {
  readonly leading: ByteMemo;
  /** What the leading fields said. */
  readonly fields: LeadingFields;
  /** The attachments map's bytes; what they said is the metadata object's map itself. */
  readonly attachments: ByteMemo;
}

/** Fields 1-5 of a request body, and the argument count its parameter types give. */
type LeadingFields = Pick<MutableRequestMetadata, 'dubboVersion' | 'service' | 'serviceVersion' | 'method' | 'parameterTypes' | 'argumentCount'>;

function copyLeading(from: LeadingFields, to: LeadingFields): void {
  to.dubboVersion = from.dubboVersion;
  to.service = from.service;
  to.serviceVersion = from.serviceVersion;
  to.method = from.method;
  to.parameterTypes = from.parameterTypes;
  to.argumentCount = from.argumentCount;
}

/** A copy of some bytes, to tell whether a later body holds the same bytes at its own position. */
class ByteMemo {
  #bytes = new Uint8Array(256);
  #length = 0;
  #valid = false;

  get length(): number {
    return this.#length;
  }

  /** True when `buf` holds the remembered bytes from `start` on (it may go on beyond them). */
  matches(buf: Buffer, start: number, end: number): boolean {
    const length = this.#length;
    if (!this.#valid || end - start < length) return false;
    return buf.compare(this.#bytes, 0, length, start, start + length) === 0;
  }

  remember(buf: Buffer, start: number, end: number): void {
    const length = end - start;
    // An empty run would match any body (a body without attachments says so by ending, which
    // the next body need not do); larger runs are rare and not worth a large copy per connection.
    if (length === 0 || length > MEMO_LIMIT) return;
    if (this.#bytes.length < length) this.#bytes = new Uint8Array(Math.max(length, this.#bytes.length * 2));
    buf.copy(this.#bytes, 0, start, end);
    this.#length = length;
    this.#valid = true;
  }

  /** Not to be matched until the next remember(). */
  forget(): void {
    this.#valid = false;
  }
}

/** Longest run of bytes a ByteMemo keeps (leading fields, or an attachments map). */
const MEMO_LIMIT = 4096;

type MutableRequestMetadata = {-readonly [K in keyof RequestMetadata]: RequestMetadata[K]} & {attachments: Map<string, AttachmentValue>};

function emptyMetadata(attachments: Map<string, AttachmentValue>): MutableRequestMetadata {
  return {dubboVersion: '', service: '', serviceVersion: '', method: '', parameterTypes: '', argumentCount: 0, attachments, attachmentsRead: true};
}

/** A hessian2 (id 2) body: ONE Hessian stream, so class definitions carry from argument to argument. */
export function peekHessian2Request(body: Buffer): RequestMetadata {
  if (body.length === 0) throw new ProtocolError('DT_ERR_BAD_BODY', 'empty hessian2 request body');
  const request = emptyMetadata(new Map());
  readHessian2Request(new HessianWalker(body), request);
  return request;
}

/**
 * Fills `into` from the walker's body (its attachments map is emptied first). Throws ProtocolError.
 * With `seen` (RequestPeeker), fields whose bytes are the same as the last request's are not read
 * again; `into` must then be the object the last call filled.
 */
function readHessian2Request(walker: HessianWalker, into: MutableRequestMetadata, seen?: SeenFields): void {
  const buf = walker.buf;
  const leadingStart = walker.pos;
  if (seen !== undefined && seen.leading.matches(buf, leadingStart, walker.end)) {
    walker.pos = leadingStart + seen.leading.length;
    copyLeading(seen.fields, into);
  } else {
    seen?.leading.forget();
    readLeadingFields(walker, into);
    if (seen !== undefined) {
      copyLeading(into, seen.fields);
      seen.leading.remember(buf, leadingStart, walker.pos);
    }
  }
  const argumentCount = into.argumentCount;
  walker.argumentCount = argumentCount;
  for (let i = 1; i <= argumentCount; i++) {
    walker.argument = i;
    walker.skipValue();
  }
  walker.argument = 0;
  walker.what = 'attachments';
  into.attachmentsRead = true;
  // A value in the attachments may be an object of a class the arguments defined ('C'); the same
  // bytes then mean something else, so the memo is used, and kept, only for bodies without any.
  const attachmentsStart = walker.pos;
  const memoUsable = seen !== undefined && walker.classDefinitions === 0;
  if (memoUsable && seen.attachments.matches(buf, attachmentsStart, walker.end)) return;
  seen?.attachments.forget();
  into.attachments.clear();
  readAttachments(walker, into.attachments);
  if (memoUsable) seen.attachments.remember(buf, attachmentsStart, walker.pos);
}

/** Fields 1-5: dubbo version, service path, service version, method name, parameter types. */
function readLeadingFields(walker: HessianWalker, into: MutableRequestMetadata): void {
  // Java reads these with readUTF(); a null (e.g. a missing version) is read as ''.
  walker.what = 'dubbo version (field 1)';
  into.dubboVersion = walker.readString() ?? '';
  walker.what = 'service path (field 2)';
  into.service = walker.readString() ?? '';
  walker.what = 'service version (field 3)';
  into.serviceVersion = walker.readString() ?? '';
  walker.what = 'method name (field 4)';
  into.method = walker.readString() ?? '';
  walker.what = 'parameter types (field 5)';
  const parameterTypes = walker.readString() ?? '';
  into.parameterTypes = parameterTypes;
  into.argumentCount = countArguments(parameterTypes);
}

/**
 * The attachments map: 'H' (a HashMap) or 'M' <type> (another Map class), pairs, 'Z'. 'N' or the end
 * of the body means none (DecodeableRpcInvocation reads them only if bytes remain). Bytes after
 * the map are ignored: dubbo-go appends an extra 'N'.
 */
function readAttachments(walker: HessianWalker, map: Map<string, AttachmentValue>): void {
  if (walker.atEnd) return;
  const tag = walker.peek();
  if (tag === 0x4e) return;
  if (tag !== 0x48 && tag !== 0x4d) walker.invalid(`expected a map ('H' or 'M'), got tag 0x${tag.toString(16).padStart(2, '0')}`);
  walker.pos++;
  if (tag === 0x4d) {
    if (walker.atString()) walker.readString();
    else walker.readInt();
  }
  for (;;) {
    if (walker.peek() === 0x5a) {
      walker.pos++;
      return;
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
