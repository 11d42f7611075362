/**
 * Turns command-line text into the arguments of one Dubbo call: Java parameter types, the JVM
 * parameter-type descriptor (request body field 5), and hessian.js values shaped the way Java's
 * hessian-lite writes each type (so a Java provider reads exactly what a Java consumer would send).
 *
 * Types come from `--types` (Java names) or are inferred from the JSON of each argument:
 * string -> java.lang.String, integer -> int (long when it does not fit), other number -> double,
 * boolean -> boolean, object -> java.util.Map (a POJO when it has "$class"), array -> java.util.List,
 * null -> java.lang.Object. The forms a call record writes for what JSON has no word for (a Date,
 * a BigDecimal, a byte[], NaN: src/inspect/java-values.ts) are read as those types, so a recorded
 * call can be sent again.
 */
import {DubboTunnelError} from '../core/errors.js';
import {PRIMITIVES, buildDescriptor, javaTypeName, parseJavaType} from './java-types.js';
import type {JavaType} from './java-types.js';

/** One argument ready to encode. */
export interface CallArgument {
  readonly type: JavaType;
  /** The hessian.js value (`{$class, $}` where the wire type matters). */
  readonly value: unknown;
}

/** Body fields 5 and 6 of a request. */
export interface EncodedArguments {
  /** JVM descriptor, e.g. `Ljava/lang/String;I` */
  readonly parameterTypes: string;
  readonly args: unknown[];
  /** Java names of the parameter types, for messages (`java.lang.String, int`). */
  readonly typeNames: string[];
}

const MAP_TYPES = new Set([
  'java.util.Map', 'java.util.HashMap', 'java.util.LinkedHashMap', 'java.util.TreeMap', 'java.util.SortedMap',
  'java.util.NavigableMap', 'java.util.Hashtable', 'java.util.concurrent.ConcurrentHashMap', 'java.util.concurrent.ConcurrentMap',
]);
const COLLECTION_TYPES = new Set([
  'java.util.List', 'java.util.ArrayList', 'java.util.LinkedList', 'java.util.Collection', 'java.lang.Iterable',
  'java.util.Set', 'java.util.HashSet', 'java.util.LinkedHashSet', 'java.util.TreeSet', 'java.util.SortedSet',
]);

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT_RANGES: Readonly<Record<string, [number, number]>> = {
  'short': [-32768, 32767], 'java.lang.Short': [-32768, 32767], 'byte': [-128, 127], 'java.lang.Byte': [-128, 127],
};
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

// ---------------------------------------------------------------------------------------------
// Argument text

/** One command-line argument, parsed. `raw` keeps the text so numbers stay exact (longs, BigDecimal). */
export interface ParsedArgument {
  readonly raw: string;
  readonly json: unknown;
  /** The text was not JSON and was taken as a plain string (`u-1` instead of `"u-1"`). */
  readonly bare: boolean;
}

/**
 * JSON, or a bare word taken as a string so `getUser u-1` works without shell-quoting quotes.
 * Text that looks like JSON (starts with `{`, `[` or `"`) but does not parse is an error, not a string.
 */
export function parseArgumentText(raw: string, index: number): ParsedArgument {
  try {
    return {raw, json: JSON.parse(raw) as unknown, bare: false};
  } catch (error) {
    const start = raw.trimStart()[0];
    if (start === '{' || start === '[' || start === '"') {
      throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `argument ${index + 1} is not valid JSON: ${(error as Error).message}`, {
        hint: `quote JSON for the shell, e.g. '{"name":"x"}'`,
      });
    }
    return {raw, json: raw, bare: true};
  }
}

// ---------------------------------------------------------------------------------------------
// Building the call

/** Arguments of a normal call: descriptor from `types` (or inferred), values shaped per type. */
export function buildArguments(rawArgs: readonly string[], types?: readonly JavaType[]): EncodedArguments {
  if (types !== undefined && types.length !== rawArgs.length) {
    throw new DubboTunnelError(
      'DT_ERR_BAD_ARGUMENT',
      `--types names ${types.length} type(s) but ${rawArgs.length} argument(s) were given`,
      {hint: 'give one type per argument, in order (an empty --types "" means a method without parameters)'},
    );
  }
  const converted = rawArgs.map((raw, i) => {
    const parsed = parseArgumentText(raw, i);
    const type = types?.[i];
    return type === undefined ? inferArgument(parsed) : typedArgument(parsed, type, `argument ${i + 1}`);
  });
  const typeList = converted.map((arg) => arg.type);
  return {parameterTypes: buildDescriptor(typeList), args: converted.map((arg) => arg.value), typeNames: typeList.map(javaTypeName)};
}

/** GenericService.$invoke(String method, String[] parameterTypes, Object[] args) (dubbo-rpc-api GenericService.java). */
export const GENERIC_METHOD = '$invoke';
export const GENERIC_DESCRIPTOR = 'Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;';

/**
 * Arguments of a generic call. POJOs travel as maps with a "class" key (the provider's GenericFilter
 * turns them back into objects with PojoUtils.realize). Without `types` the type array is null and
 * the provider picks the method by name (GenericFilter / ReflectUtils.findMethodByMethodSignature),
 * which works unless the method is overloaded.
 */
export function buildGenericArguments(method: string, rawArgs: readonly string[], types?: readonly JavaType[]): EncodedArguments {
  if (types !== undefined && types.length !== rawArgs.length) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--types names ${types.length} type(s) but ${rawArgs.length} argument(s) were given`);
  }
  const values = rawArgs.map((raw, i) => {
    const parsed = parseArgumentText(raw, i);
    const type = types?.[i];
    const value = type === undefined ? inferArgument(parsed).value : typedArgument(parsed, type, `argument ${i + 1}`).value;
    return pojosToMaps(value);
  });
  const typeNames = types?.map(javaTypeName) ?? null;
  return {
    parameterTypes: GENERIC_DESCRIPTOR,
    // hessian-lite writes String[] as a list typed "[string" and Object[] as "[object" (ArraySerializer.getArrayType).
    args: [method, typeNames === null ? null : {$class: '[string', $: typeNames}, {$class: '[object', $: values}],
    typeNames: ['java.lang.String', 'java.lang.String[]', 'java.lang.Object[]'],
  };
}

function inferArgument(parsed: ParsedArgument): CallArgument {
  const json = parsed.json;
  if (json === null) return {type: {name: 'java.lang.Object', dims: 0}, value: null};
  switch (typeof json) {
    case 'string':
      return {type: {name: 'java.lang.String', dims: 0}, value: json};
    case 'boolean':
      return {type: {name: 'boolean', dims: 0}, value: json};
    case 'number': {
      const integer = integerText(parsed.raw);
      if (integer === undefined) return {type: {name: 'double', dims: 0}, value: {$class: 'double', $: json}};
      const big = BigInt(integer);
      if (big >= BigInt(INT32_MIN) && big <= BigInt(INT32_MAX)) return {type: {name: 'int', dims: 0}, value: {$class: 'int', $: json}};
      return {type: {name: 'long', dims: 0}, value: {$class: 'long', $: longValue(big, 'argument')}};
    }
    case 'object': {
      if (Array.isArray(json)) return {type: {name: 'java.util.List', dims: 0}, value: json.map(nestedValue)};
      const record = json as Record<string, unknown>;
      const cls = record['$class'];
      if (typeof cls === 'string') {
        // {"$class": "long", "$": 5} names a wire type directly; {"$class": "com.foo.Q", ...} is a POJO.
        const type = parseJavaType(cls);
        return {type, value: nestedValue(json)};
      }
      return {type: {name: 'java.util.Map', dims: 0}, value: nestedValue(json)};
    }
    case 'bigint': case 'function': case 'symbol': case 'undefined':
      break; // JSON.parse never produces these
  }
  return {type: {name: 'java.lang.Object', dims: 0}, value: null};
}

/** The value of one argument whose Java type is known, shaped as hessian-lite writes that type. */
function typedArgument(parsed: ParsedArgument, type: JavaType, where: string): CallArgument {
  // `--types java.lang.String 123` means the string "123", not an error.
  if (type.dims === 0 && (type.name === 'java.lang.String' || type.name === 'char' || type.name === 'java.lang.Character')
    && typeof parsed.json !== 'string' && parsed.json !== null) {
    return {type, value: checkChar(parsed.raw, type, where)};
  }
  return {type, value: convert(parsed.json, type, where, parsed.raw)};
}

function convert(json: unknown, type: JavaType, where: string, raw?: string): unknown {
  const label = `${where} (${javaTypeName(type)})`;
  if (json === null || json === undefined) {
    if (type.dims === 0 && PRIMITIVES.has(type.name)) throw bad(`${label} cannot be null`);
    return null;
  }
  if (type.dims > 0) return convertArray(json, type, label);
  switch (type.name) {
    case 'int': case 'java.lang.Integer': case 'short': case 'java.lang.Short': case 'byte': case 'java.lang.Byte': {
      const value = integerOf(json, raw, label);
      const [min, max] = INT_RANGES[type.name] ?? [INT32_MIN, INT32_MAX];
      if (value < BigInt(min) || value > BigInt(max)) throw bad(`${label}: ${value} is out of range (${min} to ${max})`);
      // hessian-lite writes short and byte with writeInt too (BasicSerializer).
      return {$class: 'int', $: Number(value)};
    }
    case 'long': case 'java.lang.Long':
      return {$class: 'long', $: longValue(integerOf(json, raw, label), label)};
    case 'double': case 'java.lang.Double': case 'float': case 'java.lang.Float': case 'java.lang.Number': {
      const number = typeof json === 'number' ? json : specialDouble(json);
      if (number === undefined) throw bad(`${label}: expected a number, got ${show(json)}`);
      return {$class: 'double', $: number};
    }
    case 'boolean': case 'java.lang.Boolean':
      if (typeof json !== 'boolean') throw bad(`${label}: expected true or false, got ${show(json)}`);
      return json;
    case 'char': case 'java.lang.Character': case 'java.lang.String':
      if (typeof json !== 'string') throw bad(`${label}: expected a string, got ${show(json)}`);
      return checkChar(json, type, label);
    case 'java.lang.Object':
      return nestedValue(json);
    case 'java.math.BigDecimal': {
      // BigDecimalSerializer: an object with the single field `value` holding toString().
      const text = typeof json === 'object' ? wrappedText(json, 'java.math.BigDecimal') : json;
      if (typeof text === 'string') return {$class: 'java.math.BigDecimal', $: {value: text}};
      if (typeof text === 'number') return {$class: 'java.math.BigDecimal', $: {value: raw ?? String(text)}};
      // A BigDecimal as its fields (how Caucho Hessian writes one) is sent back as those fields.
      if (isRecord(json) && json['$class'] === 'java.math.BigDecimal') return nestedValue(json);
      throw bad(`${label}: expected a number or a numeric string, got ${show(json)}`);
    }
    case 'java.util.Date': {
      const when = typeof json === 'object' ? wrappedText(json, 'java.util.Date') : json;
      const ms = typeof when === 'number' ? when : typeof when === 'string' ? Date.parse(when) : Number.NaN;
      if (!Number.isFinite(ms)) throw bad(`${label}: expected epoch milliseconds or an ISO date, got ${show(json)}`);
      return new Date(ms);
    }
    default:
      break;
  }
  if (MAP_TYPES.has(type.name)) {
    if (typeof json !== 'object' || Array.isArray(json)) throw bad(`${label}: expected a JSON object, got ${show(json)}`);
    return nestedValue(json);
  }
  if (COLLECTION_TYPES.has(type.name)) {
    if (!Array.isArray(json)) throw bad(`${label}: expected a JSON array, got ${show(json)}`);
    return json.map(nestedValue);
  }
  if (PRIMITIVES.has(type.name)) throw bad(`${label}: unsupported primitive`);
  // Any other class: an object is a POJO of that class (or of its own "$class", e.g. a subclass);
  // a string is an enum constant (EnumSerializer writes an object with the one field `name`).
  if (typeof json === 'string') return {$class: type.name, $: {name: json}};
  if (typeof json !== 'object' || Array.isArray(json)) throw bad(`${label}: expected a JSON object for a ${type.name}, got ${show(json)}`);
  const record = json as Record<string, unknown>;
  if (typeof record['$class'] === 'string') return nestedValue(json);
  return {$class: type.name, $: mapValues(record)};
}

function convertArray(json: unknown, type: JavaType, label: string): unknown {
  const element: JavaType = {name: type.name, dims: type.dims - 1};
  if (type.dims === 1 && type.name === 'byte') {
    // byte[] is Hessian binary (BasicSerializer BYTE_ARRAY -> writeBytes): base64 text (bare, or as
    // a call record writes it: {"$class": "byte[]", "$": "<base64>", "size": n}) or a list of bytes.
    const base64 = typeof json === 'object' ? wrappedText(json, 'byte[]') : json;
    if (typeof base64 === 'string') return Buffer.from(base64, 'base64');
    if (Array.isArray(json) && json.every((b) => Number.isInteger(b) && (b as number) >= -128 && (b as number) <= 255)) {
      return Buffer.from((json as number[]).map((b) => b & 0xff));
    }
    throw bad(`${label}: expected base64 text or a list of bytes, got ${show(json)}`);
  }
  if (type.dims === 1 && type.name === 'char' && typeof json === 'string') return json; // char[] is written as a string
  if (!Array.isArray(json)) throw bad(`${label}: expected a JSON array, got ${show(json)}`);
  const items = json.map((item: unknown, i) => convert(item, element, `${label.replace(/ \(.*\)$/, '')} element ${i + 1}`));
  return {$class: hessianArrayType(type), $: items};
}

/** ArraySerializer.getArrayType / BasicSerializer: "[int", "[string", "[object", "[com.foo.Bar", "[[int". */
function hessianArrayType(type: JavaType): string {
  const names: Record<string, string> = {'java.lang.String': 'string', 'java.lang.Object': 'object', 'java.util.Date': 'date'};
  return '['.repeat(type.dims) + (names[type.name] ?? type.name);
}

/** Values inside maps, lists and POJOs, where no Java type is declared. */
function nestedValue(json: unknown): unknown {
  if (json === null || typeof json !== 'object') {
    if (typeof json === 'number' && Number.isInteger(json) && (json < INT32_MIN || json > INT32_MAX)) return {$class: 'long', $: json};
    return json;
  }
  if (Array.isArray(json)) return json.map(nestedValue);
  const record = json as Record<string, unknown>;
  const cls = record['$class'];
  if (typeof cls === 'string') {
    const special = recordedValue(record, cls);
    if (special !== undefined) return special;
    const keys = Object.keys(record);
    // hessian.js's own form {"$class": "long", "$": 5} passes through untouched.
    if (keys.length === 2 && '$' in record) return record;
    const {$class: _cls, ...fields} = record;
    return {$class: cls, $: mapValues(fields)};
  }
  return mapValues(record);
}

function mapValues(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = nestedValue(value);
  return out;
}

/**
 * The forms a call record writes for values JSON has no word for (src/inspect/java-values.ts):
 * `{"$class": "java.util.Date", "$": "<ISO time>"}`, `{"$class": "java.math.BigDecimal", "$": "19.99"}`,
 * `{"$class": "byte[]", "$": "<base64>", "size": n}` and `{"$class": "double", "$": "NaN"}`, as
 * hessian.js values; undefined for anything else.
 */
function recordedValue(record: Record<string, unknown>, cls: string): unknown {
  const text = record['$'];
  if (typeof text !== 'string') return undefined;
  switch (cls) {
    case 'java.util.Date': {
      const ms = Date.parse(text);
      return Number.isFinite(ms) ? new Date(ms) : undefined;
    }
    case 'java.math.BigDecimal':
      return {$class: cls, $: {value: text}};
    case 'byte[]':
      return Buffer.from(text, 'base64');
    case 'double': {
      const number = specialDouble(record);
      return number === undefined ? undefined : {$class: 'double', $: number};
    }
    default:
      return undefined;
  }
}

/** The text of `{"$class": cls, "$": text}`, or undefined when `json` is not that. */
function wrappedText(json: unknown, cls: string): string | undefined {
  if (!isRecord(json) || json['$class'] !== cls) return undefined;
  const text = json['$'];
  return typeof text === 'string' ? text : undefined;
}

/** NaN and the infinities, which JSON has no numbers for: `"NaN"`, or `{"$class": "double", "$": "NaN"}`. */
function specialDouble(json: unknown): number | undefined {
  const text = typeof json === 'string' ? json : wrappedText(json, 'double');
  if (text === 'NaN') return Number.NaN;
  if (text === 'Infinity') return Number.POSITIVE_INFINITY;
  if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

function isRecord(json: unknown): json is Record<string, unknown> {
  return json !== null && typeof json === 'object' && !Array.isArray(json);
}

/** For generic calls: POJOs become maps carrying "class" (PojoUtils.realize reads it). */
function pojosToMaps(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Date || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(pojosToMaps);
  const record = value as Record<string, unknown>;
  const cls = record['$class'];
  const inner = record['$'];
  if (typeof cls === 'string' && '$' in record) {
    if (Array.isArray(inner)) return {$class: cls, $: inner.map(pojosToMaps)};
    if (inner !== null && typeof inner === 'object' && !cls.startsWith('java.') && !PRIMITIVES.has(cls)) {
      const fields: Record<string, unknown> = {class: cls};
      for (const [key, field] of Object.entries(inner as Record<string, unknown>)) fields[key] = pojosToMaps(field);
      return fields;
    }
    return record;
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) out[key] = pojosToMaps(field);
  return out;
}

/** The digits of an integer literal (no fraction, no exponent), or undefined. */
function integerText(raw: string): string | undefined {
  const text = raw.trim();
  return /^-?\d+$/.test(text) ? text : undefined;
}

function integerOf(json: unknown, raw: string | undefined, label: string): bigint {
  if (typeof json === 'number') {
    // Top-level numbers use the original text, so 9007199254740993 stays exact.
    const digits = raw === undefined ? undefined : integerText(raw);
    if (digits !== undefined) return BigInt(digits);
    if (Number.isInteger(json)) return BigInt(json);
    throw bad(`${label}: expected a whole number, got ${json}`);
  }
  if (typeof json === 'string' && /^-?\d+$/.test(json.trim())) return BigInt(json.trim());
  throw bad(`${label}: expected a whole number, got ${show(json)}`);
}

/** A long for hessian.js writeLong: a number when exact, else its decimal string. */
function longValue(value: bigint, label: string): number | string {
  if (value < LONG_MIN || value > LONG_MAX) throw bad(`${label}: ${value} does not fit in a Java long`);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

function checkChar(text: string, type: JavaType, label: string): string {
  if ((type.name === 'char' || type.name === 'java.lang.Character') && text.length !== 1) {
    throw bad(`${label}: expected exactly one character, got ${JSON.stringify(text)}`);
  }
  return text;
}

function show(json: unknown): string {
  const text = JSON.stringify(json) ?? String(json);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function bad(message: string): DubboTunnelError {
  return new DubboTunnelError('DT_ERR_BAD_ARGUMENT', message, {hint: 'see dubbo-tunnel call --help for how arguments map to Java types'});
}
