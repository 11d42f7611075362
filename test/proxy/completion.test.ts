import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import type {RequestCompleted} from '../../src/core/events.js';
import {Exchange, requestCompleted} from '../../src/proxy/completion.js';

const request = {connectionId: 3, requestId: 7n, application: 'user-rpc', target: 'com.example.UserService#getUser', startedAt: undefined};

describe('requestCompleted (the one builder of request-completed payloads)', () => {
  test('an OK answer is ok and named; a non-OK status from the provider is not', () => {
    assert.deepEqual(requestCompleted(request, 20), {connectionId: 3, requestId: 7n, application: 'user-rpc', target: 'com.example.UserService#getUser', status: 20, statusName: 'OK', ok: true, latencyMs: 0, oneWay: false});
    const failed = requestCompleted(request, 70);
    assert.equal(failed.ok, false);
    assert.equal(failed.statusName, 'SERVICE_ERROR');
    assert.equal(failed.code, undefined);
  });

  test('a one-way request has no status and is ok unless dubbo-tunnel refused it', () => {
    const sent = requestCompleted(request, undefined);
    assert.deepEqual([sent.status, sent.statusName, sent.ok, sent.oneWay], [undefined, undefined, true, true]);
    const refused = requestCompleted(request, undefined, {code: 'DT_ERR_NO_ROUTE', message: 'no route'});
    assert.deepEqual([refused.ok, refused.oneWay, refused.code, refused.error], [false, true, 'DT_ERR_NO_ROUTE', 'no route']);
  });

  test('an answer dubbo-tunnel wrote itself carries its code and message; unknown status bytes have no name', () => {
    const answered = requestCompleted({...request, startedAt: performance.now()}, 80, {code: 'DT_ERR_BACKEND_CLOSED', message: 'gone'});
    assert.deepEqual([answered.ok, answered.statusName, answered.code, answered.error], [false, 'SERVER_ERROR', 'DT_ERR_BACKEND_CLOSED', 'gone']);
    assert.ok(answered.latencyMs >= 0);
    assert.equal(requestCompleted(request, 99).statusName, undefined);
  });
});

describe('Exchange (one request from acceptance to its answer)', () => {
  function bus(): {events: TunnelEventBus; completed: RequestCompleted[]} {
    const events = new TunnelEventBus();
    const completed: RequestCompleted[] = [];
    events.on('request-completed', (entry) => completed.push(entry));
    return {events, completed};
  }

  test('emits request-completed once, whichever path completes it first', () => {
    const {events, completed} = bus();
    const exchange = new Exchange(events, 'dubbo', 3, 7n, false, 'user-rpc', 'com.example.UserService#getUser', undefined);
    assert.equal(exchange.completed, false);
    exchange.complete(20);
    exchange.complete(80, {code: 'DT_ERR_BACKEND_CLOSED', message: 'gone'});
    assert.equal(exchange.completed, true);
    assert.deepEqual(completed, [requestCompleted(request, 20)]);
  });

  test('a one-way Dubbo request has no status even when an answer status is given', () => {
    const {events, completed} = bus();
    new Exchange(events, 'dubbo', 3, 7n, true, undefined, 'com.example.UserService#getUser', undefined)
      .complete(60, {code: 'DT_ERR_NO_ROUTE', message: 'no route'});
    assert.deepEqual([completed[0]?.status, completed[0]?.oneWay, completed[0]?.ok, completed[0]?.code], [undefined, true, false, 'DT_ERR_NO_ROUTE']);
    assert.equal(completed[0]?.protocol, undefined, 'a Dubbo entry carries no protocol');
  });

  test('a Triple stream is named by its gRPC status and marked triple; the application may be set once routed', () => {
    const {events, completed} = bus();
    const exchange = new Exchange(events, 'triple', 4, 1n, false, undefined, 'com.example.UserService/getUser', performance.now());
    exchange.application = 'user-rpc';
    exchange.complete(14, {code: 'DT_ERR_BACKEND_CLOSED', message: 'gone'});
    const [entry] = completed;
    assert.deepEqual([entry?.protocol, entry?.application, entry?.status, entry?.statusName, entry?.ok, entry?.oneWay, entry?.code], ['triple', 'user-rpc', 14, 'grpc UNAVAILABLE', false, false, 'DT_ERR_BACKEND_CLOSED']);
    assert.ok((entry?.latencyMs ?? -1) >= 0);
  });
});
