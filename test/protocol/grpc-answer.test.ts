// GrpcAnswerReader: one unary gRPC answer from a stream's headers, DATA and trailers. Pure: no sockets.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {GrpcAnswerReader, encodeGrpcMessageFrame} from '../../src/protocol/grpc.js';

test('messages split across DATA chunks, then the status from the trailers with its message decoded', () => {
  const answer = new GrpcAnswerReader(1024);
  answer.headers({':status': 200, 'content-type': 'application/grpc'});
  const frames = Buffer.concat([encodeGrpcMessageFrame(Buffer.from('one')), encodeGrpcMessageFrame(Buffer.from('two'))]);
  answer.data(frames.subarray(0, 6));
  answer.data(frames.subarray(6));
  assert.equal(answer.status(), undefined, 'no status before the trailers');
  answer.trailers({'grpc-status': '5', 'grpc-message': 'not%20found'});
  assert.deepEqual(answer.messages.map(String), ['one', 'two']);
  assert.deepEqual(answer.status(), {code: 5, message: 'not found'});
});

test('a trailers-only answer carries its status in the response headers', () => {
  const answer = new GrpcAnswerReader(1024);
  answer.headers({':status': 200, 'grpc-status': '12', 'grpc-message': 'unknown method'});
  assert.deepEqual(answer.status(), {code: 12, message: 'unknown method'});
  assert.deepEqual(answer.messages, []);
});

test('no gRPC status: undefined, with the HTTP status kept for the words', () => {
  const answer = new GrpcAnswerReader(1024);
  answer.headers({':status': 404});
  assert.equal(answer.status(), undefined);
  assert.equal(answer.httpStatus, 404);
});

test('a message over the limit throws', () => {
  const answer = new GrpcAnswerReader(4);
  assert.throws(() => answer.data(encodeGrpcMessageFrame(Buffer.from('too long'))), /over the limit of 4/);
});
