// decodeCall on Triple streams: wrapper mode with hessian2, JSON, protobuf without a schema, gRPC
// statuses from trailers, and headers as redacted attachments.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import hessian from 'hessian.js';
import {decodeCall} from '../../src/inspect/decode-call.js';
import {Redaction} from '../../src/inspect/redaction.js';
import {lengthDelimitedField} from '../../src/protocol/protobuf-wire.js';
import {encodeTripleRequestWrapper} from '../../src/protocol/triple-wrapper.js';
import {grpcMessages, tripleCall} from './captured.js';

const redaction = new Redaction();

function hessianOf(value: unknown): Buffer {
  return new hessian.EncoderV2().write(value).get();
}

const wrapperRequest = grpcMessages(encodeTripleRequestWrapper({
  serializeType: 'hessian4',
  args: [hessianOf('u-1'), hessianOf({$class: 'com.example.Query', $: {limit: 10, since: new Date(Date.UTC(2024, 0, 1))}})],
  argTypes: ['java.lang.String', 'com.example.Query'],
}));

function wrapperAnswer(value: unknown): Buffer {
  return grpcMessages(Buffer.concat([
    lengthDelimitedField(1, 'hessian4'),
    ...(value === undefined ? [] : [lengthDelimitedField(2, hessianOf(value))]),
    lengthDelimitedField(3, 'com.example.User'),
  ]));
}

describe('decodeCall: Triple', () => {
  test('wrapper mode with hessian2: arguments with their Java types, the value, headers and trailers', () => {
    const record = decodeCall(tripleCall({
      requestHeaders: {
        ':path': '/com.example.UserService/getUser', ':method': 'POST', 'content-type': 'application/grpc+proto',
        'authorization': 'Bearer abc', 'tri-service-group': 'blue', 'tri-service-version': '1.0.0', 'target-application': 'users-app',
      },
      request: wrapperRequest,
      responseHeaders: {':status': '200', 'content-type': 'application/grpc+proto', 'set-cookie': 'sid=1', 'x-served-by': 'pod-1'},
      answer: wrapperAnswer({$class: 'com.example.User', $: {id: 'u-1', name: 'Ann'}}),
      trailers: {'grpc-status': '0'},
    }), 4, redaction);
    assert.equal(record.protocol, 'triple');
    assert.equal(record.service, 'com.example.UserService');
    assert.equal(record.method, 'getUser');
    assert.equal(record.group, 'blue');
    assert.equal(record.version, '1.0.0');
    assert.deepEqual(record.parameterTypes, ['java.lang.String', 'com.example.Query']);
    assert.deepEqual(record.arguments, ['u-1', {$class: 'com.example.Query', limit: 10, since: {$class: 'java.util.Date', $: '2024-01-01T00:00:00.000Z'}}]);
    assert.deepEqual(record.attachments, {
      'content-type': 'application/grpc+proto', 'authorization': '<redacted>', 'tri-service-group': 'blue', 'tri-service-version': '1.0.0', 'target-application': 'users-app',
    });
    assert.deepEqual(record.answer, {kind: 'value', value: {$class: 'com.example.User', id: 'u-1', name: 'Ann'}, attachments: {'set-cookie': '<redacted>', 'x-served-by': 'pod-1'}});
    assert.equal(record.status, 'grpc OK');
    assert.deepEqual(record.triple, {
      path: '/com.example.UserService/getUser',
      requestHeaders: {
        ':path': '/com.example.UserService/getUser', ':method': 'POST', 'content-type': 'application/grpc+proto',
        'authorization': '<redacted>', 'tri-service-group': 'blue', 'tri-service-version': '1.0.0', 'target-application': 'users-app',
      },
      responseHeaders: {':status': '200', 'content-type': 'application/grpc+proto', 'set-cookie': '<redacted>', 'x-served-by': 'pod-1'},
      trailers: {'grpc-status': '0'},
      grpcStatus: 0,
      grpcMessage: undefined,
    });
    assert.equal(record.undecodedRequest, undefined);
  });

  test('a null answer in wrapper mode is null', () => {
    const record = decodeCall(tripleCall({request: wrapperRequest, answer: wrapperAnswer(undefined)}), 1, redaction);
    assert.deepEqual(record.answer, {kind: 'value', value: null});
  });

  test('application/grpc+json: each message is JSON', () => {
    const json = 'application/grpc+json';
    const record = decodeCall(tripleCall({
      requestHeaders: {'content-type': json}, request: grpcMessages(Buffer.from('{"id":"u-1"}')),
      responseHeaders: {'content-type': json}, answer: grpcMessages(Buffer.from('{"name":"Ann","age":7}')),
    }), 1, redaction);
    assert.deepEqual(record.arguments, [{id: 'u-1'}]);
    assert.deepEqual(record.parameterTypes, []);
    assert.deepEqual(record.answer, {kind: 'value', value: {name: 'Ann', age: 7}});
  });

  test('application/json: the body is the arguments (an array for several)', () => {
    const record = decodeCall(tripleCall({
      requestHeaders: {'content-type': 'application/json; charset=utf-8'}, request: Buffer.from('["u-1", 2]'),
      responseHeaders: {'content-type': 'application/json'}, answer: Buffer.from('{"name":"Ann"}'),
    }), 1, redaction);
    assert.deepEqual(record.arguments, ['u-1', 2]);
    assert.deepEqual(record.answer, {kind: 'value', value: {name: 'Ann'}});
    const single = decodeCall(tripleCall({requestHeaders: {'content-type': 'application/json'}, request: Buffer.from('"u-1"'), answer: Buffer.from('null'), responseHeaders: {'content-type': 'application/json'}}), 1, redaction);
    assert.deepEqual(single.arguments, ['u-1']);
    assert.deepEqual(single.answer, {kind: 'value', value: null});
  });

  test('protobuf without a schema: size is known, the payload is a hex head', () => {
    // A protobuf request { string id = 1; int32 age = 3 (varint) }: not a wrapper (field 3 is a varint).
    const message = Buffer.from([0x0a, 0x03, 0x75, 0x2d, 0x31, 0x18, 0x07]);
    const record = decodeCall(tripleCall({request: grpcMessages(message), answer: grpcMessages(Buffer.from([0x12, 0x01, 0x41]))}), 1, redaction);
    assert.equal(record.arguments, undefined);
    assert.deepEqual(record.undecodedRequest, {reason: 'protobuf without a schema (not Triple wrapper mode)', hexHead: '00 00 00 00 07 0a 03 75 2d 31 18 07'});
    assert.deepEqual(record.answer, {kind: 'undecoded', reason: 'protobuf without a schema (not Triple wrapper mode)', hexHead: '00 00 00 00 03 12 01 41'});
    assert.equal(record.requestBytes, 12);
  });

  test('a wrapper in another serialization names its types but leaves the arguments', () => {
    const request = grpcMessages(encodeTripleRequestWrapper({serializeType: 'protostuff', args: [Buffer.from([1, 2])], argTypes: ['java.lang.String']}));
    const record = decodeCall(tripleCall({request, answer: Buffer.alloc(0)}), 1, redaction);
    assert.deepEqual(record.parameterTypes, ['java.lang.String']);
    assert.equal(record.arguments, undefined);
    assert.equal(record.undecodedRequest?.reason, 'the arguments are serialized with protostuff; only hessian2 is decoded');
  });

  test('a gRPC error status: the decoded grpc-message and, for dubbo-tunnel\'s own answer, its code', () => {
    const provider = decodeCall(tripleCall({
      request: wrapperRequest, answer: Buffer.alloc(0), trailers: {'grpc-status': '2', 'grpc-message': 'user%20u-1%20not%20found%3A%20%E2%9C%97'},
      completed: {ok: false, status: 2, statusName: 'grpc UNKNOWN'},
    }), 1, redaction);
    assert.deepEqual(provider.answer, {kind: 'error', message: 'user u-1 not found: ✗'});
    assert.equal(provider.triple?.grpcStatus, 2);
    assert.equal(provider.triple?.grpcMessage, 'user u-1 not found: ✗');
    // Trailers-only: the status comes in the response headers.
    const own = decodeCall(tripleCall({
      request: wrapperRequest, answer: Buffer.alloc(0), trailers: undefined,
      responseHeaders: {':status': '200', 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'no route'},
      completed: {ok: false, status: 12, statusName: 'grpc UNIMPLEMENTED', code: 'DT_ERR_NO_ROUTE', error: 'no route', application: undefined},
    }), 1, redaction);
    assert.deepEqual(own.answer, {kind: 'error', message: 'no route', code: 'DT_ERR_NO_ROUTE'});
    assert.equal(own.triple?.grpcStatus, 12);
  });

  test('no answer at all (the stream failed before response headers)', () => {
    const record = decodeCall(tripleCall({request: wrapperRequest, answer: Buffer.alloc(0), responseHeaders: undefined, trailers: undefined}), 1, redaction);
    assert.equal(record.answer, undefined);
    assert.deepEqual(record.arguments?.[0], 'u-1');
  });

  test('compressed messages and a cut capture are undecoded, never thrown', () => {
    const compressed = Buffer.from(wrapperRequest);
    compressed[0] = 1;
    const record = decodeCall(tripleCall({request: compressed, answer: Buffer.alloc(0)}), 1, redaction);
    assert.equal(record.undecodedRequest?.reason, 'the messages are compressed (grpc-encoding)');
    const cut = decodeCall(tripleCall({request: wrapperRequest, answer: wrapperAnswer('x'), limit: 20}), 1, redaction);
    assert.equal(cut.truncated, true);
    assert.equal(cut.arguments, undefined);
    assert.match(cut.undecodedRequest?.reason ?? '', /cut at the capture bound \(20 of \d+ bytes kept\)/);
    assert.match(cut.answer?.kind === 'undecoded' ? cut.answer.reason : '', /^cut at the capture bound/);
  });

  test('a path that is not /service/method', () => {
    const record = decodeCall(tripleCall({path: '/', request: Buffer.alloc(0), answer: Buffer.alloc(0)}), 1, redaction);
    assert.equal(record.service, undefined);
    assert.equal(record.method, undefined);
  });
});
