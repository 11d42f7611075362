// What each request Java wrote (test/fixtures/java-hessian/Generate.java) holds, in the call
// record's value form: the inspector's decoding tests and its round trip through `call` share it.

const berlin = {$class: 'com.example.Address', city: 'Berlin', street: 'Unter den Linden 1', zip: 10117};
const hamburg = {$class: 'com.example.Address', city: 'Hamburg', street: 'Jungfernstieg 7', zip: 20354};
export const alice = {$class: 'com.example.Customer', id: 1001, name: 'Alice', home: berlin};
export const bob = {$class: 'com.example.Customer', id: 1002, name: 'Bob', home: hamburg};
/** Caucho Hessian writes BigDecimal's fields; with the JDK's compact digits `intVal` is null: the number is not in the bytes. */
const lostDecimal = {$class: 'java.math.BigDecimal', scale: 2, intVal: null};
export const order = {
  $class: 'com.example.Order', id: 42, customer: alice, shipTo: berlin, billTo: berlin,
  items: [{$class: 'com.example.Item', sku: 'SKU-1', quantity: 2, price: lostDecimal}, {$class: 'com.example.Item', sku: 'SKU-2', quantity: 1, price: lostDecimal}],
  color: {$class: 'com.example.Color', name: 'GREEN'},
  created: {$class: 'java.util.Date', $: '2023-11-14T22:13:20.000Z'},
};

function bytesOf(length: number): Buffer {
  const blob = Buffer.alloc(length);
  for (let i = 0; i < length; i++) blob[i] = (i * 31 + 7) & 0xff;
  return blob;
}

function longString(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  while (s.length < 0x7fff) s += alphabet.charAt(s.length % alphabet.length);
  s += '\u{1F600}Grüße, 𝄞 und €';
  while (s.length < 70_000 - 2) s += alphabet.charAt(s.length % alphabet.length);
  return s + '\u{1D11E}';
}

/** What each Java request's arguments are in the value form (Generate.java wrote them). */
export const EXPECTED_ARGUMENTS: Readonly<Record<string, {types: string[]; args: unknown[]}>> = {
  'req-pojo-shared-refs.bin': {types: ['com.example.Order', 'com.example.Customer'], args: [order, alice]},
  'req-same-class-twice.bin': {
    types: ['com.example.Account', 'com.example.Account'],
    args: [
      {$class: 'com.example.Account', iban: 'DE89370400440532013000', balance: lostDecimal, owner: alice},
      {$class: 'com.example.Account', iban: 'DE02120300000000202051', balance: lostDecimal, owner: bob},
    ],
  },
  'req-collections.bin': {
    types: ['java.util.List', 'java.util.List', 'java.util.Set'],
    args: [['a', 1, 2, null, {$class: 'com.example.Color', name: 'RED'}], ['x', 'y', 'z'], [1, 2, 3]],
  },
  'req-arrays.bin': {
    types: ['int[]', 'java.lang.String[]', 'java.lang.Object[]'],
    args: [[1, -1, 1000, 1_000_000, -2147483648], ['one', 'two', null, 'drei'], ['s', 7, 3.5, null, berlin, [9]]],
  },
  'req-maps.bin': {
    types: ['java.util.Map', 'java.util.Map', 'java.util.Map'],
    // List.of(1, 2) reaches Caucho Hessian as the JDK's CollSer proxy, its elements in a transient field.
    args: [{k1: 'v1', k2: 2, nested: {deep: {$class: 'java.util.CollSer', tag: 1}}}, {a: 1, b: 2, c: 3}, {10: 'ten', 5: 'five'}],
  },
  'req-decimal-dates-enum.bin': {
    types: ['java.math.BigDecimal', 'java.util.Date', 'java.util.Date', 'com.example.Color'],
    args: [
      {$class: 'java.math.BigDecimal', $: '-12345678901234567890.000000001'},
      {$class: 'java.util.Date', $: '2023-11-14T22:14:00.000Z'},
      {$class: 'java.util.Date', $: '2023-11-14T22:14:00.123Z'},
      {$class: 'com.example.Color', name: 'BLUE'},
    ],
  },
  'req-bytes-100k.bin': {types: ['byte[]'], args: [{$class: 'byte[]', $: bytesOf(100 * 1024).toString('base64'), size: 100 * 1024}]},
  'req-long-string.bin': {types: ['java.lang.String'], args: [longString()]},
  'req-nulls.bin': {types: ['java.lang.String', 'com.example.Customer', 'java.lang.Integer'], args: [null, null, null]},
  'req-numbers.bin': {
    types: [...Array<string>(10).fill('long'), ...Array<string>(8).fill('double'), ...Array<string>(5).fill('int'), 'float'],
    args: [
      0, -8, 15, -2048, 2047, -262144, 262143, 2147483647, '9223372036854775807', '-9223372036854775808',
      0, 1, -128, 32767, 12.345, Math.PI, {$class: 'double', $: 'NaN'}, -Number.MAX_VALUE,
      -16, 47, -2048, 262143, -2147483648,
      0.5, // a Float in an Object: Caucho's FloatHandle, read as its value
    ],
  },
  'req-generic-invoke.bin': {
    types: ['java.lang.String', 'java.lang.String[]', 'java.lang.Object[]'],
    args: ['findByExample', ['com.example.Customer'], [{name: 'Carol', class: 'com.example.Customer'}]],
  },
};

