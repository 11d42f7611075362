import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {TunnelEventBus} from '../../src/core/events.js';
import type {RequestCompleted} from '../../src/core/events.js';
import {StatsStore} from '../../src/stats/stats.js';
import {statusName} from '../../src/protocol/header.js';
import type {EventLogEntry, RequestLogEntry} from '../../src/stats/stats.js';
import {waitFor} from '../support/wait.js';

/** A payload as the proxy's requestCompleted() builds it: failed on an error or a non-OK status. */
function request(overrides: Partial<RequestCompleted> = {}): RequestCompleted {
  const status = 'status' in overrides ? overrides.status : 20;
  return {
    connectionId: 1,
    requestId: 1n,
    application: 'user-rpc',
    target: 'com.example.UserService#getUser',
    status,
    statusName: status === undefined ? undefined : statusName(status),
    ok: overrides.error === undefined && (status === undefined || status === 20),
    latencyMs: 1,
    oneWay: false,
    ...overrides,
  };
}

function setup(options: ConstructorParameters<typeof StatsStore>[1] = {}) {
  const bus = new TunnelEventBus();
  let now = 1_000_000;
  const store = new StatsStore(bus, {now: () => now, throttleMs: 20, ...options});
  return {bus, store, advance: (ms: number) => (now += ms), now: () => now};
}

describe('StatsStore', () => {
  it('counts requests and errors per application and in total', () => {
    const {bus, store} = setup();
    bus.emit('request-completed', request());
    bus.emit('request-completed', request({status: 70}));
    bus.emit('request-completed', request({application: 'order-rpc', error: 'no ready pods', status: 80}));
    bus.emit('request-completed', request({application: undefined, error: 'no route', status: 90}));
    bus.emit('request-completed', request({oneWay: true, status: undefined}));
    const snapshot = store.getSnapshot();
    assert.deepEqual(snapshot.applications.map((row) => [row.application, row.requests, row.errors]), [
      ['user-rpc', 3, 1],
      ['order-rpc', 1, 1],
    ]);
    assert.equal(snapshot.totals.requests, 5);
    assert.equal(snapshot.totals.errors, 3);
    store.dispose();
  });

  it('computes nearest-rank p50/p99 over the last `latencyWindow` requests only', () => {
    const {bus, store} = setup({latencyWindow: 100});
    for (let ms = 1; ms <= 100; ms++) bus.emit('request-completed', request({latencyMs: ms}));
    let row = store.getSnapshot().applications[0];
    assert.equal(row?.p50Ms, 50);
    assert.equal(row?.p99Ms, 99);
    // 100 slow requests push every fast one out of the window.
    for (let i = 0; i < 100; i++) bus.emit('request-completed', request({latencyMs: 1000 + i}));
    row = store.getSnapshot().applications[0];
    assert.equal(row?.p50Ms, 1049);
    assert.equal(row?.p99Ms, 1098);
    assert.equal(row?.requests, 200);
    store.dispose();
  });

  it('has no percentiles before the first request', () => {
    const {store} = setup({initial: {applications: ['user-rpc']}});
    const row = store.getSnapshot().applications[0];
    assert.equal(row?.state, 'idle');
    assert.equal(row?.p50Ms, undefined);
    assert.equal(row?.lastActivity, undefined);
    store.dispose();
  });

  it('keeps the same snapshot object until something changes', () => {
    const {bus, store} = setup();
    const first = store.getSnapshot();
    assert.equal(store.getSnapshot(), first);
    bus.emit('request-completed', request());
    const second = store.getSnapshot();
    assert.notEqual(second, first);
    assert.equal(store.getSnapshot(), second);
    // Rows that did not change keep their identity too (cheap React reconciliation).
    bus.emit('backend-state-changed', {application: 'order-rpc', state: 'ready'});
    const third = store.getSnapshot();
    assert.equal(third.applications[0], second.applications[0]);
    assert.ok(Object.isFrozen(third) && Object.isFrozen(third.applications) && Object.isFrozen(third.applications[0]));
    store.dispose();
  });

  it('shows the requests in flight on an application\'s streams', () => {
    const {bus, store} = setup({initial: {applications: ['user-rpc']}});
    bus.emit('upstream-streams', {application: 'user-rpc', streams: 1, inFlight: 3});
    assert.equal(store.getSnapshot().applications[0]?.inFlight, 3);
    bus.emit('upstream-streams', {application: 'user-rpc', streams: 1, inFlight: 0});
    assert.equal(store.getSnapshot().applications[0]?.inFlight, 0);
    store.dispose();
  });

  it('tracks backend state, pod and upstreams, and logs pod changes and reconnects', () => {
    const {bus, store} = setup({initial: {applications: ['user-rpc']}});
    bus.emit('backend-state-changed', {application: 'user-rpc', state: 'connecting'});
    bus.emit('backend-state-changed', {application: 'user-rpc', state: 'ready', pod: 'user-rpc-7d9f'});
    bus.emit('upstream-opened', {application: 'user-rpc', remote: 'pod default/user-rpc-7d9f:20880', connectionId: 1});
    bus.emit('backend-state-changed', {application: 'user-rpc', state: 'reconnecting', detail: 'pod deleted'});
    bus.emit('upstream-closed', {application: 'user-rpc', remote: 'pod default/user-rpc-7d9f:20880', connectionId: 1, reason: 'stream reset'});
    bus.emit('backend-state-changed', {application: 'user-rpc', state: 'ready', pod: 'user-rpc-8abc'});
    const snapshot = store.getSnapshot();
    const row = snapshot.applications[0];
    assert.equal(row?.state, 'ready');
    assert.equal(row?.pod, 'user-rpc-8abc');
    assert.equal(row?.upstreams, 0);
    const messages = snapshot.log.filter((entry): entry is EventLogEntry => entry.kind === 'event').map((entry) => entry.message);
    assert.deepEqual(messages, [
      'connecting',
      'ready',
      'connected to pod default/user-rpc-7d9f:20880',
      'reconnecting: pod deleted',
      'closed pod default/user-rpc-7d9f:20880: stream reset',
      'pod changed: user-rpc-7d9f -> user-rpc-8abc',
      'tunnel reconnected',
    ]);
    store.dispose();
  });

  it('follows routes-changed: rows for routed applications only, stats kept for ones routed again', () => {
    const {bus, store} = setup();
    bus.emit('routes-changed', {applications: ['user-rpc', 'order-rpc']});
    bus.emit('request-completed', request({application: 'order-rpc'}));
    bus.emit('routes-changed', {applications: ['user-rpc']});
    assert.deepEqual(store.getSnapshot().applications.map((row) => row.application), ['user-rpc']);
    store.setApplications(['order-rpc', 'user-rpc']);
    const rows = store.getSnapshot().applications;
    assert.deepEqual(rows.map((row) => [row.application, row.requests]), [['order-rpc', 1], ['user-rpc', 0]]);
    store.dispose();
  });

  it('rows carry where each application comes from (routes-changed origins)', () => {
    const events = new TunnelEventBus();
    const store = new StatsStore(events, {throttleMs: 0});
    events.emit('routes-changed', {applications: ['user-rpc', 'pay-rpc'], origins: {'user-rpc': 'local', 'pay-rpc': 'staging'}});
    events.emit('routes-changed', {applications: ['order-rpc']});
    events.emit('routes-changed', {applications: ['user-rpc', 'pay-rpc'], origins: {'user-rpc': 'local', 'pay-rpc': 'staging'}});
    assert.deepEqual(store.getSnapshot().applications.map((row) => [row.application, row.origin]), [['user-rpc', 'local'], ['pay-rpc', 'staging']]);
    store.dispose();
  });

  it('takes listening addresses from the event or from `initial`', () => {
    const {bus, store} = setup({initial: {addresses: ['127.0.0.1:20880'], port: 20880}});
    assert.deepEqual(store.getSnapshot().addresses, ['127.0.0.1:20880']);
    bus.emit('listening', {addresses: ['127.0.0.1:20990', '[::1]:20990'], port: 20990, allowRemote: false});
    assert.deepEqual(store.getSnapshot().addresses, ['127.0.0.1:20990', '[::1]:20990']);
    assert.equal(store.getSnapshot().port, 20990);
    store.dispose();
  });

  it('counts consumers and refused peers; logs refusals and warn/error log events (not debug)', () => {
    const {bus, store} = setup();
    bus.emit('connection-opened', {connectionId: 1, peer: '127.0.0.1:5000'});
    bus.emit('connection-opened', {connectionId: 2, peer: '127.0.0.1:5001'});
    bus.emit('connection-closed', {connectionId: 1, peer: '127.0.0.1:5000'});
    bus.emit('connection-refused', {peer: '10.1.2.3:4000', reason: 'not a local peer'});
    bus.log('debug', 'noise');
    bus.log('warn', 'something odd');
    const snapshot = store.getSnapshot();
    assert.deepEqual(snapshot.totals, {requests: 0, errors: 0, connectionsOpen: 1, connections: 2, refused: 1});
    assert.deepEqual(snapshot.log.map((entry) => (entry.kind === 'event' ? entry.message : '')), [
      'refused connection from 10.1.2.3:4000: not a local peer',
      'something odd',
    ]);
    store.dispose();
  });

  it('caps the request log, and a request flood cannot push events out', () => {
    const {bus, store} = setup({requestLogSize: 50, eventLogSize: 5});
    bus.emit('backend-state-changed', {application: 'user-rpc', state: 'ready'});
    for (let i = 0; i < 1000; i++) bus.emit('request-completed', request({requestId: BigInt(i), latencyMs: i}));
    const log = store.getSnapshot().log;
    const requests = log.filter((entry): entry is RequestLogEntry => entry.kind === 'request');
    assert.equal(requests.length, 50);
    assert.deepEqual([requests[0]?.ms, requests.at(-1)?.ms], [950, 999]);
    assert.equal(log[0]?.kind, 'event', 'the old event is still there, first by sequence');
    assert.deepEqual(log.map((entry) => entry.seq), [...log.map((entry) => entry.seq)].sort((a, b) => a - b));
    for (let i = 0; i < 20; i++) bus.log('info', `event ${i}`);
    const events = store.getSnapshot().log.filter((entry) => entry.kind === 'event');
    assert.equal(events.length, 5);
    store.dispose();
  });

  it('records when an application was last active', () => {
    const {bus, store, advance, now} = setup();
    bus.emit('request-completed', request());
    const first = now();
    assert.equal(store.getSnapshot().applications[0]?.lastActivity, first);
    advance(5000);
    bus.emit('request-completed', request());
    assert.equal(store.getSnapshot().applications[0]?.lastActivity, first + 5000);
    store.dispose();
  });

  it('throttles notifications: a burst of 5000 requests notifies once (trailing), later changes notify again', async () => {
    const bus = new TunnelEventBus();
    const store = new StatsStore(bus, {throttleMs: 50});
    let notifications = 0;
    store.subscribe(() => notifications++);
    const started = performance.now();
    for (let i = 0; i < 5000; i++) bus.emit('request-completed', request({requestId: BigInt(i)}));
    const elapsed = performance.now() - started;
    assert.equal(notifications, 0, 'never synchronously inside emit');
    await waitFor(() => notifications === 1, {message: 'trailing notification'});
    assert.equal(store.getSnapshot().totals.requests, 5000);
    // Generous bound on 2 shared cores: the point is "not one render per request".
    assert.ok(elapsed < 500, `5000 requests took ${elapsed.toFixed(1)} ms`);

    bus.emit('request-completed', request());
    bus.emit('request-completed', request());
    await waitFor(() => notifications === 2, {message: 'second notification'});
    // The second one honoured the interval since the first.
    assert.equal(store.getSnapshot().totals.requests, 5002);
    store.dispose();
  });

  it('spaces notifications at least throttleMs apart under steady traffic', (t) => {
    // Mocked clock and timers: the gaps are the store's doing, not the machine's load.
    t.mock.timers.enable({apis: ['setTimeout', 'Date']});
    const bus = new TunnelEventBus();
    const store = new StatsStore(bus, {throttleMs: 40});
    const times: number[] = [];
    store.subscribe(() => times.push(Date.now()));
    // A request every 2 ms for 300 ms.
    for (let elapsed = 0; elapsed < 300; elapsed += 2) {
      bus.emit('request-completed', request());
      t.mock.timers.tick(2);
    }
    t.mock.timers.tick(40);
    const gaps = times.slice(1).map((time, i) => time - (times[i] ?? 0));
    assert.ok(times.length >= 3 && times.length <= 9, `${times.length} notifications in 300 ms`);
    assert.ok(gaps.every((gap) => gap >= 40), `gaps ${gaps.join(', ')}`);
    store.dispose();
  });

  it('dispose() unsubscribes from the bus and cancels a pending notification', (t) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']});
    const bus = new TunnelEventBus();
    const store = new StatsStore(bus, {throttleMs: 5});
    let notified = false;
    store.subscribe(() => (notified = true));
    bus.emit('request-completed', request());
    store.dispose();
    store.dispose();
    assert.equal(bus.listenerCount('request-completed'), 0);
    assert.equal(bus.listenerCount('backend-state-changed'), 0);
    t.mock.timers.tick(1000);
    assert.equal(notified, false);
  });

  it('an unsubscribed listener is not called', async () => {
    const {bus, store} = setup();
    let a = 0;
    let b = 0;
    const offA = store.subscribe(() => a++);
    store.subscribe(() => b++);
    offA();
    bus.emit('request-completed', request());
    await waitFor(() => b === 1);
    assert.equal(a, 0);
    store.dispose();
  });
});
