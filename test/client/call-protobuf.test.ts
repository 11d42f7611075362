// `call --triple` against protobuf services, end to end: the real CLI entry, the tunnel's HTTP/2 path and
// grpc-js servers (one with gRPC server reflection, one without), next to the demo's JSON Triple provider
// so the JSON call is checked to keep working.
import assert from 'node:assert/strict';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import type {CliContext} from '../../src/cli/command.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {ORDER_SERVICE} from '../../src/sim/demo-services.js';
import {TripleDemoProvider} from '../../src/sim/triple-provider.js';
import {GrpcProvider, USER_SERVICE} from '../support/grpc-peers.js';
import {collector} from '../support/output.js';

const ECHO_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'grpc', 'echo.proto');

describe('call --triple against protobuf services', () => {
  let reflecting: GrpcProvider;
  let plain: GrpcProvider;
  let orders: TripleDemoProvider;
  let server: TunnelServer;
  let port: string;

  async function cli(...argv: string[]): Promise<{code: number; stdout: string; stderr: string}> {
    const out = collector();
    const err = collector();
    const context: CliContext = {stdout: out.stream, stderr: err.stream, env: {}, interactive: false};
    const code = await main(['call', ...argv, '--port', port, '--host', '127.0.0.1', '--timeout', '3000'], context);
    return {code, stdout: out.text(), stderr: err.text()};
  }

  before(async () => {
    reflecting = await GrpcProvider.start('echo-rpc', 0, {reflection: true});
    plain = await GrpcProvider.start('plain-rpc', 0);
    orders = await TripleDemoProvider.start({application: 'order-rpc', pod: 'order-rpc-1', services: [ORDER_SERVICE]});
    const routes = new RouteSource(createRouteTable([
      StaticBackend.tripleOnly('echo-rpc', {host: '127.0.0.1', port: reflecting.port}),
      StaticBackend.tripleOnly('plain-rpc', {host: '127.0.0.1', port: plain.port}),
      StaticBackend.tripleOnly('order-rpc', {host: orders.host, port: orders.port}),
    ]));
    server = await TunnelServer.start({host: '127.0.0.1', port: 0, routes});
    port = String(server.port);
  });
  after(async () => {
    await server.close(200);
    await Promise.all([reflecting.close(), plain.close(), orders.close()]);
  });

  test('--proto: the JSON object is the request message, the answer comes back as proto3 JSON', async () => {
    const run = await cli('plain-rpc', USER_SERVICE, 'Unary', '{"text":"hi","blob":"AAEC","delay_ms":1}', '--proto', ECHO_PROTO);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {text: 'hi', servedBy: 'plain-rpc', header: '', blob: 'AAEC', index: 0, timeout: 'set'});
  });

  test('without --proto: the server\'s reflection describes the service (and --json says so too)', async () => {
    const run = await cli('echo-rpc', USER_SERVICE, 'Unary', '{"text":"via reflection","delayMs":0}', '--triple', '--json');
    assert.equal(run.code, 0, run.stderr);
    const answer = JSON.parse(run.stdout) as {ok: boolean; protocol: string; value: {text: string; servedBy: string}};
    assert.equal(answer.ok, true);
    assert.equal(answer.protocol, 'triple');
    assert.deepEqual([answer.value.text, answer.value.servedBy], ['via reflection', 'echo-rpc']);
  });

  test('a protobuf server without reflection gets the JSON call, fails as before, and the fix names --proto', async () => {
    const run = await cli('plain-rpc', USER_SERVICE, 'Unary', '{"text":"hi"}', '--triple');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: grpc-status 13 INTERNAL: .*[Dd]eserializ/);
    assert.match(run.stderr, /fix: if tunnel\.test\.UserService is a protobuf service, give its \.proto file with --proto <file>/);
  });

  test('an unknown method is a usage error that lists the service\'s methods, from --proto and from reflection', async () => {
    const fromFile = await cli('plain-rpc', USER_SERVICE, 'Nope', '{}', '--proto', ECHO_PROTO);
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /tunnel\.test\.UserService has no method 'Nope' \(--proto .*echo\.proto\)/);
    assert.match(fromFile.stderr, /its methods: Unary, ServerStream, ClientStream, Bidi/);
    const fromReflection = await cli('echo-rpc', USER_SERVICE, 'Nope', '{}', '--triple');
    assert.equal(fromReflection.code, 2);
    assert.match(fromReflection.stderr, /tunnel\.test\.UserService has no method 'Nope' \(gRPC reflection\)/);
  });

  test('a service the file does not declare, a field the message lacks, and a streaming method are usage errors', async () => {
    const service = await cli('plain-rpc', 'tunnel.test.Missing', 'Unary', '{}', '--proto', ECHO_PROTO);
    assert.equal(service.code, 2);
    assert.match(service.stderr, /tunnel\.test\.Missing is not declared in .*echo\.proto/);
    assert.match(service.stderr, /it declares: tunnel\.test\.OrderService, tunnel\.test\.UserService/);
    const field = await cli('plain-rpc', USER_SERVICE, 'Unary', '{"txt":"hi"}', '--proto', ECHO_PROTO);
    assert.equal(field.code, 2);
    assert.match(field.stderr, /EchoRequest has no field 'txt'/);
    const stream = await cli('plain-rpc', USER_SERVICE, 'ServerStream', '{}', '--proto', ECHO_PROTO);
    assert.equal(stream.code, 2);
    assert.match(stream.stderr, /streaming method/);
  });

  test('the JSON call of a Dubbo interface without IDL still works (no reflection there)', async () => {
    const run = await cli('order-rpc', ORDER_SERVICE.interface, 'listOrders', '7', '--triple');
    assert.equal(run.code, 0, run.stderr);
    const orders = JSON.parse(run.stdout) as {servedBy: string}[];
    assert.equal(orders[0]?.servedBy, 'order-rpc-1');
  });
});
