import {afterEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {cleanup, render} from 'ink-testing-library';
import {TunnelEventBus} from '../../src/core/events.js';
import type {RequestCompleted} from '../../src/core/events.js';
import {StatsStore} from '../../src/stats/stats.js';
import {statusName} from '../../src/protocol/header.js';
import {Dashboard} from '../../src/ui/components/Dashboard.js';
import type {DashboardProps} from '../../src/ui/components/Dashboard.js';
import {KEY, press, resize, waitForFrame, waitForText, widest} from './helpers.js';

const stores: StatsStore[] = [];

function setup(overrides: Partial<DashboardProps> = {}, applications = ['user-rpc', 'order-rpc']) {
  const bus = new TunnelEventBus();
  const store = new StatsStore(bus, {throttleMs: 10, initial: {addresses: ['127.0.0.1:20880', '[::1]:20880'], port: 20880, applications}});
  stores.push(store);
  const calls = {quit: 0, pick: 0};
  const props: DashboardProps = {
    title: 'context kind-dev · namespace default',
    store,
    attachmentKey: 'target-application',
    stopping: false,
    onQuit: () => calls.quit++,
    onPick: () => calls.pick++,
    ...overrides,
  };
  const view = render(<Dashboard {...props} />);
  return {bus, store, view, calls, props};
}

/** A payload as the proxy's requestCompleted() builds it: failed on an error or a non-OK status. */
function request(overrides: Partial<RequestCompleted> = {}): RequestCompleted {
  const status = 'status' in overrides ? overrides.status : 20;
  return {
    connectionId: 1, requestId: 1n, application: 'user-rpc', target: 'com.example.UserService#getUser', status,
    statusName: status === undefined ? undefined : statusName(status), ok: overrides.error === undefined && status === 20,
    latencyMs: 3.2, oneWay: false, ...overrides,
  };
}

/** The table row of one application (its line starts with the name, or a prefix of a truncated one). */
function rowOf(frame: string, application: string): string {
  return frame.split('\n').find((line) => line.startsWith(application)) ?? '';
}

afterEach(() => {
  cleanup();
  for (const store of stores.splice(0)) store.dispose();
});

describe('Dashboard', () => {
  it('says in its status what a session that routes nothing waits for, until something is routed', async () => {
    const {bus, view} = setup({}, []);
    bus.emit('backends-awaited', {applications: 'all', places: ['namespace quiet of context kind-dev']});
    const frame = await waitForText(view, 'waiting for');
    assert.match(frame, /waiting for Dubbo backends in namespace quiet of context kind-dev; routing starts/);
    bus.emit('routes-changed', {applications: ['user-rpc']});
    await waitForFrame(view, (text) => !text.includes('waiting for'));
  });

  it('says where consumers connect and how to point a Java consumer at it', async () => {
    const {view} = setup();
    const frame = await waitForText(view, 'listening');
    assert.match(frame, /dubbo-tunnel · context kind-dev · namespace default/);
    assert.match(frame, /listening dubbo:\/\/127\.0\.0\.1:20880 \(also \[::1\]:20880\)/);
    assert.match(frame, /-D<interface>=dubbo:\/\/127\.0\.0\.1:20880 · routed by service or target-application\n/);
    assert.match(frame, /APPLICATION\s+STATE\s+POD\s+REQ\s+ERR\s+P50\s+P99\s+LAST/);
  });

  it('gives a tri:// address when every routed application has only a Triple port', async () => {
    const {bus, view} = setup();
    bus.emit('listening', {addresses: ['127.0.0.1:20880'], port: 20880, allowRemote: false, scheme: 'tri'});
    const frame = await waitForText(view, 'listening tri://');
    assert.match(frame, /listening tri:\/\/127\.0\.0\.1:20880/);
    assert.match(frame, /-D<interface>=tri:\/\/127\.0\.0\.1:20880 · /);
    assert.doesNotMatch(frame, /dubbo:\/\//);
  });

  it('shows every row state with its reason', async () => {
    const apps = ['idle-rpc', 'conn-rpc', 'ready-rpc', 'recon-rpc', 'nopods-rpc', 'err-rpc', 'static-rpc'];
    const {bus, view} = setup({}, apps);
    bus.emit('backend-state-changed', {application: 'conn-rpc', state: 'connecting'});
    bus.emit('backend-state-changed', {application: 'ready-rpc', state: 'ready', pod: 'ready-rpc-7d9f'});
    bus.emit('backend-state-changed', {application: 'recon-rpc', state: 'reconnecting', detail: 'port-forward stream closed', pod: 'recon-rpc-1'});
    bus.emit('backend-state-changed', {application: 'nopods-rpc', state: 'no-ready-pods', detail: '0 of 2 pods ready'});
    bus.emit('backend-state-changed', {application: 'err-rpc', state: 'error', detail: 'forbidden: pods/portforward'});
    // A static backend never reports a state; an open upstream shows it works.
    bus.emit('upstream-opened', {application: 'static-rpc', remote: '127.0.0.1:20881', connectionId: 1});
    const frame = await waitForText(view, 'forbidden: pods/portforward');
    assert.match(rowOf(frame, 'idle-rpc'), /○ idle/);
    assert.match(rowOf(frame, 'conn-rpc'), /◌ connecting/);
    assert.match(rowOf(frame, 'ready-rpc'), /● ready\s+ready-rpc-7d9f/);
    assert.match(rowOf(frame, 'recon-rpc'), /◌ reconnecting\s+recon-rpc-1/);
    assert.match(rowOf(frame, 'nopods-rpc'), /○ no ready pods/);
    assert.match(rowOf(frame, 'err-rpc'), /✖ error/);
    assert.match(rowOf(frame, 'static-rpc'), /● ready/);
    assert.match(frame, /↳ port-forward stream closed/);
    assert.match(frame, /↳ 0 of 2 pods ready/);
    assert.match(frame, /↳ forbidden: pods\/portforward/);
  });

  it('moves the counters and the log as requests complete', async () => {
    const {bus, view} = setup();
    bus.emit('connection-opened', {connectionId: 1, peer: '127.0.0.1:50000'});
    for (let i = 0; i < 9; i++) bus.emit('request-completed', request({latencyMs: 2}));
    bus.emit('request-completed', request({latencyMs: 40}));
    bus.emit('request-completed', request({application: 'order-rpc', target: 'com.example.OrderService#place', status: 70, latencyMs: 12}));
    bus.emit('request-completed', request({application: undefined, target: 'com.example.Nope#x', status: 90, error: 'no route for target-application=nope', latencyMs: 0.1}));
    const frame = await waitForText(view, '12 requests');
    assert.match(rowOf(frame, 'user-rpc'), /user-rpc\s+○ idle\s+-\s+10\s+0\s+2\.0ms\s+40ms\s+now/);
    assert.match(rowOf(frame, 'order-rpc'), /order-rpc\s+○ idle\s+-\s+1\s+1\s+12ms\s+12ms\s+now/);
    assert.match(frame, /12 requests · 2 errors · 1 consumer connected/);
    assert.match(frame, /user-rpc com\.example\.UserService#getUser OK 40ms/);
    assert.match(frame, /order-rpc com\.example\.OrderService#place SERVICE_ERROR 12ms/);
    assert.match(frame, /\(no route\) com\.example\.Nope#x CLIENT_ERROR: no route for target-application=nope/);
  });

  it('q and ctrl-c quit, p opens the picker, l toggles the log, ? toggles help', async () => {
    const {view, calls} = setup();
    await waitForText(view, 'recent');
    await press(view, 'p');
    assert.equal(calls.pick, 1);
    await press(view, 'l');
    let frame = await waitForFrame(view, (text) => !text.includes('recent'), 'log hidden');
    assert.match(frame, /l show log/);
    await press(view, 'l');
    frame = await waitForText(view, 'recent');
    await press(view, '?');
    frame = await waitForText(view, 'keys');
    assert.match(frame, /p\s+pick applications again \(the port stays open\)/);
    await press(view, '?');
    await waitForFrame(view, (text) => !text.includes('pick applications again'), 'help hidden');
    assert.equal(calls.quit, 0);
    await press(view, 'q');
    assert.equal(calls.quit, 1);
    await press(view, KEY.ctrlC);
    assert.equal(calls.quit, 2);
  });

  it('while stopping it says so and ignores keys', async () => {
    const {view, calls} = setup({stopping: true, status: {text: 'stopping… closing tunnels', tone: 'info'}});
    const frame = await waitForText(view, 'stopping…');
    assert.match(frame, /stopping… closing tunnels/);
    await press(view, 'q', 'p');
    assert.deepEqual(calls, {quit: 0, pick: 0});
  });

  it('while a stop waits for answers it shows how many and how not to wait, then how the wait ended', async () => {
    const {bus, view, calls} = setup({stopping: true, status: {text: 'stopping… closing tunnels', tone: 'info'}});
    bus.emit('draining', {inFlight: 16, timeoutMs: 10_000});
    let frame = await waitForText(view, 'draining 16 calls');
    assert.match(frame, /stopping… draining 16 calls \(at most 10 s\) · q or ctrl-c again: stop at once/);
    bus.emit('draining', {inFlight: 1, timeoutMs: 10_000});
    frame = await waitForText(view, 'draining 1 call ');
    bus.emit('drained', {cause: 'timeout', givenUp: 1, timeoutMs: 10_000});
    frame = await waitForText(view, 'got no answer');
    assert.match(frame, /stopping… 1 call got no answer within 10 s: answered DT_ERR_STOPPED_BEFORE_ANSWER$/m);
    await press(view, 'q');
    assert.deepEqual(calls, {quit: 0, pick: 0}, 'a second q is the owner\'s (App), not the dashboard\'s');
  });

  it('once the stop no longer waits, the owner\'s status is shown instead of the drain', async () => {
    const {bus, view} = setup({stopping: 'at-once', status: {text: 'stopping… at once: calls in flight get DT_ERR_STOPPED_BEFORE_ANSWER', tone: 'info'}});
    bus.emit('draining', {inFlight: 3, timeoutMs: 10_000});
    const frame = await waitForText(view, 'stopping… at once');
    assert.doesNotMatch(frame, /draining 3 calls/);
  });

  it('fits 60 columns: rows are truncated or lose optional columns, never wrapped', async () => {
    const {bus, view} = setup({}, ['a-rather-long-application-name-rpc', 'order-rpc']);
    bus.emit('backend-state-changed', {application: 'a-rather-long-application-name-rpc', state: 'no-ready-pods', detail: 'deployment scaled to zero replicas in namespace default; scale it up', pod: 'a-rather-long-application-name-rpc-5f7c9d8b6-x2x9z'});
    bus.emit('request-completed', request({application: 'order-rpc', target: 'com.example.very.long.package.name.OrderService#placeOrderWithManyArguments', latencyMs: 1234}));
    await waitForText(view, 'placeOrder');
    resize(view.stdout, 60, 30);
    const frame = await waitForFrame(view, (text) => /^APPLICATION\s+STATE\s+REQ\s+ERR\s+P50\s+P99\s+LAST$/m.test(text), '60-column table');
    assert.ok(widest(frame) <= 60, `widest line is ${widest(frame)}:\n${frame}`);
    assert.match(rowOf(frame, 'a-rather-lon'), /○ no ready pods\s+0\s+0\s+-\s+-\s+-$/);
    assert.match(rowOf(frame, 'order-rpc'), /order-rpc\s+○ idle\s+1\s+0\s+1\.2s\s+1\.2s\s+now$/);
    assert.match(frame, /↳ deployment scaled to zero/);
  });

  it('at 80 columns keeps each application\'s place and its pod in view (SERVICES and LAST give way first)', async () => {
    const {bus, view} = setup({}, ['user-rpc', 'order-rpc']);
    bus.emit('routes-changed', {applications: ['user-rpc', 'order-rpc'], origins: {'user-rpc': 'staging', 'order-rpc': 'dev'}});
    bus.emit('backend-state-changed', {application: 'user-rpc', state: 'ready', pod: 'user-rpc-6d5f8c7b9-x2k4p'});
    bus.emit('backend-state-changed', {application: 'order-rpc', state: 'ready', pod: 'order-rpc-7c9d4b5f6-h8j2n'});
    resize(view.stdout, 80, 30);
    const frame = await waitForFrame(view, (text) => /^APPLICATION\s+STATE\s+POD\s+REQ\s+ERR\s+P50\s+P99$/m.test(text) && text.includes('x2k4p'), '80-column table');
    assert.ok(widest(frame) <= 80, `widest line is ${widest(frame)}:\n${frame}`);
    assert.match(rowOf(frame, 'user-rpc'), /^user-rpc · staging\s+● ready\s+user-rpc-6d5f8c7b9-x2k4p\s+0\s+0\s+-\s+-$/);
    assert.match(rowOf(frame, 'order-rpc'), /^order-rpc · dev\s+● ready\s+order-rpc-7c9d4b5f6-h8j2n\s+0/);

    // A name too long for the column is shortened; its place and the pod's distinguishing end stay.
    const long = setup({}, ['a-rather-long-application-name-rpc']);
    long.bus.emit('routes-changed', {applications: ['a-rather-long-application-name-rpc'], origins: {'a-rather-long-application-name-rpc': 'staging'}});
    long.bus.emit('backend-state-changed', {application: 'a-rather-long-application-name-rpc', state: 'ready', pod: 'a-rather-long-application-name-rpc-5f7c9d8b6-x2x9z'});
    resize(long.view.stdout, 80, 30);
    const cut = await waitForFrame(long.view, (text) => text.includes('x2x9z') && /^APPLICATION/m.test(text), '80 columns with a long name');
    assert.ok(widest(cut) <= 80, cut);
    assert.match(rowOf(cut, 'a-rather'), /^a-rather\S*… · staging\s+● ready\s+…\S*-x2x9z\s+0/);
  });

  it('stays shorter than the terminal, with or without help, however long the log is', async () => {
    const {bus, view} = setup({}, ['user-rpc', 'order-rpc', 'pay-rpc']);
    bus.emit('backend-state-changed', {application: 'pay-rpc', state: 'error', detail: 'forbidden'});
    for (let i = 0; i < 200; i++) bus.emit('request-completed', request({requestId: BigInt(i)}));
    await waitForText(view, '200 requests');
    for (const rows of [20, 30, 40]) {
      resize(view.stdout, 100, rows);
      const frame = await waitForFrame(view, (text) => text.split('\n').length === rows - 1, `a ${rows - 1}-line frame`);
      assert.ok(frame.includes('q quit'));
    }
    await press(view, '?');
    const frame = await waitForText(view, 'keys');
    assert.equal(frame.split('\n').length, 39);
  });

  it('with more applications than rows the title, addresses and table header stay; the table scrolls with the keys in the footer', async () => {
    const apps = Array.from({length: 40}, (_, i) => `app-${String(i + 1).padStart(2, '0')}`);
    const {bus, view} = setup({}, apps);
    bus.emit('backend-state-changed', {application: 'app-03', state: 'error', detail: 'forbidden: pods/portforward'});
    for (let i = 0; i < 20; i++) bus.emit('request-completed', request({requestId: BigInt(i), application: 'app-01'}));
    await waitForText(view, '20 requests');
    resize(view.stdout, 100, 24);
    let frame = await waitForFrame(view, (text) => /rows 1–\d+ of 40/.test(text), 'a scrolled table at 24 rows');
    const visible = (text: string) => text.split('\n').filter((line) => /^app-\d\d /.test(line)).map((line) => line.slice(0, 6));
    const check = (text: string): void => {
      assert.ok(text.split('\n').length <= 23, `${text.split('\n').length} lines:\n${text}`);
      assert.match(text, /^dubbo-tunnel · context kind-dev · namespace default$/m);
      assert.match(text, /listening dubbo:\/\/127\.0\.0\.1:20880/);
      assert.match(text, /^APPLICATION\s+STATE/m);
      assert.match(text, /── recent/);
      assert.match(text, /↑↓ PgUp\/PgDn rows \d+–\d+ of 40 · q quit/);
    };
    check(frame);
    assert.deepEqual(visible(frame).slice(0, 3), ['app-01', 'app-02', 'app-03']);
    assert.match(frame, /↳ forbidden: pods\/portforward/, 'a reason line counts as a row of the window');
    const [, , firstPageEnd] = /rows (\d+)–(\d+) of 40/.exec(frame) ?? [];
    await press(view, KEY.pageDown);
    frame = await waitForFrame(view, (text) => new RegExp(`rows ${Number(firstPageEnd) + 1}–`).test(text), 'the next page');
    check(frame);
    assert.equal(visible(frame)[0], `app-${String(Number(firstPageEnd) + 1).padStart(2, '0')}`);
    await press(view, KEY.end);
    frame = await waitForFrame(view, (text) => /–40 of 40/.test(text), 'the last page');
    check(frame);
    assert.equal(visible(frame).at(-1), 'app-40');
    await press(view, KEY.up);
    frame = await waitForFrame(view, (text) => !/–40 of 40/.test(text), 'one row up from the end');
    await press(view, KEY.home);
    frame = await waitForFrame(view, (text) => /rows 1–/.test(text), 'back at the top');
    assert.equal(visible(frame)[0], 'app-01');
    await press(view, KEY.up);
    frame = await waitForFrame(view, (text) => /rows 1–/.test(text), 'still at the top');

    // A terminal tall enough for every row: no scrolling, no scroll hint.
    resize(view.stdout, 100, 60);
    frame = await waitForFrame(view, (text) => text.includes('app-40') && text.includes('app-01'), 'every row at 60 rows');
    assert.doesNotMatch(frame, /PgUp/);
    assert.ok(frame.split('\n').length <= 59);
  });

  it('renders a handful of frames, not one per request, during a flood of 5000 requests', async () => {
    const {bus, view} = setup();
    await waitForText(view, 'recent');
    const before = view.frames.length;
    for (let i = 0; i < 5000; i++) bus.emit('request-completed', request({requestId: BigInt(i)}));
    await waitForText(view, '5000 requests');
    const renders = view.frames.length - before;
    assert.ok(renders <= 5, `${renders} renders for 5000 requests`);
  });
});
