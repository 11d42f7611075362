// peekHessian2Request / the value skipper against bodies written by hessian.js through ONE encoder,
// as DubboCodec.encodeRequestData does (class definitions and refs carry across arguments), plus
// hand-written Hessian for forms hessian.js never writes. The skipper's idea of where each value
// ends is checked against hessian.js's own DecoderV2.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {ProtocolError} from '../../src/core/errors.js';
import {HessianWalker} from '../../src/protocol/hessian-walker.js';
import {peekHessian2Request, peekRequest, type AttachmentValue} from '../../src/protocol/request-peek.js';
import {encodeRequest, java} from '../support/dubbo-wire.js';
import {decodeAllWays, frameOf, hessianRequestBody, hex, rawBytes, referenceValueEnds, type HessianEncoder} from './fixtures.js';

interface ArgCase {
  name: string;
  desc: string;
  args?: unknown[];
  /** Hand-written argument bytes, for forms hessian.js never writes (and its DecoderV2 may not read). */
  rawArgs?: Buffer[];
  /** Byte sequences the encoded body must contain (proves the forms under test were really written). */
  contains?: Buffer[];
}

const pojo = (name: string, age: number): unknown => java.pojo('com.example.User', {name, age});
const shared = java.pojo('com.example.Address', {city: 'Berlin', zip: '10115'});
const manyClasses = Array.from({length: 18}, (_, i) => java.pojo(`com.example.C${i}`, {v: i}));
const nonBmp = 'emoji 😀 and 𝄞 clef';

const ARG_CASES: ArgCase[] = [
  {name: 'no arguments', desc: ''},
  {name: 'a string', desc: 'Ljava/lang/String;', args: ['hello']},
  {
    name: 'POJOs sharing one class definition across two arguments (0x60 in arg 2)',
    desc: 'Lcom/example/User;Lcom/example/User;',
    args: [pojo('alice', 30), pojo('bob', 40)],
    contains: [hex('60 03 62 6f 62')], // second instance: class ref 0, name "bob"
  },
  {
    name: 'back-references Q to the same object',
    desc: 'Lcom/example/Pair;',
    args: [java.pojo('com.example.Pair', {left: shared, right: shared})],
    contains: [hex('51 91')], // 'Q' ref 1 (ref 0 is the Pair itself)
  },
  {
    name: 'an exception with a self-reference cause',
    desc: 'Ljava/lang/Throwable;',
    args: [java.exception('java.lang.IllegalStateException', 'boom')],
    contains: [hex('51 90')],
  },
  {
    name: "typed lists '[int' and '[string' and an ArrayList",
    desc: '[I[Ljava/lang/String;Ljava/util/List;',
    args: [java.typedList('[int', [1, 2, 3]), java.typedList('[string', ['a', 'b']), java.typedList('java.util.ArrayList', [1, 'x', null])],
    contains: [hex('73 04 5b 69 6e 74')], // 0x70+3 typed fixed list, type "[int"
  },
  {
    name: "a long typed list ('V' type int) and a repeated list type (type ref)",
    desc: '[I[I',
    args: [java.typedList('[int', [1, 2, 3, 4, 5, 6, 7, 8, 9]), java.typedList('[int', [7])],
    contains: [hex('56 04 5b 69 6e 74 99')], // 'V' "[int" length 9
  },
  {
    name: "a TreeMap ('M' with a type) and a HashMap ('H')",
    desc: 'Ljava/util/Map;Ljava/util/Map;',
    args: [java.typedMap('java.util.TreeMap', {a: 1, b: [1, 2]}), {$class: 'java.util.HashMap', $: {k: 'v'}}],
    contains: [hex('4d 11')], // 'M' then a 17-char type name
  },
  {
    name: 'BigDecimal, enums and Dates in both forms',
    desc: 'Ljava/math/BigDecimal;Lcom/example/Color;Ljava/util/Date;Ljava/util/Date;',
    args: [java.bigDecimal('12345.678'), java.enumValue('com.example.Color', 'RED'), java.date(Date.UTC(2024, 0, 1, 12, 30)), java.date(1700000000123)],
    contains: [
      Buffer.concat([hex('4b'), int32(Date.UTC(2024, 0, 1, 12, 30) / 60_000)]), // 0x4B: a whole minute, as int32 minutes
      hex('4a 00 00 01 8b cf e5 68 7b'), // 0x4A: int64 ms
      hex('43 14'), // 'C' + the 20-char BigDecimal class name
    ],
  },
  {
    name: 'a byte[] over 64 KiB (binary chunks) and a small one',
    desc: '[B[B',
    args: [java.bytes(70_000), java.bytes(5)],
    contains: [hex('41 0f fd')], // 'A' non-final chunk of 4093 bytes
  },
  {
    name: 'a string over 32 KiB sent in chunks',
    desc: 'Ljava/lang/String;',
    args: [java.longString(70_000)],
    contains: [hex('52 80 00')], // 'R' chunk of 0x8000 units
  },
  {
    name: 'non-BMP strings (CESU-8 surrogates) and a long one with a surrogate pair on a chunk boundary',
    desc: 'Ljava/lang/String;Ljava/lang/String;',
    args: [nonBmp, `${'x'.repeat(0x7fff)}😀${'y'.repeat(10)}`],
    contains: [hex('ed a0 bd ed b8 80')], // U+1F600 as two 3-byte surrogates
  },
  {
    name: 'nulls and booleans',
    desc: 'Ljava/lang/String;Ljava/lang/Object;ZZ',
    args: [null, null, true, false],
  },
  {
    name: 'longs in every compact form',
    desc: 'JJJJJJ',
    args: [java.long(3), java.long(-2000), java.long(200_000), java.long(2_000_000_000), java.long('9007199254740993'), java.long(-8)],
    contains: [hex('59 77 35 94 00')], // long as int32
  },
  {
    name: 'doubles in every compact form',
    desc: 'DDDDDD',
    args: [0, 1, 100, 1000, 10.123, Math.PI].map((v) => ({$class: 'double', $: v})),
    contains: [hex('5f 00 00 27 8b')], // 10.123 as int32 mills
  },
  {
    name: 'ints in every form',
    desc: 'IIII',
    args: [5, 1000, 100_000, 2_000_000_000],
    contains: [hex('49 77 35 94 00')],
  },
  {
    name: "more than 16 classes: 'O' with an int class index",
    desc: '[Ljava/lang/Object;',
    args: [java.typedList('[object', [...manyClasses, java.pojo('com.example.C17', {v: 99})])],
    contains: [hex('4f a1')], // 'O' class 17
  },
  {
    name: 'a POJO nesting lists, maps and other POJOs',
    desc: 'Lcom/example/Order;',
    args: [
      java.pojo('com.example.Order', {
        id: java.long(12345678901),
        lines: [java.pojo('com.example.Line', {sku: 'A-1', qty: 2}), java.pojo('com.example.Line', {sku: 'B-2', qty: 1})],
        meta: {$class: 'java.util.HashMap', $: {note: 'gift', tags: ['x', 'y']}},
        when: java.date(Date.UTC(2024, 5, 1)),
        owner: pojo('carol', 51),
        empty: java.pojo('com.example.Empty', {}),
      }),
    ],
  },
  {
    name: 'variable-length lists 0x55 / 0x57 and a fixed untyped 0x58 (hand-written)',
    desc: 'Ljava/util/List;Ljava/util/List;Ljava/util/List;',
    rawArgs: [
      hex('55 04 5b 69 6e 74 91 92 5a'), // variable typed list "[int": 1, 2, Z
      hex('57 01 61 48 01 6b 01 76 5a 5a'), // variable untyped list: "a", {k: "v"}, Z
      hex('58 98 90 91 92 93 94 95 96 97'), // fixed untyped list, length 8, ints 0..7
    ],
  },
  {
    name: "a typed list whose type is a type ref and an 'M' map with a type ref (hand-written)",
    desc: 'Ljava/util/List;Ljava/util/Map;',
    rawArgs: [
      hex('71 03 66 6f 6f 91'), // 0x70+1 typed list, type "foo" (type 0), value 1
      hex('4d 90 01 61 91 5a'), // 'M' type ref 0, {"a": 1}
    ],
  },
  {
    name: "a chunked string ending in a 0x30 chunk, a binary ending in 'B', compact ints, longs and dates (hand-written)",
    desc: 'Ljava/lang/String;[BLjava/util/List;Ljava/util/List;',
    rawArgs: [
      Buffer.concat([hex('52 00 02'), Buffer.from('ab'), hex('30 03'), Buffer.from('cde')]), // "ab" + "cde"
      hex('41 00 02 01 02 42 00 01 03'), // 'A' [1,2] then 'B' [3]
      hex('7a 4b 01 b8 ac 60 3f ff ff'), // list of 2: a date in minutes, a long in the 0x38-0x3f form (262143)
      hex('7e d0 00 00 c7 ff 8f a0 ef f8 00'), // list of 6: ints 0xd0, 0xc0 and 0x80 forms, longs 0xd8-0xef and 0xf0-0xff forms
    ],
  },
];

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}

function attachmentsOf(meta: {attachments: ReadonlyMap<string, AttachmentValue>}): Record<string, AttachmentValue> {
  return Object.fromEntries(meta.attachments);
}

describe('peekHessian2Request: arguments are skipped, not decoded', () => {
  for (const c of ARG_CASES) {
    it(c.name, () => {
      const attachments = {'target-application': 'user-rpc', path: 'com.example.DemoService', timeout: '3000'};
      const raw = c.rawArgs;
      const body = hessianRequestBody({
        desc: c.desc, args: c.args, attachments, writeArgs: raw && ((enc: HessianEncoder) => raw.forEach((b) => rawBytes(enc, b))),
      });
      for (const part of c.contains ?? []) assert.ok(body.includes(part), `fixture does not contain ${part.toString('hex')}`);
      const meta = peekHessian2Request(body);
      assert.equal(meta.dubboVersion, '2.0.2');
      assert.equal(meta.service, 'com.example.DemoService');
      assert.equal(meta.serviceVersion, '0.0.0');
      assert.equal(meta.method, 'call');
      assert.equal(meta.parameterTypes, c.desc);
      assert.equal(meta.argumentCount, raw?.length ?? (c.args ?? []).length);
      assert.equal(meta.attachmentsRead, true);
      assert.deepEqual(attachmentsOf(meta), attachments);

      // The skipper ends every value exactly where hessian.js's DecoderV2 does (for hand-written
      // arguments, where their byte lengths say: DecoderV2 cannot read 0x55 or 0x57).
      const count = 5 + meta.argumentCount + 1;
      let expected = referenceValueEnds(body, raw ? 5 : count);
      if (raw) {
        let at = expected[4] as number;
        expected = [...expected, ...raw.map((b) => (at += b.length)), body.length];
      }
      const walker = new HessianWalker(body);
      const ends: number[] = [];
      for (let i = 0; i < count; i++) {
        walker.skipValue();
        ends.push(walker.pos);
      }
      assert.deepEqual(ends, expected);
      assert.equal(walker.pos, body.length);

      // The same body as a frame: fed whole, byte by byte and split everywhere, then peeked.
      const frame = frameOf(0xc2, 42n, body);
      const decoded = decodeAllWays(frame);
      assert.equal(decoded.bufferedBytes, 0);
      const event = decoded.events[0];
      assert.ok(decoded.events.length === 1 && event?.kind === 'frame');
      assert.deepEqual(peekRequest(event.header.serializationId, event.bytes.subarray(16)), meta);
    });
  }

  it('reads the same metadata from a whole frame fed byte by byte and split everywhere', () => {
    const frame = encodeRequest({
      id: 77n,
      service: 'com.example.OrderService',
      method: 'place',
      parameterTypes: 'Lcom/example/User;Lcom/example/User;[B',
      args: [pojo('alice', 30), pojo('bob', 40), java.bytes(3000)],
      attachments: {'target-application': 'order-rpc'},
    });
    const result = decodeAllWays(frame);
    const event = result.events[0];
    assert.ok(event?.kind === 'frame');
    const meta = peekRequest(event.header.serializationId, event.bytes.subarray(16));
    assert.equal(meta.service, 'com.example.OrderService');
    assert.equal(meta.method, 'place');
    assert.equal(meta.attachments.get('target-application'), 'order-rpc');
  });
});

describe('peekHessian2Request: header strings', () => {
  it('decodes non-ASCII and non-BMP service and method names (CESU-8)', () => {
    const body = hessianRequestBody({service: 'com.例子.服务', method: `m${nonBmp}`, desc: ''});
    const meta = peekHessian2Request(body);
    assert.equal(meta.service, 'com.例子.服务');
    assert.equal(meta.method, `m${nonBmp}`);
  });

  it('accepts a 2.5.x framework version in field 1 and a null version as ""', () => {
    const body = hessianRequestBody({
      dubboVersion: '2.5.10', desc: 'I', args: [1],
    });
    assert.equal(peekHessian2Request(body).dubboVersion, '2.5.10');
    const enc = hessianRequestBody({desc: '', attachments: 'absent', version: 'X'});
    // Replace the 1-char version string "X" (01 58) by null (4e): same length minus one byte.
    const at = enc.indexOf(hex('01 58'));
    const withNull = Buffer.concat([enc.subarray(0, at), hex('4e'), enc.subarray(at + 2)]);
    assert.equal(peekHessian2Request(withNull).serviceVersion, '');
  });

  it('reads a generic $invoke (3 arguments from its descriptor)', () => {
    const body = hessianRequestBody({
      method: '$invoke',
      desc: 'Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;',
      args: ['getUser', java.typedList('[string', ['java.lang.String']), java.typedList('[object', ['alice'])],
      attachments: {generic: 'true', 'target-application': 'user-rpc'},
    });
    const meta = peekHessian2Request(body);
    assert.equal(meta.argumentCount, 3);
    assert.equal(meta.attachments.get('generic'), 'true');
  });
});

describe('peekHessian2Request: attachments', () => {
  it('keeps primitive values with their types and leaves complex values out', () => {
    const body = hessianRequestBody({
      desc: '',
      attachments: {
        str: 'v',
        int: 3000,
        neg: -5,
        long: java.long(4_000_000_000),
        unsafe: java.long('9007199254740993'),
        smallLong: java.long(7),
        dbl: 1.5,
        dblBig: Math.PI,
        yes: true,
        no: false,
        nothing: null,
        list: ['a', 'b'],
        map: {$class: 'java.util.HashMap', $: {x: 1}},
        obj: java.pojo('com.example.Ctx', {trace: 'abc'}),
        date: java.date(Date.UTC(2024, 0, 1)),
        bytes: Buffer.from('xyz'),
        'target-application': 'user-rpc',
      },
    });
    const meta = peekHessian2Request(body);
    assert.deepEqual(attachmentsOf(meta), {
      str: 'v', int: 3000, neg: -5, long: 4_000_000_000, unsafe: 9007199254740993n, smallLong: 7, dbl: 1.5, dblBig: Math.PI,
      yes: true, no: false, nothing: null, 'target-application': 'user-rpc',
    });
  });

  it("reads doubles in every compact form as attachment values", () => {
    const body = hessianRequestBody({
      desc: '',
      attachments: Object.fromEntries([0, 1, -100, 1000, 10.123, Math.E].map((v, i) => [`d${i}`, {$class: 'double', $: v}])),
    });
    assert.deepEqual(attachmentsOf(peekHessian2Request(body)), {d0: 0, d1: 1, d2: -100, d3: 1000, d4: 10.123, d5: Math.E});
  });

  it("reads a typed 'M' map (a TreeMap) and skips non-string keys", () => {
    const body = hessianRequestBody({
      desc: '',
      attachments: (enc) => {
        rawBytes(enc, hex('4d 11'));
        rawBytes(enc, Buffer.from('java.util.TreeMap'));
        enc.writeString('a');
        enc.writeString('1');
        enc.writeInt(7); // an int key
        enc.writeString('ignored');
        enc.writeNull(); // a null key
        enc.writeString('ignored too');
        enc.writeString('target-application');
        enc.writeString('user-rpc');
        rawBytes(enc, hex('5a'));
      },
    });
    assert.deepEqual(attachmentsOf(peekHessian2Request(body)), {a: '1', 'target-application': 'user-rpc'});
  });

  it('uses class definitions from the arguments when an attachment value is an object of the same class', () => {
    const body = hessianRequestBody({
      desc: 'Lcom/example/User;',
      args: [pojo('alice', 30)],
      attachments: {user: pojo('bob', 40), after: 'yes'},
    });
    assert.ok(body.includes(hex('60 03 62 6f 62')));
    assert.deepEqual(attachmentsOf(peekHessian2Request(body)), {after: 'yes'});
  });

  it("treats 'N', an absent map and trailing bytes after the map (dubbo-go's extra 'N') as valid", () => {
    const none = hessianRequestBody({desc: 'I', args: [1], attachments: (enc) => enc.writeNull()});
    assert.deepEqual(attachmentsOf(peekHessian2Request(none)), {});
    const absent = hessianRequestBody({desc: 'I', args: [1], attachments: 'absent'});
    const meta = peekHessian2Request(absent);
    assert.equal(meta.attachmentsRead, true);
    assert.equal(meta.attachments.size, 0);
    const trailing = Buffer.concat([hessianRequestBody({desc: 'I', args: [1], attachments: {k: 'v'}}), hex('4e')]);
    assert.deepEqual(attachmentsOf(peekHessian2Request(trailing)), {k: 'v'});
  });

  it('rejects something that is not a map where the attachments belong', () => {
    const body = hessianRequestBody({desc: '', attachments: (enc) => enc.writeString('oops')});
    assert.throws(() => peekHessian2Request(body), (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_BAD_BODY' && /attachments at offset/.test(e.message));
  });
});

describe('peekHessian2Request: broken bodies', () => {
  const body = hessianRequestBody({
    desc: 'Ljava/lang/String;Lcom/example/User;[B',
    args: ['hello', pojo('alice', 30), java.bytes(600)],
    attachments: {'target-application': 'user-rpc'},
  });

  it('says which argument ends past the body', () => {
    const argStart = referenceValueEnds(body, 6)[5] as number; // end of argument 1
    const cut = body.subarray(0, argStart + 10);
    assert.throws(
      () => peekHessian2Request(cut),
      (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_BAD_BODY' &&
        /^truncated hessian2 body: argument 2 of 3 ends past the body \(offset \d+ of \d+\)$/.test(e.message),
    );
  });

  it('every truncation of a body is DT_ERR_BAD_BODY or a shorter valid request, never another error', () => {
    let valid = 0;
    for (let n = 0; n < body.length; n++) {
      try {
        const meta = peekHessian2Request(body.subarray(0, n));
        valid++;
        // Only a cut right after the arguments (no attachments at all) is still a request.
        assert.equal(meta.attachments.size, 0);
      } catch (error) {
        assert.ok(error instanceof ProtocolError, `cut at ${n}: ${String(error)}`);
        assert.equal(error.code, 'DT_ERR_BAD_BODY');
      }
    }
    assert.equal(valid, 1);
  });

  it('rejects reserved tags, an undefined class index, a misplaced Z and a bad string lead byte', () => {
    const cases: [string, Buffer, RegExp][] = [
      ['reserved tag 0x40', hex('40'), /unexpected tag 0x40 in argument 1 of 1/],
      ['object of an undefined class', hex('62'), /class definition 2, but only 0 are defined/],
      ['Z outside a container', hex('5a'), /unexpected end marker Z/],
      ['Z in place of a map value', hex('48 01 61 5a'), /unexpected end marker Z/],
      ['string with a continuation byte as lead', hex('01 80'), /bad UTF-8 lead byte 0x80/],
      ['binary chunk followed by a string', hex('41 00 01 00 01 61'), /binary chunk is followed by tag 0x01/],
      ['negative list length', hex('58 8f'), /list length -1/],
    ];
    for (const [name, arg, message] of cases) {
      const bad = hessianRequestBody({desc: 'Ljava/lang/Object;', writeArgs: (enc) => rawBytes(enc, arg), attachments: 'absent'});
      assert.throws(() => peekHessian2Request(bad), (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_BAD_BODY' && message.test(e.message), name);
    }
  });

  it('bounds nesting depth instead of growing without limit', () => {
    const deep = hessianRequestBody({desc: 'Ljava/lang/Object;', writeArgs: (enc) => rawBytes(enc, Buffer.alloc(20_000, 0x57)), attachments: 'absent'});
    assert.throws(() => peekHessian2Request(deep), /nested deeper than 10000 levels/);
  });

  it('rejects a list length larger than the rest of the body before walking it', () => {
    const bad = hessianRequestBody({desc: 'Ljava/lang/Object;', writeArgs: (enc) => rawBytes(enc, hex('58 49 7f ff ff ff')), attachments: 'absent'});
    assert.throws(() => peekHessian2Request(bad), /truncated hessian2 body: argument 1 of 1 ends past the body \(offset 2147483\d+ of \d+\)/);
  });

  it('rejects an empty body and a body that does not start with a string', () => {
    assert.throws(() => peekHessian2Request(Buffer.alloc(0)), (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_BAD_BODY');
    assert.throws(() => peekHessian2Request(hex('91')), /expected a string, got tag 0x91 in dubbo version \(field 1\) at offset 0/);
  });

  it('rejects an invalid descriptor', () => {
    const bad = hessianRequestBody({desc: 'Ljava/lang/String', attachments: 'absent'});
    assert.throws(() => peekHessian2Request(bad), (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_BAD_BODY' && /descriptor/.test(e.message));
  });
});

describe('peekRequest', () => {
  it('names an unsupported serialization', () => {
    assert.throws(
      () => peekRequest(8, hex('00')),
      (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_UNSUPPORTED_SERIALIZATION' && e.message.includes('kryo (id 8)'),
    );
    assert.throws(() => peekRequest(30, hex('00')), /serialization id 30 \(id 30\)/);
  });

  it('dispatches hessian2 (id 2)', () => {
    const body = hessianRequestBody({desc: '', attachments: {a: 'b'}});
    assert.deepEqual(peekRequest(2, body), peekHessian2Request(body));
  });
});
