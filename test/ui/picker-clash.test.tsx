// The picker in a session with several places: a FROM column, clashing names shown qualified, one
// place per name (ticking the other swaps), a remembered bare name ticking the first place.
import {afterEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {cleanup, render} from 'ink-testing-library';
import type {DiscoveredApplication} from '../../src/core/applications.js';
import {Picker} from '../../src/ui/components/Picker.js';
import {KEY, press, waitForFrame, waitForText} from './helpers.js';

const APPS: DiscoveredApplication[] = [
  {application: 'user-rpc', service: '127.0.0.1:20881', port: 20881, source: 'static', where: 'local'},
  {application: 'user-rpc', namespace: 'staging', service: 'user-rpc', port: 'dubbo', source: 'service', readyPods: 2, where: 'staging'},
  {application: 'billing-rpc', namespace: 'staging', service: 'billing-rpc', port: 'dubbo', source: 'service', readyPods: 1, where: 'staging'},
];

function setup(preselected: readonly string[]) {
  const submitted: string[][] = [];
  const view = render(<Picker title="local user-rpc + kind-dev · namespace staging" discover={() => Promise.resolve(APPS)} preselected={preselected}
    mode="change" onSubmit={(applications) => submitted.push(applications)} onCancel={() => undefined} />);
  return {view, submitted};
}

function marks(frame: string): Record<string, string> {
  return Object.fromEntries(frame.split('\n').flatMap((line) => {
    const match = /^. (\[x\]|\[ \]|\(•\)|\( \))\s+(\S+)/.exec(line);
    return match ? [[match[2] ?? '', match[1] ?? '']] : [];
  }));
}

afterEach(cleanup);

describe('Picker with several places', () => {
  it('shows where each comes from and the clash qualified; a remembered bare name ticks the first place', async () => {
    const {view} = setup(['user-rpc', 'billing-rpc']);
    const frame = await waitForText(view, 'billing-rpc');
    assert.match(frame, /APPLICATION\s+FROM\s+/);
    assert.deepEqual(marks(frame), {'user-rpc@local': '(•)', 'user-rpc@staging': '( )', 'billing-rpc': '[x]'});
    assert.match(frame, /offered by several places: user-rpc; only one place per name can be routed/);
  });

  it('ticking the other place swaps, and enter submits the qualified choice', async () => {
    const {view, submitted} = setup(['user-rpc', 'billing-rpc']);
    await waitForText(view, 'billing-rpc');
    await press(view, KEY.down, ' ');
    const frame = await waitForFrame(view, (text) => marks(text)['user-rpc@staging'] === '(•)');
    assert.deepEqual(marks(frame), {'user-rpc@local': '( )', 'user-rpc@staging': '(•)', 'billing-rpc': '[x]'});
    await press(view, KEY.enter);
    assert.deepEqual(submitted, [['user-rpc@staging', 'billing-rpc']]);
  });

  it('a remembered qualified choice is kept, and select-all takes one place per name', async () => {
    const {view, submitted} = setup(['user-rpc@staging']);
    assert.deepEqual(marks(await waitForText(view, 'billing-rpc')), {'user-rpc@local': '( )', 'user-rpc@staging': '(•)', 'billing-rpc': '[ ]'});
    await press(view, 'a', 'a', 'a');
    await press(view, KEY.enter);
    assert.deepEqual(submitted, [['user-rpc@local', 'billing-rpc']]);
  });
});
