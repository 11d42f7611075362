// The dashboard says what `up` learned each application exports: a SERVICES column fed by the
// 'services-learned' events, and a view (key s) that lists the service keys, or why none.
import {afterEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {cleanup, render} from 'ink-testing-library';
import {TunnelEventBus} from '../../src/core/events.js';
import {StatsStore} from '../../src/stats/stats.js';
import {Dashboard} from '../../src/ui/components/Dashboard.js';
import {press, resize, waitForFrame, waitForText, widest} from './helpers.js';

const stores: StatsStore[] = [];

function setup(applications = ['user-rpc', 'order-rpc', 'mute-rpc', 'new-rpc']) {
  const bus = new TunnelEventBus();
  const store = new StatsStore(bus, {throttleMs: 10, initial: {addresses: ['127.0.0.1:20880'], port: 20880, applications}});
  stores.push(store);
  const view = render(
    <Dashboard title="static backends" store={store} attachmentKey="target-application" stopping={false} onQuit={() => undefined} onPick={() => undefined} />,
  );
  return {bus, store, view};
}

function rowOf(frame: string, application: string): string {
  return frame.split('\n').find((line) => line.startsWith(application)) ?? '';
}

const MUTE_REASON = 'MetadataService: no answer within 3000 ms\ntelnet ls: no answer within 3000 ms';

function learnSome(bus: TunnelEventBus): void {
  bus.emit('services-learned', {application: 'user-rpc', state: 'learned', keys: ['com.example.AuditService', 'com.example.UserService', 'g1/com.example.UserAdmin:2.0.0'], via: 'metadata-service'});
  bus.emit('services-learned', {application: 'order-rpc', state: 'learning', keys: []});
  bus.emit('services-learned', {application: 'mute-rpc', state: 'unknown', keys: [], reason: MUTE_REASON});
}

afterEach(() => {
  cleanup();
  for (const store of stores.splice(0)) store.dispose();
});

describe('Dashboard: learned services', () => {
  it('the SERVICES column counts them, … while asking, – when nothing answered, empty before', async () => {
    const {bus, store, view} = setup();
    learnSome(bus);
    const frame = await waitForFrame(view, (text) => / 3$/m.test(rowOf(text, 'user-rpc')), 'user-rpc shows 3 services');
    assert.match(frame, /APPLICATION\s+STATE\s+POD\s+REQ\s+ERR\s+P50\s+P99\s+LAST\s+SERVICES$/m);
    assert.match(rowOf(frame, 'order-rpc'), / …$/);
    assert.match(rowOf(frame, 'mute-rpc'), / –$/);
    assert.match(rowOf(frame, 'new-rpc'), /-$/, 'nothing known yet: the LAST cell ends the row');
    assert.match(frame, /s show services/);
    // The store keeps the whole state the event carried, for the view.
    const mute = store.getSnapshot().applications.find((row) => row.application === 'mute-rpc');
    assert.deepEqual(mute?.services, {application: 'mute-rpc', state: 'unknown', keys: [], reason: MUTE_REASON});

    // A later event replaces the earlier one (a rollout may add services).
    bus.emit('services-learned', {application: 'order-rpc', state: 'learned', keys: ['com.example.OrderService'], via: 'qos'});
    await waitForFrame(view, (text) => / 1$/.test(rowOf(text, 'order-rpc')), 'order-rpc shows 1 service');
  });

  it('s shows each application\'s service keys (or why none) in place of the log; s or l goes back', async () => {
    const {bus, view} = setup();
    learnSome(bus);
    await waitForText(view, 'recent');
    await press(view, 's');
    let frame = await waitForText(view, '── services');
    assert.ok(!frame.includes('── recent'), 'the log gives its place to the services view');
    const lines = frame.split('\n');
    const start = lines.findIndex((line) => line.startsWith('── services'));
    assert.deepEqual(lines.slice(start + 1, start + 9), [
      'user-rpc: 3 services (via metadata-service)',
      '  com.example.AuditService',
      '  com.example.UserService',
      '  g1/com.example.UserAdmin:2.0.0',
      'order-rpc: asking what it exports…',
      // Clipped to the 100 columns of the test terminal.
      'mute-rpc: none learned: MetadataService: no answer within 3000 ms; telnet ls: no answer within 3000…',
      'new-rpc: not asked yet',
      frame.split('\n').find((line) => line.startsWith('q quit')) ?? 'footer',
    ]);
    assert.match(frame, /s hide services/);
    assert.match(frame, /l show log/);
    await press(view, 's');
    frame = await waitForText(view, '── recent');
    assert.ok(!frame.includes('── services'));
    await press(view, 's');
    await waitForText(view, '── services');
    await press(view, 'l');
    frame = await waitForText(view, '── recent');
    assert.ok(!frame.includes('── services'), 'l brings the log back');
  });

  it('more keys than lines: the view stays inside the terminal and counts the rest', async () => {
    const {bus, view} = setup(['big-rpc']);
    const keys = Array.from({length: 40}, (_, i) => `com.example.generated.Service${String(i).padStart(2, '0')}`);
    bus.emit('services-learned', {application: 'big-rpc', state: 'learned', keys, via: 'qos'});
    resize(view.stdout, 80, 20);
    await waitForFrame(view, (text) => / 40$/.test(rowOf(text, 'big-rpc')), 'big-rpc shows 40 services at 80 columns');
    await press(view, 's');
    const frame = await waitForText(view, 'more lines');
    assert.ok(frame.split('\n').length < 20, `the frame is ${frame.split('\n').length} lines high:\n${frame}`);
    assert.ok(widest(frame) <= 80, `widest line is ${widest(frame)}:\n${frame}`);
    assert.match(frame, /big-rpc: 40 services \(via qos\)\n {2}com\.example\.generated\.Service00\n/);
    const shownKeys = frame.split('\n').filter((line) => line.startsWith('  com.example.generated')).length;
    const more = Number(/… (\d+) more lines/.exec(frame)?.[1]);
    assert.equal(shownKeys + more, 40, 'every key is either shown or counted');
  });
});
