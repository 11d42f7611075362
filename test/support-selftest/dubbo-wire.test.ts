// Self-tests of the independent wire helpers: exact bytes where Dubbo's ExchangeCodec and DubboCodec
// fix them, and hessian-lite's shapes for the Java helper values.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRequest, decodeResponse, encodeHeartbeatRequest, encodeHeartbeatResponse, encodeReadonlyEvent, encodeRequest,
  encodeRequestBody, encodeResponse, isSupportResponseAttachment, java, parseFrame, splitDescriptor, WireReader,
} from '../support/dubbo-wire.js';

const hex = (b: Buffer): string => b.toString('hex');

void test('event frames match the documented bytes', () => {
  assert.equal(hex(encodeHeartbeatRequest(7n)), 'dabbe200' + '0000000000000007' + '00000001' + '4e');
  assert.equal(hex(encodeHeartbeatResponse(7n)), 'dabb2214' + '0000000000000007' + '00000001' + '4e');
  assert.equal(hex(encodeReadonlyEvent(7n)), 'dabba200' + '0000000000000007' + '00000002' + '0152');
  assert.equal(hex(encodeReadonlyEvent(7n, 'W')), 'dabba200' + '0000000000000007' + '00000002' + '0157');
});

void test('error response: status, copied id, body = one hessian string, as DubboCodec writes it', () => {
  const frame = encodeResponse({id: 7n, status: 80, errorMessage: 'no route'});
  assert.equal(hex(frame), 'dabb0250' + '0000000000000007' + '00000009' + '086e6f20726f757465');
  const decoded = decodeResponse(parseFrame(frame));
  assert.equal(decoded.kind, 'error');
  assert.equal(decoded.kind === 'error' && decoded.message, 'no route');
  const long = 'dubbo-tunnel: no route for target-application=user-rpc';
  assert.equal(hex(encodeResponse({id: 7n, status: 70, errorMessage: long}).subarray(0, 18)), 'dabb0246' + '0000000000000007' + '00000038' + '3036');
});

void test('response flags are hessian ints 0x90+n', () => {
  const body = (f: Buffer): number | undefined => f[16];
  assert.equal(body(encodeResponse({id: 1n, result: {kind: 'value', value: 'x'}})), 0x91);
  assert.equal(body(encodeResponse({id: 1n, result: {kind: 'null'}})), 0x92);
  assert.equal(body(encodeResponse({id: 1n, result: {kind: 'exception', exception: java.exception('java.lang.RuntimeException', 'boom')}})), 0x90);
  assert.equal(body(encodeResponse({id: 1n, result: {kind: 'exception', exception: null}, attachments: {}})), 0x93);
  assert.equal(body(encodeResponse({id: 1n, result: {kind: 'value', value: 1}, attachments: {}})), 0x94);
  // A void method answering a 3.x consumer: 95 48 05 'dubbo' 05 '2.0.2' 5A (DubboCodec.encodeResponseData).
  const voidReply = encodeResponse({id: 1n, result: {kind: 'null'}, attachments: {dubbo: '2.0.2'}});
  assert.equal(hex(voidReply.subarray(16)), '9548' + '05' + hex(Buffer.from('dubbo')) + '05' + hex(Buffer.from('2.0.2')) + '5a');
  assert.equal(voidReply[2], 0x02);
  assert.equal(voidReply[3], 20);
});

void test('request frame: flags, status 0, id, length, body starting with "2.0.2"', () => {
  const spec = {
    id: -5n, service: 'com.foo.UserService', method: 'get', parameterTypes: 'Ljava/lang/String;I', args: ['a', 1],
    attachments: {'target-application': 'user-rpc', path: 'com.foo.UserService'},
  };
  const frame = encodeRequest(spec);
  assert.equal(frame[2], 0xc2);
  assert.equal(frame[3], 0);
  assert.equal(frame.readBigInt64BE(4), -5n);
  assert.equal(frame.readInt32BE(12), frame.length - 16);
  assert.equal(hex(frame.subarray(16, 22)), '05322e302e32');
  assert.equal(encodeRequest({...spec, twoWay: false})[2], 0x82);
  assert.equal(encodeRequest({...spec, serializationId: 23})[2], 0xc0 | 23);
  const decoded = decodeRequest(parseFrame(frame));
  assert.equal(decoded.dubboVersion, '2.0.2');
  assert.equal(decoded.service, 'com.foo.UserService');
  assert.equal(decoded.version, '0.0.0');
  assert.equal(decoded.method, 'get');
  assert.deepEqual(decoded.args, ['a', 1]);
  assert.deepEqual(decoded.attachments, spec.attachments);
  // Attachments are an untyped 'H' map at the end of the body, like a Java HashMap.
  const body = encodeRequestBody(spec);
  assert.equal(body.at(-1), 0x5a);
  const hIndex = body.lastIndexOf(0x48, body.length - 1 - Buffer.byteLength('target-application') - 10);
  assert.ok(hIndex > 0);
});

void test('one encoder per body: a repeated class is a class ref (0x60), and decodes back', () => {
  const a = java.pojo('com.foo.Bar', {x: 1});
  const b = java.pojo('com.foo.Bar', {x: 2});
  const body = encodeRequestBody({service: 's', method: 'm', parameterTypes: 'Lcom/foo/Bar;Lcom/foo/Bar;', args: [a, b], attachments: {}});
  const cls = Buffer.from('com.foo.Bar');
  assert.equal(body.indexOf(0x43), body.indexOf(cls) - 2); // 'C' 0x0b "com.foo.Bar" once
  assert.equal(body.indexOf(cls, body.indexOf(cls) + 1), -1);
  const frame = parseFrame(encodeRequest({id: 1n, service: 's', method: 'm', parameterTypes: 'Lcom/foo/Bar;Lcom/foo/Bar;', args: [a, b], attachments: {k: 'v'}}));
  const decoded = decodeRequest(frame);
  assert.deepEqual(decoded.args, [{x: 1}, {x: 2}]);
  assert.deepEqual(decoded.attachments, {k: 'v'});
  const typed = decodeRequest(frame, {withType: true});
  assert.deepEqual(typed.args[1], {$class: 'com.foo.Bar', $: {x: 2}});
});

void test('java helpers produce hessian-lite shapes', () => {
  const enc = (v: unknown): string => hex(encodeRequestBody({service: '', version: '', dubboVersion: '', method: '', parameterTypes: 'Ljava/lang/Object;', args: [v], attachments: {}}).subarray(4 + 19, -2)); // 4 empty strings + the descriptor
  // ArrayList: untyped compact list 0x78+n; other classes and arrays: typed 0x70+n.
  assert.equal(enc(java.typedList('java.util.ArrayList', [1, 2])), '7a9192');
  assert.equal(enc(java.typedList('[int', [1, 2])), '72045b696e749192');
  assert.match(enc(java.typedList('java.util.LinkedList', [1])), /^71146a6176612e7574696c2e4c696e6b65644c69737491$/);
  // HashMap: 'H'; another map class: 'M' <type> ... 'Z'.
  assert.equal(enc(java.typedMap('java.util.HashMap', {a: 1})), '480161915a');
  assert.equal(enc(java.typedMap('java.util.TreeMap', {a: 1})), '4d116a6176612e7574696c2e547265654d61700161915a');
  assert.equal(enc(java.typedMap('com.foo.MyMap', {a: 1})), '4d0d636f6d2e666f6f2e4d794d61700161915a');
  // Enum: object with one field "name"; BigDecimal: object with one field "value".
  assert.equal(enc(java.enumValue('com.foo.Color', 'RED')), '430d636f6d2e666f6f2e436f6c6f729104' + '6e616d65' + '60' + '03524544');
  assert.equal(enc(java.bigDecimal('1.5')), '43146a6176612e6d6174682e426967446563696d616c91' + '0576616c7565' + '60' + '03312e35');
  // Dates: 0x4B on a whole minute, 0x4A otherwise.
  assert.equal(enc(java.date(60000)), '4b00000001');
  assert.equal(enc(java.date(60001)), '4a000000000000ea61');
  // Longs: small ones still as a long (0xd8..0xef), big ones exact.
  assert.equal(enc(java.long(5)), 'e5');
  assert.equal(enc(java.long('9007199254740993')), '4c0020000000000001');
  // Non-BMP characters as CESU-8 surrogate pairs, length in UTF-16 units.
  assert.equal(enc('a\u{1F600}'), '0361eda0bdedb880');
  // Long strings and binaries are chunked.
  assert.equal(enc(java.longString(40000)).slice(0, 6), '528000');
  assert.equal(java.bytes(3).length, 3);
  // Throwable: contains a back-reference 'Q' to itself (cause = this).
  assert.ok(enc(java.exception('java.lang.RuntimeException', 'boom')).includes('5190'));
});

void test('exception responses decode, including the self reference', () => {
  const frame = parseFrame(encodeResponse({id: 3n, result: {kind: 'exception', exception: java.exception('java.lang.IllegalStateException', 'boom')}, attachments: {dubbo: '2.0.2'}}));
  const decoded = decodeResponse(frame);
  assert.equal(decoded.kind, 'exception');
  if (decoded.kind !== 'exception') return;
  // hessian.js turns a decoded Throwable into a JS Error carrying detailMessage as its message.
  assert.ok(decoded.exception instanceof Error);
  assert.equal(decoded.exception.message, 'boom');
  assert.deepEqual(decoded.attachments, {dubbo: '2.0.2'});
});

void test('WireReader cuts frames across arbitrary chunk boundaries and rejects bad magic', () => {
  const frames = Buffer.concat([
    encodeHeartbeatRequest(1n),
    encodeRequest({id: 2n, service: 's', method: 'm', parameterTypes: '', args: [], attachments: {}}),
    encodeResponse({id: 3n, result: {kind: 'value', value: java.longString(5000)}}),
  ]);
  for (const step of [1, 7, 16, 17, 1000]) {
    const reader = new WireReader();
    const out = [];
    for (let i = 0; i < frames.length; i += step) out.push(...reader.push(frames.subarray(i, i + step)));
    assert.deepEqual(out.map((f) => f.id), [1n, 2n, 3n]);
    assert.equal(reader.buffered, 0);
    assert.ok(out[0]?.event && out[0].twoWay && out[0].isRequest);
  }
  assert.throws(() => new WireReader().push(Buffer.from('ls\r\n')), /bad magic/);
});

void test('descriptor splitting and response-attachment versions', () => {
  assert.deepEqual(splitDescriptor(''), []);
  assert.deepEqual(splitDescriptor('Ljava/lang/String;I[Lcom/foo/Bar;[[J'), ['Ljava/lang/String;', 'I', '[Lcom/foo/Bar;', '[[J']);
  assert.equal(isSupportResponseAttachment('2.0.2'), true);
  assert.equal(isSupportResponseAttachment('2.0.99'), true);
  assert.equal(isSupportResponseAttachment('2.0.0'), false);
  assert.equal(isSupportResponseAttachment('2.5.10'), false);
});
