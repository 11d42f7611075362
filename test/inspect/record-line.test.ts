// The recording line format: one CallRecord per JSON line with "v": 1, and errors that name the line.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {DubboTunnelError} from '../../src/core/errors.js';
import type {CallRecord} from '../../src/inspect/call-record.js';
import {parseRecordLine, toRecordLine} from '../../src/inspect/record-line.js';

const dubboRecord: CallRecord = {
  seq: 7,
  at: '2026-12-07T20:00:00.000Z',
  protocol: 'dubbo',
  origin: 'consumer',
  connectionId: 3,
  application: 'orders-app',
  service: 'com.example.OrderService',
  group: 'blue',
  version: '1.0.0',
  method: 'createOrder',
  parameterTypes: ['com.example.Order', 'long'],
  arguments: [{$class: 'com.example.Order', id: '9223372036854775807', created: {$class: 'java.util.Date', $: '2023-11-14T22:13:20.000Z'}}, 42],
  attachments: {'target-application': 'orders-app', token: '<redacted>', timeout: 3000},
  status: 'OK',
  ok: true,
  latencyMs: 12.5,
  requestBytes: 575,
  answerBytes: 355,
  answer: {kind: 'exception', className: 'java.lang.IllegalStateException', message: 'order 42 not found', attachments: {dubbo: '2.0.2'}},
  truncated: true,
};

const tripleRecord: CallRecord = {
  seq: 8,
  at: '2026-12-07T20:00:01.000Z',
  protocol: 'triple',
  origin: 'http',
  connectionId: 4,
  application: undefined,
  service: 'com.example.UserService',
  method: 'getUser',
  parameterTypes: [],
  arguments: undefined,
  attachments: {'content-type': 'application/grpc+proto'},
  status: 'grpc UNIMPLEMENTED',
  ok: false,
  latencyMs: 1,
  requestBytes: 12,
  answerBytes: 0,
  answer: {kind: 'error', message: 'no route', code: 'DT_ERR_NO_ROUTE'},
  triple: {
    path: '/com.example.UserService/getUser',
    requestHeaders: {'content-type': 'application/grpc+proto'},
    responseHeaders: undefined,
    trailers: {'grpc-status': '12'},
    grpcStatus: 12,
    grpcMessage: 'no route',
  },
  undecodedRequest: {reason: 'protobuf without a schema (not Triple wrapper mode)', hexHead: '0a 03 75 2d 31'},
};

describe('record lines', () => {
  test('a record survives the line and back, version first, one line', () => {
    for (const record of [dubboRecord, tripleRecord]) {
      const line = toRecordLine(record);
      assert.ok(line.startsWith('{"v":1,'), line.slice(0, 20));
      assert.ok(!line.includes('\n'));
      assert.deepEqual(parseRecordLine(line, 'calls.jsonl:1'), record);
    }
  });

  test('undecoded and value answers come back; a missing value is null', () => {
    const undecoded: CallRecord = {...dubboRecord, answer: {kind: 'undecoded', reason: 'kryo', hexHead: 'da bb'}, truncated: undefined};
    const {truncated: _t, ...withoutTruncated} = undecoded;
    assert.deepEqual(parseRecordLine(toRecordLine(undecoded), 'x:1'), withoutTruncated);
    const value: CallRecord = {...dubboRecord, answer: {kind: 'value', value: null}};
    assert.deepEqual(parseRecordLine(toRecordLine(value), 'x:1').answer, {kind: 'value', value: null});
  });

  test('a bigint that reaches a record is written as its decimal text', () => {
    const line = toRecordLine({...dubboRecord, arguments: [2n ** 63n - 1n]});
    assert.deepEqual(parseRecordLine(line, 'x:1').arguments, ['9223372036854775807']);
  });

  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"v":1,', /^calls\.jsonl:12: not a call record: not JSON/],
    ['an array', '[1]', /calls\.jsonl:12: not a call record: the line is not a JSON object/],
    ['no version', JSON.stringify({...JSON.parse(toRecordLine(dubboRecord)) as object, v: undefined}), /"v" must be the format version 1/],
    ['a missing field', toRecordLine(dubboRecord).replace('"seq":7,', ''), /"seq" is missing/],
    ['a wrong type', toRecordLine(dubboRecord).replace('"ok":true', '"ok":"yes"'), /"ok" must be true or false, got "yes"/],
    ['an unknown answer kind', toRecordLine(dubboRecord).replace('"kind":"exception"', '"kind":"maybe"'), /"answer\.kind" must be one of value, exception, error, undecoded/],
    ['an unknown error code', toRecordLine(tripleRecord).replace('DT_ERR_NO_ROUTE', 'DT_ERR_NOPE'), /"answer\.code" "DT_ERR_NOPE" is not an error code/],
    ['a bad header', toRecordLine(tripleRecord).replace('"trailers":{"grpc-status":"12"}', '"trailers":{"grpc-status":12}'), /"triple\.trailers" must be an object of strings/],
  ];
  for (const [what, line, message] of cases) {
    test(`${what}: DT_ERR_RECORD_LINE naming the line`, () => {
      assert.throws(() => parseRecordLine(line, 'calls.jsonl:12'), (error: unknown) => {
        assert.ok(error instanceof DubboTunnelError);
        assert.equal(error.code, 'DT_ERR_RECORD_LINE');
        assert.match(error.message, message);
        assert.match(error.message, /^calls\.jsonl:12: /);
        return true;
      });
    });
  }

  test('another format version: DT_ERR_RECORD_VERSION', () => {
    const line = toRecordLine(dubboRecord).replace('{"v":1,', '{"v":2,');
    assert.throws(() => parseRecordLine(line, 'calls.jsonl:3'), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_RECORD_VERSION');
      assert.match(error.message, /calls\.jsonl:3: the record is format v2; this dubbo-tunnel reads v1/);
      return true;
    });
  });
});
