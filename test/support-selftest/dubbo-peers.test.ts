// Self-tests of the TCP test peers, consumer talking straight to provider (no tunnel in between).
import net from 'node:net';
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {encodeHeartbeatRequest, encodeReadonlyEvent, encodeRequest} from '../support/dubbo-wire.js';
import {sleep, waitFor} from '../support/wait.js';

const call = {service: 'com.foo.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['u1'], attachments: {'target-application': 'user-rpc'}};

void test('default reply, pipelined calls, out-of-order answers', async (t) => {
  const provider = await TestProvider.start({
    application: 'user-rpc',
    // The first request is answered last: responses leave out of order and are matched by id.
    handler: async (req) => {
      if (req.args[0] === 'slow') await sleep(50);
      return {value: `${String(req.args[0])}@${req.service}`};
    },
  });
  const consumer = await TestConsumer.connect(provider.port);
  t.after(async () => {
    await consumer.close();
    await provider.close();
  });
  const results = await Promise.all(['slow', 'a', 'b', 'c'].map((arg) => consumer.call({...call, args: [arg]})));
  assert.deepEqual(results.map((r) => r.kind === 'value' && r.value), ['slow@com.foo.UserService', 'a@com.foo.UserService', 'b@com.foo.UserService', 'c@com.foo.UserService']);
  assert.deepEqual(results.map((r) => r.kind === 'value' && r.attachments), Array(4).fill({dubbo: '2.0.2'}));
  // The slow answer arrived last on the wire.
  assert.equal(consumer.frames.at(-1)?.id, results[0]?.id);
  assert.equal(provider.received.length, 4);
  assert.equal(provider.received[0]?.attachments['target-application'], 'user-rpc');
  assert.equal(provider.openConnections, 1);
  assert.equal(provider.totalConnections, 1);
});

void test('default handler, flag 1 for old dubbo versions, serialization id and id echoed', async (t) => {
  const provider = await TestProvider.start({application: 'order-rpc'});
  const consumer = await TestConsumer.connect(provider.port);
  t.after(async () => {
    await consumer.close();
    await provider.close();
  });
  const res = await consumer.call({...call, id: -42n});
  assert.equal(res.id, -42n);
  assert.equal(res.status, 20);
  assert.equal(res.kind, 'value');
  assert.equal(res.kind === 'value' && res.value, 'order-rpc:getUser');
  assert.equal(res.frame.body[0], 0x94);
  const old = await consumer.call({...call, dubboVersion: '2.5.10'});
  assert.equal(old.frame.body[0], 0x91);
  assert.equal(old.kind === 'value' && old.attachments, undefined);
});

void test('null, exception, error-status and missing replies', async (t) => {
  const provider = await TestProvider.start({
    application: 'x',
    handler: (req) => {
      switch (req.method) {
        case 'nothing': return {nullValue: true};
        case 'fail': return {exception: 'boom'};
        case 'error': return {status: 70, errorMessage: 'service error'};
        case 'throw': throw new Error('handler blew up');
        default: return {noReply: true};
      }
    },
  });
  const consumer = await TestConsumer.connect(provider.port);
  t.after(async () => {
    await consumer.close();
    await provider.close();
  });
  const nothing = await consumer.call({...call, method: 'nothing'});
  assert.equal(nothing.kind, 'null');
  assert.equal(nothing.frame.body[0], 0x95);
  const fail = await consumer.call({...call, method: 'fail'});
  assert.equal(fail.kind, 'exception');
  assert.equal(fail.frame.body[0], 0x93);
  assert.ok(fail.frame.body.includes(0x51), 'Throwable body carries a Q back-reference');
  assert.equal(fail.kind === 'exception' && (fail.exception as Error).message, 'boom');
  const error = await consumer.call({...call, method: 'error'});
  assert.deepEqual([error.status, error.kind === 'error' && error.message], [70, 'service error']);
  const thrown = await consumer.call({...call, method: 'throw'});
  assert.equal(thrown.status, 70);
  await assert.rejects(consumer.call({...call, method: 'silent'}, 100), /no response to id/);
});

void test('one-way requests get no reply; heartbeats are answered; events are recorded', async (t) => {
  const provider = await TestProvider.start({application: 'x'});
  const consumer = await TestConsumer.connect(provider.port);
  t.after(async () => {
    await consumer.close();
    await provider.close();
  });
  consumer.send(encodeRequest({...call, id: 100n, twoWay: false}));
  consumer.send(encodeHeartbeatRequest(101n));
  const hb = await consumer.waitForFrame((f) => f.id === 101n);
  assert.deepEqual([hb.event, hb.isRequest, hb.status, hb.body.toString('hex')], [true, false, 20, '4e']);
  assert.equal(provider.heartbeatsReceived, 1);
  assert.equal(provider.received.length, 1);
  assert.equal(provider.received[0]?.twoWay, false);
  // Everything before the heartbeat response has been processed: no reply to id 100 was sent.
  assert.equal(consumer.frames.filter((f) => f.id === 100n).length, 0);
  consumer.send(encodeReadonlyEvent(102n));
  await waitFor(() => provider.eventsReceived.length === 1, {message: 'READONLY event at provider'});
  assert.equal(provider.eventsReceived[0]?.body.toString('hex'), '0152');
});

void test('provider-sent heartbeat and READONLY reach the consumer, which answers heartbeats', async (t) => {
  const provider = await TestProvider.start({application: 'x'});
  const consumer = await TestConsumer.connect(provider.port);
  t.after(async () => {
    await consumer.close();
    await provider.close();
  });
  await waitFor(() => provider.openConnections === 1);
  provider.sendToAll(encodeHeartbeatRequest(9n));
  provider.sendToAll(encodeReadonlyEvent(10n));
  await waitFor(() => provider.responsesReceived.length === 1, {message: 'heartbeat response at provider'});
  assert.equal(provider.responsesReceived[0]?.id, 9n);
  const ro = await consumer.waitForFrame((f) => f.id === 10n);
  assert.equal(ro.raw.toString('hex'), 'dabba200000000000000000a000000020152');
});

void test('destroyConnections resets clients and fails calls in flight; provider keeps listening', async (t) => {
  const provider = await TestProvider.start({application: 'x', handler: () => ({noReply: true})});
  const consumer = await TestConsumer.connect(provider.port);
  t.after(async () => {
    await consumer.close();
    await provider.close();
  });
  const pending = consumer.call(call);
  await waitFor(() => provider.received.length === 1);
  provider.destroyConnections();
  await assert.rejects(pending, /connection closed/);
  await consumer.waitForClose();
  assert.equal(consumer.closed, true);
  const again = await TestConsumer.connect(provider.port);
  t.after(() => again.close());
  await waitFor(() => provider.totalConnections === 2);
});

void test('the provider drops a peer that sends non-Dubbo bytes', async (t) => {
  const provider = await TestProvider.start({application: 'x'});
  const consumer = await TestConsumer.connect(provider.port);
  t.after(async () => {
    await consumer.close();
    await provider.close();
  });
  consumer.send(Buffer.from('ls\r\n'));
  await consumer.waitForClose();
  assert.equal(provider.received.length, 0);
  assert.equal(consumer.receivedBytes.length, 0);
});

void test('the consumer keeps non-Dubbo answers raw and stops framing', async (t) => {
  const server = net.createServer((socket) => socket.end('Unsupported command: ls\r\ndubbo>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const consumer = await TestConsumer.connect((server.address() as net.AddressInfo).port);
  t.after(async () => {
    await consumer.close();
    await new Promise((resolve) => server.close(resolve));
  });
  await consumer.waitForClose();
  assert.equal(consumer.receivedBytes.toString(), 'Unsupported command: ls\r\ndubbo>');
  assert.match(String(consumer.framingError), /bad magic/);
  assert.equal(consumer.frames.length, 0);
});
