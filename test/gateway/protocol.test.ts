// The gateway's wire words, written by one end and read by the other, and each checked against
// hessian.js (as a Java peer would read or write them) so neither end can drift from Dubbo 2.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {ProtocolError} from '../../src/core/errors.js';
import {readHeader} from '../../src/protocol/header.js';
import {peekRequest} from '../../src/protocol/request-peek.js';
import {
  AUTHORIZATION_ATTACHMENT, GATEWAY_GRPC_STATUS, GATEWAY_SERVICE, bearerToken, decodeGatewayAnswer, decodeGatewayRequest, encodeCatalogAnswer, encodeCatalogRequest,
  encodeGatewayError, encodeHello, encodeHelloAnswer, gatewayErrorCodeOf, isGatewayRequest, parseCatalog, parseHello, parseHelloAnswer, type Catalog,
} from '../../src/gateway/protocol.js';
import {decodeRequest, decodeResponse, encodeRequest, encodeResponse, parseFrame} from '../support/dubbo-wire.js';

const catalog: Catalog = {
  applications: [
    {name: 'user-rpc', namespace: 'shop', services: ['com.example.UserService'], triple: false},
    {name: 'greeter', namespace: 'edge', services: [], triple: true},
  ],
  generation: 7,
};

function protocolCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('expected it to throw');
}

describe('hello', () => {
  it('is a two-way hessian2 request to dubbo-tunnel.Gateway/hello that hessian.js reads as a Java provider would', () => {
    const frame = encodeHello(5n, 'tok.en-1', 'dubbo-tunnel/1.2.3');
    const decoded = decodeRequest(parseFrame(frame));
    assert.equal(decoded.id, 5n);
    assert.equal(decoded.twoWay, true);
    assert.equal(decoded.dubboVersion, '2.0.2');
    assert.equal(decoded.service, 'dubbo-tunnel.Gateway');
    assert.equal(decoded.version, '0.0.0');
    assert.equal(decoded.method, 'hello');
    assert.equal(decoded.parameterTypes, 'Ljava/lang/String;');
    assert.deepEqual(JSON.parse(decoded.args[0] as string), {protocolVersion: 1, client: 'dubbo-tunnel/1.2.3'});
    assert.equal(decoded.attachments[AUTHORIZATION_ATTACHMENT], 'Bearer tok.en-1');
  });

  it('is read back with its token, and the listener\'s peek sees a gateway request', () => {
    const frame = encodeHello(5n, 'abc', 'dubbo-tunnel/1.0.0');
    const header = readHeader(frame);
    assert.equal(isGatewayRequest(peekRequest(header.serializationId, frame.subarray(16))), true);
    const request = decodeGatewayRequest(header, frame);
    assert.equal(request.method, 'hello');
    assert.equal(request.token, 'abc');
    assert.deepEqual(parseHello(request.argument), {protocolVersion: 1, client: 'dubbo-tunnel/1.0.0'});
  });

  it('is read the same when a Java-like encoder wrote it (hessian.js, extra attachments)', () => {
    const frame = encodeRequest({
      id: 9n, service: GATEWAY_SERVICE, method: 'hello', parameterTypes: 'Ljava/lang/String;',
      args: ['{"protocolVersion":1,"client":"x"}'], attachments: {authorization: 'bearer T0K', timeout: '3000'},
    });
    const request = decodeGatewayRequest(readHeader(frame), frame);
    assert.equal(request.token, 'T0K');
    assert.deepEqual(parseHello(request.argument), {protocolVersion: 1, client: 'x'});
  });

  it('refuses a wrong protocol version, a missing client and non-objects', () => {
    assert.equal(protocolCode(() => parseHello({protocolVersion: 2, client: 'x'})), 'DT_ERR_GATEWAY_PROTOCOL');
    assert.equal(protocolCode(() => parseHello({protocolVersion: 1})), 'DT_ERR_GATEWAY_PROTOCOL');
    assert.equal(protocolCode(() => parseHello([1])), 'DT_ERR_GATEWAY_PROTOCOL');
    assert.equal(protocolCode(() => parseHello(null)), 'DT_ERR_GATEWAY_PROTOCOL');
  });
});

describe('decodeGatewayRequest', () => {
  it('reads a catalog request without a token', () => {
    const frame = encodeCatalogRequest(11n);
    const request = decodeGatewayRequest(readHeader(frame), frame);
    assert.deepEqual(request, {method: 'catalog', argument: {}, token: undefined});
  });

  it('refuses another service, an unknown method, another signature, a non-JSON argument and a broken body', () => {
    const spec = {id: 1n, service: GATEWAY_SERVICE, method: 'hello', parameterTypes: 'Ljava/lang/String;', args: ['{}'], attachments: {}};
    const cases = [
      encodeRequest({...spec, service: 'com.example.UserService'}),
      encodeRequest({...spec, method: 'shutdown'}),
      encodeRequest({...spec, parameterTypes: 'I', args: [1]}),
      encodeRequest({...spec, args: ['not json']}),
      Buffer.concat([encodeHello(1n, 't', 'c').subarray(0, 16), Buffer.from([0x53, 0xff])]),
    ];
    for (const frame of cases) assert.equal(protocolCode(() => decodeGatewayRequest(readHeader(frame), frame)), 'DT_ERR_GATEWAY_PROTOCOL');
  });
});

describe('answers', () => {
  it('a hello answer is status 20, RESPONSE_VALUE and one JSON string, as hessian.js reads it', () => {
    const frame = encodeHelloAnswer(5n, {protocolVersion: 1, user: 'alice', catalog});
    const decoded = decodeResponse(parseFrame(frame));
    assert.equal(decoded.status, 20);
    assert.equal(decoded.kind, 'value');
    assert.equal(decoded.attachments, undefined, 'RESPONSE_VALUE (1) carries no attachments');
    assert.deepEqual(JSON.parse((decoded as {value: string}).value), {protocolVersion: 1, user: 'alice', catalog});
    const answer = decodeGatewayAnswer(readHeader(frame), frame);
    assert.equal(answer.kind, 'value');
    assert.deepEqual(parseHelloAnswer(answer.value), {protocolVersion: 1, user: 'alice', catalog});
  });

  it('a catalog answer round-trips, and one written with attachments (flag 4) is read too', () => {
    const frame = encodeCatalogAnswer(3n, catalog);
    const answer = decodeGatewayAnswer(readHeader(frame), frame);
    assert.deepEqual(answer.kind === 'value' ? parseCatalog(answer.value) : answer, catalog);
    const java = encodeResponse({id: 3n, result: {kind: 'value', value: JSON.stringify(catalog)}, attachments: {}});
    const read = decodeGatewayAnswer(readHeader(java), java);
    assert.deepEqual(read.kind === 'value' ? parseCatalog(read.value) : read, catalog);
  });

  it('a refusal is status 70 whose text starts with the code, and names its gRPC status', () => {
    const frame = encodeGatewayError(8n, 'DT_ERR_GATEWAY_FORBIDDEN', 'get services in namespace shop');
    const decoded = decodeResponse(parseFrame(frame));
    assert.equal(decoded.status, 70);
    assert.equal(decoded.kind === 'error' ? decoded.message : '', 'dubbo-tunnel [DT_ERR_GATEWAY_FORBIDDEN]: get services in namespace shop');
    assert.deepEqual(decodeGatewayAnswer(readHeader(frame), frame), {
      kind: 'refused', code: 'DT_ERR_GATEWAY_FORBIDDEN', status: 70, message: 'dubbo-tunnel [DT_ERR_GATEWAY_FORBIDDEN]: get services in namespace shop',
    });
    assert.equal(GATEWAY_GRPC_STATUS.DT_ERR_GATEWAY_FORBIDDEN, 7);
    assert.equal(GATEWAY_GRPC_STATUS.DT_ERR_GATEWAY_UNAUTHENTICATED, 16);
    assert.equal(gatewayErrorCodeOf('DT_ERR_GATEWAY_UNAUTHENTICATED: no token'), 'DT_ERR_GATEWAY_UNAUTHENTICATED');
    assert.equal(gatewayErrorCodeOf('dubbo-tunnel [DT_ERR_NO_ROUTE]: x'), undefined);
  });

  it('refuses what a gateway never answers: an event, a null value, another serialization', () => {
    const cases = [
      encodeResponse({id: 1n, result: {kind: 'null'}}),
      encodeResponse({id: 1n, serializationId: 23, result: {kind: 'value', value: '{}'}}),
      encodeHello(1n, 't', 'c'),
    ];
    for (const frame of cases) assert.equal(protocolCode(() => decodeGatewayAnswer(readHeader(frame), frame)), 'DT_ERR_GATEWAY_PROTOCOL');
  });
});

describe('parseCatalog', () => {
  it('refuses malformed catalogs', () => {
    const bad: unknown[] = [
      null, {applications: []}, {generation: 1}, {applications: [{name: 'a'}], generation: 1},
      {applications: [{name: 'a', namespace: 'n', services: [1], triple: false}], generation: 1},
      {applications: [{name: 'a', namespace: 'n', services: [], triple: 'yes'}], generation: 1},
    ];
    for (const value of bad) assert.equal(protocolCode(() => parseCatalog(value)), 'DT_ERR_GATEWAY_PROTOCOL', JSON.stringify(value));
  });

  it('carries the refused namespaces (count and missing permission, no names) when there are some, and reads catalogs without them', () => {
    const withRefusals: Catalog = {...catalog, refused: [{namespace: 'billing', applications: 2, permission: 'get services in namespace billing', unchecked: false}]};
    const frame = encodeCatalogAnswer(3n, withRefusals);
    const answer = decodeGatewayAnswer(readHeader(frame), frame);
    assert.deepEqual(parseCatalog(answer.kind === 'value' ? answer.value : undefined), withRefusals);
    assert.deepEqual(parseCatalog(JSON.parse(JSON.stringify(catalog))), catalog);
    for (const refused of [{}, [{namespace: 'billing'}], [{namespace: 'b', applications: '2', permission: 'p', unchecked: false}], [{namespace: 'b', applications: 2, permission: 'p'}]]) {
      assert.equal(protocolCode(() => parseCatalog({...catalog, refused})), 'DT_ERR_GATEWAY_PROTOCOL', JSON.stringify(refused));
    }
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer value and nothing else', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer  x '), 'x');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(42), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});
