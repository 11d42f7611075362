/**
 * Java types as `call --types`, a recorded call and an HTTP call's `?types=` name them: parsed from
 * Java source names (generics erased) or Class.getName() forms, and written as the JVM parameter
 * descriptor a Dubbo request carries (body field 5).
 */
import {DubboTunnelError} from '../core/errors.js';
import {countArguments} from '../protocol/descriptor.js';

/** A Java type: a primitive or class name plus array dimensions (`int[][]` = {name: 'int', dims: 2}). */
export interface JavaType {
  readonly name: string;
  readonly dims: number;
}

/** Java's primitive names and their descriptor letters (JVM spec 4.3.2). */
export const PRIMITIVES: ReadonlyMap<string, string> = new Map([
  ['boolean', 'Z'], ['byte', 'B'], ['char', 'C'], ['short', 'S'], ['int', 'I'], ['long', 'J'], ['float', 'F'], ['double', 'D'],
]);
const DESCRIPTOR_PRIMITIVES: ReadonlyMap<string, string> = new Map([...PRIMITIVES].map(([name, letter]) => [letter, name]));

/** java.lang names a Java source file may use without an import; `--types String` means java.lang.String. */
const JAVA_LANG = new Set(['String', 'Object', 'Integer', 'Long', 'Short', 'Byte', 'Double', 'Float', 'Boolean', 'Character', 'Number']);

/**
 * Parses one Java type name: `int`, `java.lang.String`, `String` (java.lang), `com.foo.Query`,
 * `long[]`, `java.util.List<com.foo.Item>` (generics are erased, as in the JVM descriptor),
 * or the Class.getName() array forms `[I`, `[Ljava.lang.String;`.
 */
export function parseJavaType(text: string): JavaType {
  let name = eraseGenerics(text.trim());
  let dims = 0;
  if (name.startsWith('[')) {
    while (name.startsWith('[')) {
      dims++;
      name = name.slice(1);
    }
    const primitive = DESCRIPTOR_PRIMITIVES.get(name);
    if (primitive !== undefined) name = primitive;
    else if (name.startsWith('L') && name.endsWith(';')) name = name.slice(1, -1).replaceAll('/', '.');
    else throw badType(text, 'an array name like [I or [Ljava.lang.String;');
  }
  while (name.endsWith('[]')) {
    dims++;
    name = name.slice(0, -2).trimEnd();
  }
  if (name.includes('/')) name = name.replaceAll('/', '.');
  if (JAVA_LANG.has(name)) name = `java.lang.${name}`;
  if (!PRIMITIVES.has(name) && !/^[\p{L}_$][\p{L}\p{N}_$]*(\.[\p{L}_$][\p{L}\p{N}_$]*)*$/u.test(name)) {
    throw badType(text, 'a Java type such as int, java.lang.String, com.example.Query or long[]');
  }
  if (name === 'void') throw badType(text, 'a parameter type (void is not one)');
  return {name, dims};
}

/** Splits `--types` on top-level commas (commas inside `<...>` belong to a generic type). */
export function parseTypeList(text: string): JavaType[] {
  if (text.trim() === '') return [];
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (c === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.map((item) => {
    if (item.trim() === '') throw badType(text, 'a comma-separated list of Java types without empty entries');
    return parseJavaType(item);
  });
}

/** The JVM descriptor of one type: `I`, `Ljava/lang/String;`, `[J` (ReflectUtils.getDesc). */
export function typeDescriptor(type: JavaType): string {
  const element = PRIMITIVES.get(type.name) ?? `L${type.name.replaceAll('.', '/')};`;
  return '['.repeat(type.dims) + element;
}

/** The parameter-type descriptor of a method, e.g. `Ljava/lang/String;ILcom/foo/Query;`. */
export function buildDescriptor(types: readonly JavaType[]): string {
  const descriptor = types.map(typeDescriptor).join('');
  // The router counts arguments with this grammar (ReflectUtils.DESC_REGEX); never send one it rejects.
  if (countArguments(descriptor) !== types.length) throw badType(types.map(javaTypeName).join(','), 'valid Java types');
  return descriptor;
}

/** The Java source name: `int`, `java.lang.String[]` (what ReflectUtils.name2class accepts for generic calls). */
export function javaTypeName(type: JavaType): string {
  return type.name + '[]'.repeat(type.dims);
}

function eraseGenerics(text: string): string {
  let out = '';
  let depth = 0;
  for (const c of text) {
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (depth === 0) out += c;
  }
  return out.replaceAll(/\s+/g, '');
}

function badType(text: string, expected: string): DubboTunnelError {
  return new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--types: '${text.trim()}' is not ${expected}`, {
    hint: 'for example --types java.lang.String,int,com.example.Query',
  });
}
