/**
 * What one HTTP/1.1 request on the port asks for, read from its URL, headers and body: no sockets.
 * `POST /<application>/<interface>/<method>` or `POST /<interface>/<method>` (routed by the learned
 * service, as a Dubbo request without the attachment is), a JSON array of arguments as the body,
 * and the query parameters below. Anything it cannot use is an HttpCallError that says what to send.
 */
import {DubboTunnelError} from '../../core/errors.js';
import {parseTypeList} from '../../client/java-types.js';
import type {JavaType} from '../../client/java-types.js';

/** Without `?timeout=`: the time an HTTP call waits for its answer before a 504. */
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
/** The longest `?timeout=` taken: a curl that waits longer is more likely a typo. */
const MAX_HTTP_TIMEOUT_MS = 10 * 60_000;

/** Headers that carry attachments: `X-Dubbo-Attachment-<name>: <value>` (the name keeps its case). */
export const ATTACHMENT_HEADER_PREFIX = 'x-dubbo-attachment-';

const QUERY_PARAMETERS = ['types', 'group', 'version', 'timeout', 'triple'] as const;

/** Where a call goes, from the URL path. */
export interface CallPath {
  /** Undefined for `/<interface>/<method>`: routed by the learned service. */
  readonly application: string | undefined;
  readonly service: string;
  readonly method: string;
}

/** One HTTP call, read and checked: what the Dubbo or Triple request is made of. */
export interface JsonCall extends CallPath {
  readonly group: string | undefined;
  readonly version: string | undefined;
  /** From `?types=`; undefined: inferred from the JSON like `dubbo-tunnel call`. */
  readonly types: readonly JavaType[] | undefined;
  readonly timeoutMs: number;
  /** `?triple=1`: sent as a Triple call even when the application has a Dubbo port. */
  readonly triple: boolean;
  /** Each argument's JSON text, as it was in the body (numbers stay exact: longs, BigDecimal). */
  readonly rawArguments: readonly string[];
  readonly attachments: Readonly<Record<string, string>>;
}

/** A request this module cannot turn into a call: the HTTP status and the coded answer. */
export class HttpCallError extends Error {
  readonly status: number;
  readonly code: 'DT_ERR_HTTP_BAD_REQUEST' | 'DT_ERR_FRAME_TOO_LARGE';

  constructor(status: number, code: HttpCallError['code'], message: string) {
    super(message);
    this.name = 'HttpCallError';
    this.status = status;
    this.code = code;
  }
}

/** The call a path names, or undefined when it names none (two or three non-empty segments). */
export function parseCallPath(pathname: string): CallPath | undefined {
  const segments = pathname.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  if (segments.length < 2 || segments.length > 3 || segments.some((segment) => segment === '')) return undefined;
  let decoded: string[];
  try {
    decoded = segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
  const [first = '', second = '', third] = decoded;
  return third === undefined
    ? {application: undefined, service: first, method: second}
    : {application: first, service: second, method: third};
}

/**
 * Reads the call: `path` from parseCallPath, the URL's query, the request's raw header list
 * (`rawHeaders`, names in the case they were sent) and its body (UTF-8 text).
 */
export function readJsonCall(path: CallPath, query: URLSearchParams, rawHeaders: readonly string[], body: string): JsonCall {
  for (const name of query.keys()) {
    if (!(QUERY_PARAMETERS as readonly string[]).includes(name)) {
      throw badRequest(`unknown query parameter '${name}'; the known ones are ${QUERY_PARAMETERS.map((known) => `?${known}=`).join(', ')}`);
    }
  }
  return {
    ...path,
    group: nonEmpty(query.get('group')),
    version: nonEmpty(query.get('version')),
    types: typesOf(query.get('types')),
    timeoutMs: timeoutOf(query.get('timeout')),
    triple: flagOf(query.get('triple'), 'triple'),
    rawArguments: splitJsonArray(body),
    attachments: attachmentsOf(rawHeaders),
  };
}

function badRequest(message: string): HttpCallError {
  return new HttpCallError(400, 'DT_ERR_HTTP_BAD_REQUEST', message);
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}

function typesOf(text: string | null): JavaType[] | undefined {
  if (text === null) return undefined;
  try {
    return parseTypeList(text);
  } catch (error) {
    throw badRequest(`?types= is not a list of Java types: ${error instanceof Error ? error.message : String(error)} (for example ?types=java.lang.String,int)`);
  }
}

function timeoutOf(text: string | null): number {
  if (text === null) return DEFAULT_HTTP_TIMEOUT_MS;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0 || value > MAX_HTTP_TIMEOUT_MS) {
    throw badRequest(`?timeout= takes milliseconds from 1 to ${MAX_HTTP_TIMEOUT_MS}, not '${text}'`);
  }
  return value;
}

function flagOf(text: string | null, name: string): boolean {
  if (text === null || text === '0' || text === 'false') return false;
  if (text === '' || text === '1' || text === 'true') return true;
  throw badRequest(`?${name}= takes 1 or 0, not '${text}'`);
}

function attachmentsOf(rawHeaders: readonly string[]): Record<string, string> {
  const attachments: Record<string, string> = {};
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? '';
    if (name.length > ATTACHMENT_HEADER_PREFIX.length && name.toLowerCase().startsWith(ATTACHMENT_HEADER_PREFIX)) {
      attachments[name.slice(ATTACHMENT_HEADER_PREFIX.length)] = rawHeaders[index + 1] ?? '';
    }
  }
  return attachments;
}

/**
 * The text of each element of a JSON array, as written (so `12345678901234567890` reaches the
 * argument encoder exact, which JSON.parse would round). An empty body is a call without arguments.
 */
export function splitJsonArray(body: string): string[] {
  if (body.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw badRequest(`the body is not JSON: ${error instanceof Error ? error.message : String(error)}; send the arguments as a JSON array, e.g. ["42"] or [{"$class": "com.example.Query", "name": "x"}]`);
  }
  if (!Array.isArray(parsed)) {
    throw badRequest(`the body is JSON but not an array; send the arguments as a JSON array, e.g. [${JSON.stringify(parsed)}] for one argument`);
  }
  // Valid JSON from here on: only strings and nesting need tracking to find the top-level commas.
  const elements: string[] = [];
  let depth = 0;
  let inString = false;
  let start = body.indexOf('[') + 1;
  for (let index = start; index < body.length; index++) {
    const char = body[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '[' || char === '{') depth++;
    else if ((char === ']' || char === '}') && depth > 0) depth--;
    else if ((char === ',' || char === ']') && depth === 0) {
      const element = body.slice(start, index).trim();
      if (element !== '') elements.push(element);
      start = index + 1;
      if (char === ']') break;
    }
  }
  return elements;
}

/**
 * Why the arguments could not be made into a request, said for an HTTP caller: the shared encoder's
 * own words (src/client/arguments.ts) with its flag named as the query parameter, or hessian.js's
 * (a `{"$class", "$"}` hint whose value does not fit its type).
 */
export function argumentError(error: unknown): HttpCallError {
  if (error instanceof DubboTunnelError && error.code === 'DT_ERR_BAD_ARGUMENT') {
    const message = error.message.replace(/--types/g, '?types=');
    return badRequest(`${message}; the body is a JSON array with one element per argument, and ?types= names one Java type per argument`);
  }
  return badRequest(`the arguments cannot be written as hessian2: ${error instanceof Error ? error.message : String(error)}; check each "$class" hint and the value it wraps`);
}
