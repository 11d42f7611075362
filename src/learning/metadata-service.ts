/**
 * Asking a 3.x provider's MetadataService what it exports, over the Dubbo protocol: the request frame as a
 * typed Java 3.x consumer writes it (DubboCodec.encodeRequestData; test/learning/codecs.test.ts checks it
 * byte for byte against captures of real consumers) and the reading of its answers. No sockets.
 */
import hessian from 'hessian.js';
import {FLAG_REQUEST, FLAG_TWOWAY, HEADER_LENGTH, RESPONSE_FLAG, SERIALIZATION, STATUS, readHeader, writeHeader} from '../protocol/header.js';
import {parseNotFoundListing} from './not-found-list.js';
import {METADATA_SERVICE, isInternalService, normalizeServiceKey, serviceKey} from '../router/service-key.js';

const {EncoderV2, DecoderV2} = hessian;

/** MetadataService is exported with version 1.0.0 and group = the provider's application name. */
export const METADATA_SERVICE_VERSION = '1.0.0';
const DUBBO_PROTOCOL_VERSION = '2.0.2';

/** The no-argument methods we call: getMetadataInfos() (structured, 3.x) and serviceName() (the application name). */
export type MetadataMethod = 'getMetadataInfos' | 'getExportedURLs' | 'serviceName';

export interface MetadataRequest {
  requestId: bigint;
  method: MetadataMethod;
  /** The provider's application name; undefined sends no group (the answer is then status 70 with the key list). */
  group: string | undefined;
  /** Our `remote.application`. */
  consumerApplication: string;
  /** Sent as the `timeout` attachment, as 3.x consumers do. */
  timeoutMs: number;
}

/** One request frame, attachments in the order a 3.2 consumer writes them. */
export function encodeMetadataRequest(request: MetadataRequest): Buffer {
  const encoder = new EncoderV2();
  encoder.writeString(DUBBO_PROTOCOL_VERSION);
  encoder.writeString(METADATA_SERVICE);
  encoder.writeString(METADATA_SERVICE_VERSION);
  encoder.writeString(request.method);
  encoder.writeString('');
  // A Map keeps insertion order on the wire (hessian.js sorts a plain object's keys); this is the 3.2 order.
  const attachments = new Map<string, string>([
    ['path', METADATA_SERVICE],
    ['remote.application', request.consumerApplication],
    ['interface', METADATA_SERVICE],
    ['version', METADATA_SERVICE_VERSION],
    ['timeout', String(request.timeoutMs)],
  ]);
  if (request.group !== undefined) attachments.set('group', request.group);
  encoder.write(attachments);
  const body = encoder.get();
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(frame, 0, {flags: FLAG_REQUEST | FLAG_TWOWAY | SERIALIZATION.HESSIAN2, status: 0, requestId: request.requestId, bodyLength: body.length});
  body.copy(frame, HEADER_LENGTH);
  return frame;
}

/** What one MetadataService answer says about the provider's services. */
export type MetadataAnswer =
  /** A list of services (maybe empty: a 3.x provider without a registry has empty metadata). */
  | {kind: 'services'; keys: string[]; application: string | undefined}
  /** serviceName(): the provider's application name. */
  | {kind: 'name'; application: string}
  /** Status 70 "Not found exported service ... in [...]": the provider's keys, from the error text. */
  | {kind: 'not-found'; keys: string[]; application: string | undefined}
  /** Anything else (another status, an exception, a body we cannot read); `message` says what. */
  | {kind: 'failed'; message: string};

/** Reads one whole response frame (header + body) to a MetadataService call. */
export function decodeMetadataAnswer(method: MetadataMethod, frame: Buffer): MetadataAnswer {
  if (frame.length < HEADER_LENGTH) return {kind: 'failed', message: 'a truncated response frame'};
  const header = readHeader(frame);
  const body = frame.subarray(HEADER_LENGTH, HEADER_LENGTH + header.bodyLength);
  if (header.serializationId !== SERIALIZATION.HESSIAN2) return {kind: 'failed', message: `an answer in serialization id ${header.serializationId}, not hessian2`};
  let decoder: InstanceType<typeof DecoderV2>;
  try {
    decoder = new DecoderV2(body);
    if (header.status !== STATUS.OK) {
      const text: unknown = body.length === 0 ? null : decoder.read();
      const message = typeof text === 'string' ? text : '';
      const listing = parseNotFoundListing(message);
      if (header.status === STATUS.SERVICE_ERROR && listing) return {kind: 'not-found', ...listing};
      return {kind: 'failed', message: `status ${header.status}: ${firstLine(message)}`};
    }
    const flag: unknown = decoder.read();
    if (flag === RESPONSE_FLAG.NULL_VALUE || flag === RESPONSE_FLAG.NULL_VALUE_WITH_ATTACHMENTS) {
      return method === 'serviceName' ? {kind: 'failed', message: 'serviceName() returned null'} : {kind: 'services', keys: [], application: undefined};
    }
    if (flag !== RESPONSE_FLAG.VALUE && flag !== RESPONSE_FLAG.VALUE_WITH_ATTACHMENTS) {
      return {kind: 'failed', message: `the provider threw or answered with flag ${String(flag)}`};
    }
    const value: unknown = decoder.read(false);
    return readMetadataValue(method, value);
  } catch (error) {
    return {kind: 'failed', message: `unreadable answer: ${(error as Error).message}`};
  }
}

/** What a decoded MetadataService return value says, whichever protocol carried it (Dubbo or Triple). */
export function readMetadataValue(method: MetadataMethod, value: unknown): MetadataAnswer {
  switch (method) {
    case 'serviceName':
      return typeof value === 'string' && value !== '' ? {kind: 'name', application: value} : {kind: 'failed', message: 'serviceName() returned no name'};
    case 'getExportedURLs':
      if (!Array.isArray(value)) return {kind: 'failed', message: 'getExportedURLs() did not return a set'};
      return {kind: 'services', ...keysFromUrls(value)};
    case 'getMetadataInfos':
      // getMetadataInfo(revision) answers one MetadataInfo; read it as a list of one.
      if (isRecord(value)) return {kind: 'services', ...keysFromMetadataInfos([value])};
      if (!Array.isArray(value)) return {kind: 'failed', message: 'getMetadataInfos() did not return a list'};
      return {kind: 'services', ...keysFromMetadataInfos(value)};
  }
}

/** `dubbo://host:port/<path>?...&group=g&interface=i&...&version=v` -> `[g/]i[:v]`. */
export function serviceKeyOfUrl(url: string): string | undefined {
  const match = /^[a-z][\w+.-]*:\/\/[^/?]*\/([^?]*)(?:\?(.*))?$/i.exec(url.trim());
  if (!match) return undefined;
  const params = new Map<string, string>();
  for (const pair of (match[2] ?? '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0) params.set(pair.slice(0, eq), safeDecode(pair.slice(eq + 1)));
  }
  const iface = params.get('interface') ?? match[1] ?? '';
  return normalizeServiceKey(serviceKey(params.get('group'), iface, params.get('version')));
}

function keysFromUrls(urls: unknown[]): {keys: string[]; application: string | undefined} {
  const keys = new Set<string>();
  let application: string | undefined;
  for (const url of urls) {
    if (typeof url !== 'string') continue;
    const key = serviceKeyOfUrl(url);
    if (key === undefined || isInternalService(key)) continue;
    keys.add(key);
    application ??= /[?&]application=([^&]+)/.exec(url)?.[1];
  }
  return {keys: [...keys].sort(), application};
}

/** MetadataInfo{app, revision, services: {"[g/]i[:v]:<protocol>": ServiceInfo{name, group, version, protocol, path, ...}}}. */
function keysFromMetadataInfos(infos: unknown[]): {keys: string[]; application: string | undefined} {
  const keys = new Set<string>();
  let application: string | undefined;
  for (const info of infos) {
    if (!isRecord(info)) continue;
    if (typeof info['app'] === 'string') application ??= info['app'];
    const services = info['services'];
    if (!isRecord(services)) continue;
    for (const service of Object.values(services)) {
      if (!isRecord(service)) continue;
      // Every protocol counts (dubbo and tri share keys); the router picks the application, not the port.
      const name = typeof service['name'] === 'string' ? service['name'] : typeof service['path'] === 'string' ? service['path'] : undefined;
      if (name === undefined) continue;
      const key = normalizeServiceKey(serviceKey(stringOr(service['group']), name, stringOr(service['version'])));
      if (key !== undefined && !isInternalService(key)) keys.add(key);
    }
  }
  return {keys: [...keys].sort(), application};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
