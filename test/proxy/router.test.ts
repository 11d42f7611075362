import assert from 'node:assert/strict';
import net from 'node:net';
import {inspect} from 'node:util';
import {after, before, describe, test} from 'node:test';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {decodeResponse, encodeFrame, encodeHeartbeatRequest, encodeReadonlyEvent, encodeRequest, encodeResponse, FLAG_REQUEST, FLAG_TWOWAY, WireReader} from '../support/dubbo-wire.js';
import {sleep, waitFor} from '../support/wait.js';
import {USER_SERVICE, request, startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';

function errorText(response: {kind: string; message?: string}): string {
  if (response.kind !== 'error') assert.fail(`expected an error response, got ${inspect(response)}`);
  return response.message ?? '';
}

describe('routing one consumer connection to several applications', () => {
  let user: TestProvider;
  let pay: TestProvider;
  let tunnel: Tunnel;

  before(async () => {
    // Same interface on both, so only the attachment can tell them apart. user-rpc answers
    // getSlow late, so answers come back in a different order than the requests went out.
    user = await TestProvider.start({
      application: 'user-rpc',
      handler: async (req) => {
        if (req.method === 'getSlow') await sleep(150);
        return {value: `user-rpc:${req.method}:${String(req.args[0])}`, attachments: {dubbo: '2.0.2'}};
      },
    });
    pay = await TestProvider.start({application: 'pay-rpc'});
    tunnel = await startTunnel([user, pay]);
  });
  after(async () => {
    await tunnel.close();
    await user.close();
    await pay.close();
  });

  test('pipelined, interleaved requests each reach their own application and answers return out of order', async () => {
    const consumer = await tunnel.consumer();
    const calls = [
      consumer.call({...request('user-rpc', 'getSlow'), id: 101n}),
      consumer.call({...request('pay-rpc', 'charge'), id: 102n}),
      consumer.call({...request('user-rpc', 'getUser'), id: 103n}),
      consumer.call({...request('pay-rpc', 'refund'), id: 104n}),
    ];
    const [slow, charge, getUser, refund] = await Promise.all(calls);
    assert.deepEqual(
      [slow, charge, getUser, refund].map((r) => (r?.kind === 'value' ? [r.id, r.value] : r)),
      [[101n, 'user-rpc:getSlow:u-1'], [102n, 'pay-rpc:charge'], [103n, 'user-rpc:getUser:u-1'], [104n, 'pay-rpc:refund']],
    );
    // The slow answer arrived after the others: out of order on one socket, matched by id.
    const order = consumer.frames.map((frame) => frame.id);
    assert.ok(order.indexOf(101n) > order.indexOf(103n), `order was ${order.join(',')}`);
    // One upstream connection per backend, kept open.
    assert.equal(user.totalConnections, 1);
    assert.equal(pay.totalConnections, 1);
    // Original bytes forwarded (under the shared stream's own request id): the provider saw exactly our attachments.
    const seen = user.received.find((r) => r.method === 'getUser');
    assert.ok(seen !== undefined && seen.id !== 103n, `the provider saw id ${String(seen?.id)}, the consumer's own`);
    assert.equal(seen?.attachments['target-application'], 'user-rpc');
    assert.equal(seen?.service, USER_SERVICE);
  });

  test('a request without target-application gets an error at once naming the attachment and the applications', async () => {
    const consumer = await tunnel.consumer();
    const response = await consumer.call({...request(undefined), id: 7n});
    assert.equal(response.status, 60);
    assert.equal(errorText(response as never),
      `dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for ${USER_SERVICE}#getUser: attachment 'target-application' missing; known applications: pay-rpc, user-rpc`);
    // The connection stays usable.
    const ok = await consumer.call(request('pay-rpc'));
    assert.equal(ok.kind, 'value');
  });

  test('an unknown target-application is named in the error', async () => {
    const consumer = await tunnel.consumer();
    const response = await consumer.call(request('order-rpc'));
    assert.equal(response.status, 60);
    assert.match(errorText(response), /'target-application' is 'order-rpc', which is not a routed application; known applications: pay-rpc, user-rpc/);
  });

  test('consumer heartbeats are answered by the tunnel itself and never forwarded', async () => {
    const consumer = await tunnel.consumer();
    const before = user.heartbeatsReceived + pay.heartbeatsReceived;
    consumer.send(encodeHeartbeatRequest(55n));
    const frame = await consumer.waitForFrame((f) => f.id === 55n);
    assert.deepEqual(frame.raw, Buffer.from('dabb2214000000000000003700000001' + '4e', 'hex'));
    assert.equal(user.heartbeatsReceived + pay.heartbeatsReceived, before);
  });

  test('one-way requests are forwarded and get no answer', async () => {
    const consumer = await tunnel.consumer();
    consumer.send(encodeRequest({...request('user-rpc', 'notify'), id: 900n, twoWay: false}));
    const answer = await consumer.call({...request('user-rpc', 'getUser'), id: 901n});
    assert.equal(answer.kind, 'value');
    await waitFor(() => user.received.some((r) => r.method === 'notify' && !r.twoWay));
    assert.deepEqual(consumer.frames.map((f) => f.id), [901n], 'no frame for the one-way request');
  });

  test('an undecodable body gets BAD_REQUEST for its id and the connection stays up', async () => {
    const consumer = await tunnel.consumer();
    consumer.send(encodeFrame({id: 31n, flags: FLAG_REQUEST | FLAG_TWOWAY | 2, status: 0, body: Buffer.from([0x05, 0x32, 0x2e, 0x30, 0x2e, 0x32, 0x40, 0x40])}));
    const frame = await consumer.waitForFrame((f) => f.id === 31n);
    assert.equal(frame.status, 40);
    assert.equal(frame.serializationId, 2);
    const ok = await consumer.call(request('user-rpc'));
    assert.equal(ok.kind, 'value');
  });

  test('garbage bytes close only that connection; others keep working', async () => {
    const good = await tunnel.consumer();
    const bad = await tunnel.consumer();
    bad.send(Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'latin1'));
    await bad.waitForClose();
    const ok = await good.call(request('pay-rpc'));
    assert.equal(ok.kind, 'value');
  });

  test('an HTTP request that is not a call gets a plain HTTP 404 that says what the port is, then the connection closes', async () => {
    const consumer = await tunnel.consumer();
    consumer.send(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    await consumer.waitForClose();
    assert.match(consumer.receivedBytes.toString(), /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*speaks the Dubbo protocol[\s\S]*POST \/<application>\/<interface>\/<method>/);
  });

  test('HTTP after Dubbo on one connection still gets the plain HTTP 400, then the connection closes', async () => {
    const consumer = await tunnel.consumer();
    const answer = await consumer.call(request('user-rpc'));
    assert.equal(answer.kind, 'value');
    consumer.send(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    await consumer.waitForClose();
    assert.match(consumer.receivedBytes.toString('latin1'), /HTTP\/1\.1 400 Bad Request\r\n[\s\S]*speaks the Dubbo protocol/);
  });
});

describe('routing fallbacks', () => {
  test('MetadataService calls route by their group; an interface map routes plain requests', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const pay = await TestProvider.start({application: 'pay-rpc'});
    const tunnel = await startTunnel([user, pay], {interfaces: [['com.example.PayService', 'pay-rpc']]});
    try {
      const consumer = await tunnel.consumer();
      const metadata = await consumer.call({
        service: 'org.apache.dubbo.metadata.MetadataService', method: 'getMetadataInfo', parameterTypes: 'Ljava/lang/String;',
        args: ['rev1'], attachments: {group: 'pay-rpc', version: '1.0.0'},
      });
      assert.equal(metadata.kind === 'value' && metadata.value, 'pay-rpc:getMetadataInfo');
      const mapped = await consumer.call({service: 'com.example.PayService', method: 'charge', parameterTypes: '', args: [], attachments: {}});
      assert.equal(mapped.kind === 'value' && mapped.value, 'pay-rpc:charge');
      // The attachment still wins over the interface map.
      const explicit = await consumer.call({service: 'com.example.PayService', method: 'charge', parameterTypes: '', args: [], attachments: {'target-application': 'user-rpc'}});
      assert.equal(explicit.kind === 'value' && explicit.value, 'user-rpc:charge');
    } finally {
      await tunnel.close();
      await user.close();
      await pay.close();
    }
  });

  test('with exactly one backend, requests without the attachment go to it; a fastjson2 request too', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const tunnel = await startTunnel([user]);
    try {
      const consumer = await tunnel.consumer();
      const plain = await consumer.call(request(undefined));
      assert.equal(plain.kind === 'value' && plain.value, 'user-rpc:getUser');
      // A fastjson2 frame (id 23): length-prefixed records. Forwarded untouched, id unchanged.
      const body = fastjson2Body();
      consumer.send(encodeFrame({id: 77n, flags: FLAG_REQUEST | FLAG_TWOWAY | 23, status: 0, body}));
      await waitFor(() => user.badRequests.length + user.received.length >= 2);
      const forwarded = user.badRequests.at(-1);
      assert.equal(forwarded?.serializationId, 23);
      assert.deepEqual(forwarded?.body, body);
    } finally {
      await tunnel.close();
      await user.close();
    }
  });

  test('a serialization other than hessian2 with several backends gets an error naming it', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const pay = await TestProvider.start({application: 'pay-rpc'});
    const tunnel = await startTunnel([user, pay]);
    try {
      const consumer = await tunnel.consumer();
      consumer.send(encodeFrame({id: 5n, flags: FLAG_REQUEST | FLAG_TWOWAY | 8, status: 0, body: Buffer.from([1, 2, 3, 4])}));
      const frame = await consumer.waitForFrame((f) => f.id === 5n);
      assert.equal(frame.status, 60);
      assert.equal(frame.serializationId, 2);
      assert.match(frame.body.toString('latin1'), /kryo/);
    } finally {
      await tunnel.close();
      await user.close();
      await pay.close();
    }
  });
});

/** A minimal fastjson2-framed body: 5 header records + 1 arg + attachments, each [int32 length][bytes]. */
function fastjson2Body(): Buffer {
  const records = ['2.0.2', USER_SERVICE, '0.0.0', 'getUser', 'Ljava/lang/String;', 'u-1'].map((s) => Buffer.concat([Buffer.from([0x49 + s.length]), Buffer.from(s)]));
  records.push(Buffer.from([0xa6, 0xa5]));
  return Buffer.concat(records.flatMap((record) => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(record.length);
    return [length, record];
  }));
}

describe('backend failures are answered, never hung', () => {
  test('a backend that refuses gets an error response; the next request reconnects once it is back', async () => {
    const placeholder = net.createServer();
    await new Promise<void>((resolve) => placeholder.listen(0, '127.0.0.1', resolve));
    const port = (placeholder.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => placeholder.close(() => resolve()));
    const tunnel = await startTunnel([new StaticBackend('user-rpc', '127.0.0.1', port)]);
    try {
      const consumer = await tunnel.consumer();
      const refused = await consumer.call(request('user-rpc'));
      assert.equal(refused.status, 80);
      assert.match(errorText(refused), new RegExp(`user-rpc: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`));
      const revivedSockets = new Set<net.Socket>();
      const revived = net.createServer((socket) => {
        revivedSockets.add(socket);
        socket.on('data', (chunk) => {
          // Echo the id back with an OK null response (0x92) to prove the frame arrived.
          const response = Buffer.from('dabb0214000000000000000000000001' + '92', 'hex');
          chunk.copy(response, 4, 4, 12);
          socket.write(response);
        });
      });
      await new Promise<void>((resolve) => revived.listen(port, '127.0.0.1', resolve));
      try {
        const ok = await consumer.call(request('user-rpc'));
        assert.equal(ok.status, 20);
        assert.equal(ok.kind, 'null');
      } finally {
        await new Promise<void>((resolve) => {
          revived.close(() => resolve());
          for (const socket of revivedSockets) socket.destroy();
        });
      }
    } finally {
      await tunnel.close();
    }
  });

  test('when a backend dies, every request in flight on it gets an error and others are untouched', async () => {
    const user = await TestProvider.start({application: 'user-rpc', handler: () => ({noReply: true})});
    const pay = await TestProvider.start({application: 'pay-rpc', handler: async () => {
      await sleep(100);
      return {value: 'paid'};
    }});
    const tunnel = await startTunnel([user, pay]);
    try {
      const consumer = await tunnel.consumer();
      const lost = [consumer.call({...request('user-rpc'), id: 1n}), consumer.call({...request('user-rpc'), id: 2n})];
      const paid = consumer.call({...request('pay-rpc'), id: 3n});
      await waitFor(() => user.received.length === 2);
      user.destroyConnections();
      for (const response of await Promise.all(lost)) {
        assert.equal(response.status, 80);
        assert.match(errorText(response), /user-rpc: .*(closed the connection|failed).*got no answer/);
      }
      const payment = await paid;
      assert.equal(payment.kind === 'value' && payment.value, 'paid');
      assert.equal(consumer.closed, false);
    } finally {
      await tunnel.close();
      await user.close();
      await pay.close();
    }
  });

  test('a frame over the payload limit is refused with Dubbo\'s message and the connection stays up', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const tunnel = await startTunnel([user], {maxBodyLength: 4096});
    try {
      const consumer = await tunnel.consumer();
      const big = await consumer.call({...request('user-rpc'), args: ['x'.repeat(10_000)]});
      assert.equal(big.status, 40);
      assert.match(errorText(big), /Data length too large: \d+, max payload: 4096/);
      assert.equal(user.received.length, 0, 'never forwarded');
      const ok = await consumer.call(request('user-rpc'));
      assert.equal(ok.kind, 'value');
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

describe('provider events', () => {
  test('provider heartbeats are answered on the upstream and never reach the consumer', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const tunnel = await startTunnel([user]);
    try {
      const consumer = await tunnel.consumer();
      await consumer.call(request('user-rpc'));
      user.sendToAll(encodeHeartbeatRequest(4242n));
      await waitFor(() => user.responsesReceived.some((f) => f.id === 4242n && f.event && f.status === 20));
      const answer = await consumer.call(request('user-rpc'));
      assert.equal(answer.kind, 'value');
      assert.equal(consumer.frames.some((f) => f.event), false);
    } finally {
      await tunnel.close();
      await user.close();
    }
  });

  test('READONLY is never forwarded; the next request opens a fresh upstream', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const tunnel = await startTunnel([user]);
    try {
      const consumer = await tunnel.consumer();
      await consumer.call(request('user-rpc'));
      assert.equal(user.totalConnections, 1);
      user.sendToAll(encodeReadonlyEvent(1n));
      await waitFor(() => user.openConnections === 0);
      const after = await consumer.call(request('user-rpc'));
      assert.equal(after.kind, 'value');
      assert.equal(user.totalConnections, 2);
      assert.equal(consumer.frames.some((f) => f.event), false);
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

describe('half-close', () => {
  test('a consumer that shuts down its sending side still gets its answers, then the connection ends', async () => {
    const user = await TestProvider.start({application: 'user-rpc', handler: async (req) => {
      await sleep(50);
      return {value: `late:${req.method}`};
    }});
    const tunnel = await startTunnel([user]);
    try {
      const socket = net.connect(tunnel.server.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.end(Buffer.concat([encodeRequest({...request('user-rpc', 'a'), id: 1n}), encodeRequest({...request('user-rpc', 'b'), id: 2n})]));
      await closed;
      const frames = new WireReader().push(Buffer.concat(chunks)).map((frame) => decodeResponse(frame));
      assert.deepEqual(frames.map((r) => (r.kind === 'value' ? [r.id, r.value] : r.kind)), [[1n, 'late:a'], [2n, 'late:b']]);
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

describe('callbacks', () => {
  test('a request the provider sends to the consumer (a callback) reaches it, and its answer goes back to that provider', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    const tunnel = await startTunnel([user]);
    try {
      const consumer = await tunnel.consumer();
      await consumer.call(request('user-rpc'));
      // Dubbo callback parameters: the provider invokes a service the consumer exported, on the same connection.
      user.sendToAll(encodeRequest({id: 7001n, service: 'com.example.UserListener', method: 'changed', parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments: {}}));
      const callback = await consumer.waitForFrame((f) => f.isRequest && f.id === 7001n);
      assert.equal(callback.twoWay, true);
      consumer.send(encodeResponse({id: 7001n, result: {kind: 'null'}}));
      await waitFor(() => user.responsesReceived.some((f) => f.id === 7001n && !f.event && f.status === 20));
    } finally {
      await tunnel.close();
      await user.close();
    }
  });
});

describe('listening', () => {
  test('a port already in use is a clear error that names --port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const {TunnelServer} = await import('../../src/proxy/tunnel-server.js');
      const {RouteSource} = await import('../../src/router/route-table.js');
      await assert.rejects(TunnelServer.start({port, host: '127.0.0.1', routes: new RouteSource()}), (error: {code: string; message: string; hint: string}) => {
        assert.equal(error.code, 'DT_ERR_PORT_IN_USE');
        assert.match(error.hint, /--port/);
        return true;
      });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('graceful close answers what is in flight and leaves nothing listening', async () => {
    const user = await TestProvider.start({application: 'user-rpc', handler: async () => {
      await sleep(100);
      return {value: 'late'};
    }});
    const tunnel = await startTunnel([user]);
    const consumer = await TestConsumer.connect(tunnel.server.port);
    const inFlight = consumer.call(request('user-rpc'));
    await waitFor(() => user.received.length === 1);
    await tunnel.server.close(2000);
    const answer = await inFlight;
    assert.equal(answer.kind === 'value' && answer.value, 'late');
    await assert.rejects(TestConsumer.connect(tunnel.server.port));
    await consumer.close();
    await user.close();
  });

  test('while closing gracefully, new requests are refused as shutting down, an unreadable one as such; what was in flight is answered', async () => {
    const user = await TestProvider.start({application: 'user-rpc', handler: async () => {
      await sleep(300);
      return {value: 'late'};
    }});
    const order = await TestProvider.start({application: 'order-rpc'});
    const tunnel = await startTunnel([user, order]);
    const consumer = await tunnel.consumer();
    const inFlight = consumer.call(request('user-rpc'));
    await waitFor(() => user.received.length === 1);
    const closing = tunnel.server.close(2000);
    const routed = await consumer.call(request('user-rpc'));
    assert.match(errorText(routed), /^dubbo-tunnel \[DT_ERR_SHUTTING_DOWN\]: shutting down; com\.example\.UserService#getUser was not forwarded/);
    const unrouted = await consumer.call(request('nope-rpc'));
    assert.match(errorText(unrouted), /\[DT_ERR_SHUTTING_DOWN\]/, 'a request without a route is refused as shutting down too');
    consumer.send(encodeFrame({id: 77n, flags: FLAG_REQUEST | FLAG_TWOWAY | 2, status: 0, body: Buffer.from([0x05, 0x32, 0x2e, 0x30, 0x2e, 0x32, 0x40, 0x40])}));
    assert.equal((await consumer.waitForFrame((f) => f.id === 77n)).status, 40, 'an unreadable body has no target to name and is answered as unreadable');
    const answer = await inFlight;
    assert.equal(answer.kind === 'value' && answer.value, 'late');
    await closing;
    const codes = tunnel.completed.map((entry) => entry.code ?? 'ok');
    assert.deepEqual(codes.sort(), ['DT_ERR_BAD_BODY', 'DT_ERR_SHUTTING_DOWN', 'DT_ERR_SHUTTING_DOWN', 'ok']);
    assert.equal(user.received.length, 1, 'nothing new was forwarded');
    await tunnel.close();
    await Promise.all([user.close(), order.close()]);
  });
});
