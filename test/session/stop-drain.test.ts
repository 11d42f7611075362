// Stopping a session the way a Dubbo provider stops: the port closes, each Dubbo consumer gets a
// READONLY event (and an HTTP/2 one a GOAWAY), what is in flight is answered, and only then do the
// connections close; the wait is bounded (--drain-timeout, default 10 s like Dubbo), after which,
// or after stopNow(), what is left gets DT_ERR_STOPPED_BEFORE_ANSWER instead of a consumer timeout.
// Real TCP consumers and providers on loopback, a real gRPC client and server for Triple.
import assert from 'node:assert/strict';
import {after, before, describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import type {TunnelEvents} from '../../src/core/events.js';
import {TunnelSession} from '../../src/session/session.js';
import {openSources} from '../../src/session/sources.js';
import type {StaticBackendSpec} from '../../src/session/static-source.js';
import {canConnect} from '../support/binary.js';
import {TestConsumer} from '../support/dubbo-peers.js';
import type {TestProvider} from '../support/dubbo-peers.js';
import {GrpcConsumer, GrpcProvider, grpc} from '../support/grpc-peers.js';
import {NEVER_SERVICE, callsInFlight, readonlyPosition, received, slowProvider} from '../support/stopping.js';
import {waitFor} from '../support/wait.js';

interface Started {
  session: TunnelSession;
  events: TunnelEventBus;
  draining: TunnelEvents['draining'][0][];
  drained: TunnelEvents['drained'][0][];
  stop: () => Promise<void>;
}

async function startSession(backends: StaticBackendSpec[], drainTimeoutMs?: number): Promise<Started> {
  const events = new TunnelEventBus();
  const draining: Started['draining'] = [];
  const drained: Started['drained'] = [];
  events.on('draining', (event) => draining.push(event));
  events.on('drained', (event) => drained.push(event));
  const sources = await openSources({backends}, {events, interactive: false});
  const session = await TunnelSession.start({
    sources, events,
    listen: {port: 0, host: '127.0.0.1', ...(drainTimeoutMs === undefined ? {} : {drainTimeoutMs})},
    learning: {noLearn: true, resolveFile: undefined},
  }, 'all');
  const stop = async (): Promise<void> => {
    await session.stop();
    await Promise.all(sources.map((source) => source.close()));
  };
  return {session, events, draining, drained, stop};
}

describe('stopping a session with Dubbo calls in flight', () => {
  let provider: TestProvider;
  before(async () => {
    provider = await slowProvider(300);
  });
  after(async () => provider.close());

  test('16 calls in flight against a slow provider: READONLY first, all 16 answered, then the connection closes', async () => {
    const {session, draining, drained, stop} = await startSession([{application: 'slow-rpc', dubbo: {host: '127.0.0.1', port: provider.port}}]);
    const consumer = await TestConsumer.connect(session.port);
    try {
      const before = received(provider);
      const results = callsInFlight(consumer, 16);
      await waitFor(() => received(provider) === before + 16, {message: 'all 16 calls reached the provider'});
      const stopping = stop();
      await consumer.waitForClose(5000);
      await stopping;
      assert.deepEqual(await results, Array.from({length: 16}, (_, index) => `ok slow-rpc:${index}`));
      const {index, answersBefore} = readonlyPosition(consumer);
      assert.ok(index >= 0, 'the consumer got a READONLY event');
      assert.equal(answersBefore, 0, 'the READONLY event came before the answers');
      assert.equal(consumer.frames.filter((frame) => frame.isRequest).length, 1, 'one READONLY event, nothing else asked of the consumer');
      assert.equal(await canConnect(session.port), false, 'the port is closed');
      assert.deepEqual(draining[0], {inFlight: 16, timeoutMs: 10_000}, 'the wait says what it waits for, with the default bound of 10 s');
      assert.deepEqual(drained, [{cause: 'answered', givenUp: 0, timeoutMs: 10_000}]);
    } finally {
      await consumer.close();
    }
  });

  test('a request that arrives while draining is answered with DT_ERR_SHUTTING_DOWN and never forwarded', async () => {
    const {session, stop} = await startSession([{application: 'slow-rpc', dubbo: {host: '127.0.0.1', port: provider.port}}]);
    const consumer = await TestConsumer.connect(session.port);
    try {
      const before = received(provider);
      const first = callsInFlight(consumer, 1);
      await waitFor(() => received(provider) === before + 1);
      const stopping = stop();
      await consumer.waitForFrame((frame) => frame.isRequest && frame.event);
      const late = await callsInFlight(consumer, 1);
      assert.match(late[0] ?? '', /^error dubbo-tunnel \[DT_ERR_SHUTTING_DOWN\]: shutting down; com\.example\.Slow#work was not forwarded/);
      assert.deepEqual(await first, ['ok slow-rpc:0']);
      await stopping;
      assert.equal(received(provider), before + 1, 'nothing new reached the provider');
    } finally {
      await consumer.close();
    }
  });

  test('the drain is bounded: a provider that never answers, --drain-timeout 1 s: the consumer gets DT_ERR_STOPPED_BEFORE_ANSWER at the bound', async () => {
    const {session, drained, stop} = await startSession([{application: 'slow-rpc', dubbo: {host: '127.0.0.1', port: provider.port}}], 1000);
    const consumer = await TestConsumer.connect(session.port);
    try {
      const before = received(provider, NEVER_SERVICE);
      const results = callsInFlight(consumer, 3, NEVER_SERVICE);
      await waitFor(() => received(provider, NEVER_SERVICE) === before + 3);
      const started = Date.now();
      await stop();
      const took = Date.now() - started;
      const answers = await results;
      assert.ok(took >= 950 && took < 4000, `the stop took ${took} ms, the bound is 1000 ms`);
      for (const answer of answers) {
        assert.match(answer, /^error dubbo-tunnel \[DT_ERR_STOPPED_BEFORE_ANSWER\]: dubbo-tunnel stopped: no answer within the 1 s it waits on a stop \(--drain-timeout\); com\.example\.Never#work got no answer/);
      }
      assert.deepEqual(drained, [{cause: 'timeout', givenUp: 3, timeoutMs: 1000}]);
      assert.ok(readonlyPosition(consumer).index >= 0, 'READONLY came first');
    } finally {
      await consumer.close();
    }
  });

  test('stopNow() while draining answers what is left at once with DT_ERR_STOPPED_BEFORE_ANSWER', async () => {
    const {session, drained, stop} = await startSession([{application: 'slow-rpc', dubbo: {host: '127.0.0.1', port: provider.port}}]);
    const consumer = await TestConsumer.connect(session.port);
    try {
      const before = received(provider, NEVER_SERVICE);
      const results = callsInFlight(consumer, 2, NEVER_SERVICE);
      await waitFor(() => received(provider, NEVER_SERVICE) === before + 2);
      const stopping = stop();
      await consumer.waitForFrame((frame) => frame.isRequest && frame.event);
      const started = Date.now();
      session.stopNow();
      await stopping;
      assert.ok(Date.now() - started < 2000, 'the stop did not wait for its 10 s bound');
      for (const answer of await results) assert.match(answer, /^error dubbo-tunnel \[DT_ERR_STOPPED_BEFORE_ANSWER\]: dubbo-tunnel was stopped at once; com\.example\.Never#work got no answer/);
      assert.deepEqual(drained, [{cause: 'at-once', givenUp: 2, timeoutMs: 10_000}]);
    } finally {
      await consumer.close();
    }
  });
});

describe('stopping a session with a gRPC call in flight', () => {
  test('the call completes across the stop (GOAWAY, then its answer), though it takes longer than the old 3 s grace', async () => {
    const provider = await GrpcProvider.start('user-rpc');
    const {session, stop} = await startSession([{application: 'user-rpc', triple: {host: '127.0.0.1', port: provider.port}}]);
    const client = new GrpcConsumer(`127.0.0.1:${session.port}`);
    try {
      const answer = client.unary('UserService', {text: 'across the stop', delayMs: 3500});
      await waitFor(() => provider.started === 1, {message: 'the call reached the provider'});
      await stop();
      const reply = await answer;
      assert.equal(reply.text, 'across the stop');
      assert.equal(reply.servedBy, 'user-rpc');
      await assert.rejects(client.unary('UserService', {text: 'after'}, {deadlineMs: 2000}), (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED);
    } finally {
      client.close();
      await provider.close();
    }
  });
});

