// Triple/gRPC through a team gateway: every HTTP/2 stream the laptop sends carries the developer's
// token in the dubbo-tunnel-authorization header, and every application through the gateway shares
// one HTTP/2 session to it. The gateway here is a loopback peer that checks the header and relays
// the stream to a real gRPC provider (@grpc/grpc-js); the consumer is a real gRPC client.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import type {Catalog} from '../../src/gateway/protocol.js';
import {TunnelSession} from '../../src/session/session.js';
import {GatewaySource} from '../../src/via/gateway-source.js';
import type {GatewayCredential} from '../../src/via/gateway-link.js';
import {tcpDialer} from '../../src/via/tcp-dialer.js';
import {FakeGateway} from '../support/fake-gateway.js';
import {GrpcConsumer, GrpcProvider, ORDER_SERVICE, USER_SERVICE} from '../support/grpc-peers.js';

const CATALOG: Catalog = {
  generation: 1,
  applications: [
    {name: 'user-rpc', namespace: 'shop', services: [USER_SERVICE], triple: true},
    {name: 'order-rpc', namespace: 'billing', services: [ORDER_SERVICE], triple: true},
  ],
};

function fixedToken(token: string): GatewayCredential {
  return {
    current: undefined,
    get() {
      (this as {current: string | undefined}).current = token;
      return Promise.resolve(token);
    },
    forget: () => undefined,
    describe: () => 'user alice of context test',
  };
}

describe('Triple through a gateway', () => {
  let provider: GrpcProvider;
  let gateway: FakeGateway;
  before(async () => {
    provider = await GrpcProvider.start('behind-the-gateway');
    gateway = await FakeGateway.start({catalog: CATALOG, users: {'alice-token': 'alice'}, grpcPort: provider.port});
  });
  after(async () => {
    await gateway.close();
    await provider.close();
  });

  test('each stream carries the token; both applications share one HTTP/2 session to the gateway', async () => {
    const events = new TunnelEventBus();
    const source = new GatewaySource({target: `127.0.0.1:${gateway.port}`, dialer: tcpDialer('127.0.0.1', gateway.port), credential: fixedToken('alice-token'), events, client: 'dubbo-tunnel/test'});
    const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1'}, learning: {noLearn: false, resolveFile: undefined}}, 'all');
    const consumer = new GrpcConsumer(`127.0.0.1:${session.port}`);
    try {
      const user = await consumer.unary('UserService', {text: 'a'}, {metadata: {'x-test': 'kept'}});
      const order = await consumer.unary('OrderService', {text: 'b'});
      assert.equal(user.servedBy, 'behind-the-gateway');
      assert.equal(user.header, 'kept', 'the consumer\'s own metadata passes');
      assert.equal(order.text, 'b');
      assert.deepEqual(gateway.http2Streams, ['alice', 'alice']);
      assert.equal(gateway.http2Connections, 1, 'one HTTP/2 session for every application through the gateway');
    } finally {
      consumer.close();
      await session.stop();
    }
  });
});
