// fastjson2 (id 23) request bodies: `[int32 length][JSONB]` records as FastJson2ObjectOutput writes
// them. The JSONB bytes are built by hand from JSONB.java Constants and JSONWriterJSONB (no Java
// run is available here), e.g. a HashMap attachment is BC_OBJECT, key, value, ..., BC_OBJECT_END.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {ProtocolError} from '../../src/core/errors.js';
import {peekFastjson2Request} from '../../src/protocol/fastjson2.js';
import {peekRequest} from '../../src/protocol/request-peek.js';
import {fastjson2RequestBody, hex, jsonb} from './fixtures.js';

const s = jsonb.string;

describe('peekFastjson2Request', () => {
  it('reads the header strings and a flat attachment map with primitive values', () => {
    const body = fastjson2RequestBody({
      service: 'com.example.UserService',
      method: 'getUser',
      desc: 'Ljava/lang/String;I',
      args: [s('alice'), jsonb.int(42)],
      attachments: jsonb.object([
        [s('target-application'), s('user-rpc')],
        [s('timeout'), jsonb.int(3000)], // 3.0.x writes timeout as an Integer
        [s('big'), jsonb.int(300_000)],
        [s('id'), jsonb.long(9007199254740993n)],
        [s('small'), jsonb.long(7n)],
        [s('l3'), jsonb.long(-200_000n)],
        [s('l4'), jsonb.long(3_000_000_000n)],
        [s('none'), jsonb.null],
        [s('yes'), jsonb.true],
        [s('pi'), Buffer.concat([hex('b5'), (() => { const b = Buffer.alloc(8); b.writeDoubleBE(Math.PI); return b; })()])],
        [s('one'), hex('b3')],
      ]),
    });
    const meta = peekFastjson2Request(body);
    assert.equal(meta.dubboVersion, '2.0.2');
    assert.equal(meta.service, 'com.example.UserService');
    assert.equal(meta.serviceVersion, '0.0.0');
    assert.equal(meta.method, 'getUser');
    assert.equal(meta.parameterTypes, 'Ljava/lang/String;I');
    assert.equal(meta.argumentCount, 2);
    assert.equal(meta.attachmentsRead, true);
    assert.deepEqual(Object.fromEntries(meta.attachments), {
      'target-application': 'user-rpc', timeout: 3000, big: 300_000, id: 9007199254740993n, small: 7, l3: -200_000, l4: 3_000_000_000,
      none: null, yes: true, pi: Math.PI, one: 1,
    });
    assert.deepEqual(peekRequest(23, body), meta);
  });

  it('decodes strings in every JSONB string encoding', () => {
    const long = 'com.example.a.very.long.package.name.that.is.longer.than.fortyseven.Service';
    const cases: [string, Buffer][] = [
      [long, s(long)], // BC_STR_ASCII (0x79) + length
      ['服务', s('服务')], // BC_STR_UTF8
      ['café', s('café')], // latin-1 fits the fixed form
      ['服务LE', jsonb.utf16le('服务LE')],
      ['服务BE', jsonb.utf16be('服务BE')],
      ['bom', Buffer.concat([hex('7b 08 ff fe'), Buffer.from('bom', 'utf16le')])], // BC_STR_UTF16, little-endian BOM
      ['noBom', Buffer.concat([hex('7b 0a'), Buffer.from('noBom', 'utf16le').swap16()])], // no BOM: big-endian
      ['你好', hex('7e 04 c4 e3 ba c3')], // BC_STR_GB18030
    ];
    for (const [expected, encoded] of cases) {
      const records = [s('2.0.2'), encoded, s('0.0.0'), s('m'), s(''), jsonb.object([])];
      const body = Buffer.concat(records.map((r) => jsonb.record(r)));
      assert.equal(peekFastjson2Request(body).service, expected);
    }
  });

  it('skips complex attachment values and keeps reading', () => {
    const body = fastjson2RequestBody({
      service: 'S', method: 'm', desc: '', args: [],
      attachments: jsonb.object([
        [s('nested'), jsonb.object([[s('a'), jsonb.array([jsonb.int(1), s('x'), jsonb.object([])])]])],
        [s('list'), Buffer.concat([hex('a4'), jsonb.int(2), s('a'), s('b')])], // BC_ARRAY with a length
        [s('typed'), Buffer.concat([hex('92'), s('com.example.Ctx'), jsonb.int(1), jsonb.object([[s('k'), s('v')]])])],
        [s('date'), hex('ab 00 00 01 8b cf e5 68 7b')], // BC_TIMESTAMP_MILLIS
        [s('bytes'), Buffer.concat([hex('91'), jsonb.int(3), hex('01 02 03')])],
        [s('ref'), Buffer.concat([hex('93'), s('$.nested')])],
        [s('target-application'), s('user-rpc')],
      ]),
    });
    const meta = peekFastjson2Request(body);
    assert.equal(meta.attachmentsRead, true);
    assert.deepEqual(Object.fromEntries(meta.attachments), {'target-application': 'user-rpc'});
  });

  it('reads a typed map (BC_TYPED_ANY name symbol) as the attachments', () => {
    const body = fastjson2RequestBody({
      service: 'S', method: 'm', desc: '', args: [],
      attachments: Buffer.concat([hex('92'), s('java.util.TreeMap'), jsonb.int(0), jsonb.object([[s('k'), s('v')]])]),
    });
    assert.deepEqual(Object.fromEntries(peekFastjson2Request(body).attachments), {k: 'v'});
  });

  it('gives attachmentsRead=false for what it does not understand, keeping service and method', () => {
    const notUnderstood: [string, Buffer][] = [
      ['a symbol-table key', jsonb.object([[hex('7f 01'), s('v')]])],
      ['a timestamp with time zone', jsonb.object([[s('k'), hex('aa 00 00 00 00 00 00 00 00')]])],
      ['an array, not a map', jsonb.array([s('k')])],
      ['a map cut short', hex('a6 4a 6b')],
      ['a length past the record', Buffer.concat([hex('a6'), s('k'), hex('79 48 7f ff ff ff')])],
      ['a non-string key', jsonb.object([[jsonb.int(1), s('v')]])],
    ];
    for (const [name, attachments] of notUnderstood) {
      const meta = peekFastjson2Request(fastjson2RequestBody({service: 'com.example.S', method: 'run', desc: 'I', args: [jsonb.int(1)], attachments}));
      assert.equal(meta.attachmentsRead, false, name);
      assert.equal(meta.attachments.size, 0, name);
      assert.equal(meta.service, 'com.example.S', name);
      assert.equal(meta.method, 'run', name);
    }
  });

  it('never reads a string past the end of its record into the next one', () => {
    // Record 2 claims 10 latin-1 bytes (BC_STR_ASCII, length 10) but holds 3; record 3 follows.
    const records = [s('2.0.2'), Buffer.concat([hex('79 0a'), Buffer.from('abc')]), s('0.0.0'), s('m'), s(''), jsonb.object([])];
    const meta = peekFastjson2Request(Buffer.concat(records.map((r) => jsonb.record(r))));
    assert.equal(meta.service, '');
    assert.equal(meta.method, 'm');
  });

  it('an absent attachments record or a null one is an empty map', () => {
    const absent = peekFastjson2Request(fastjson2RequestBody({service: 'S', method: 'm', desc: 'I', args: [jsonb.int(1)]}));
    assert.equal(absent.attachmentsRead, true);
    assert.equal(absent.attachments.size, 0);
    const nul = peekFastjson2Request(fastjson2RequestBody({service: 'S', method: 'm', desc: 'I', args: [jsonb.int(1)], attachments: jsonb.null}));
    assert.equal(nul.attachmentsRead, true);
    assert.equal(nul.attachments.size, 0);
  });

  it('without a readable descriptor takes the last record as the attachments', () => {
    const records = [s('2.0.2'), s('S'), s('0.0.0'), s('m'), hex('7f 05'), jsonb.int(1), jsonb.int(2), jsonb.object([[s('k'), s('v')]])];
    const meta = peekFastjson2Request(Buffer.concat(records.map((r) => jsonb.record(r))));
    assert.equal(meta.parameterTypes, '');
    assert.equal(meta.argumentCount, 2);
    assert.deepEqual(Object.fromEntries(meta.attachments), {k: 'v'});
  });

  it('rejects broken record framing and missing arguments with DT_ERR_BAD_BODY', () => {
    const good = fastjson2RequestBody({service: 'S', method: 'm', desc: 'II', args: [jsonb.int(1), jsonb.int(2)], attachments: jsonb.object([])});
    const bad: [string, Buffer, RegExp][] = [
      ['trailing bytes', Buffer.concat([good, hex('00 00 00')]), /record 9 length field ends past the body/],
      ['record past the end', good.subarray(0, good.length - 1), /record 8 ends past the body/],
      ['negative length', Buffer.concat([good, hex('ff ff ff ff')]), /record 9 has length -1/],
      ['too few records', Buffer.concat([s('2.0.2'), s('S')].map((r) => jsonb.record(r))), /2 record\(s\), a request has at least 5/],
      ['missing arguments', fastjson2RequestBody({service: 'S', method: 'm', desc: 'III', args: [jsonb.int(1)]}), /1 argument record\(s\) for 3 parameter\(s\)/],
      ['bad descriptor', fastjson2RequestBody({service: 'S', method: 'm', desc: 'Lfoo', args: []}), /descriptor/],
    ];
    for (const [name, body, message] of bad) {
      assert.throws(() => peekFastjson2Request(body), (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_BAD_BODY' && message.test(e.message), name);
    }
  });
});
