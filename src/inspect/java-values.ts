/**
 * The value form of a call record: hessian.js's typed values (`read(true)` gives `{$class, $}`)
 * turned into plain JSON that `call` reads back as arguments (src/client/arguments.ts), so a
 * recorded call can be sent again.
 *
 *   null, booleans, strings, numbers     as themselves (a long beyond 2^53 is a decimal string:
 *                                        hessian.js reads it as one)
 *   NaN, Infinity                        {"$class": "double", "$": "NaN"}
 *   a POJO (an enum too)                 {"$class": "com.example.Order", "id": 42, ...}
 *                                        (an enum is {"$class": "com.example.Color", "name": "RED"})
 *   a Map of any class                   an object (keys as text)
 *   a List, Set or array                 an array
 *   java.util.Date                       {"$class": "java.util.Date", "$": "2023-11-14T22:13:20.000Z"}
 *   java.math.BigDecimal                 {"$class": "java.math.BigDecimal", "$": "19.99"}
 *   byte[]                               {"$class": "byte[]", "$": "<base64>", "size": 102400}
 *
 * Long strings and large byte arrays are kept whole here: the calls view folds them for display.
 */

/** The `$class` of byte arrays in the value form (Java's own name for the type). */
export const BYTES_CLASS = 'byte[]';
export const DATE_CLASS = 'java.util.Date';
export const DECIMAL_CLASS = 'java.math.BigDecimal';

/** What an object met again inside itself becomes (a Throwable whose cause is itself). */
export const CYCLE_MARK = '<cycle>';

/** Converts one value hessian.js read with types into the value form. Never throws. */
export function toValueForm(value: unknown): unknown {
  return convert(value, new Set());
}

function convert(value: unknown, path: Set<object>): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string': case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : {$class: 'double', $: String(value)};
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'object':
      break;
    case 'function': case 'symbol': case 'undefined':
      return null;
  }
  const object = value;
  if (value instanceof Date) return {$class: DATE_CLASS, $: Number.isNaN(value.getTime()) ? null : value.toISOString()};
  if (Buffer.isBuffer(value)) return {$class: BYTES_CLASS, $: value.toString('base64'), size: value.length};
  // hessian.js keeps shared references as the same JS object; only a loop back to an object that
  // is still being converted has to be cut (Java allows a Throwable to be its own cause).
  if (path.has(object)) return CYCLE_MARK;
  path.add(object);
  try {
    if (Array.isArray(value)) return value.map((item) => convert(item, path));
    const record = value as Record<string, unknown>;
    const cls = record['$class'];
    if (typeof cls === 'string' && '$' in record) return typed(cls, record['$'], path);
    return fields(record, path);
  } finally {
    path.delete(object);
  }
}

/** `{$class, $}`: what the class name says about how to show the inner value. */
function typed(cls: string, inner: unknown, path: Set<object>): unknown {
  // Arrays ('[int', '[string', '[com.foo.Bar') and typed collections (LinkedList, HashSet) are lists.
  if (Array.isArray(inner)) return inner.map((item) => convert(item, path));
  if (inner === null || typeof inner !== 'object') {
    // A primitive wire type hessian.js kept ({$class: 'long', $: 5}): the number is the value.
    return convert(inner, path);
  }
  if (inner instanceof Date || Buffer.isBuffer(inner)) return convert(inner, path);
  const innerFields = inner as Record<string, unknown>;
  if (cls === DECIMAL_CLASS) {
    const text = decimalText(innerFields);
    if (text !== undefined) return {$class: DECIMAL_CLASS, $: text};
  }
  // Caucho Hessian writes a Float held in an Object as a FloatHandle with its value in `_value`.
  if (cls === 'com.caucho.hessian.io.FloatHandle' && typeof innerFields['_value'] === 'number') return convert(innerFields['_value'], path);
  if (isMapClass(cls)) return fields(innerFields, path);
  if (inner instanceof Error) {
    // hessian.js turns *Exception objects into an Error; read with types it names only the class.
    const {message: _message, name: _name, ...rest} = inner as Error & Record<string, unknown>;
    return {$class: cls, ...fields(rest, path)};
  }
  return {$class: cls, ...fields(innerFields, path)};
}

function fields(record: Record<string, unknown>, path: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) out[key] = convert(field, path);
  return out;
}

/** Map classes are shown as plain objects; their class is the collection's business, not the call's. */
function isMapClass(cls: string): boolean {
  return cls.startsWith('java.util.') && /Map$|^java\.util\.Hashtable$|^java\.util\.Properties$/.test(cls);
}

/**
 * The decimal text of a BigDecimal: hessian-lite writes it as `{value: "19.99"}`; Caucho Hessian
 * writes its fields (`scale`, `intVal` a BigInteger with `signum` and `mag`). A Caucho BigDecimal
 * whose digits sat in the JDK's transient `intCompact` arrives with `intVal` null: the number is
 * not in the bytes, so it stays an object with the fields that did arrive.
 */
function decimalText(fieldsOf: Record<string, unknown>): string | undefined {
  const value = fieldsOf['value'];
  if (typeof value === 'string') return value;
  const scale = fieldsOf['scale'];
  const unscaled = bigIntegerOf(fieldsOf['intVal']);
  if (typeof scale !== 'number' || unscaled === undefined) return undefined;
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  let text: string;
  if (scale <= 0) text = digits + '0'.repeat(-scale);
  else {
    const padded = digits.padStart(scale + 1, '0');
    text = `${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
  }
  return negative ? `-${text}` : text;
}

/** java.math.BigInteger's serialized fields: `signum` and `mag`, the magnitude as big-endian 32-bit ints. */
function bigIntegerOf(value: unknown): bigint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const inner = (typeof record['$class'] === 'string' ? record['$'] : record) as Record<string, unknown> | null;
  if (inner === null || typeof inner !== 'object') return undefined;
  const signum = inner['signum'];
  const magField = inner['mag'];
  const mag = magField !== null && typeof magField === 'object' && !Array.isArray(magField) ? (magField as Record<string, unknown>)['$'] : magField;
  if (typeof signum !== 'number' || !Array.isArray(mag)) return undefined;
  let magnitude = 0n;
  for (const word of mag) {
    if (typeof word !== 'number') return undefined;
    magnitude = (magnitude << 32n) | BigInt(word >>> 0);
  }
  return signum < 0 ? -magnitude : magnitude;
}
