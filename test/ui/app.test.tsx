import {afterEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {cleanup, render} from 'ink-testing-library';
import type {DiscoveredApplication} from '../../src/core/applications.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {showingSelection} from '../../src/stats/showing-selection.js';
import {StatsStore} from '../../src/stats/stats.js';
import {App} from '../../src/ui/App.js';
import type {AppController} from '../../src/ui/App.js';
import type {InteractiveOutcome, InteractiveUpOptions} from '../../src/ui/interactive-options.js';
import {FakeSession} from './fake-session.js';
import {waitFor} from '../support/wait.js';
import {KEY, press, waitForFrame, waitForText} from './helpers.js';

const APPS: DiscoveredApplication[] = [
  {application: 'user-rpc', namespace: 'default', service: 'user-rpc', port: 20880, source: 'ingress', readyPods: 1},
  {application: 'order-rpc', namespace: 'default', service: 'order-rpc', port: 20880, source: 'ingress', readyPods: 1},
  {application: 'pay-rpc', namespace: 'default', service: 'pay-rpc', port: 20880, source: 'service', readyPods: 1},
];

const stores: StatsStore[] = [];

/** Options as `up` builds them: one bus, the dashboard's store created on it before start(). */
function setup(overrides: Partial<InteractiveUpOptions> = {}, controller?: AppController, events = new TunnelEventBus()) {
  const calls = {start: [] as string[][], remember: [] as string[][], exit: [] as InteractiveOutcome[], discover: 0};
  let session: FakeSession | undefined;
  const stats = new StatsStore(events);
  stores.push(stats);
  const options: InteractiveUpOptions = {
    title: 'context kind-dev · namespace default',
    discover: () => {
      calls.discover++;
      return Promise.resolve(APPS);
    },
    preselected: [],
    skipPicker: false,
    start: (applications) => {
      calls.start.push([...applications]);
      session = new FakeSession(applications, events);
      return Promise.resolve(showingSelection(session, stats));
    },
    remember: (applications) => {
      calls.remember.push([...applications]);
    },
    stats,
    ...overrides,
  };
  const view = render(<App options={options} controller={controller} onExit={(code) => calls.exit.push(code)} />);
  return {view, calls, session: () => session};
}

afterEach(() => {
  cleanup();
  for (const store of stores.splice(0)) store.dispose();
});

const QUIT = {kind: 'quit'};

describe('App (picker → dashboard → stop)', () => {
  it('starts the picked applications, remembers them, shows the dashboard; q stops once and exits 0', async () => {
    const {view, calls, session} = setup({preselected: ['order-rpc']});
    await waitForText(view, 'pay-rpc');
    await press(view, KEY.down, KEY.down, KEY.space, KEY.enter);
    await waitForText(view, 'listening dubbo://127.0.0.1:20880');
    assert.deepEqual(calls.start, [['order-rpc', 'pay-rpc']]);
    assert.deepEqual(calls.remember, [['order-rpc', 'pay-rpc']]);
    const running = session();
    assert.ok(running);
    await press(view, 'q', 'q');
    await waitForText(view, 'stopping…');
    await press(view, KEY.ctrlC);
    assert.equal(running.stopCalls, 1, 'q, q and ctrl-c call stop() once');
    assert.deepEqual(calls.exit, [], 'no exit before stop() finished');
    running.finishStop();
    await waitForFrame(view, () => calls.exit.length > 0, 'exit');
    assert.deepEqual(calls.exit, [QUIT]);
  });

  it('skips the picker with --select/--all/--last and starts the preselected applications', async () => {
    const {view, calls} = setup({preselected: ['user-rpc', 'pay-rpc'], skipPicker: true});
    const frame = await waitForText(view, 'listening');
    assert.deepEqual(calls.start, [['user-rpc', 'pay-rpc']]);
    assert.equal(calls.discover, 0, 'no discovery when the picker is skipped');
    assert.match(frame, /^user-rpc\s/m);
    assert.match(frame, /^pay-rpc\s/m);
  });

  it('p reopens the picker with the current selection; enter applies it with setSelection, no restart', async () => {
    const {view, calls, session} = setup({preselected: ['user-rpc'], skipPicker: true});
    await waitForText(view, 'listening');
    await press(view, 'p');
    let frame = await waitForText(view, 'pay-rpc');
    assert.match(frame, /Change routed applications/);
    assert.match(frame, /\[x\]\s+user-rpc/);
    assert.match(frame, /\[ \]\s+order-rpc/);
    await press(view, KEY.down, KEY.space, KEY.enter);
    frame = await waitForFrame(view, (text) => /^order-rpc\s/m.test(text) && !text.includes('applying'), 'dashboard with order-rpc');
    assert.match(frame, /^user-rpc\s/m);
    assert.deepEqual(session()?.setSelectionCalls, [['user-rpc', 'order-rpc']]);
    assert.deepEqual(calls.start, [['user-rpc']], 'start() ran once');
    assert.deepEqual(calls.remember.at(-1), ['user-rpc', 'order-rpc']);
  });

  it('esc in the re-opened picker goes back to the dashboard without changes', async () => {
    const {view, session} = setup({preselected: ['user-rpc'], skipPicker: true});
    await waitForText(view, 'listening');
    await press(view, 'p');
    await waitForText(view, 'pay-rpc');
    await press(view, KEY.space, KEY.escape);
    await waitForText(view, 'listening');
    assert.deepEqual(session()?.setSelectionCalls, []);
    assert.equal(session()?.stopCalls, 0);
  });

  it('shows why start() failed, with the fix, and exits non-zero', async () => {
    const {view, calls} = setup({
      preselected: ['user-rpc'],
      skipPicker: true,
      start: () => Promise.reject(new DubboTunnelError('DT_ERR_PORT_IN_USE', 'port 20880 is already in use', {
        hint: 'pass --port 20881, or stop the other process',
      })),
    });
    const frame = await waitForText(view, 'already in use');
    assert.match(frame, /dubbo-tunnel could not start/);
    assert.match(frame, /✖ port 20880 is already in use/);
    assert.match(frame, /fix: pass --port 20881, or stop the other process/);
    await waitForFrame(view, () => calls.exit.length > 0, 'exit');
    const [ended] = calls.exit;
    assert.equal(ended?.kind === 'failed' && ended.during === 'start' && ended.error instanceof DubboTunnelError && ended.error.code, 'DT_ERR_PORT_IN_USE');
  });

  it('esc in the first picker exits 0 without starting anything', async () => {
    const {view, calls} = setup();
    await waitForText(view, 'pay-rpc');
    await press(view, KEY.escape);
    assert.deepEqual(calls.exit, [QUIT]);
    assert.deepEqual(calls.start, []);
  });

  it('events during start() reach the dashboard (its store subscribed before start)', async () => {
    const events = new TunnelEventBus();
    const {view} = setup({
      preselected: ['user-rpc'],
      skipPicker: true,
      start: (applications) => {
        events.emit('listening', {addresses: ['127.0.0.1:20990'], port: 20990, allowRemote: false});
        events.emit('backend-state-changed', {application: 'user-rpc', state: 'ready', pod: 'user-rpc-7d9f'});
        return Promise.resolve(new FakeSession(applications, events, false));
      },
    }, undefined, events);
    const frame = await waitForText(view, 'user-rpc-7d9f');
    assert.match(frame, /listening dubbo:\/\/127\.0\.0\.1:20990/);
    assert.match(frame, /^user-rpc\s+● ready\s+user-rpc-7d9f/m);
  });

  it('a quit request from outside (a signal) takes the same graceful path', async () => {
    const controller: AppController = {};
    const {view, calls, session} = setup({preselected: ['user-rpc'], skipPicker: true}, controller);
    await waitForText(view, 'listening');
    controller.quit?.();
    controller.quit?.();
    await waitForText(view, 'stopping…');
    assert.equal(session()?.stopCalls, 1);
    session()?.finishStop();
    await waitForFrame(view, () => calls.exit.length > 0, 'exit');
    assert.deepEqual(calls.exit, [QUIT]);
  });

  it('a second q or ctrl-c while stopping stops at once: stopNow() once, and the screen says so', async () => {
    const {view, calls, session} = setup({preselected: ['user-rpc'], skipPicker: true});
    await waitForText(view, 'listening');
    const running = session();
    assert.ok(running);
    await press(view, 'q');
    await waitForText(view, 'stopping…');
    assert.equal(running.stopNowCalls, 0, 'the first q waits for the answers');
    await press(view, 'q');
    const frame = await waitForText(view, 'stopping… at once');
    assert.match(frame, /stopping… at once: calls in flight get DT_ERR_STOPPED_BEFORE_ANSWER/);
    await press(view, KEY.ctrlC);
    assert.equal(running.stopNowCalls, 1, 'stopNow() once');
    assert.equal(running.stopCalls, 1, 'stop() once');
    running.finishStop();
    await waitForFrame(view, () => calls.exit.length > 0, 'exit');
    assert.deepEqual(calls.exit, [QUIT]);
  });

  it('q while start() is still running stops the session as soon as it exists', async () => {
    let release: (session: FakeSession) => void = () => {};
    const started = new FakeSession(['user-rpc']);
    const {view, calls} = setup({
      preselected: ['user-rpc'],
      skipPicker: true,
      start: () => new Promise((resolve) => (release = resolve)),
    });
    await waitForText(view, 'starting: user-rpc');
    await press(view, 'q');
    release(started);
    await waitFor(() => started.stopCalls === 1);
    started.finishStop();
    await waitForFrame(view, () => calls.exit.length > 0, 'exit');
    assert.deepEqual(calls.exit, [QUIT]);
  });
});

