// Where each routed application comes from reaches the plain output and the dashboard's rows.
import assert from 'node:assert/strict';
import {PassThrough} from 'node:stream';
import {test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {StatsStore} from '../../src/stats/stats.js';
import {attachLineReporter} from '../../src/reporters/line-reporter.js';

test('routes-changed with origins: "routing user-rpc (local), pay-rpc (staging)" and rows that carry the place', () => {
  const events = new TunnelEventBus();
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const detach = attachLineReporter(events, {out, level: 'info', json: false, now: () => new Date('2026-11-21T10:00:00.123Z')});
  const store = new StatsStore(events, {throttleMs: 0});
  events.emit('routes-changed', {applications: ['user-rpc', 'pay-rpc'], origins: {'user-rpc': 'local', 'pay-rpc': 'staging'}});
  events.emit('routes-changed', {applications: ['order-rpc']});
  assert.deepEqual(text.trim().split('\n'), ['10:00:00.123 routing user-rpc (local), pay-rpc (staging)', '10:00:00.123 routing order-rpc']);
  events.emit('routes-changed', {applications: ['user-rpc', 'pay-rpc'], origins: {'user-rpc': 'local', 'pay-rpc': 'staging'}});
  assert.deepEqual(store.getSnapshot().applications.map((row) => [row.application, row.origin]), [['user-rpc', 'local'], ['pay-rpc', 'staging']]);
  detach();
  store.dispose();
});
