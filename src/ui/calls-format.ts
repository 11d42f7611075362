import type {CallAnswer, CallRecord} from '../inspect/call-record.js';
import {BYTES_CLASS} from '../inspect/java-values.js';

/**
 * Pure text for the calls view: the list's cells and the detail's lines. The detail is built as
 * plain lines already cut to the terminal's width, so scrolling counts real screen lines and a
 * long value never wraps on its own.
 */

export type LineTone = 'dim' | 'bold' | 'red' | 'yellow' | 'green' | 'cyan';

export interface DetailLine {
  readonly text: string;
  readonly tone?: LineTone;
}

/** A string longer than this folds to its head until expanded. */
export const FOLD_STRING_CHARS = 200;
/** How much of a folded string is shown. */
const FOLD_STRING_HEAD = 32;
/** A list longer than this folds to its first items until expanded. */
export const FOLD_LIST_ITEMS = 20;
const FOLD_LIST_HEAD = 10;
/** Bytes shown of a binary value or of a payload that could not be decoded. */
const HEX_HEAD_BYTES = 16;

/** `HH:MM:SS.mmm` in local time, from the record's ISO time. */
export function formatCallTime(at: string): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return '??:??:??.???';
  const clock = [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${clock}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** `0B`, `812B`, `1.2K`, `34K`, `1.5M`: short enough for a list cell. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ['K', 'M', 'G'] as const;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : String(Math.round(value))}${units[unit] ?? 'G'}`;
}

/** `com.example.UserService` -> `UserService` (the detail shows the full name). */
export function shortInterface(service: string): string {
  const dot = service.lastIndexOf('.');
  return dot === -1 ? service : service.slice(dot + 1);
}

/** The list's `Interface#method` cell; `?` for what the request did not say. */
export function callLabel(call: CallRecord): string {
  return `${call.service === undefined ? '?' : shortInterface(call.service)}#${call.method ?? '?'}`;
}

/**
 * The `Interface#method` cell in `width` characters: when it does not fit the interface is cut and
 * the method kept (calls of one service differ by their method), down to its first letter.
 */
export function fitCallLabel(call: CallRecord, width: number): string {
  const label = callLabel(call);
  const method = `#${call.method ?? '?'}`;
  const room = width - method.length;
  if (label.length <= width) return label;
  if (room < 2) return method.length <= width ? method : `${method.slice(0, Math.max(0, width - 1))}…`;
  return `${label.slice(0, room - 1)}…${method}`;
}

/** `group/interface:version`, the way Dubbo writes a service key. */
export function serviceKey(call: CallRecord): string {
  const service = call.service ?? '?';
  return `${call.group === undefined || call.group === '' ? '' : `${call.group}/`}${service}${call.version === undefined || call.version === '' ? '' : `:${call.version}`}`;
}

/** What the status cell says: the status name, or `one-way` when no answer was expected. */
export function statusText(call: CallRecord): string {
  return call.status ?? (call.ok ? 'one-way' : 'failed');
}

/** OK green, a Java exception yellow (the provider answered, with its own error), every other failure red. */
export function statusTone(call: CallRecord): LineTone {
  if (call.ok) return call.status === undefined ? 'dim' : 'green';
  return call.status === 'EXCEPTION' || call.answer?.kind === 'exception' ? 'yellow' : 'red';
}

/** The list's marker: T for Triple, H for a call that came as HTTP JSON on the port. */
export function callMarker(call: CallRecord): string {
  return `${call.protocol === 'triple' ? 'T' : ''}${call.origin === 'http' ? 'H' : ''}`;
}

const GRPC_CODES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** Hex of the first bytes, `0a 1b 2c …`. */
function hexHead(bytes: Buffer): string {
  const head = [...bytes.subarray(0, HEX_HEAD_BYTES)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > HEX_HEAD_BYTES ? `${head} …` : head;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A Java byte[] in the value form: `{"$class": "byte[]", "$": <base64>, "size": n}` (`[B`, Java's
 * internal name, and a list of byte values are read too, as `call` takes them). `size` is the
 * array's length when the value says it.
 */
function binaryOf(value: Readonly<Record<string, unknown>>): {bytes: Buffer; size: number} | undefined {
  if (value['$class'] !== BYTES_CLASS && value['$class'] !== '[B') return undefined;
  const body = value['$'];
  let bytes: Buffer;
  if (typeof body === 'string') bytes = Buffer.from(body, 'base64');
  else if (Array.isArray(body) && body.every((item) => typeof item === 'number')) bytes = Buffer.from(body.map((item) => Number(item) & 0xff));
  else return undefined;
  const size = value['size'];
  return {bytes, size: typeof size === 'number' ? size : bytes.length};
}

function scalarText(value: unknown, expanded: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    if (expanded || value.length <= FOLD_STRING_CHARS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, FOLD_STRING_HEAD)).slice(0, -1)}…" … (${value.length} chars, enter to expand)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/**
 * Appends `value` as lines: its first line is `indent + prefix + …`, nested levels one per line,
 * two spaces deeper. A `$class` is written as the type before the value; `type` names the type
 * when the value itself carries none (a parameter's declared type).
 */
function pushValue(out: DetailLine[], value: unknown, indent: string, prefix: string, expanded: boolean, type?: string): void {
  const typed = (text: string): string => (type === undefined ? text : `${type} ${text}`);
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    if (items.length === 0) {
      out.push({text: `${indent}${prefix}${typed('[]')}`});
      return;
    }
    out.push({text: `${indent}${prefix}${typed('[')}`});
    const folded = !expanded && items.length > FOLD_LIST_ITEMS;
    for (const item of folded ? items.slice(0, FOLD_LIST_HEAD) : items) pushValue(out, item, `${indent}  `, '', expanded);
    if (folded) out.push({text: `${indent}  … (${items.length} items, enter to expand)`, tone: 'dim'});
    out.push({text: `${indent}]`});
    return;
  }
  if (!isRecord(value)) {
    out.push({text: `${indent}${prefix}${typed(scalarText(value, expanded))}`});
    return;
  }
  const cls = typeof value['$class'] === 'string' ? value['$class'] : undefined;
  const binary = binaryOf(value);
  if (binary !== undefined) {
    out.push({text: `${indent}${prefix}byte[] ${binary.size} bytes${binary.bytes.length === 0 ? '' : `: ${hexHead(binary.bytes)}`}`});
    return;
  }
  const {$class: _cls, ...fields} = value;
  const keys = Object.keys(fields);
  // {"$class": "java.math.BigDecimal", "$": "12.50"}: a Java type JSON has no word for, as type + text
  // (the text unquoted: it is the value's own notation, not a Java String).
  if (cls !== undefined && keys.length === 1 && keys[0] === '$') {
    const inner = fields['$'];
    if (!isRecord(inner) && !Array.isArray(inner)) {
      const text = typeof inner === 'string' && inner.length <= FOLD_STRING_CHARS ? inner : scalarText(inner, expanded);
      out.push({text: `${indent}${prefix}${cls} ${text}`});
      return;
    }
    pushValue(out, inner, indent, prefix, expanded, cls);
    return;
  }
  const head = cls ?? type;
  if (keys.length === 0) {
    out.push({text: `${indent}${prefix}${head === undefined ? '{}' : `${head} {}`}`});
    return;
  }
  const only = keys.length === 1 ? keys[0] : undefined;
  const onlyValue = only === undefined ? undefined : fields[only];
  // One plain field stays on the line: an enum reads `com.example.Color { name: "RED" }`.
  if (only !== undefined && !isRecord(onlyValue) && !Array.isArray(onlyValue)) {
    out.push({text: `${indent}${prefix}${head === undefined ? '' : `${head} `}{ ${only}: ${scalarText(onlyValue, expanded)} }`});
    return;
  }
  out.push({text: `${indent}${prefix}${head === undefined ? '{' : `${head} {`}`});
  for (const key of keys) pushValue(out, fields[key], `${indent}  `, `${key}: `, expanded);
  out.push({text: `${indent}}`});
}

/** The lines of one value, indented by `indent`. */
export function valueLines(value: unknown, indent = '', expanded = false): DetailLine[] {
  const out: DetailLine[] = [];
  pushValue(out, value, indent, '', expanded);
  return out;
}

function section(out: DetailLine[], title: string, entries: Readonly<Record<string, unknown>> | undefined, expanded: boolean): void {
  const keys = entries === undefined ? [] : Object.keys(entries);
  if (entries === undefined || keys.length === 0) {
    out.push({text: `${title}: none`, tone: 'dim'});
    return;
  }
  out.push({text: title, tone: 'bold'});
  for (const key of keys) pushValue(out, entries[key], '  ', `${key}: `, expanded);
}

function answerLines(out: DetailLine[], answer: CallAnswer | undefined, call: CallRecord, expanded: boolean): void {
  if (answer === undefined) {
    out.push({text: call.status === undefined ? '  no answer (a one-way request)' : '  no answer was captured', tone: 'dim'});
    return;
  }
  switch (answer.kind) {
    case 'value':
      out.push(...valueLines(answer.value, '  ', expanded));
      if (answer.attachments !== undefined && Object.keys(answer.attachments).length > 0) section(out, 'answer attachments', answer.attachments, expanded);
      return;
    case 'exception':
      out.push({text: `  ${answer.className}: ${answer.message}`, tone: 'red'});
      if (answer.attachments !== undefined && Object.keys(answer.attachments).length > 0) section(out, 'answer attachments', answer.attachments, expanded);
      return;
    case 'error':
      out.push({text: `  ${answer.code === undefined ? '' : `[${answer.code}] `}${answer.message}`, tone: 'red'});
      return;
    case 'undecoded':
      out.push({text: `  undecoded: ${answer.reason}`, tone: 'yellow'});
      if (answer.hexHead !== '') out.push({text: `  ${answer.hexHead}`, tone: 'dim'});
      return;
  }
}

function tripleLines(out: DetailLine[], call: CallRecord): void {
  const triple = call.triple;
  if (triple === undefined) return;
  out.push({text: `path  ${triple.path}`});
  section(out, 'request headers', triple.requestHeaders, true);
  section(out, 'response headers', triple.responseHeaders, true);
  if (triple.grpcStatus === undefined) {
    out.push({text: 'grpc-status: none', tone: 'dim'});
  } else {
    const name = GRPC_CODES[triple.grpcStatus] ?? 'UNKNOWN';
    const message = triple.grpcMessage === undefined || triple.grpcMessage === '' ? '' : `: ${triple.grpcMessage}`;
    out.push({text: `grpc-status ${triple.grpcStatus} ${name}${message}`, tone: triple.grpcStatus === 0 ? 'green' : 'red'});
  }
  section(out, 'trailers', triple.trailers, true);
}

/**
 * Cuts a line to `width`, continuing on the next lines two spaces deeper than it began; at a space
 * when there is one in the line's second half (a folded value's note), anywhere otherwise (a long
 * string has none to wait for).
 */
function wrapLine(line: DetailLine, width: number): DetailLine[] {
  if (line.text.length <= width || width < 8) return [line];
  const indent = ' '.repeat(Math.min(line.text.length - line.text.trimStart().length + 2, Math.floor(width / 2)));
  const pieces: DetailLine[] = [];
  let rest = line.text;
  let room = width;
  while (rest.length > room) {
    const space = rest.lastIndexOf(' ', room);
    const cut = space > room / 2 ? space : room;
    pieces.push({...line, text: (pieces.length === 0 ? '' : indent) + rest.slice(0, cut)});
    rest = rest.slice(space === cut ? cut + 1 : cut);
    room = width - indent.length;
  }
  pieces.push({...line, text: (pieces.length === 0 ? '' : indent) + rest});
  return pieces;
}

/**
 * Everything known about one call, as lines of at most `width` characters: where it went, the
 * service key and method, the arguments with their Java types, the attachments, and the answer.
 * `expanded` unfolds long strings and lists.
 */
export function detailLines(call: CallRecord, width: number, expanded: boolean): DetailLine[] {
  const out: DetailLine[] = [];
  const via = call.origin === 'http' ? ' · via HTTP' : '';
  out.push({text: `call ${call.seq} · ${formatCallTime(call.at)} · ${call.application ?? '(no route)'} · ${call.protocol} · consumer #${call.connectionId}${via}`, tone: 'bold'});
  out.push({text: `service  ${serviceKey(call)}`});
  out.push({text: `method   ${call.method ?? '?'}(${call.parameterTypes.join(', ')})`});
  out.push({text: `status   ${statusText(call)} · ${call.latencyMs.toFixed(1)}ms · request ${formatBytes(call.requestBytes)} · answer ${formatBytes(call.answerBytes)}`, tone: statusTone(call)});
  if (call.truncated === true) out.push({text: 'larger than the capture bound: decoded in part', tone: 'yellow'});
  tripleLines(out, call);
  if (call.arguments === undefined) {
    const why = call.undecodedRequest === undefined ? '' : `: ${call.undecodedRequest.reason}`;
    out.push({text: `arguments: not decoded (${formatBytes(call.requestBytes)})${why}`, tone: 'yellow'});
    if (call.undecodedRequest !== undefined && call.undecodedRequest.hexHead !== '') out.push({text: `  ${call.undecodedRequest.hexHead}`, tone: 'dim'});
  } else if (call.arguments.length === 0) {
    out.push({text: 'arguments: none', tone: 'dim'});
  } else {
    out.push({text: 'arguments', tone: 'bold'});
    call.arguments.forEach((argument, i) => {
      const declared = call.parameterTypes[i];
      const own = isRecord(argument) && typeof argument['$class'] === 'string' ? argument['$class'] : undefined;
      // The declared type goes before a value that names no type of its own, or another one (a subclass).
      if (declared !== undefined && own !== undefined && own !== declared) pushValue(out, argument, '  ', `[${i}] ${declared} = `, expanded);
      else pushValue(out, argument, '  ', `[${i}] `, expanded, own === undefined ? declared : undefined);
    });
  }
  // Triple's attachments are its request headers, shown above.
  if (call.protocol !== 'triple') section(out, 'attachments', call.attachments, expanded);
  out.push({text: 'answer', tone: 'bold'});
  answerLines(out, call.answer, call, expanded);
  return out.flatMap((line) => wrapLine(line, width));
}
