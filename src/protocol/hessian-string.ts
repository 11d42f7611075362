/**
 * Hessian 2 strings exactly as Java's Hessian2Output.writeString writes them: the length counts
 * UTF-16 units, the bytes are CESU-8 (printString: each unit on its own, 1-3 bytes, so a
 * supplementary character is two 3-byte surrogates; Node's 'utf8' would write 4 bytes and is wrong),
 * compact headers for up to 31 units (0x00-0x1f) and 1023 units (0x30-0x33), 'S' up to 0x8000
 * units, longer strings in 'R' chunks of 0x8000 units that never end on a high surrogate.
 * decodeCesu8 reads them back (HessianWalker.readString walks and checks the bytes first).
 */

const CHUNK = 0x8000;
const STRING_DIRECT_MAX = 31;
const STRING_SHORT_MAX = 1023;

export function encodeHessian2String(value: string): Buffer {
  const target = Buffer.allocUnsafe(hessian2StringLength(value));
  writeHessian2String(target, 0, value);
  return target;
}

/** Encoded size in bytes of encodeHessian2String(value). */
export function hessian2StringLength(value: string): number {
  let bytes = 0;
  forEachChunk(value, (start, units, final) => {
    bytes += chunkHeaderLength(units, final) + cesu8Length(value, start, start + units);
  });
  return bytes;
}

/** Writes encodeHessian2String(value) at `offset` (the caller sized `target`); returns the offset after it. */
export function writeHessian2String(target: Buffer, offset: number, value: string): number {
  let at = offset;
  forEachChunk(value, (start, units, final) => {
    if (!final) {
      target[at++] = 0x52; // 'R' non-final chunk
      target[at++] = units >> 8;
      target[at++] = units & 0xff;
    } else if (units <= STRING_DIRECT_MAX) {
      target[at++] = units;
    } else if (units <= STRING_SHORT_MAX) {
      target[at++] = 0x30 + (units >> 8);
      target[at++] = units & 0xff;
    } else {
      target[at++] = 0x53; // 'S' final chunk
      target[at++] = units >> 8;
      target[at++] = units & 0xff;
    }
    at = writeCesu8(target, at, value, start, start + units);
  });
  return at;
}

function forEachChunk(value: string, visit: (start: number, units: number, final: boolean) => void): void {
  let start = 0;
  let remaining = value.length;
  while (remaining > CHUNK) {
    let units = CHUNK;
    const tail = value.charCodeAt(start + units - 1);
    // A chunk can't end in a high surrogate (Hessian2Output.writeString).
    if (tail >= 0xd800 && tail <= 0xdbff) units--;
    visit(start, units, false);
    start += units;
    remaining -= units;
  }
  visit(start, remaining, true);
}

function chunkHeaderLength(units: number, final: boolean): number {
  if (!final) return 3;
  return units <= STRING_DIRECT_MAX ? 1 : units <= STRING_SHORT_MAX ? 2 : 3;
}

function cesu8Length(value: string, start: number, end: number): number {
  let bytes = 0;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
  }
  return bytes;
}

function writeCesu8(target: Buffer, offset: number, value: string, start: number, end: number): number {
  let at = offset;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) {
      target[at++] = c;
    } else if (c < 0x800) {
      target[at++] = 0xc0 | (c >> 6);
      target[at++] = 0x80 | (c & 0x3f);
    } else {
      target[at++] = 0xe0 | (c >> 12);
      target[at++] = 0x80 | ((c >> 6) & 0x3f);
      target[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}

/** Decodes `units` UTF-16 units of CESU-8 (or UTF-8) from buf[start, end); the bytes were walked already. */
export function decodeCesu8(buf: Buffer, start: number, end: number, units: number): string {
  const out = new Uint16Array(units);
  let n = 0;
  let p = start;
  while (p < end) {
    const b = buf[p] as number;
    if (b < 0x80) {
      out[n++] = b;
      p++;
    } else if ((b & 0xe0) === 0xc0) {
      out[n++] = ((b & 0x1f) << 6) | ((buf[p + 1] as number) & 0x3f);
      p += 2;
    } else if ((b & 0xf0) === 0xe0) {
      out[n++] = ((b & 0x0f) << 12) | (((buf[p + 1] as number) & 0x3f) << 6) | ((buf[p + 2] as number) & 0x3f);
      p += 3;
    } else {
      const cp = (((b & 0x07) << 18) | (((buf[p + 1] as number) & 0x3f) << 12) | (((buf[p + 2] as number) & 0x3f) << 6) | ((buf[p + 3] as number) & 0x3f)) - 0x10000;
      out[n++] = 0xd800 + (cp >> 10);
      out[n++] = 0xdc00 + (cp & 0x3ff);
      p += 4;
    }
  }
  let text = '';
  for (let i = 0; i < n; i += 8192) text += String.fromCharCode(...out.subarray(i, Math.min(n, i + 8192)));
  return text;
}
