// `dubbo-tunnel call --triple` end to end: the real CLI entry, the tunnel's HTTP/2 path and the
// demo's Triple provider (application/grpc+json), plus a grpc-js client against that provider
// through the tunnel, so the demo's Triple side is checked by an independent implementation too.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {main} from '../../src/cli/main.js';
import type {CliContext} from '../../src/cli/command.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {ORDER_SERVICE, PAY_SERVICE} from '../../src/sim/demo-services.js';
import {TripleDemoProvider} from '../../src/sim/triple-provider.js';
import {grpc} from '../support/grpc-peers.js';
import {collector} from '../support/output.js';

async function cli(...argv: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  const out = collector();
  const err = collector();
  const context: CliContext = {stdout: out.stream, stderr: err.stream, env: {}, interactive: false};
  const code = await main(['call', ...argv], context);
  return {code, stdout: out.text(), stderr: err.text()};
}

describe('call --triple through the tunnel', () => {
  let order: TripleDemoProvider;
  let pay: TripleDemoProvider;
  let server: TunnelServer;
  let port: string;

  before(async () => {
    order = await TripleDemoProvider.start({application: 'order-rpc', pod: 'order-rpc-1', services: [ORDER_SERVICE]});
    pay = await TripleDemoProvider.start({application: 'pay-rpc', pod: 'pay-rpc-1', services: [PAY_SERVICE]});
    const routes = new RouteSource(createRouteTable([
      // order-rpc has a Dubbo port too (nothing listens there); pay-rpc has only its Triple port.
      new StaticBackend('order-rpc', '127.0.0.1', 1, {triple: {host: order.host, port: order.port}}),
      StaticBackend.tripleOnly('pay-rpc', {host: pay.host, port: pay.port}),
    ]));
    server = await TunnelServer.start({host: '127.0.0.1', port: 0, routes});
    port = String(server.port);
  });
  after(async () => {
    await server.close(200);
    await Promise.all([order.close(), pay.close()]);
  });

  test('a unary call with JSON arguments', async () => {
    const run = await cli('order-rpc', ORDER_SERVICE.interface, 'listOrders', '7', '--triple', '--port', port, '--host', '127.0.0.1');
    assert.equal(run.code, 0, run.stderr);
    const orders = JSON.parse(run.stdout) as {servedBy: string}[];
    assert.ok(Array.isArray(orders) && orders.length >= 1);
    assert.equal(orders[0]?.servedBy, 'order-rpc-1');
  });

  test('an application with only a Triple port is called over Triple without --triple', async () => {
    const run = await cli('pay-rpc', PAY_SERVICE.interface, 'charge', 'o-7', '5.5', '--port', port, '--host', '127.0.0.1', '--json');
    assert.equal(run.code, 0, run.stderr);
    const answer = JSON.parse(run.stdout) as {ok: boolean; protocol: string; value: {orderId: string}};
    assert.equal(answer.ok, true);
    assert.equal(answer.protocol, 'triple');
    assert.equal(answer.value.orderId, 'o-7');
  });

  test('a provider exception and a tunnel error come back as gRPC statuses, exit 1', async () => {
    const refused = await cli('pay-rpc', PAY_SERVICE.interface, 'charge', 'o-7', '-1.5', '--triple', '--port', port, '--host', '127.0.0.1');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: grpc-status 2 UNKNOWN: java\.lang\.IllegalArgumentException: /);
    const unknown = await cli('billing-rpc', PAY_SERVICE.interface, 'charge', 'o-7', '1', '--triple', '--port', port, '--host', '127.0.0.1');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: grpc-status 12 UNIMPLEMENTED: dubbo-tunnel \[DT_ERR_NO_ROUTE\]: no route for com\.example\.demo\.PayService#charge: attachment 'target-application' is 'billing-rpc'/);
  });

  test('a grpc-js client with a JSON codec gets the same answer', async () => {
    const json = (value: unknown) => Buffer.from(JSON.stringify(value));
    const parse = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as unknown;
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const metadata = new grpc.Metadata();
      metadata.set('target-application', 'order-rpc');
      const value = await new Promise<unknown>((resolve, reject) => {
        client.makeUnaryRequest(`/${ORDER_SERVICE.interface}/listOrders`, json, parse, ['7'], metadata, (error, reply) => (error ? reject(error) : resolve(reply)));
      });
      assert.ok(Array.isArray(value));
    } finally {
      client.close();
    }
  });
});
