/**
 * The team gateway's own words on the wire, shared by both ends: the in-cluster `gateway` and the
 * laptop's `up --via`. Pure: buffers in, values out; no sockets.
 *
 * Everything rides on ordinary Dubbo 2 frames (hessian2, dubbo version 2.0.2) so the gateway's
 * listener, sniffing and frame decoder stay the ones `up` uses:
 *   - a laptop stream starts with a two-way request to `dubbo-tunnel.Gateway` / `hello`, one
 *     String argument (JSON `{"protocolVersion":1,"client":"dubbo-tunnel/<version>"}`) and the
 *     developer's token in the `authorization: Bearer <token>` attachment;
 *   - `catalog` (same service, argument `{}`) may follow at any time on an authenticated stream;
 *   - both are answered with status 20, RESPONSE_VALUE (1) and one hessian2 string of JSON;
 *   - a refusal is a status 70 (SERVICE_ERROR) answer whose one hessian2 string starts with the
 *     code, in the form every dubbo-tunnel answer has: `dubbo-tunnel [DT_ERR_GATEWAY_…]: …`.
 * On HTTP/2 (Triple, gRPC) every stream carries the token in the `dubbo-tunnel-authorization`
 * header instead, and a refusal is a gRPC status (UNAUTHENTICATED or PERMISSION_DENIED).
 */
import {ProtocolError} from '../core/errors.js';
import {FLAG_REQUEST, FLAG_TWOWAY, HEADER_LENGTH, RESPONSE_FLAG, SERIALIZATION, STATUS, writeHeader, type FrameHeader} from '../protocol/header.js';
import {encodeHessian2String} from '../protocol/hessian-string.js';
import {HessianWalker} from '../protocol/hessian-walker.js';
import {GRPC_STATUS} from '../protocol/grpc.js';
import {peekHessian2Request} from '../protocol/request-peek.js';
import type {RequestMetadata} from '../protocol/request-metadata.js';
import {encodeErrorResponse} from '../protocol/responses.js';

/** The protocol version both ends speak; a hello with another one is refused (DT_ERR_GATEWAY_PROTOCOL). */
export const GATEWAY_PROTOCOL_VERSION = 1;
/** The Dubbo service path (body field 2) of the gateway's own methods; no provider is ever called that. */
export const GATEWAY_SERVICE = 'dubbo-tunnel.Gateway';
export const GATEWAY_SERVICE_VERSION = '0.0.0';
export const GATEWAY_DUBBO_VERSION = '2.0.2';
/** One argument, a JSON text. */
export const GATEWAY_PARAMETER_TYPES = 'Ljava/lang/String;';
export const GATEWAY_METHODS = ['hello', 'catalog'] as const;
export type GatewayMethod = (typeof GATEWAY_METHODS)[number];

/** The Dubbo attachment of a hello that carries `Bearer <token>`. */
export const AUTHORIZATION_ATTACHMENT = 'authorization';
/** The HTTP/2 header every Triple/gRPC stream to a gateway carries (`Bearer <token>`); the gateway strips it before forwarding. */
export const AUTHORIZATION_HEADER = 'dubbo-tunnel-authorization';

/** The coded names of a gateway's refusals. */
export const GATEWAY_ERROR_CODES = ['DT_ERR_GATEWAY_UNAUTHENTICATED', 'DT_ERR_GATEWAY_FORBIDDEN', 'DT_ERR_GATEWAY_PROTOCOL'] as const;
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

/** The Dubbo status of each refusal. */
export const GATEWAY_ERROR_STATUS: Readonly<Record<GatewayErrorCode, number>> = {
  DT_ERR_GATEWAY_UNAUTHENTICATED: STATUS.SERVICE_ERROR,
  DT_ERR_GATEWAY_FORBIDDEN: STATUS.SERVICE_ERROR,
  DT_ERR_GATEWAY_PROTOCOL: STATUS.SERVICE_ERROR,
};

/** The gRPC status of each refusal on an HTTP/2 stream. */
export const GATEWAY_GRPC_STATUS: Readonly<Record<GatewayErrorCode, number>> = {
  DT_ERR_GATEWAY_UNAUTHENTICATED: GRPC_STATUS.UNAUTHENTICATED,
  DT_ERR_GATEWAY_FORBIDDEN: GRPC_STATUS.PERMISSION_DENIED,
  DT_ERR_GATEWAY_PROTOCOL: GRPC_STATUS.INVALID_ARGUMENT,
};

/** One application a user may reach through the gateway. */
export interface CatalogApplication {
  readonly name: string;
  readonly namespace: string;
  /** Interfaces it is known to export (learned), sorted; may be empty before learning finished. */
  readonly services: readonly string[];
  /** True when it serves Triple (a Triple port is known). */
  readonly triple: boolean;
}

/**
 * A namespace on offer that the user may not use: how many applications it holds and the missing
 * permission. Their names are withheld: a user who may not `get services` there may not read them.
 */
export interface RefusedNamespace {
  readonly namespace: string;
  readonly applications: number;
  /** `get services in namespace billing` */
  readonly permission: string;
  /** True when the permission could not be checked (the review failed), not refused. */
  readonly unchecked: boolean;
}

/** What the gateway offers one user; `generation` grows whenever the gateway's route table changes. */
export interface Catalog {
  readonly applications: readonly CatalogApplication[];
  readonly generation: number;
  /** The namespaces the user may not use (`doctor --via` shows them); absent from older gateways. */
  readonly refused?: readonly RefusedNamespace[];
}

export interface Hello {
  readonly protocolVersion: number;
  /** `dubbo-tunnel/<version>` */
  readonly client: string;
}

export interface HelloAnswer {
  readonly protocolVersion: number;
  /** The username the TokenReview gave. */
  readonly user: string;
  readonly catalog: Catalog;
}

/** A gateway request as read from its frame: which method, its JSON argument, and the token if one was sent. */
export interface GatewayRequest {
  readonly method: GatewayMethod;
  /** The argument's JSON, parsed. */
  readonly argument: unknown;
  /** The token of an `authorization: Bearer <token>` attachment; undefined when there is none. */
  readonly token: string | undefined;
}

/** What a laptop reads from a gateway's answer. */
export type GatewayAnswer =
  | {readonly kind: 'value'; readonly value: unknown}
  | {readonly kind: 'refused'; readonly code: GatewayErrorCode | undefined; readonly status: number; readonly message: string};

/** `Bearer <token>` for an attachment or header. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** The token of a `Bearer <token>` value (scheme case-insensitive), or undefined for anything else. */
export function bearerToken(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

/** True for a request addressed to the gateway itself (from the listener's peek). */
export function isGatewayRequest(request: Pick<RequestMetadata, 'service'>): boolean {
  return request.service === GATEWAY_SERVICE;
}

/** The first frame of a laptop stream. */
export function encodeHello(requestId: bigint, token: string, client: string): Buffer {
  const hello: Hello = {protocolVersion: GATEWAY_PROTOCOL_VERSION, client};
  return encodeGatewayRequest(requestId, 'hello', JSON.stringify(hello), {[AUTHORIZATION_ATTACHMENT]: bearer(token)});
}

/** A catalog poll on an authenticated stream. */
export function encodeCatalogRequest(requestId: bigint): Buffer {
  return encodeGatewayRequest(requestId, 'catalog', '{}', {});
}

/**
 * A two-way hessian2 request to the gateway service, laid out as a Java consumer writes one
 * (DubboCodec.encodeRequestData): five strings, the argument, then the attachments as an 'H' map.
 */
function encodeGatewayRequest(requestId: bigint, method: GatewayMethod, argument: string, extra: Readonly<Record<string, string>>): Buffer {
  const attachments: Record<string, string> = {path: GATEWAY_SERVICE, interface: GATEWAY_SERVICE, version: GATEWAY_SERVICE_VERSION, ...extra};
  const parts: Buffer[] = [GATEWAY_DUBBO_VERSION, GATEWAY_SERVICE, GATEWAY_SERVICE_VERSION, method, GATEWAY_PARAMETER_TYPES, argument].map(encodeHessian2String);
  parts.push(Buffer.from([0x48])); // 'H'
  for (const [key, value] of Object.entries(attachments)) parts.push(encodeHessian2String(key), encodeHessian2String(value));
  parts.push(Buffer.from([0x5a])); // 'Z'
  return frameOf(FLAG_REQUEST | FLAG_TWOWAY | SERIALIZATION.HESSIAN2, 0, requestId, Buffer.concat(parts));
}

/**
 * Reads a gateway request from its frame (header and body). Throws ProtocolError
 * 'DT_ERR_GATEWAY_PROTOCOL' for anything that is not a well-formed call of a known method with
 * one JSON argument.
 */
export function decodeGatewayRequest(header: FrameHeader, frame: Buffer): GatewayRequest {
  if (header.serializationId !== SERIALIZATION.HESSIAN2) throw protocolError(`a gateway request must be hessian2 (id 2), not id ${header.serializationId}`);
  const body = frame.subarray(HEADER_LENGTH);
  let request: RequestMetadata;
  let argumentText: string | null;
  try {
    request = peekHessian2Request(body);
    const walker = new HessianWalker(body);
    for (let field = 1; field <= 5; field++) walker.readString();
    argumentText = request.argumentCount === 1 && walker.atString() ? walker.readString() : null;
  } catch (error) {
    throw protocolError(`unreadable gateway request: ${(error as Error).message}`);
  }
  if (request.service !== GATEWAY_SERVICE) throw protocolError(`expected a request to ${GATEWAY_SERVICE}, got ${request.service || '(no service)'}`);
  const method = GATEWAY_METHODS.find((known) => known === request.method);
  if (method === undefined) throw protocolError(`unknown gateway method ${JSON.stringify(request.method)} (known: ${GATEWAY_METHODS.join(', ')})`);
  if (request.parameterTypes !== GATEWAY_PARAMETER_TYPES || argumentText === null) throw protocolError(`${method} takes one String argument (${GATEWAY_PARAMETER_TYPES}) holding JSON`);
  let argument: unknown;
  try {
    argument = JSON.parse(argumentText);
  } catch {
    throw protocolError(`the argument of ${method} is not JSON`);
  }
  return {method, argument, token: bearerToken(request.attachments.get(AUTHORIZATION_ATTACHMENT))};
}

/** The argument of a hello, checked. Throws ProtocolError 'DT_ERR_GATEWAY_PROTOCOL'. */
export function parseHello(argument: unknown): Hello {
  if (!isRecord(argument)) throw protocolError('the hello argument must be a JSON object');
  const {protocolVersion, client} = argument;
  if (typeof protocolVersion !== 'number' || !Number.isInteger(protocolVersion)) throw protocolError('the hello has no integer protocolVersion');
  if (protocolVersion !== GATEWAY_PROTOCOL_VERSION) {
    throw protocolError(`the laptop speaks gateway protocol ${protocolVersion}, this gateway speaks ${GATEWAY_PROTOCOL_VERSION}; use the same dubbo-tunnel version on both sides`);
  }
  if (typeof client !== 'string' || client === '') throw protocolError('the hello has no client');
  return {protocolVersion, client};
}

/** The answer to a hello. */
export function encodeHelloAnswer(requestId: bigint, answer: HelloAnswer): Buffer {
  return encodeValueAnswer(requestId, JSON.stringify(answer));
}

/** The answer to a catalog poll. */
export function encodeCatalogAnswer(requestId: bigint, catalog: Catalog): Buffer {
  return encodeValueAnswer(requestId, JSON.stringify(catalog));
}

/** Status 20, RESPONSE_VALUE, one hessian2 string (DubboCodec.encodeResponseData without attachments). */
function encodeValueAnswer(requestId: bigint, json: string): Buffer {
  const body = Buffer.concat([Buffer.from([0x90 + RESPONSE_FLAG.VALUE]), encodeHessian2String(json)]);
  return frameOf(SERIALIZATION.HESSIAN2, STATUS.OK, requestId, body);
}

/** The text of a refusal: the code first, as every dubbo-tunnel answer starts. */
export function gatewayErrorMessage(code: GatewayErrorCode, reason: string): string {
  return `dubbo-tunnel [${code}]: ${reason}`;
}

/** A refusal as a Dubbo error answer (status 70, one hessian2 string). */
export function encodeGatewayError(requestId: bigint, code: GatewayErrorCode, reason: string): Buffer {
  return encodeErrorResponse(requestId, GATEWAY_ERROR_STATUS[code], gatewayErrorMessage(code, reason));
}

/** The coded name a refusal's text starts with (`dubbo-tunnel [CODE]: …` or `CODE…`), or undefined. */
export function gatewayErrorCodeOf(message: string): GatewayErrorCode | undefined {
  const match = /^(?:dubbo-tunnel \[)?(DT_ERR_GATEWAY_[A-Z_]+)/.exec(message);
  return GATEWAY_ERROR_CODES.find((code) => code === match?.[1]);
}

/**
 * Reads a gateway's answer (header and body): a value (the JSON parsed) or a refusal. Throws
 * ProtocolError 'DT_ERR_GATEWAY_PROTOCOL' when the answer is not one a gateway writes.
 */
export function decodeGatewayAnswer(header: FrameHeader, frame: Buffer): GatewayAnswer {
  if (header.isRequest || header.event) throw protocolError('expected an answer, got a request or an event');
  if (header.serializationId !== SERIALIZATION.HESSIAN2) throw protocolError(`a gateway answer must be hessian2 (id 2), not id ${header.serializationId}`);
  const walker = new HessianWalker(frame.subarray(HEADER_LENGTH));
  try {
    if (header.status !== STATUS.OK) {
      const message = walker.atEnd ? '' : (walker.readString() ?? '');
      return {kind: 'refused', code: gatewayErrorCodeOf(message), status: header.status, message};
    }
    const flag = walker.readInt();
    if (flag !== RESPONSE_FLAG.VALUE && flag !== RESPONSE_FLAG.VALUE_WITH_ATTACHMENTS) throw protocolError(`unexpected response flag ${flag} (a gateway answers with a value)`);
    const text = walker.readString();
    if (text === null) throw protocolError('the answer holds no text');
    return {kind: 'value', value: JSON.parse(text) as unknown};
  } catch (error) {
    if (error instanceof ProtocolError && error.code === 'DT_ERR_GATEWAY_PROTOCOL') throw error;
    throw protocolError(`unreadable gateway answer: ${(error as Error).message}`);
  }
}

/** The answer to a hello, checked. Throws ProtocolError 'DT_ERR_GATEWAY_PROTOCOL'. */
export function parseHelloAnswer(value: unknown): HelloAnswer {
  if (!isRecord(value)) throw protocolError('the hello answer is not a JSON object');
  const {protocolVersion, user, catalog} = value;
  if (protocolVersion !== GATEWAY_PROTOCOL_VERSION) throw protocolError(`the gateway speaks protocol ${String(protocolVersion)}, this laptop ${GATEWAY_PROTOCOL_VERSION}`);
  if (typeof user !== 'string') throw protocolError('the hello answer names no user');
  return {protocolVersion, user, catalog: parseCatalog(catalog)};
}

/** A Catalog, checked field by field. Throws ProtocolError 'DT_ERR_GATEWAY_PROTOCOL'. */
export function parseCatalog(value: unknown): Catalog {
  if (!isRecord(value) || !Array.isArray(value['applications'])) throw protocolError('the catalog has no applications list');
  const generation = value['generation'];
  if (typeof generation !== 'number' || !Number.isFinite(generation)) throw protocolError('the catalog has no generation');
  const applications = value['applications'].map((entry: unknown, index): CatalogApplication => {
    if (!isRecord(entry)) throw protocolError(`catalog application ${index} is not an object`);
    const {name, namespace, services, triple} = entry;
    if (typeof name !== 'string' || name === '' || typeof namespace !== 'string' || namespace === '') throw protocolError(`catalog application ${index} has no name or namespace`);
    if (!Array.isArray(services) || !services.every((service): service is string => typeof service === 'string')) throw protocolError(`catalog application ${name} has no services list`);
    if (typeof triple !== 'boolean') throw protocolError(`catalog application ${name} does not say whether it serves Triple`);
    return {name, namespace, services, triple};
  });
  const refused = value['refused'];
  if (refused === undefined) return {applications, generation};
  if (!Array.isArray(refused)) throw protocolError('the catalog\'s refused list is not a list');
  return {applications, generation, refused: refused.map((entry: unknown, index): RefusedNamespace => {
    if (!isRecord(entry)) throw protocolError(`catalog refusal ${index} is not an object`);
    const {namespace, applications: count, permission, unchecked} = entry;
    if (typeof namespace !== 'string' || namespace === '' || typeof count !== 'number' || typeof permission !== 'string' || typeof unchecked !== 'boolean') {
      throw protocolError(`catalog refusal ${index} lacks its namespace, count, permission or unchecked flag`);
    }
    return {namespace, applications: count, permission, unchecked};
  })};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function protocolError(message: string): ProtocolError {
  return new ProtocolError('DT_ERR_GATEWAY_PROTOCOL', message);
}

function frameOf(flags: number, status: number, requestId: bigint, body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(frame, 0, {flags, status, requestId, bodyLength: body.length});
  body.copy(frame, HEADER_LENGTH);
  return frame;
}
