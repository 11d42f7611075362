import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {TunnelEventBus} from '../../src/core/events.js';
import {foldedSuffix} from '../../src/core/fold.js';
import {sleep, waitFor} from '../support/wait.js';

describe('folding identical log lines', () => {
  it('shows the first line, counts the repeats and says how many there were, once per window', async () => {
    const events = new TunnelEventBus({foldWindowMs: 300});
    const seen: string[] = [];
    events.on('log', ({level, message}) => seen.push(`${level} ${message}`));
    for (let index = 0; index < 1240; index++) events.log('warn', 'user-rpc: port-forward failed');
    events.log('warn', 'another line');
    events.log('info', 'user-rpc: port-forward failed');
    assert.deepEqual(seen, ['warn user-rpc: port-forward failed', 'warn another line', 'info user-rpc: port-forward failed']);
    await waitFor(() => seen.length === 4, {message: 'the summary'});
    assert.equal(seen[3], 'warn user-rpc: port-forward failed … ×1,239 in the last 300 ms');
    // The flood goes on: one summary per window; then a quiet window and the line shows again.
    events.log('warn', 'user-rpc: port-forward failed');
    events.log('warn', 'user-rpc: port-forward failed');
    await waitFor(() => seen.length === 5, {message: 'the second summary'});
    assert.equal(seen[4], 'warn user-rpc: port-forward failed … ×2 in the last 300 ms');
    await sleep(400);
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
