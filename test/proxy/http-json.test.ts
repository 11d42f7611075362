// HTTP/1.1 JSON calls on the tunnel's port (curl, Postman): real node:http clients (and the real
// curl when there is one) through a TunnelServer on loopback to real Dubbo and Triple providers.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import type {AddressInfo} from 'node:net';
import {after, before, describe, test} from 'node:test';
import {CallCapture} from '../../src/core/calls.js';
import type {CapturedCall} from '../../src/core/calls.js';
import {decodeCall} from '../../src/inspect/decode-call.js';
import {Redaction} from '../../src/inspect/redaction.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {createRouteTable} from '../../src/router/route-table.js';
import type {DecodedRequest} from '../support/dubbo-wire.js';
import {java} from '../support/dubbo-wire.js';
import {TestProvider} from '../support/dubbo-peers.js';
import type {ProviderReply} from '../support/dubbo-peers.js';
import {fixturesMissing} from '../support/discovery-fixtures.js';
import {startTripleMetadataProvider} from '../support/triple-metadata-provider.js';
import type {TripleMetadataProvider} from '../support/triple-metadata-provider.js';
import {waitFor} from '../support/wait.js';
import {USER_SERVICE, request as dubboRequest, startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';
import {encodeGrpcMessageFrame} from '../../src/protocol/grpc.js';

const ORDER_SERVICE = 'com.example.OrderService';
const MAX_PAYLOAD = 16 * 1024;

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
  /** The local port of the client's socket: the same on two calls means one kept-alive connection. */
  localPort: number | undefined;
}

function call(port: number, path: string, body: string | undefined, options: {method?: string; headers?: Record<string, string>; agent?: http.Agent} = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({host: '127.0.0.1', port, path, method: options.method ?? 'POST', headers: options.headers, agent: options.agent ?? false}, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({status: response.statusCode ?? 0, headers: response.headers, text, json, localPort: request.socket?.localPort});
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** What the user provider answers: the arguments it got, so a test sees what the JSON turned into. */
function userHandler(request: DecodedRequest): ProviderReply {
  switch (request.method) {
    case 'getUser':
      return {value: java.pojo('com.example.User', {id: request.args[0], name: 'Ada', age: 36, tags: ['a', 'b']})};
    case 'echo':
      return {value: {parameterTypes: request.parameterTypes, args: request.args, attachments: request.attachments}};
    case 'fail':
      return {exception: 'user not found: x', exceptionClass: 'com.example.NoSuchUserException'};
    case 'big':
      return {value: java.long('9007199254740993')};
    case 'never':
      return {noReply: true};
    default:
      return {status: 70, errorMessage: `no method ${request.method}`};
  }
}

describe('HTTP/1.1 JSON calls on the local port', () => {
  let user: TestProvider;
  let order: TestProvider;
  let tunnel: Tunnel;
  let port: number;

  before(async () => {
    user = await TestProvider.start({application: 'user-rpc', handler: userHandler});
    order = await TestProvider.start({application: 'order-rpc', handler: (request) => ({value: `order-rpc:${request.service}#${request.method}`})});
    tunnel = await startTunnel([user, order], {maxBodyLength: MAX_PAYLOAD});
    // What learning found: OrderService is exported by order-rpc alone.
    const backends = [...tunnel.routes.current.backends.values()];
    tunnel.routes.set(createRouteTable(backends, [], [['order-rpc', [ORDER_SERVICE]]]));
    port = tunnel.server.port;
  });

  after(async () => {
    await tunnel.close();
    await Promise.all([user.close(), order.close()]);
  });

  test('the issue\'s example: a string argument, the answer as JSON, through the shared upstream', async () => {
    const answer = await call(port, '/user-rpc/com.example.UserService/getUser', '["42"]');
    assert.equal(answer.status, 200, answer.text);
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    assert.deepEqual(answer.json, {$class: 'com.example.User', id: '42', name: 'Ada', age: 36, tags: ['a', 'b']});
    const got = user.received.at(-1);
    assert.equal(got?.service, USER_SERVICE);
    assert.equal(got?.parameterTypes, 'Ljava/lang/String;');
    assert.deepEqual(got?.args, ['42']);
    assert.equal(got?.attachments['target-application'], 'user-rpc');
    assert.equal(got?.attachments['remote.application'], 'dubbo-tunnel-http');
    // Counted like a consumer's call, on the listener's one stream to the provider.
    await waitFor(() => tunnel.completed.some((entry) => entry.target === `${USER_SERVICE}#getUser` && entry.ok));
    assert.equal(tunnel.server.upstreamCount, 1);
  });

  test('a POJO argument with $class, ?types=, ?group=/?version= and attachment headers', async () => {
    const pojo = await call(port, '/user-rpc/com.example.UserService/echo', '[{"$class": "com.example.Query", "name": "x", "limit": 5}, 7, 1234567890123456789]');
    assert.equal(pojo.status, 200, pojo.text);
    assert.equal(user.received.at(-1)?.parameterTypes, 'Lcom/example/Query;IJ');
    const [query, seven, big] = user.received.at(-1)?.args ?? [];
    assert.deepEqual(query, {name: 'x', limit: 5});
    assert.equal(seven, 7);
    // The long arrives exact: the body's text is what is encoded, not a rounded double.
    assert.equal(String(big), '1234567890123456789');

    const typed = await call(port, '/user-rpc/com.example.UserService/echo?types=java.lang.String,long&group=g1&version=1.0.0', '[123, 5]', {
      headers: {'X-Dubbo-Attachment-traceId': 't-1', 'Content-Type': 'application/json'},
    });
    assert.equal(typed.status, 200, typed.text);
    const got = user.received.at(-1);
    assert.equal(got?.parameterTypes, 'Ljava/lang/String;J');
    assert.deepEqual(got?.args.map(String), ['123', '5']);
    assert.equal(got?.version, '1.0.0');
    assert.equal(got?.attachments['group'], 'g1');
    // The attachment name keeps the case it was sent in.
    assert.equal(got?.attachments['traceId'], 't-1');
  });

  test('a long that does not fit a double comes back as a string', async () => {
    const answer = await call(port, '/user-rpc/com.example.UserService/big', '[]');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json, '9007199254740993');
  });

  test('/<interface>/<method> is routed by the learned service', async () => {
    const answer = await call(port, `/${ORDER_SERVICE}/list`, '[]');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json, `order-rpc:${ORDER_SERVICE}#list`);
    assert.equal(order.received.at(-1)?.attachments['target-application'], undefined);
  });

  test('a Java exception is 500 with its class and message', async () => {
    const answer = await call(port, '/user-rpc/com.example.UserService/fail', '["x"]');
    assert.equal(answer.status, 500);
    assert.deepEqual(answer.json, {exception: 'com.example.NoSuchUserException', message: 'user not found: x'});
    await waitFor(() => tunnel.completed.some((entry) => entry.target === `${USER_SERVICE}#fail` && entry.statusName === 'EXCEPTION'));
  });

  test('a provider\'s error status is told with its Dubbo name', async () => {
    const answer = await call(port, '/user-rpc/com.example.UserService/unknown', '[]');
    assert.equal(answer.status, 500);
    assert.deepEqual(answer.json, {status: 'SERVICE_ERROR', message: 'no method unknown'});
  });

  test('no route is 404 with the code and what to do', async () => {
    const unknownApp = await call(port, '/nobody/com.example.UserService/getUser', '["1"]');
    assert.equal(unknownApp.status, 404);
    const body = unknownApp.json as {code: string; message: string};
    assert.equal(body.code, 'DT_ERR_NO_ROUTE');
    assert.match(body.message, /'nobody', which is not a routed application; known applications: order-rpc, user-rpc/);
    const unknownService = await call(port, '/com.example.Unknown/get', '[]');
    assert.equal(unknownService.status, 404);
    assert.equal((unknownService.json as {code: string}).code, 'DT_ERR_NO_ROUTE');
    await waitFor(() => tunnel.completed.some((entry) => entry.code === 'DT_ERR_NO_ROUTE' && entry.target === 'com.example.Unknown#get'));
  });

  test('a body that is not a JSON array, bad ?types= and unknown parameters are 400', async () => {
    for (const [path, body, words] of [
      ['/user-rpc/com.example.UserService/getUser', '["42"', /not JSON/],
      ['/user-rpc/com.example.UserService/getUser', '{"id": "42"}', /not an array/],
      ['/user-rpc/com.example.UserService/getUser?types=int', '["a", "b"]', /\?types= names 1 type\(s\) but 2 argument\(s\)/],
      ['/user-rpc/com.example.UserService/getUser?typo=1', '[]', /unknown query parameter 'typo'/],
      ['/user-rpc/com.example.UserService/getUser?timeout=soon', '[]', /\?timeout= takes milliseconds/],
      ['/user-rpc/com.example.UserService/getUser', '[{"$class": "int", "$": "abc"}]', /cannot be written as hessian2/],
    ] as const) {
      const answer = await call(port, path, body);
      assert.equal(answer.status, 400, `${path} ${body}: ${answer.text}`);
      const json = answer.json as {code: string; message: string};
      assert.equal(json.code, 'DT_ERR_HTTP_BAD_REQUEST');
      assert.match(json.message, words);
    }
  });

  test('a body over the payload limit is 413, and the request is not forwarded', async () => {
    const before = user.received.length;
    const answer = await call(port, '/user-rpc/com.example.UserService/getUser', JSON.stringify(['x'.repeat(MAX_PAYLOAD + 1)]));
    assert.equal(answer.status, 413);
    assert.equal((answer.json as {code: string}).code, 'DT_ERR_FRAME_TOO_LARGE');
    assert.equal(user.received.length, before);
  });

  test('no answer within ?timeout= is 504, and nothing is left waiting for it', async () => {
    const own = await startTunnel([user], {drainTimeoutMs: 5000});
    try {
      const started = Date.now();
      const answer = await call(own.server.port, '/user-rpc/com.example.UserService/never?timeout=200', '[]');
      assert.equal(answer.status, 504);
      assert.equal((answer.json as {code: string}).code, 'DT_ERR_HTTP_TIMEOUT');
      assert.ok(Date.now() - started >= 190);
      await waitFor(() => own.completed.some((entry) => entry.code === 'DT_ERR_HTTP_TIMEOUT' && entry.application === 'user-rpc'));
      assert.equal(own.completed.length, 1, 'the call was reported once');
      const next = await call(own.server.port, '/user-rpc/com.example.UserService/getUser', '["1"]');
      assert.equal(next.status, 200);
      // A stop waits up to 5 s for calls in flight: the timed-out call is not one of them.
      const stopping = Date.now();
      await own.close();
      assert.ok(Date.now() - stopping < 2000, `the stop waited ${Date.now() - stopping} ms`);
    } finally {
      await own.close();
    }
  });

  test('a provider that cannot be reached is 503 with the code and its address', async () => {
    const gone = await TestProvider.start({application: 'gone-rpc'});
    const address = gone.port;
    await gone.close();
    const own = await startTunnel([new StaticBackend('gone-rpc', '127.0.0.1', address)]);
    try {
      const answer = await call(own.server.port, '/gone-rpc/com.example.UserService/getUser', '["1"]');
      assert.equal(answer.status, 503, answer.text);
      const body = answer.json as {code: string; message: string};
      assert.equal(body.code, 'DT_ERR_BACKEND_UNAVAILABLE');
      assert.match(body.message, new RegExp(`127\\.0\\.0\\.1:${address}`));
    } finally {
      await own.close();
    }
  });

  test('a listener with an admission (the team gateway) takes no HTTP/1.1 calls: they would bypass it', async () => {
    const own = await startTunnel([user], {
      allowRemote: true,
      admission: () => ({dubbo: () => undefined, triple: () => Promise.resolve(undefined), privateHeaders: []}),
    });
    try {
      const before = user.received.length;
      await assert.rejects(call(own.server.port, '/user-rpc/com.example.UserService/getUser', '["1"]'), /socket hang up|ECONNRESET/);
      assert.equal(user.received.length, before);
    } finally {
      await own.close();
    }
  });

  test('keep-alive: two calls on one connection', async () => {
    const agent = new http.Agent({keepAlive: true, maxSockets: 1});
    try {
      const first = await call(port, '/user-rpc/com.example.UserService/getUser', '["1"]', {agent});
      const second = await call(port, '/user-rpc/com.example.UserService/getUser', '["2"]', {agent});
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.deepEqual((second.json as {id: string}).id, '2');
      assert.ok(first.localPort !== undefined);
      assert.equal(second.localPort, first.localPort, 'the second call came on a new connection');
    } finally {
      agent.destroy();
    }
  });

  test('what is not a call keeps a plain error that says what the port speaks', async () => {
    const root = await call(port, '/', undefined, {method: 'GET'});
    assert.equal(root.status, 404);
    assert.match(String(root.headers['content-type']), /^text\/plain/);
    assert.match(root.text, /POST \/<application>\/<interface>\/<method>/);
    const get = await call(port, '/user-rpc/com.example.UserService/getUser', undefined, {method: 'GET'});
    assert.equal(get.status, 405);
    assert.equal(get.headers['allow'], 'POST');
    const put = await call(port, '/user-rpc/com.example.UserService/getUser', '[]', {method: 'PUT'});
    assert.equal(put.status, 405);
  });

  test('Dubbo consumers on the same port keep working meanwhile', async () => {
    const consumer = await tunnel.consumer();
    const [viaHttp, viaDubbo] = await Promise.all([
      call(port, '/user-rpc/com.example.UserService/getUser', '["7"]'),
      consumer.call(dubboRequest('order-rpc')),
    ]);
    assert.equal(viaHttp.status, 200);
    assert.equal(viaDubbo.kind === 'value' && viaDubbo.value, `order-rpc:${USER_SERVICE}#getUser`);
  });

  test('curl', async (context) => {
    const curl = await new Promise<boolean>((resolve) => execFile('sh', ['-c', 'command -v curl'], (error) => resolve(error === null)));
    if (!curl) {
      context.skip('curl is not installed');
      return;
    }
    const output = await new Promise<string>((resolve, reject) => {
      execFile('curl', ['-sS', '-d', '["42"]', `http://127.0.0.1:${port}/user-rpc/com.example.UserService/getUser`], (error, stdout) => {
        if (error === null) resolve(stdout);
        else reject(new Error(`curl failed: ${error.message}`));
      });
    });
    assert.deepEqual(JSON.parse(output), {$class: 'com.example.User', id: '42', name: 'Ada', age: 36, tags: ['a', 'b']});
  });

  test('while calls are captured, an HTTP call is captured with origin http and decodes like a consumer\'s', async () => {
    const capture = new CallCapture();
    const own = await startTunnel([user], {capture});
    const captured: CapturedCall[] = [];
    own.events.on('call-captured', (call) => captured.push(call));
    try {
      await call(own.server.port, '/user-rpc/com.example.UserService/getUser', '["off"]');
      const release = capture.hold();
      const answer = await call(own.server.port, '/user-rpc/com.example.UserService/getUser', '["on"]');
      const missing = await call(own.server.port, '/nobody/com.example.UserService/getUser', '["x"]');
      release();
      assert.equal(answer.status, 200);
      assert.equal(missing.status, 404);
      await waitFor(() => captured.length >= 2);
      assert.equal(captured.length, 2, 'the call made while capture was off was not captured');
      assert.deepEqual(captured.map((one) => [one.origin, one.protocol]), [['http', 'dubbo'], ['http', 'dubbo']]);
      const record = decodeCall(captured[0] as CapturedCall, 1, new Redaction());
      assert.equal(record.origin, 'http');
      assert.equal(record.service, USER_SERVICE);
      assert.deepEqual(record.arguments, ['on']);
      assert.deepEqual(record.answer, {kind: 'value', value: answer.json, attachments: {dubbo: '2.0.2'}});
      const refused = decodeCall(captured[1] as CapturedCall, 2, new Redaction());
      assert.equal(refused.answer?.kind, 'error');
      assert.equal(refused.answer?.kind === 'error' && refused.answer.code, 'DT_ERR_NO_ROUTE');
    } finally {
      await own.close();
    }
  });

  test('a stop answers a call in flight with 503 and closes', async () => {
    const own = await startTunnel([user], {drainTimeoutMs: 100});
    try {
      const asked = user.received.filter((got) => got.method === 'never').length;
      const pending = call(own.server.port, '/user-rpc/com.example.UserService/never', '[]');
      await waitFor(() => user.received.filter((got) => got.method === 'never').length > asked);
      await own.close();
      const answer = await pending;
      assert.equal(answer.status, 503);
      assert.equal((answer.json as {code: string}).code, 'DT_ERR_STOPPED_BEFORE_ANSWER');
    } finally {
      await own.close();
    }
  });
});

describe('HTTP/1.1 JSON calls to a Triple provider', {skip: fixturesMissing}, () => {
  let provider: TripleMetadataProvider;
  let tunnel: Tunnel;

  before(async () => {
    provider = await startTripleMetadataProvider('user-tri', 'user', 'noreg');
    tunnel = await startTunnel([StaticBackend.tripleOnly('user-tri', {host: '127.0.0.1', port: provider.port})]);
  });

  after(async () => {
    await tunnel.close();
    await provider.close();
  });

  test('an application with only a Triple port is called in wrapper mode (hessian2)', async () => {
    const answer = await call(tunnel.server.port, '/user-tri/demo.UserService/whoami', '[]');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json, 'user-tri demo.UserService');
    assert.deepEqual(provider.asked.at(-1), 'demo.UserService/whoami');
    await waitFor(() => tunnel.completed.some((entry) => entry.protocol === 'triple' && entry.ok && entry.target === 'demo.UserService#whoami'));
  });

  test('a captured Triple HTTP call carries its headers, DATA and trailers', async () => {
    const capture = new CallCapture();
    const own = await startTunnel([StaticBackend.tripleOnly('user-tri', {host: '127.0.0.1', port: provider.port})], {capture});
    const captured: CapturedCall[] = [];
    own.events.on('call-captured', (call) => captured.push(call));
    const release = capture.hold();
    try {
      const answer = await call(own.server.port, '/user-tri/demo.UserService/whoami', '[]');
      assert.equal(answer.status, 200, answer.text);
      await waitFor(() => captured.length === 1);
      const [one] = captured;
      assert.equal(one?.origin, 'http');
      assert.equal(one?.protocol === 'triple' && one.path, '/demo.UserService/whoami');
      assert.equal(one?.protocol === 'triple' && one.requestHeaders['target-application'], 'user-tri');
      assert.equal(one?.protocol === 'triple' && one.trailers?.['grpc-status'], '0');
      assert.ok(one?.protocol === 'triple' && one.answer.length > 5);
      const record = decodeCall(one, 1, new Redaction());
      assert.equal(record.answer?.kind === 'value' && record.answer.value, 'user-tri demo.UserService');
    } finally {
      release();
      await own.close();
    }
  });

  test('a gRPC status is its HTTP status', async () => {
    const answer = await call(tunnel.server.port, '/user-tri/demo.UserService/nosuch', '["x"]');
    assert.equal(answer.status, 501, answer.text);
    const body = answer.json as {grpcStatus: string; message: string};
    assert.equal(body.grpcStatus, 'UNIMPLEMENTED');
    assert.match(body.message, /Method :nosuch\[\[java.lang.String\]\] not found/);
  });
});

/**
 * A Dubbo 3 Triple provider of a non-IDL interface serialized as JSON (`application/grpc+json`):
 * the request is one message, the arguments as a JSON array; the answer one JSON message.
 */
async function startJsonTripleProvider(): Promise<{port: number; asked: {path: string; headers: http2.IncomingHttpHeaders; args: unknown}[]; close(): Promise<void>}> {
  const asked: {path: string; headers: http2.IncomingHttpHeaders; args: unknown}[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const args = JSON.parse(body.subarray(5, 5 + body.readUInt32BE(1)).toString('utf8')) as unknown;
      asked.push({path: headers[':path'] ?? '', headers, args});
      if (headers[':path'] === '/com.example.JsonService/fail') {
        stream.respond({':status': 200, 'content-type': 'application/grpc+json', 'grpc-status': '3', 'grpc-message': 'bad%20id'}, {endStream: true});
        return;
      }
      const answer = Buffer.from(JSON.stringify({echoed: args, group: headers['tri-service-group'] ?? null}));
      stream.respond({':status': 200, 'content-type': 'application/grpc+json'}, {waitForTrailers: true});
      stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}));
      stream.end(encodeGrpcMessageFrame(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    asked,
    close: () => new Promise<void>((resolve) => {
      for (const session of sessions) session.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('HTTP/1.1 JSON calls to a Triple JSON service of an application with both ports', () => {
  let dubbo: TestProvider;
  let triple: Awaited<ReturnType<typeof startJsonTripleProvider>>;
  let tunnel: Tunnel;

  before(async () => {
    dubbo = await TestProvider.start({application: 'both-rpc'});
    triple = await startJsonTripleProvider();
    tunnel = await startTunnel([new StaticBackend('both-rpc', '127.0.0.1', dubbo.port, {triple: {host: '127.0.0.1', port: triple.port}})]);
  });

  after(async () => {
    await tunnel.close();
    await Promise.all([dubbo.close(), triple.close()]);
  });

  test('without a hint the Dubbo port is used', async () => {
    const answer = await call(tunnel.server.port, '/both-rpc/com.example.JsonService/echo', '[1]');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json, 'both-rpc:echo');
    assert.equal(triple.asked.length, 0);
  });

  test('Content-Type application/grpc+json sends the JSON arguments as they are to the Triple port', async () => {
    const answer = await call(tunnel.server.port, '/both-rpc/com.example.JsonService/echo?group=g1', '[{"id": 1, "tags": ["a"]}, "x"]', {
      headers: {'Content-Type': 'application/grpc+json', 'X-Dubbo-Attachment-traceId': 't-9'},
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, {echoed: [{id: 1, tags: ['a']}, 'x'], group: 'g1'});
    const asked = triple.asked.at(-1);
    assert.equal(asked?.path, '/com.example.JsonService/echo');
    assert.equal(asked?.headers['content-type'], 'application/grpc+json');
    assert.equal(asked?.headers['target-application'], 'both-rpc');
    // HTTP/2 header names are lower case: Triple carries the attachment as traceid.
    assert.equal(asked?.headers['traceid'], 't-9');
    await waitFor(() => tunnel.completed.some((entry) => entry.protocol === 'triple' && entry.ok));
  });

  test('a gRPC error status of a JSON service is its HTTP status', async () => {
    const answer = await call(tunnel.server.port, '/both-rpc/com.example.JsonService/fail', '[]', {headers: {'Content-Type': 'application/grpc+json'}});
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.json, {grpcStatus: 'INVALID_ARGUMENT', message: 'bad id'});
  });

  test('?triple=1 without a Triple port is 404 with what to do', async () => {
    const own = await startTunnel([dubbo]);
    try {
      const answer = await call(own.server.port, '/both-rpc/com.example.JsonService/echo?triple=1', '[]');
      assert.equal(answer.status, 404);
      const body = answer.json as {code: string; message: string};
      assert.equal(body.code, 'DT_ERR_NO_ROUTE');
      assert.match(body.message, /has no Triple port/);
    } finally {
      await own.close();
    }
  });
});
