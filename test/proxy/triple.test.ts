import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type {ServerHttp2Session, ServerHttp2Stream} from 'node:http2';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {createRouteTable} from '../../src/router/route-table.js';
import {GrpcConsumer, GrpcProvider, ORDER_SERVICE, USER_SERVICE, collect, grpc} from '../support/grpc-peers.js';
import type {EchoReply} from '../support/grpc-peers.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {sleep, waitFor} from '../support/wait.js';
import {LocalPeerPolicy} from '../../src/proxy/local-peer.js';
import {request, startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';

const {status: Status} = grpc;

/** A backend with a Triple port only (its Dubbo port is never used in these tests). */
function tripleBackend(provider: GrpcProvider): StaticBackend {
  return StaticBackend.tripleOnly(provider.application, {host: '127.0.0.1', port: provider.port});
}

function grpcError(error: unknown): grpc.ServiceError {
  assert.ok(error instanceof Error && 'code' in error, `expected a gRPC error, got ${String(error)}`);
  return error as grpc.ServiceError;
}

describe('Triple/gRPC on the local port', () => {
  let user: GrpcProvider;
  let order: GrpcProvider;
  let legacy: TestProvider;
  let tunnel: Tunnel;
  let consumer: GrpcConsumer;

  before(async () => {
    user = await GrpcProvider.start('user-rpc');
    order = await GrpcProvider.start('order-rpc');
    // An application with only a Dubbo port, next to the two Triple ones.
    legacy = await TestProvider.start({application: 'legacy-rpc'});
    tunnel = await startTunnel([tripleBackend(user), tripleBackend(order), legacy], {interfaces: [[USER_SERVICE, 'user-rpc'], [ORDER_SERVICE, 'order-rpc']]});
    consumer = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
  });

  after(async () => {
    consumer.close();
    await tunnel.close();
    await Promise.all([user.close(), order.close(), legacy.close()]);
  });

  test('unary calls are routed by the target-application header, and by service without it', async () => {
    const byHeader = await consumer.unary('UserService', {text: 'hi'}, {metadata: {'target-application': 'order-rpc', 'x-test': 'h1'}});
    assert.equal(byHeader.servedBy, 'order-rpc');
    assert.equal(byHeader.header, 'h1');
    assert.equal(byHeader.text, 'hi');
    const byService = await consumer.unary('OrderService', {text: 'o'});
    assert.equal(byService.servedBy, 'order-rpc');
    const byService2 = await consumer.unary('UserService', {text: 'u'});
    assert.equal(byService2.servedBy, 'user-rpc');
    await waitFor(() => tunnel.completed.filter((entry) => entry.protocol === 'triple').length >= 3);
    const entry = tunnel.completed.find((completed) => completed.protocol === 'triple' && completed.application === 'order-rpc');
    assert.equal(entry?.target, `${USER_SERVICE}#Unary`);
    assert.equal(entry?.status, Status.OK);
  });

  test('server streaming, client streaming and bidi pass through', async () => {
    const {replies, status} = await collect(consumer.serverStream('UserService', {text: 's', count: 5}));
    assert.equal(status.code, Status.OK);
    assert.deepEqual(replies.map((reply) => reply.index), [0, 1, 2, 3, 4]);

    const summed = await new Promise<EchoReply>((resolve, reject) => {
      const call = consumer.clientStream('OrderService', (error, value) => (error ? reject(error) : resolve(value as EchoReply)));
      for (const text of ['a', 'b', 'c']) call.write({text});
      call.end();
    });
    assert.equal(summed.text, 'a,b,c');
    assert.equal(summed.servedBy, 'order-rpc');

    const bidi = consumer.bidi('UserService', {metadata: {'target-application': 'order-rpc'}});
    const echoed: string[] = [];
    const done = new Promise<grpc.StatusObject>((resolve) => bidi.on('status', resolve));
    bidi.on('data', (reply: EchoReply) => {
      echoed.push(`${reply.servedBy}:${reply.text}`);
      if (echoed.length < 3) bidi.write({text: `m${echoed.length}`});
      else bidi.end();
    });
    bidi.write({text: 'm0'});
    assert.equal((await done).code, Status.OK);
    assert.deepEqual(echoed, ['order-rpc:m0', 'order-rpc:m1', 'order-rpc:m2']);
  });

  test('no route, an unknown application and an application without a Triple port end the stream with UNIMPLEMENTED', async () => {
    const noHeader = grpcError(await consumer.unary('UserService', {}, {metadata: {'target-application': 'nope-rpc'}}).catch((error: unknown) => error));
    assert.equal(noHeader.code, Status.UNIMPLEMENTED);
    assert.equal(noHeader.details, `dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for ${USER_SERVICE}#Unary: attachment 'target-application' is 'nope-rpc', which is not a routed application; known applications: legacy-rpc, order-rpc, user-rpc`);

    const dubboOnly = grpcError(await consumer.unary('UserService', {}, {metadata: {'target-application': 'legacy-rpc'}}).catch((error: unknown) => error));
    assert.equal(dubboOnly.code, Status.UNIMPLEMENTED);
    assert.match(dubboOnly.details, /^dubbo-tunnel \[DT_ERR_NO_ROUTE\]: legacy-rpc has no Triple port \(only dubbo:\/\/ at 127\.0\.0\.1:\d+\); tunnel\.test\.UserService#Unary was not sent \(give it one with --backend legacy-rpc=tri:\/\/<host>:<port>, or name its Service port tri or grpc\)$/);

    // A service nobody maps, no header, three applications: nothing to go by.
    const other = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    try {
      tunnel.routes.set(createRouteTable(tunnel.routes.current.backends.values()));
      const missing = grpcError(await other.unary('OrderService', {}).catch((error: unknown) => error));
      assert.equal(missing.code, Status.UNIMPLEMENTED);
      assert.equal(missing.details, `dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for ${ORDER_SERVICE}#Unary: attachment 'target-application' missing; known applications: legacy-rpc, order-rpc, user-rpc`);
    } finally {
      tunnel.routes.set(createRouteTable(tunnel.routes.current.backends.values(), [[USER_SERVICE, 'user-rpc'], [ORDER_SERVICE, 'order-rpc']]));
      other.close();
    }
    // The connection that got those statuses still works.
    assert.equal((await consumer.unary('OrderService', {text: 'still'})).servedBy, 'order-rpc');
    await waitFor(() => tunnel.completed.some((entry) => entry.protocol === 'triple' && entry.error?.includes('nope-rpc') === true));
  });

  test('the provider\'s error statuses and messages pass through, for unary calls and after stream messages', async () => {
    const message = 'user u-1 nicht gefunden: 100% sicher ✓';
    const unary = grpcError(await consumer.unary('UserService', {failCode: Status.NOT_FOUND, failMessage: message}).catch((error: unknown) => error));
    assert.equal(unary.code, Status.NOT_FOUND);
    assert.equal(unary.details, message);

    const {replies, status} = await collect(consumer.serverStream('OrderService', {count: 2, failCode: Status.FAILED_PRECONDITION, failMessage: 'stop here'}));
    assert.equal(replies.length, 2);
    assert.equal(status.code, Status.FAILED_PRECONDITION);
    assert.equal(status.details, 'stop here');
    await waitFor(() => tunnel.completed.some((entry) => entry.protocol === 'triple' && entry.status === Status.FAILED_PRECONDITION));
    const failed = tunnel.completed.find((entry) => entry.protocol === 'triple' && entry.status === Status.NOT_FOUND);
    assert.equal(failed?.error, undefined, 'a provider\'s status is not an error of dubbo-tunnel');
  });

  test('deadlines reach the provider; an expired deadline cancels the provider\'s call', async () => {
    const withDeadline = await consumer.unary('UserService', {text: 'd'}, {deadlineMs: 5000});
    assert.equal(withDeadline.timeout, 'set', 'grpc-timeout reached the provider');
    const without = await consumer.unary('UserService', {text: 'd'});
    assert.equal(without.timeout, '');

    const cancelledBefore = user.cancelled;
    const late = grpcError(await consumer.unary('UserService', {delayMs: 3000}, {deadlineMs: 200}).catch((error: unknown) => error));
    assert.equal(late.code, Status.DEADLINE_EXCEEDED);
    await waitFor(() => user.cancelled > cancelledBefore, {message: 'the provider never saw the call end'});
  });

  test('a client cancel reaches the provider; other streams on the connection go on', async () => {
    const cancelledBefore = order.cancelled;
    const long = consumer.serverStream('OrderService', {count: 10_000, delayMs: 10});
    const parallel = consumer.serverStream('UserService', {count: 20, delayMs: 10});
    const parallelDone = collect(parallel);
    const seen: number[] = [];
    const done = collect(long);
    long.on('data', (reply: EchoReply) => {
      seen.push(reply.index);
      if (seen.length === 3) long.cancel();
    });
    const {status} = await done;
    assert.equal(status.code, Status.CANCELLED);
    await waitFor(() => order.cancelled > cancelledBefore, {message: 'the provider never saw the cancel'});
    const other = await parallelDone;
    assert.equal(other.status.code, Status.OK);
    assert.equal(other.replies.length, 20);
  });

  test('large messages both ways, and a client stream of many chunks', async () => {
    const blob = Buffer.alloc(3 * 1024 * 1024, 7);
    blob.write('start', 0);
    blob.write('end', blob.length - 3);
    const echoed = await consumer.unary('UserService', {text: 'big', blob});
    assert.equal(echoed.blob.length, blob.length);
    assert.ok(echoed.blob.equals(blob));

    const chunk = Buffer.alloc(256 * 1024, 1);
    const total = await new Promise<EchoReply>((resolve, reject) => {
      const call = consumer.clientStream('OrderService', (error, value) => (error ? reject(error) : resolve(value as EchoReply)));
      for (let i = 0; i < 40; i++) call.write({text: String(i), blob: chunk});
      call.end();
    });
    assert.equal(total.index, 40 * chunk.length);
  });

  test('many concurrent streams to both applications on one connection, next to a Dubbo consumer', async () => {
    const opened: number[] = [];
    const onOpened = (event: {connectionId: number}) => opened.push(event.connectionId);
    tunnel.events.on('connection-opened', onOpened);
    const many = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    const dubbo = await tunnel.consumer();
    try {
      const calls = Array.from({length: 300}, (_, i) => {
        const service = i % 2 === 0 ? 'UserService' as const : 'OrderService' as const;
        const viaHeader = i % 3 === 0;
        return many.unary(service, {text: String(i)}, viaHeader ? {metadata: {'target-application': i % 2 === 0 ? 'order-rpc' : 'user-rpc'}} : {})
          .then((reply) => ({i, reply, expected: viaHeader ? (i % 2 === 0 ? 'order-rpc' : 'user-rpc') : (i % 2 === 0 ? 'user-rpc' : 'order-rpc')}));
      });
      const dubboCalls = Array.from({length: 20}, () => dubbo.call(request('legacy-rpc')));
      for (const {i, reply, expected} of await Promise.all(calls)) {
        assert.equal(reply.text, String(i));
        assert.equal(reply.servedBy, expected, `call ${i}`);
      }
      for (const answer of await Promise.all(dubboCalls)) assert.equal(answer.kind, 'value');
      // The Dubbo consumer and the gRPC channel: two connections, each of its own kind.
      assert.equal(opened.length, 2);
    } finally {
      tunnel.events.off('connection-opened', onOpened);
      many.close();
    }
  });

  test('an unreachable Triple port ends the stream with UNAVAILABLE in the Dubbo error\'s words', async () => {
    const gone = await GrpcProvider.start('gone-rpc');
    const port = gone.port;
    await gone.close();
    const solo = await startTunnel([StaticBackend.tripleOnly('gone-rpc', {host: '127.0.0.1', port})]);
    const client = new GrpcConsumer(`127.0.0.1:${solo.server.port}`);
    try {
      const error = grpcError(await client.unary('UserService', {}).catch((caught: unknown) => caught));
      assert.equal(error.code, Status.UNAVAILABLE);
      assert.equal(error.details, `dubbo-tunnel [DT_ERR_BACKEND_UNAVAILABLE]: gone-rpc: cannot connect to 127.0.0.1:${port}: connection refused; ${USER_SERVICE}#Unary was not sent`);
    } finally {
      client.close();
      await solo.close();
    }
  });
});

describe('Triple backends that go away', () => {
  test('a provider killed mid-stream: every open stream gets UNAVAILABLE, new streams go to the restarted one', async () => {
    let provider = await GrpcProvider.start('user-rpc');
    const port = provider.port;
    const tunnel = await startTunnel([StaticBackend.tripleOnly('user-rpc', {host: '127.0.0.1', port})]);
    const client = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    try {
      const streams = [
        consumerStream(client, 'UserService'),
        consumerStream(client, 'OrderService'),
      ];
      const bidi = client.bidi('UserService');
      const bidiStatus = new Promise<grpc.StatusObject>((resolve) => bidi.on('status', resolve));
      bidi.on('error', () => undefined);
      const firstEcho = new Promise<void>((resolve) => bidi.once('data', () => resolve()));
      bidi.write({text: 'x'});
      await Promise.all([...streams.map((stream) => stream.first), firstEcho]);
      provider.kill();
      for (const {done} of streams) {
        const {status} = await done;
        assert.equal(status.code, Status.UNAVAILABLE, status.details);
        assert.match(status.details, /^dubbo-tunnel \[DT_ERR_BACKEND_CLOSED\]: user-rpc: 127\.0\.0\.1:\d+ closed the connection( \(HTTP\/2 GOAWAY code \d+\))?; tunnel\.test\.(User|Order)Service#ServerStream got no complete answer \(it may or may not have run on the provider\)$/);
      }
      const bidiEnd = await bidiStatus;
      assert.equal(bidiEnd.code, Status.UNAVAILABLE, bidiEnd.details);

      provider = await GrpcProvider.start('user-rpc', port);
      const again = await client.unary('UserService', {text: 'back'});
      assert.equal(again.text, 'back');
    } finally {
      client.close();
      await tunnel.close();
      await provider.close();
    }
  });

  test('a provider that shuts down gracefully (GOAWAY) lets its streams finish; the next stream opens a fresh session', async () => {
    let provider = await GrpcProvider.start('user-rpc');
    const port = provider.port;
    const tunnel = await startTunnel([StaticBackend.tripleOnly('user-rpc', {host: '127.0.0.1', port})]);
    const logs: string[] = [];
    tunnel.events.on('log', (event) => logs.push(event.message));
    const client = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    try {
      const running = collect(client.serverStream('UserService', {count: 5, delayMs: 50}));
      await waitFor(() => provider.started > 0);
      const closing = provider.close();
      const {status, replies} = await running;
      assert.equal(status.code, Status.OK);
      assert.equal(replies.length, 5);
      await closing;
      await waitFor(() => logs.some((line) => line.includes('GOAWAY')), {message: 'the tunnel did not notice the GOAWAY'});
      provider = await GrpcProvider.start('user-rpc', port);
      assert.equal((await client.unary('UserService', {text: 'fresh'})).text, 'fresh');
    } finally {
      client.close();
      await tunnel.close();
      await provider.close();
    }
  });

  test('stopping the tunnel ends open streams with UNAVAILABLE', async () => {
    const provider = await GrpcProvider.start('user-rpc');
    const tunnel = await startTunnel([StaticBackend.tripleOnly('user-rpc', {host: '127.0.0.1', port: provider.port})]);
    const client = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    try {
      const {first, done} = consumerStream(client, 'UserService');
      await first;
      await tunnel.server.close(100);
      const {status} = await done;
      assert.equal(status.code, Status.UNAVAILABLE);
      // Still open when the bound of the stop's wait passed: the code says it got no whole answer.
      assert.match(status.details, /^dubbo-tunnel \[DT_ERR_STOPPED_BEFORE_ANSWER\]: dubbo-tunnel stopped: no answer within the 0\.1 s it waits on a stop \(--drain-timeout\); tunnel\.test\.UserService#\w+ got no complete answer \(it may or may not have run on the provider\)$/);
    } finally {
      client.close();
      await tunnel.close();
      await provider.close();
    }
  });
});

/**
 * A bare HTTP/2 provider behind a relay: each stream gets its response headers and is then left to
 * the test, and the relay can hold back what the tunnel sends (its PINGs included) while passing on
 * what the provider sends.
 */
async function rawProvider(): Promise<{port: number; streams: ServerHttp2Stream[]; sessions: ServerHttp2Session[]; holdRequests: () => void; close: () => Promise<void>}> {
  const streams: ServerHttp2Stream[] = [];
  const sessions: ServerHttp2Session[] = [];
  const server = http2.createServer();
  server.on('session', (session) => {
    sessions.push(session);
    session.on('error', () => undefined);
  });
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.respond({':status': 200, 'content-type': 'application/grpc'});
    streams.push(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const providerPort = (server.address() as net.AddressInfo).port;
  let held = false;
  const relaySockets = new Set<net.Socket>();
  const relay = net.createServer((fromTunnel) => {
    const toProvider = net.connect(providerPort, '127.0.0.1');
    relaySockets.add(fromTunnel).add(toProvider);
    fromTunnel.on('data', (chunk: Buffer) => {
      if (!held) toProvider.write(chunk);
    });
    toProvider.pipe(fromTunnel);
    const end = () => {
      fromTunnel.destroy();
      toProvider.destroy();
    };
    fromTunnel.on('close', end).on('error', end);
    toProvider.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as net.AddressInfo).port,
    streams,
    sessions,
    holdRequests: () => {
      held = true;
    },
    close: async () => {
      for (const socket of relaySockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => relay.close(() => resolve())),
        new Promise<void>((resolve) => server.close(() => resolve())),
      ]);
    },
  };
}

/**
 * A bidi call that has sent its headers and keeps its side open: node's stream.close(code) on the
 * provider ends the provider's side first, so only with the consumer's side open is it a reset.
 */
function openBidi(client: GrpcConsumer): Promise<grpc.StatusObject> {
  const bidi = client.bidi('UserService');
  bidi.on('error', () => undefined);
  bidi.on('data', () => undefined);
  return new Promise<grpc.StatusObject>((resolve) => bidi.on('status', resolve));
}

describe('a provider\'s CANCEL: its own, or its going away', () => {
  test('a provider that cancels one stream on a healthy session: the consumer gets the same cancel, the session stays', async () => {
    const provider = await rawProvider();
    const tunnel = await startTunnel([StaticBackend.tripleOnly('raw-rpc', {host: '127.0.0.1', port: provider.port})]);
    const client = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    try {
      const status = openBidi(client);
      await waitFor(() => provider.streams.length === 1);
      provider.streams[0]?.close(http2.constants.NGHTTP2_CANCEL);
      assert.equal((await status).code, Status.CANCELLED);
      await waitFor(() => tunnel.completed.some((entry) => entry.protocol === 'triple'));
      const [entry] = tunnel.completed.filter((completed) => completed.protocol === 'triple');
      assert.deepEqual([entry?.status, entry?.code], [Status.CANCELLED, undefined], 'the provider\'s own cancel is not an error of dubbo-tunnel');
      assert.equal(provider.sessions.length, 1);
      assert.equal(provider.sessions[0]?.destroyed, false, 'the provider\'s session is still in use');
    } finally {
      client.close();
      await tunnel.close();
      await provider.close();
    }
  });

  test('a provider that cancels its streams and only then says GOAWAY: UNAVAILABLE, decided by the session, not by timing', async () => {
    const provider = await rawProvider();
    const tunnel = await startTunnel([StaticBackend.tripleOnly('raw-rpc', {host: '127.0.0.1', port: provider.port})]);
    const client = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    try {
      const status = openBidi(client);
      await waitFor(() => provider.streams.length === 1);
      // The tunnel's PING cannot reach the provider, so nothing answers it before the GOAWAY comes,
      // long after the reset (many turns of the event loop).
      provider.holdRequests();
      provider.streams[0]?.close(http2.constants.NGHTTP2_CANCEL);
      await sleep(150);
      // (the number form of destroy(), as grpc-js uses it: RST_STREAM and GOAWAY with this code)
      (provider.sessions[0] as unknown as {destroy(code: number): void} | undefined)?.destroy(http2.constants.NGHTTP2_CANCEL);
      const ended = await status;
      assert.equal(ended.code, Status.UNAVAILABLE, ended.details);
      assert.match(ended.details, /^dubbo-tunnel \[DT_ERR_BACKEND_CLOSED\]: raw-rpc: 127\.0\.0\.1:\d+ closed the connection/);
      await waitFor(() => tunnel.completed.some((entry) => entry.protocol === 'triple'));
      assert.equal(tunnel.completed.find((entry) => entry.protocol === 'triple')?.code, 'DT_ERR_BACKEND_CLOSED');
    } finally {
      client.close();
      await tunnel.close();
      await provider.close();
    }
  });
});

describe('the local-peer rule on the HTTP/2 path', () => {
  test('a gRPC client the policy does not recognise is refused like a Dubbo one', async () => {
    const provider = await GrpcProvider.start('user-rpc');
    const strangers = new LocalPeerPolicy(() => new Set(['203.0.113.9']));
    Object.defineProperty(strangers, 'allows', {value: () => false});
    const tunnel = await startTunnel([StaticBackend.tripleOnly('user-rpc', {host: '127.0.0.1', port: provider.port})], {peerPolicy: strangers});
    const refused: string[] = [];
    tunnel.events.on('connection-refused', (event) => refused.push(event.reason));
    const client = new GrpcConsumer(`127.0.0.1:${tunnel.server.port}`);
    try {
      const error = grpcError(await client.unary('UserService', {}, {deadlineMs: 3000}).catch((caught: unknown) => caught));
      assert.equal(error.code, Status.UNAVAILABLE);
      assert.ok(refused.length >= 1);
      assert.match(refused[0] ?? '', /--allow-remote/);
      assert.equal(provider.started, 0);
    } finally {
      client.close();
      await tunnel.close();
      await provider.close();
    }
  });
});

/** A long server stream that has delivered its first reply. */
function consumerStream(client: GrpcConsumer, service: 'UserService' | 'OrderService') {
  const stream = client.serverStream(service, {count: 100_000, delayMs: 20});
  const first = new Promise<void>((resolve) => stream.once('data', () => resolve()));
  return {first, done: collect(stream)};
}
