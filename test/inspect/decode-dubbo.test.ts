// decodeCall on Dubbo requests and answers written by real Java Hessian (test/fixtures/java-hessian),
// each body wrapped in a 16-byte header: exact records, cut captures, other serializations, errors.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {describe, test} from 'node:test';
import {decodeCall} from '../../src/inspect/decode-call.js';
import type {CallRecord} from '../../src/inspect/call-record.js';
import {Redaction} from '../../src/inspect/redaction.js';
import {SERIALIZATION, STATUS} from '../../src/protocol/header.js';
import hessian from 'hessian.js';
import {AT, JAVA_FIXTURES, dubboCall, fixtureBody} from './captured.js';
import {EXPECTED_ARGUMENTS, alice, bob, order} from './java-expected.js';
import {fastjson2RequestBody, jsonb} from '../protocol/fixtures.js';

const redaction = new Redaction();

interface RequestEntry {
  file: string;
  kind: 'request';
  service: string;
  serviceVersion: string;
  method: string;
  attachments: Record<string, unknown>;
  argumentCount: number;
}
const manifest = JSON.parse(readFileSync(resolve(JAVA_FIXTURES, 'manifest.json'), 'utf8')) as {bodies: ({kind: string} & Partial<RequestEntry>)[]};
const requests = manifest.bodies.filter((body): body is RequestEntry => body.kind === 'request');

describe('decodeCall: Dubbo requests written by Java', () => {
  test('every request fixture has its expectation', () => {
    assert.deepEqual(requests.map((entry) => entry.file).sort(), Object.keys(EXPECTED_ARGUMENTS).sort());
  });

  for (const entry of requests) {
    test(`${entry.file}: service, method, types, arguments, attachments`, () => {
      const expected = EXPECTED_ARGUMENTS[entry.file];
      assert.ok(expected);
      const record = decodeCall(dubboCall(fixtureBody(entry.file), fixtureBody('resp-null-attachments.bin')), 3, redaction);
      assert.equal(record.service, entry.service);
      assert.equal(record.method, entry.method);
      assert.equal(record.version, entry.serviceVersion);
      assert.deepEqual(record.parameterTypes, expected.types);
      assert.equal(record.arguments?.length, entry.argumentCount);
      assert.deepEqual(record.arguments, expected.args);
      assert.deepEqual(record.attachments, entry.attachments);
      assert.equal(record.undecodedRequest, undefined);
      assert.equal(record.truncated, undefined);
      assert.deepEqual(record.answer, {kind: 'value', value: null, attachments: {dubbo: '2.0.2'}});
    });
  }

  test('the whole record of one call', () => {
    const record = decodeCall(dubboCall(fixtureBody('req-pojo-shared-refs.bin'), fixtureBody('resp-value-attachments.bin'), {
      completed: {connectionId: 9, latencyMs: 12, application: 'orders-app'},
    }), 17, redaction);
    const expected: CallRecord = {
      seq: 17,
      at: new Date(AT).toISOString(),
      protocol: 'dubbo',
      origin: 'consumer',
      connectionId: 9,
      application: 'orders-app',
      status: 'OK',
      ok: true,
      latencyMs: 12,
      requestBytes: 16 + 575,
      answerBytes: 16 + 339,
      service: 'com.example.OrderService',
      version: '1.0.0',
      method: 'createOrder',
      parameterTypes: ['com.example.Order', 'com.example.Customer'],
      arguments: [order, alice],
      attachments: {
        'path': 'com.example.OrderService', 'remote.application': 'java-consumer', 'target-application': 'orders-app',
        'interface': 'com.example.OrderService', 'version': '1.0.0', 'timeout': '3000',
      },
      answer: {kind: 'value', value: order, attachments: {dubbo: '2.0.2'}},
    };
    assert.deepEqual(record, expected);
  });

  test('the group comes from the attachments; a null group is none', () => {
    const nulls = decodeCall(dubboCall(fixtureBody('req-nulls.bin'), undefined), 1, redaction);
    assert.equal(nulls.group, undefined);
    assert.equal(nulls.attachments['group'], null);
    assert.equal(nulls.answer, undefined, 'a one-way request has no answer');
    const encoder = new hessian.EncoderV2();
    for (const field of ['2.0.2', 'com.example.UserService', '2.0.0', 'getUser', 'Ljava/lang/String;', 'u-1']) encoder.write(field);
    encoder.write({group: 'blue', token: 's3cr3t', 'X-Auth-Token': 'abc', path: 'com.example.UserService'});
    const record = decodeCall(dubboCall(encoder.get(), undefined), 1, new Redaction(['path']));
    assert.equal(record.group, 'blue');
    assert.equal(record.version, '2.0.0');
    assert.deepEqual(record.arguments, ['u-1']);
    assert.deepEqual(record.attachments, {group: 'blue', token: '<redacted>', 'X-Auth-Token': '<redacted>', path: '<redacted>'});
  });
});

describe('decodeCall: Dubbo answers written by Java', () => {
  const request = fixtureBody('req-nulls.bin');

  test('flag 1, a value without attachments', () => {
    const record = decodeCall(dubboCall(request, fixtureBody('resp-value-plain.bin')), 1, redaction);
    assert.deepEqual(record.answer, {kind: 'value', value: [alice, bob]});
  });

  test('flag 4 and 5: a value or null with attachments', () => {
    assert.deepEqual(decodeCall(dubboCall(request, fixtureBody('resp-value-attachments.bin')), 1, redaction).answer, {kind: 'value', value: order, attachments: {dubbo: '2.0.2'}});
    assert.deepEqual(decodeCall(dubboCall(request, fixtureBody('resp-null-attachments.bin')), 1, redaction).answer, {kind: 'value', value: null, attachments: {dubbo: '2.0.2'}});
  });

  test('flag 3: the Java exception, its class and message (its cause is itself)', () => {
    const record = decodeCall(dubboCall(request, fixtureBody('resp-exception-attachments.bin'), {completed: {ok: false, statusName: 'EXCEPTION'}}), 1, redaction);
    assert.deepEqual(record.answer, {kind: 'exception', className: 'java.lang.IllegalStateException', message: 'order 42 not found', attachments: {dubbo: '2.0.2'}});
    assert.equal(record.status, 'EXCEPTION');
    assert.equal(record.ok, false);
  });

  test('a flag-0 exception without attachments, and a value with a redacted answer attachment', () => {
    const exception = new hessian.EncoderV2();
    exception.write(0x90 - 0x90); // flag 0 (Hessian int 0)
    exception.write({$class: 'java.lang.RuntimeException', $: {detailMessage: 'boom', cause: null}});
    assert.deepEqual(decodeCall(dubboCall(request, exception.get()), 1, redaction).answer, {kind: 'exception', className: 'java.lang.RuntimeException', message: 'boom'});
    const value = new hessian.EncoderV2();
    value.write(4);
    value.write({$class: 'long', $: '9007199254740993'});
    value.write({'Set-Cookie': 'a=b', trace: 't-1'});
    assert.deepEqual(decodeCall(dubboCall(request, value.get()), 1, redaction).answer, {kind: 'value', value: '9007199254740993', attachments: {'Set-Cookie': '<redacted>', trace: 't-1'}});
  });

  test('a non-OK status: the error text and, when dubbo-tunnel answered, its code', () => {
    const text = new hessian.EncoderV2().write('no provider for com.example.UserService').get();
    const ownAnswer = decodeCall(dubboCall(request, text, {
      status: STATUS.SERVICE_NOT_FOUND,
      completed: {ok: false, status: 60, statusName: 'SERVICE_NOT_FOUND', code: 'DT_ERR_NO_ROUTE', error: 'no route to com.example.UserService', application: undefined},
    }), 1, redaction);
    assert.deepEqual(ownAnswer.answer, {kind: 'error', message: 'no route to com.example.UserService', code: 'DT_ERR_NO_ROUTE'});
    assert.equal(ownAnswer.application, undefined);
    const provider = decodeCall(dubboCall(request, text, {status: STATUS.SERVICE_ERROR, completed: {ok: false, status: 70, statusName: 'SERVICE_ERROR'}}), 1, redaction);
    assert.deepEqual(provider.answer, {kind: 'error', message: 'no provider for com.example.UserService'});
    const empty = decodeCall(dubboCall(request, Buffer.alloc(0), {status: STATUS.SERVER_TIMEOUT, completed: {ok: false, status: 31, statusName: 'SERVER_TIMEOUT'}}), 1, redaction);
    assert.deepEqual(empty.answer, {kind: 'error', message: 'SERVER_TIMEOUT (31)'});
  });

  test('an unknown response flag is undecoded with the reason and a hex head', () => {
    const body = new hessian.EncoderV2().write(9).get();
    assert.deepEqual(decodeCall(dubboCall(request, body), 1, redaction).answer, {kind: 'undecoded', reason: 'unknown response flag 9 (DubboCodec knows 0-5)', hexHead: '99'});
  });
});

describe('decodeCall: cut captures and other serializations', () => {
  test('a request cut at the bound keeps its whole leading fields and arguments, and says truncated', () => {
    const body = fixtureBody('req-pojo-shared-refs.bin');
    // valueEnds: the descriptor ends at 92, argument 1 at 416, argument 2 at 418.
    for (const [kept, args] of [[16 + 100, []], [16 + 417, [order]], [16 + 430, [order, alice]]] as const) {
      const record = decodeCall(dubboCall(body, fixtureBody('resp-value-attachments.bin'), {limit: kept}), 1, redaction);
      assert.equal(record.truncated, true, `${kept}`);
      assert.equal(record.service, 'com.example.OrderService');
      assert.equal(record.method, 'createOrder');
      assert.deepEqual(record.parameterTypes, ['com.example.Order', 'com.example.Customer']);
      assert.deepEqual(record.arguments, args, `${kept}`);
      assert.deepEqual(record.attachments, {});
      assert.equal(record.requestBytes, 16 + body.length, 'the size the request really had');
      assert.equal(record.undecodedRequest, undefined);
      if (kept < 16 + 339) {
        assert.deepEqual(record.answer, {kind: 'undecoded', reason: `cut at the capture bound (${kept} of 355 bytes kept)`, hexHead: record.answer?.kind === 'undecoded' ? record.answer.hexHead : ''});
        assert.equal(record.answer.hexHead, fixtureBody('resp-value-attachments.bin').subarray(0, 32).toString('hex').replace(/(..)(?!$)/g, '$1 '));
      } else {
        assert.deepEqual(record.answer, {kind: 'value', value: order, attachments: {dubbo: '2.0.2'}});
      }
    }
  });

  test('a 100 KiB byte[] request cut at 64 KiB: the leading fields, no arguments, never a throw', () => {
    const record = decodeCall(dubboCall(fixtureBody('req-bytes-100k.bin'), undefined, {limit: 64 * 1024}), 1, redaction);
    assert.equal(record.truncated, true);
    assert.equal(record.method, 'upload');
    assert.deepEqual(record.parameterTypes, ['byte[]']);
    assert.deepEqual(record.arguments, []);
  });

  test('every cut of every request: never a throw, and only whole values (each one right)', () => {
    for (const [file, expected] of Object.entries(EXPECTED_ARGUMENTS)) {
      const body = fixtureBody(file);
      // hessian.js may return a shorter string or NaN for a value cut short instead of throwing.
      const step = body.length > 10_000 ? 997 : 1;
      for (let kept = 0; kept < body.length + 16; kept += step) {
        const record = decodeCall(dubboCall(body, fixtureBody('resp-exception-attachments.bin'), {limit: kept}), 1, redaction);
        const where = `${file} cut at ${kept}`;
        assert.equal(record.truncated, true, where);
        assert.equal(record.undecodedRequest?.reason, kept < 16 ? 'the request is shorter than a Dubbo header' : undefined, where);
        assert.ok(record.service === undefined || record.service.startsWith('com.example.') && record.service.endsWith('Service'), where);
        const args = record.arguments ?? [];
        assert.deepEqual(args, expected.args.slice(0, args.length), where);
        if (args.length > 0) assert.deepEqual(record.parameterTypes, expected.types, where);
      }
    }
  });

  test('a broken hessian2 body is undecoded with the reason and its first bytes', () => {
    const body = Buffer.from([0x05, 0x32, 0x2e, 0x30, 0x2e, 0x32, 0xff, 0xff, 0xff]);
    const record = decodeCall(dubboCall(body, undefined), 1, redaction);
    assert.equal(record.truncated, undefined);
    assert.equal(record.arguments, undefined);
    assert.match(record.undecodedRequest?.reason ?? '', /^cannot decode the hessian2 request: /);
    assert.equal(record.undecodedRequest?.hexHead, '05 32 2e 30 2e 32 ff ff ff');
  });

  test('another serialization: no arguments, the answer undecoded with the reason and a hex head', () => {
    const kryoBody = Buffer.from('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021', 'hex');
    const record = decodeCall(dubboCall(kryoBody, kryoBody, {serializationId: SERIALIZATION.KRYO}), 1, redaction);
    assert.equal(record.arguments, undefined);
    assert.equal(record.undecodedRequest?.reason, 'the arguments are serialized with kryo; only hessian2 is decoded');
    assert.deepEqual(record.answer, {
      kind: 'undecoded', reason: 'the answer is serialized with kryo; only hessian2 is decoded',
      hexHead: '01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20',
    });
  });

  test('fastjson2: the router\'s peek still names service, method and attachments', () => {
    const body = fastjson2RequestBody({
      service: 'com.example.UserService', method: 'getUser', desc: 'Ljava/lang/String;', version: '2.0.0',
      args: [jsonb.string('u-1')],
      attachments: jsonb.object([[jsonb.string('token'), jsonb.string('t')], [jsonb.string('group'), jsonb.string('blue')], [jsonb.string('timeout'), jsonb.int(3000)]]),
    });
    const record = decodeCall(dubboCall(body, undefined, {serializationId: SERIALIZATION.FASTJSON2}), 1, redaction);
    assert.equal(record.arguments, undefined);
    assert.equal(record.undecodedRequest?.reason, 'the arguments are serialized with fastjson2; only hessian2 is decoded');
    assert.equal(record.service, 'com.example.UserService');
    assert.equal(record.method, 'getUser');
    assert.equal(record.version, '2.0.0');
    assert.equal(record.group, 'blue');
    assert.deepEqual(record.parameterTypes, ['java.lang.String']);
    assert.deepEqual(record.attachments, {token: '<redacted>', group: 'blue', timeout: 3000});
  });

  test('a capture shorter than a header', () => {
    const record = decodeCall({...dubboCall(Buffer.alloc(0), undefined), request: {bytes: Buffer.from([0xda, 0xbb]), length: 2}}, 1, redaction);
    assert.deepEqual(record.undecodedRequest, {reason: 'the request is shorter than a Dubbo header', hexHead: 'da bb'});
  });
});
