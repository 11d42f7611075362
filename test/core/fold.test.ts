import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {foldedSuffix} from '../../src/core/fold.js';

describe('folding identical log lines', () => {
  it('shows the first line, counts the repeats and says how many there were, once per window', (t) => {
    // Mocked timers: a window ends exactly when the test says so, however busy the machine is.
    t.mock.timers.enable({apis: ['setTimeout']});
    const events = new TunnelEventBus({foldWindowMs: 300});
    const seen: string[] = [];
    events.on('log', ({level, message}) => seen.push(`${level} ${message}`));
    for (let index = 0; index < 1240; index++) events.log('warn', 'user-rpc: port-forward failed');
    events.log('warn', 'another line');
    events.log('info', 'user-rpc: port-forward failed');
    assert.deepEqual(seen, ['warn user-rpc: port-forward failed', 'warn another line', 'info user-rpc: port-forward failed']);
    t.mock.timers.tick(299);
    assert.equal(seen.length, 3, 'no summary before the window ends');
    t.mock.timers.tick(1);
    assert.equal(seen.length, 4);
    assert.equal(seen[3], 'warn user-rpc: port-forward failed … ×1,239 in the last 300 ms');
    // The flood goes on: one summary per window; then a quiet window and the line shows again.
    events.log('warn', 'user-rpc: port-forward failed');
    events.log('warn', 'user-rpc: port-forward failed');
    assert.equal(seen.length, 4, 'repeats inside the next window are counted, not shown');
    t.mock.timers.tick(300);
    assert.equal(seen.length, 5);
    assert.equal(seen[4], 'warn user-rpc: port-forward failed … ×2 in the last 300 ms');
    t.mock.timers.tick(400);
    assert.equal(seen.length, 5, 'a window without repeats says nothing');
    events.log('warn', 'user-rpc: port-forward failed');
    assert.equal(seen.at(-1), 'warn user-rpc: port-forward failed');
    events.log('warn', 'user-rpc: port-forward failed');
    events.flushFolded();
    assert.equal(seen.at(-1), 'warn user-rpc: port-forward failed … ×1 in the last 300 ms');
  });

  it('writes counts the way the issue shows them', () => {
    assert.equal(foldedSuffix(1240, 5000), ' … ×1,240 in the last 5 s');
  });
});
