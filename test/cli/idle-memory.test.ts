import assert from 'node:assert/strict';
import {test} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {releaseMemoryWhenIdle} from '../../src/cli/idle-memory.js';

const completed = {connectionId: 1, requestId: 1n, application: 'user-rpc', target: 'com.foo.UserService#getUser', status: 20, statusName: 'OK', ok: true, latencyMs: 1, oneWay: false};

test('one collection after a burst once traffic has stopped for two windows; none while busy, none without a burst', (t) => {
  // Mocked timers: the windows pass exactly when the test says so, however busy the machine is.
  t.mock.timers.enable({apis: ['setInterval']});
  const events = new TunnelEventBus();
  let collections = 0;
  const stop = releaseMemoryWhenIdle(events, {windowMs: 40, burstRequests: 50, collect: () => collections++});
  try {
    // A trickle below the burst size never arms it.
    for (let i = 0; i < 10; i++) events.emit('request-completed', completed);
    t.mock.timers.tick(200);
    assert.equal(collections, 0);
    // Busy windows: nothing runs while requests keep coming.
    for (let window = 0; window < 4; window++) {
      for (let i = 0; i < 100; i++) events.emit('request-completed', completed);
      t.mock.timers.tick(40);
    }
    assert.equal(collections, 0);
    // One quiet window is not enough: it waits for two.
    t.mock.timers.tick(40);
    assert.equal(collections, 0);
    // Quiet: one collection, and only one however long it stays quiet.
    t.mock.timers.tick(300);
    assert.equal(collections, 1);
    // The next burst arms it again.
    for (let i = 0; i < 100; i++) events.emit('request-completed', completed);
    t.mock.timers.tick(300);
    assert.equal(collections, 2);
  } finally {
    stop();
  }
});

test('V8 still hands its collector to a context made after --expose-gc is set at run time (what idle-memory.ts relies on)', async () => {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = vm.runInNewContext('gc');
  assert.equal(typeof gc, 'function');
  (gc as () => void)();
});
