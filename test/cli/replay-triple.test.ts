// replay of recorded Triple calls, in process: a tunnel with capture on records a JSON call
// (application/grpc+json, the demo's Triple provider), a hessian2 wrapper-mode call (a Dubbo 3.2
// provider's Triple port) and a protobuf call without a schema (gRPC reflection); replay sends the
// first two again and skips the third with its reason.
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import {grpcExchange} from '../../src/client/triple-client.js';
import {CallCapture} from '../../src/core/calls.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {CallLog} from '../../src/inspect/call-log.js';
import type {CallRecord} from '../../src/inspect/call-record.js';
import {toRecordLine} from '../../src/inspect/record-line.js';
import {TRIPLE_CONTENT_TYPE, WRAPPER_HESSIAN2, encodeTripleRequestWrapper} from '../../src/protocol/triple-wrapper.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {ORDER_SERVICE} from '../../src/sim/demo-services.js';
import {TripleDemoProvider} from '../../src/sim/triple-provider.js';
import {collector} from '../support/output.js';
import {startTripleMetadataProvider} from '../support/triple-metadata-provider.js';
import type {TripleMetadataProvider} from '../support/triple-metadata-provider.js';
import {waitFor} from '../support/wait.js';

async function cli(args: string[]): Promise<{code: number; out: string; err: string}> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, {stdout: stdout.stream, stderr: stderr.stream, env: {DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test'}, interactive: false});
  return {code, out: stdout.text(), err: stderr.text()};
}

describe('replay of Triple calls', () => {
  let order: TripleDemoProvider;
  let user: TripleMetadataProvider;
  let server: TunnelServer;
  let dir: string;
  let file: string;
  const recorded: CallRecord[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dubbo-tunnel-replay-triple-'));
    file = path.join(dir, 'calls.jsonl');
    order = await TripleDemoProvider.start({application: 'order-rpc', pod: 'order-rpc-1', services: [ORDER_SERVICE]});
    user = await startTripleMetadataProvider('user-rpc', 'user', 'noreg');
    const routes = new RouteSource(createRouteTable([
      StaticBackend.tripleOnly('order-rpc', {host: order.host, port: order.port}),
      StaticBackend.tripleOnly('user-rpc', {host: '127.0.0.1', port: user.port}),
    ]));
    const events = new TunnelEventBus();
    const capture = new CallCapture();
    const log = new CallLog({bus: events, capture});
    log.onRecord((record) => recorded.push(record));
    const release = capture.hold();
    server = await TunnelServer.start({host: '127.0.0.1', port: 0, routes, events, capture});
    const port = String(server.port);
    // JSON: `call --triple` asks gRPC reflection first (a protobuf call), then sends the JSON call.
    const json = await cli(['call', 'order-rpc', ORDER_SERVICE.interface, 'listOrders', '7', '--triple', '--port', port, '--host', '127.0.0.1']);
    assert.equal(json.code, 0, json.err);
    // Wrapper mode, as a Dubbo 3 Java consumer calls a non-IDL interface.
    const wrapped = await grpcExchange({
      host: '127.0.0.1', port: server.port, path: '/demo.UserService/whoami', contentType: TRIPLE_CONTENT_TYPE,
      headers: {'target-application': 'user-rpc'}, messages: [encodeTripleRequestWrapper({serializeType: WRAPPER_HESSIAN2, args: [], argTypes: []})], timeoutMs: 5000,
    });
    assert.equal(wrapped.kind === 'answered' && wrapped.code, 0);
    await waitFor(() => recorded.length >= 3, {timeoutMs: 5000, message: 'three calls recorded'});
    release();
    log.close();
    writeFileSync(file, recorded.map((record) => `${toRecordLine(record)}\n`).join(''));
  });

  after(async () => {
    await server.close(200);
    await Promise.all([order.close(), user.close()]);
    rmSync(dir, {recursive: true, force: true});
  });

  test('a JSON call and a wrapper-mode call are sent again and answer the same', async () => {
    const listOrders = recorded.find((record) => record.method === 'listOrders');
    const whoami = recorded.find((record) => record.method === 'whoami');
    assert.ok(listOrders?.answer?.kind === 'value', JSON.stringify(listOrders));
    assert.ok(whoami?.answer?.kind === 'value', JSON.stringify(whoami));
    const asked = user.asked.length;
    const result = await cli(['replay', file, '--address', `127.0.0.1:${server.port}`, '--filter', 'listOrders', '--filter', 'whoami']);
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /: same \(\d+ ms\)\n.*: same \(\d+ ms\)\nreplayed 2 calls: 2 same, 0 differ, 0 failed, 0 skipped\n$/);
    assert.equal(user.asked.length, asked + 1, 'the wrapper-mode call reached the provider again');
  });

  test('a JSON call sent to an application without that service differs: the error instead of the value', async () => {
    const result = await cli(['replay', file, '--address', `127.0.0.1:${server.port}`, '--filter', 'listOrders', '--to', 'user-rpc']);
    assert.equal(result.code, 1, result.out + result.err);
    assert.match(result.out, /: differs \(\d+ ms\)\n {4}answer: value .* → error /);
  });

  test('call --from sends a recorded gRPC JSON call the --triple way; a wrapper-mode line is left to replay', async () => {
    const line = recorded.findIndex((record) => record.method === 'listOrders') + 1;
    const result = await cli(['call', '--from', `${file}:${line}`, '--port', String(server.port), '--host', '127.0.0.1']);
    assert.equal(result.code, 0, result.err);
    const listOrders = recorded[line - 1]?.answer;
    assert.deepEqual(JSON.parse(result.out), listOrders?.kind === 'value' ? listOrders.value : undefined);
    const wrapperLine = recorded.findIndex((record) => record.method === 'whoami') + 1;
    const wrapper = await cli(['call', '--from', `${file}:${wrapperLine}`, '--port', String(server.port)]);
    assert.equal(wrapper.code, 2);
    assert.match(wrapper.err, /is not one application\/grpc\+json message.*\n {2}fix: replay it: dubbo-tunnel replay .* --filter #\d+/);
  });

  test('a protobuf call without a schema is skipped with the reason', async () => {
    const result = await cli(['replay', file, '--address', `127.0.0.1:${server.port}`, '--filter', 'ServerReflection', '--json']);
    assert.equal(result.code, 1, result.out + result.err);
    const [first] = result.out.trim().split('\n').map((line) => JSON.parse(line) as {outcome?: string; reason?: string});
    assert.equal(first?.outcome, 'skipped');
    assert.match(first?.reason ?? '', /application\/grpc without hessian2 wrapper mode|arguments could not be decoded/);
  });
});
