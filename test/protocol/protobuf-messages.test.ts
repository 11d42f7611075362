// The protobuf messages dubbo-tunnel writes and reads itself: Dubbo's Triple wrapper messages (laid out as
// TripleCustomerProtocolWapper.toByteArray writes them, Dubbo 3.2) and gRPC server reflection.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {ProtocolError} from '../../src/core/errors.js';
import {decodeReflectionAnswer, encodeReflectionRequest, isGrpcInfrastructureService} from '../../src/protocol/grpc-reflection.js';
import {encodeVarint, readFields} from '../../src/protocol/protobuf-wire.js';
import {decodeTripleResponseWrapper, encodeTripleRequestWrapper} from '../../src/protocol/triple-wrapper.js';
import {decodeTripleMetadataAnswer, encodeTripleMetadataRequest} from '../../src/learning/triple-metadata.js';

const ascii = (text: string) => [...Buffer.from(text, 'latin1')];

describe('Triple wrapper messages', () => {
  test('TripleRequestWrapper: serializeType, then every argument, then every argument type', () => {
    const bytes = encodeTripleRequestWrapper({serializeType: 'hessian4', args: [Buffer.from([0x03, 0x61, 0x62, 0x63])], argTypes: ['java.lang.String']});
    assert.deepEqual([...bytes], [
      0x0a, 8, ...ascii('hessian4'), // field 1 (serializeType), length-delimited
      0x12, 4, 0x03, ...ascii('abc'), // field 2 (args): the hessian2 string "abc"
      0x1a, 16, ...ascii('java.lang.String'), // field 3 (argTypes)
    ]);
    // What learning sends for getMetadataInfo(revision): the same layout, hessian2 inside.
    assert.deepEqual(encodeTripleMetadataRequest('getMetadataInfos', 'abc'), bytes);
    // A method without parameters: serializeType alone.
    assert.deepEqual([...encodeTripleMetadataRequest('getMetadataInfos')], [0x0a, 8, ...ascii('hessian4')]);
  });

  test('TripleResponseWrapper: read by field number; a message that is not one is an error', () => {
    const answer = Buffer.from([0x0a, 8, ...ascii('hessian4'), 0x12, 2, 0x91, 0x92, 0x1a, 3, ...ascii('int')]);
    assert.deepEqual(decodeTripleResponseWrapper(answer), {serializeType: 'hessian4', data: Buffer.from([0x91, 0x92]), type: 'int'});
    // A null answer has no data field (TripleResponseWrapper.toByteArray leaves it out).
    assert.equal(decodeTripleResponseWrapper(Buffer.from([0x0a, 1, 0x78, 0x1a, 1, 0x78])).data, undefined);
    assert.throws(() => decodeTripleResponseWrapper(Buffer.from([0x08, 0x01])), ProtocolError);
    assert.throws(() => decodeTripleResponseWrapper(Buffer.from([0x0a, 9, 0x61])), ProtocolError);
  });

  test('a MetadataService answer over Triple is read like the Dubbo one; other serializations are said', () => {
    const list = Buffer.from([0x0a, 8, ...ascii('hessian4'), 0x12, 1, 0x4e, 0x1a, 14, ...ascii('java.util.List')]);
    assert.deepEqual(decodeTripleMetadataAnswer('getMetadataInfos', list), {kind: 'services', keys: [], application: undefined});
    const json = Buffer.from([0x0a, 9, ...ascii('fastjson2'), 0x12, 2, ...ascii('[]'), 0x1a, 14, ...ascii('java.util.List')]);
    assert.deepEqual(decodeTripleMetadataAnswer('getMetadataInfos', json), {kind: 'failed', message: 'an answer in fastjson2, not hessian2'});
  });
});

describe('protobuf wire reading', () => {
  test('varints, length-delimited and fixed fields; truncation is an error, never a crash', () => {
    assert.deepEqual([...encodeVarint(300)], [0xac, 0x02]);
    const fields = readFields(Buffer.from([0x08, 0xac, 0x02, 0x12, 1, 0x41, 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8]));
    assert.deepEqual(fields.map((field) => [field.field, field.wireType]), [[1, 0], [2, 2], [3, 5], [4, 1]]);
    assert.equal(fields[0]?.wireType === 0 ? fields[0].value : -1, 300);
    for (const bad of [[0x08], [0x12, 5, 1], [0x0b], [0x00, 0x01]]) assert.throws(() => readFields(Buffer.from(bad)), ProtocolError, `${bad.join(',')}`);
  });
});

describe('gRPC server reflection messages', () => {
  test('requests: list_services (field 7), file_containing_symbol (4), file_by_filename (3)', () => {
    assert.deepEqual([...encodeReflectionRequest({listServices: true})], [0x3a, 1, 0x2a]);
    assert.deepEqual([...encodeReflectionRequest({fileContainingSymbol: 'a.B'})], [0x22, 3, ...ascii('a.B')]);
    assert.deepEqual([...encodeReflectionRequest({fileByFilename: 'x.proto'})], [0x1a, 7, ...ascii('x.proto')]);
  });

  test('answers: the service list, descriptor files, and an error response', () => {
    const service = (name: string) => [0x0a, 2 + name.length, 0x0a, name.length, ...ascii(name)];
    const list = [...service('a.B'), ...service('grpc.health.v1.Health')];
    assert.deepEqual(decodeReflectionAnswer(Buffer.from([0x0a, 0, 0x32, list.length, ...list])), {kind: 'services', names: ['a.B', 'grpc.health.v1.Health']});
    assert.deepEqual(decodeReflectionAnswer(Buffer.from([0x22, 4, 0x0a, 2, 0x0a, 0x00])), {kind: 'files', files: [Buffer.from([0x0a, 0x00])]});
    assert.deepEqual(decodeReflectionAnswer(Buffer.from([0x3a, 7, 0x08, 5, 0x12, 3, ...ascii('a.B')])), {kind: 'error', code: 5, message: 'a.B'});
    assert.ok(isGrpcInfrastructureService('grpc.health.v1.Health') && isGrpcInfrastructureService('grpc.reflection.v1alpha.ServerReflection'));
    assert.ok(!isGrpcInfrastructureService('grpcx.Service'));
  });
});
