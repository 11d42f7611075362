/**
 * The strings a router reads from every request are the same few again and again (the service,
 * its version, the method, attachment keys and values). Decoding them anew allocates a string per
 * field per request; this table hands back the string decoded last time when the bytes are equal,
 * checked byte by byte, so a hit costs one pass over the bytes and allocates nothing. A miss (or a
 * collision, or a peer sending ever-new strings) only replaces a slot: correctness never depends
 * on the table, and its size is fixed.
 */
const SLOTS = 1024;
const MAX_LENGTH = 96;
/** Above this many bytes the native compare is cheaper than a loop in JavaScript. */
const NATIVE_COMPARE_FROM = 48;
const bytes = Buffer.alloc(SLOTS * MAX_LENGTH);
const lengths = new Int32Array(SLOTS).fill(-1);
const strings: string[] = new Array<string>(SLOTS).fill('');

/**
 * A slot from the length and four of the bytes, not all of them: the compare that follows reads
 * every byte anyway, and a hash over all of them would read them twice.
 */
function slotOf(buf: Buffer, start: number, length: number): number {
  const last = start + length - 1;
  let hash = Math.imul(length, 0x9e3779b1) ^ (buf[start] as number) ^ ((buf[last] as number) << 8) ^
    ((buf[start + (length >> 1)] as number) << 16) ^ ((buf[start + (length >> 2)] as number) << 24);
  hash = Math.imul(hash ^ (hash >>> 15), 0x85ebca6b);
  return (hash ^ (hash >>> 13)) & (SLOTS - 1);
}

/**
 * The string whose ASCII bytes are `buf[start, start + length)`, if the table holds it; the caller
 * checked that the bytes are inside the buffer. Only ASCII strings are kept, so equal bytes are
 * one unit each and need no other check.
 */
export function internedAt(buf: Buffer, start: number, length: number): string | undefined {
  if (length === 0) return '';
  if (length > MAX_LENGTH) return undefined;
  return stringIn(slotOf(buf, start, length), buf, start, length);
}

/** The string in `slot` if its bytes are `buf[start, start + length)`. */
function stringIn(slot: number, buf: Buffer, start: number, length: number): string | undefined {
  if (lengths[slot] !== length) return undefined;
  const base = slot * MAX_LENGTH;
  if (length >= NATIVE_COMPARE_FROM) {
    if (buf.compare(bytes, base, base + length, start, start + length) !== 0) return undefined;
  } else {
    for (let i = 0; i < length; i++) if (bytes[base + i] !== buf[start + i]) return undefined;
  }
  return strings[slot];
}

/** `buf[start, end)` as a latin1 string (the caller checked that every byte is ASCII), kept for internedAt. */
export function internAscii(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return '';
  if (length > MAX_LENGTH) return buf.toString('latin1', start, end);
  const slot = slotOf(buf, start, length);
  const known = stringIn(slot, buf, start, length);
  if (known !== undefined) return known;
  const value = buf.toString('latin1', start, end);
  buf.copy(bytes, slot * MAX_LENGTH, start, end);
  lengths[slot] = length;
  strings[slot] = value;
  return value;
}
