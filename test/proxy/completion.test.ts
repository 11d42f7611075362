import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {requestCompleted} from '../../src/proxy/completion.js';

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
