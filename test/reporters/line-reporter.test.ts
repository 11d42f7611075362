import assert from 'node:assert/strict';
import {PassThrough} from 'node:stream';
import {describe, test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {attachLineReporter} from '../../src/reporters/line-reporter.js';

function collect(options: {level: 'debug' | 'info' | 'warn' | 'error'; json: boolean}) {
  const events = new TunnelEventBus();
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const detach = attachLineReporter(events, {...options, out, now: () => new Date('2026-11-21T10:00:00.123Z')});
  return {events, detach, lines: () => text.split('\n').filter((line) => line !== '')};
}

const completed = {connectionId: 1, requestId: 9007199254740993n, application: 'user-rpc', target: 'com.foo.UserService#getUser', status: 20, statusName: 'OK', ok: true, latencyMs: 1.25, oneWay: false};

describe('line reporter', () => {
  test('prints the listening line and warnings at info; successful requests only at debug', () => {
    const info = collect({level: 'info', json: false});
    info.events.emit('listening', {addresses: ['localhost:20880', '192.168.1.23:20880'], port: 20880, allowRemote: false});
    info.events.emit('request-completed', completed);
    info.events.emit('request-completed', {...completed, application: undefined, status: 60, statusName: 'SERVICE_NOT_FOUND', ok: false, error: 'dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for com.foo.UserService#getUser', code: 'DT_ERR_NO_ROUTE'});
    info.events.emit('connection-refused', {peer: '10.0.0.9:51234', reason: 'not a local address (pass --allow-remote to accept other machines)'});
    assert.deepEqual(info.lines(), [
      '10:00:00.123 listening on localhost:20880, 192.168.1.23:20880; point consumers at dubbo://localhost:20880 (only this machine may connect)',
      '10:00:00.123 warning: - com.foo.UserService#getUser 60 1.3ms: dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for com.foo.UserService#getUser',
      '10:00:00.123 warning: refused 10.0.0.9:51234: not a local address (pass --allow-remote to accept other machines)',
    ]);
    const debug = collect({level: 'debug', json: false});
    debug.events.emit('request-completed', completed);
    assert.deepEqual(debug.lines(), ['10:00:00.123 user-rpc com.foo.UserService#getUser 20 1.3ms']);
  });

  test('--json prints one parseable object per line, with request ids as strings', () => {
    const json = collect({level: 'debug', json: true});
    json.events.emit('request-completed', completed);
    json.events.log('error', 'boom');
    const [request, log] = json.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(request?.['event'], 'request-completed');
    assert.equal(request?.['requestId'], '9007199254740993');
    assert.equal(request?.['level'], 'debug');
    assert.equal(request?.['time'], '2026-11-21T10:00:00.123Z');
    assert.deepEqual(log, {time: '2026-11-21T10:00:00.123Z', level: 'error', event: 'log', message: 'boom'});
  });

  test('--json lines of a request dubbo-tunnel answered itself carry its code', () => {
    const json = collect({level: 'info', json: true});
    json.events.emit('request-completed', {...completed, application: undefined, status: 60, statusName: 'SERVICE_NOT_FOUND', ok: false,
      error: 'dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for com.foo.UserService#getUser', code: 'DT_ERR_NO_ROUTE'});
    const [line] = json.lines().map((text) => JSON.parse(text) as Record<string, unknown>);
    assert.deepEqual([line?.['level'], line?.['code'], line?.['ok'], line?.['statusName']], ['warn', 'DT_ERR_NO_ROUTE', false, 'SERVICE_NOT_FOUND']);
  });

  test('error level drops warnings; detach stops output', () => {
    const quiet = collect({level: 'error', json: false});
    quiet.events.log('warn', 'ignored');
    quiet.detach();
    quiet.events.log('error', 'after detach');
    assert.deepEqual(quiet.lines(), []);
  });

  test('a flood of one failure is folded, and what is still counted is said when the reporter is detached', () => {
    const info = collect({level: 'info', json: false});
    const failed = {...completed, status: 40, statusName: 'BAD_REQUEST', ok: false, error: 'dubbo-tunnel [DT_ERR_BACKEND_UNAVAILABLE]: user-rpc: no ready pods', code: 'DT_ERR_BACKEND_UNAVAILABLE' as const};
    for (let i = 0; i < 5; i++) info.events.emit('request-completed', failed);
    assert.equal(info.lines().length, 1, 'the first failure is printed, the repeats are counted');
    info.detach();
    const lines = info.lines();
    assert.equal(lines.length, 2);
    assert.match(lines[1] ?? '', /no ready pods … ×4 in the last 5 s$/);
  });

  test('routes-changed names where each application comes from: "routing user-rpc (local), pay-rpc (staging)"', () => {
    const info = collect({level: 'info', json: false});
    info.events.emit('routes-changed', {applications: ['user-rpc', 'pay-rpc'], origins: {'user-rpc': 'local', 'pay-rpc': 'staging'}});
    info.events.emit('routes-changed', {applications: ['order-rpc']});
    assert.deepEqual(info.lines(), ['10:00:00.123 routing user-rpc (local), pay-rpc (staging)', '10:00:00.123 routing order-rpc']);
  });
});
