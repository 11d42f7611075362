/**
 * The strings a router reads from every request are the same few again and again (the service,
 * its version, the method, attachment keys and values). Decoding them anew allocates a string per
 * field per request; this table hands back the string decoded last time when the bytes are equal,
 * checked byte by byte, so a hit costs a hash and a compare and allocates nothing. A miss (or a
 * collision, or a peer sending ever-new strings) only replaces a slot: correctness never depends
 * on the table, and its size is fixed.
 */
const SLOTS = 1024;
const MAX_LENGTH = 96;
const bytes = new Uint8Array(SLOTS * MAX_LENGTH);
const lengths = new Int32Array(SLOTS).fill(-1);
const strings: string[] = new Array<string>(SLOTS).fill('');

/** `buf[start, end)` as a latin1 string (the caller checked that every byte is ASCII). */
export function internAscii(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length > MAX_LENGTH) return buf.toString('latin1', start, end);
  // FNV-1a over the bytes, seeded with the length.
  let hash = 0x811c9dc5 ^ length;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ (buf[i] as number), 0x01000193);
  const slot = (hash >>> 0) & (SLOTS - 1);
  const base = slot * MAX_LENGTH;
  if (lengths[slot] === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (bytes[base + i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return strings[slot] as string;
  }
  const value = buf.toString('latin1', start, end);
  for (let i = 0; i < length; i++) bytes[base + i] = buf[start + i] as number;
  lengths[slot] = length;
  strings[slot] = value;
  return value;
}
