/**
 * JVM parameter-type descriptors (request body field 5, e.g. "Ljava/lang/String;I[Lcom/foo/Bar;").
 * Grammar from ReflectUtils.DESC_REGEX: each item is zero or more '[' followed by one primitive
 * letter (VZBCDFIJS) or 'L' name ';'. The empty string means no arguments.
 */
import {ProtocolError} from '../core/errors.js';

const PRIMITIVES = new Set(['V', 'Z', 'B', 'C', 'D', 'F', 'I', 'J', 'S']);

/** Number of parameters in a descriptor; throws ProtocolError 'DT_ERR_BAD_BODY' when it is malformed. */
export function countArguments(desc: string): number {
  let count = 0;
  let i = 0;
  const n = desc.length;
  while (i < n) {
    while (desc.charCodeAt(i) === 0x5b /* [ */) i++;
    if (i >= n) throw badDescriptor(desc, i, 'an array "[" has no element type');
    const c = desc.charAt(i);
    if (c === 'L') {
      const semi = desc.indexOf(';', i + 1);
      if (semi < 0) throw badDescriptor(desc, i, 'a class name has no closing ";"');
      checkClassName(desc, i + 1, semi);
      i = semi + 1;
    } else if (PRIMITIVES.has(c)) {
      i++;
    } else {
      throw badDescriptor(desc, i, `unexpected ${JSON.stringify(c)}`);
    }
    count++;
  }
  return count;
}

/**
 * Java identifiers separated by '/'. ASCII letters, digits, '_' and '$' as in DESC_REGEX; other
 * non-ASCII letters are let through (Java allows them in class names).
 */
function checkClassName(desc: string, start: number, end: number): void {
  let segment = 0;
  for (let i = start; i < end; i++) {
    const ch = desc.charCodeAt(i);
    if (ch === 0x2f /* / */) {
      if (segment === 0) throw badDescriptor(desc, i, 'empty package or class name');
      segment = 0;
      continue;
    }
    const ok =
      (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x5f || ch === 0x24 || ch > 0x7f;
    if (!ok) throw badDescriptor(desc, i, `unexpected ${JSON.stringify(desc.charAt(i))} in a class name`);
    segment++;
  }
  if (segment === 0) throw badDescriptor(desc, end, 'empty class name');
}

function badDescriptor(desc: string, index: number, why: string): ProtocolError {
  const shown = desc.length > 200 ? `${desc.slice(0, 200)}...` : desc;
  return new ProtocolError('DT_ERR_BAD_BODY', `invalid parameter-type descriptor ${JSON.stringify(shown)}: ${why} at index ${index}`);
}

const PRIMITIVE_NAMES: Readonly<Record<string, string>> = {
  V: 'void', Z: 'boolean', B: 'byte', C: 'char', D: 'double', F: 'float', I: 'int', J: 'long', S: 'short',
};

/**
 * The Java names of a descriptor's parameter types, in the form `call --types` takes:
 * `Ljava/lang/String;I[J` -> `java.lang.String`, `int`, `long[]`. Throws like countArguments.
 */
export function descriptorTypeNames(desc: string): string[] {
  countArguments(desc); // the same checks, and the same error for a malformed descriptor
  const names: string[] = [];
  let i = 0;
  while (i < desc.length) {
    let dims = 0;
    while (desc.charCodeAt(i) === 0x5b /* [ */) {
      dims++;
      i++;
    }
    let name: string;
    if (desc.charAt(i) === 'L') {
      const semi = desc.indexOf(';', i + 1);
      name = desc.slice(i + 1, semi).replaceAll('/', '.');
      i = semi + 1;
    } else {
      name = PRIMITIVE_NAMES[desc.charAt(i)] ?? desc.charAt(i);
      i++;
    }
    names.push(name + '[]'.repeat(dims));
  }
  return names;
}
