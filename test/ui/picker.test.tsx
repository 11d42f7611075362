import {afterEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {cleanup, render} from 'ink-testing-library';
import type {DiscoveredApplication} from '../../src/core/applications.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {Picker} from '../../src/ui/components/Picker.js';
import type {PickerProps} from '../../src/ui/components/Picker.js';
import {KEY, press, resize, waitForFrame, waitForText, widest} from './helpers.js';

const APPS: DiscoveredApplication[] = [
  {application: 'user-rpc', namespace: 'default', service: 'user-rpc', port: 20880, source: 'ingress', readyPods: 2},
  {application: 'order-rpc', namespace: 'default', service: 'order-rpc', port: 'dubbo', source: 'service', readyPods: 1},
  {application: 'account-rpc', namespace: 'payments', service: 'account-svc', port: 20880, source: 'service', readyPods: 0},
];

function setup(overrides: Partial<PickerProps> = {}) {
  const submitted: string[][] = [];
  let cancelled = 0;
  let discoverCalls = 0;
  const props: PickerProps = {
    title: 'context kind-dev · namespace default',
    discover: () => {
      discoverCalls++;
      return Promise.resolve(APPS);
    },
    preselected: [],
    mode: 'start',
    onSubmit: (applications) => submitted.push(applications),
    onCancel: () => {
      cancelled++;
    },
    ...overrides,
  };
  const view = render(<Picker {...props} />);
  return {
    view,
    submitted,
    cancelled: () => cancelled,
    discoverCalls: () => discoverCalls,
  };
}

/** The application names on screen in row order, with whether each is checked. */
function rows(frame: string): {name: string; checked: boolean; cursor: boolean}[] {
  return frame.split('\n').flatMap((line) => {
    const match = /^(.) \[(x| )\]\s+(\S+)/.exec(line);
    return match ? [{cursor: match[1] === '›', checked: match[2] === 'x', name: match[3] ?? ''}] : [];
  });
}

afterEach(cleanup);

describe('Picker', () => {
  it('shows a spinner while discovery runs, then one row per application with namespace, source, ready pods and port', async () => {
    let resolve: (apps: DiscoveredApplication[]) => void = () => {};
    const {view} = setup({discover: () => new Promise((r) => (resolve = r))});
    const loading = await waitForText(view, 'discovering Dubbo applications');
    assert.match(loading, /Pick applications to route · context kind-dev · namespace default/);
    resolve(APPS);
    const frame = await waitForText(view, 'order-rpc');
    assert.match(frame, /APPLICATION\s+NAMESPACE\s+SOURCE\s+READY\s+PORT/);
    assert.match(frame, /user-rpc\s+default\s+ingress\s+2\s+20880/);
    assert.match(frame, /order-rpc\s+default\s+service\s+1\s+dubbo/);
    assert.match(frame, /account-rpc\s+payments\s+service\s+0\s+20880/);
    assert.deepEqual(rows(frame).map((row) => row.name), ['user-rpc', 'order-rpc', 'account-rpc']);
    assert.equal(rows(frame)[0]?.cursor, true);
  });

  it('preselects the remembered applications and mentions remembered ones that are gone', async () => {
    const {view} = setup({preselected: ['order-rpc', 'gone-rpc']});
    const frame = await waitForText(view, 'order-rpc');
    assert.deepEqual(rows(frame).filter((row) => row.checked).map((row) => row.name), ['order-rpc']);
    assert.match(frame, /1 of 3 selected/);
    assert.match(frame, /not found now: gone-rpc/);
  });

  it('moves with the arrows and toggles with space; enter submits the checked ones in list order', async () => {
    const {view, submitted} = setup();
    await waitForText(view, 'account-rpc');
    await press(view, KEY.down, KEY.down, KEY.space, KEY.up, KEY.up, KEY.space);
    let frame = await waitForText(view, '2 of 3 selected');
    assert.deepEqual(rows(frame).map((row) => row.checked), [true, false, true]);
    await press(view, KEY.space);
    frame = await waitForText(view, '1 of 3 selected');
    assert.deepEqual(rows(frame).map((row) => row.checked), [false, false, true]);
    await press(view, KEY.space, KEY.enter);
    assert.deepEqual(submitted, [['user-rpc', 'account-rpc']]);
  });

  it('enter with nothing checked starts the application under the cursor', async () => {
    const {view, submitted} = setup();
    await waitForText(view, 'account-rpc');
    await press(view, KEY.down, KEY.enter);
    assert.deepEqual(submitted, [['order-rpc']]);
  });

  it('filters as you type, matching name, namespace or service; backspace and esc undo it', async () => {
    const {view, submitted} = setup();
    await waitForText(view, 'account-rpc');
    await press(view, 'o', 'r', 'd');
    let frame = await waitForText(view, 'filter: ord');
    assert.deepEqual(rows(frame).map((row) => row.name), ['order-rpc']);
    assert.match(frame, /1 shown/);
    await press(view, KEY.backspace, KEY.backspace, KEY.backspace, 'p', 'a', 'y');
    frame = await waitForText(view, 'filter: pay');
    assert.deepEqual(rows(frame).map((row) => row.name), ['account-rpc'], 'namespace matches too');
    await press(view, KEY.escape);
    frame = await waitForText(view, 'type to filter');
    assert.equal(rows(frame).length, 3);
    assert.deepEqual(submitted, [], 'esc with a filter clears it and does not quit');
  });

  it('typing while filtering takes a and q as letters; space toggles the filtered row; enter submits it', async () => {
    const {view, submitted, cancelled} = setup();
    await waitForText(view, 'account-rpc');
    await press(view, '/', 'a', 'c', 'q');
    let frame = await waitForText(view, 'filter: acq');
    assert.equal(rows(frame).length, 0);
    assert.match(frame, /No application matches/);
    await press(view, KEY.backspace);
    frame = await waitForText(view, 'filter: ac');
    assert.deepEqual(rows(frame).map((row) => row.name), ['account-rpc']);
    await press(view, KEY.space, KEY.enter);
    assert.equal(cancelled(), 0);
    assert.deepEqual(submitted, [['account-rpc']]);
  });

  it('keeps up with keys that arrive faster than renders (paste, tmux send-keys)', async () => {
    const {view, submitted} = setup();
    await waitForText(view, 'account-rpc');
    for (const key of ['/', 'o', 'r', 'd', KEY.space]) view.stdin.write(key);
    await waitForText(view, 'filter: ord');
    view.stdin.write(KEY.enter);
    await waitForFrame(view, () => submitted.length === 1, 'submit');
    assert.deepEqual(submitted, [['order-rpc']]);
  });

  it('splits a run of characters that arrives as one chunk (tmux send-keys "Space Enter")', async () => {
    const {view, submitted} = setup();
    await waitForText(view, 'account-rpc');
    view.stdin.write(`${KEY.down} \r`);
    await waitForFrame(view, () => submitted.length === 1, 'submit');
    assert.deepEqual(submitted, [['order-rpc']]);
  });

  it('ctrl-a selects all visible rows, and again none', async () => {
    const {view} = setup({preselected: ['user-rpc']});
    await waitForText(view, 'account-rpc');
    await press(view, KEY.ctrlA);
    let frame = await waitForText(view, '3 of 3 selected');
    assert.deepEqual(rows(frame).map((row) => row.checked), [true, true, true]);
    await press(view, KEY.ctrlA);
    frame = await waitForText(view, '0 of 3 selected');
    assert.deepEqual(rows(frame).map((row) => row.checked), [false, false, false]);
    // While filtering, ctrl-a does the same for the rows that match.
    await press(view, 'r', 'd', 'e', 'r', KEY.ctrlA);
    frame = await waitForText(view, '1 of 3 selected');
    await press(view, KEY.escape);
    frame = await waitForText(view, 'type to filter');
    assert.deepEqual(rows(frame).map((row) => row.checked), [false, true, false]);
  });

  it('esc quits when there is no filter; q is a letter of the filter like any other', async () => {
    const first = setup();
    await waitForText(first.view, 'account-rpc');
    await press(first.view, KEY.escape);
    assert.equal(first.cancelled(), 1);
    assert.deepEqual(first.submitted, []);

    const second = setup();
    await waitForText(second.view, 'account-rpc');
    await press(second.view, 'q');
    await waitForText(second.view, 'filter: q');
    assert.equal(second.cancelled(), 0);
    await press(second.view, KEY.escape, KEY.escape);
    assert.equal(second.cancelled(), 1, 'the first esc clears the filter, the second quits');
  });

  it('typing `app-29` among 300 applications filters; no letter is a command, and enter starts the one under the cursor', async () => {
    const many: DiscoveredApplication[] = Array.from({length: 300}, (_, i) => ({
      application: `app-${i + 1}`, namespace: 'default', service: `app-${i + 1}`, port: 20880, source: 'service' as const, readyPods: 1,
    }));
    const {view, submitted, cancelled} = setup({discover: () => Promise.resolve(many)});
    await waitForText(view, 'app-1 ');
    for (const key of 'app-29') view.stdin.write(key);
    const frame = await waitForText(view, 'filter: app-29');
    assert.match(frame, /0 of 300 selected · 11 shown/);
    assert.equal(rows(frame)[0]?.name, 'app-29');
    assert.ok(rows(frame).every((row) => !row.checked), 'nothing was selected');
    await press(view, KEY.enter);
    assert.deepEqual(submitted, [['app-29']]);
    assert.equal(cancelled(), 0);
  });

  it('a filter can start with `a`, `q` or `/`-opened; ctrl-u clears it as in a shell', async () => {
    const {view, cancelled} = setup();
    await waitForText(view, 'account-rpc');
    await press(view, 'a', 'c');
    let frame = await waitForText(view, 'filter: ac');
    assert.deepEqual(rows(frame).map((row) => row.name), ['account-rpc']);
    await press(view, KEY.ctrlU);
    frame = await waitForText(view, 'type to filter');
    assert.equal(rows(frame).length, 3);
    await press(view, '/');
    frame = await waitForText(view, 'filter: ▏');
    assert.match(frame, /esc clear filter/);
    await press(view, 'o', 'r', 'd');
    frame = await waitForText(view, 'filter: ord');
    assert.deepEqual(rows(frame).map((row) => row.name), ['order-rpc']);
    assert.equal(cancelled(), 0);
  });

  it('in change mode the footer says apply and back', async () => {
    const {view} = setup({mode: 'change', preselected: ['user-rpc']});
    const frame = await waitForText(view, 'account-rpc');
    assert.match(frame, /Change routed applications/);
    assert.match(frame, /enter apply/);
    assert.match(frame, /esc back/);
  });

  it('shows a discovery error with its fix, and r retries', async () => {
    let calls = 0;
    const {view} = setup({
      discover: () => {
        calls++;
        if (calls === 1) {
          return Promise.reject(new DubboTunnelError('DT_ERR_KUBE_FORBIDDEN', 'the API server denied listing ingresses in namespace default', {
            hint: 'ask for RBAC get/list/watch on ingresses, services and endpoints, or pass --source service',
          }));
        }
        return Promise.resolve(APPS);
      },
    });
    const frame = await waitForText(view, 'Discovery failed');
    assert.match(frame, /✖ the API server denied listing ingresses in namespace default/);
    assert.match(frame, /fix: ask for RBAC get\/list\/watch/);
    assert.match(frame, /DT_ERR_KUBE_FORBIDDEN/);
    assert.match(frame, /r retry · q quit/);
    await press(view, 'r');
    await waitForText(view, 'account-rpc');
    assert.equal(calls, 2);
  });

  it('explains a missing kubeconfig the same way', async () => {
    const {view, cancelled} = setup({
      discover: () => Promise.reject(new DubboTunnelError('DT_ERR_KUBECONFIG', 'no kubeconfig found (looked at $KUBECONFIG and ~/.kube/config)', {
        hint: 'set KUBECONFIG or pass --kubeconfig <file>, or use --backend <app>=<host>:<port>',
      })),
    });
    const frame = await waitForText(view, 'no kubeconfig found');
    assert.match(frame, /fix: set KUBECONFIG or pass --kubeconfig/);
    await press(view, 'q');
    assert.equal(cancelled(), 1);
  });

  it('says what to fix when there are no applications', async () => {
    const {view, submitted} = setup({discover: () => Promise.resolve([])});
    const frame = await waitForText(view, 'No Dubbo applications found');
    assert.match(frame, /context kind-dev · namespace default/);
    assert.match(frame, /fix: expose providers/);
    await press(view, KEY.enter);
    assert.deepEqual(submitted, [], 'enter does nothing without rows');
  });

  it('fits a 60-column terminal: rows are truncated, never wrapped', async () => {
    const long: DiscoveredApplication[] = [
      ...APPS,
      {application: 'a-very-long-application-name-that-goes-on-and-on', namespace: 'a-namespace-with-a-long-name', service: 'svc', port: 20880, source: 'ingress', readyPods: 12},
    ];
    const {view} = setup({discover: () => Promise.resolve(long)});
    await waitForText(view, 'account-rpc');
    resize(view.stdout, 60);
    // Wait for our own layout (READY and PORT columns in view), not just ink's clipping at the edge.
    const frame = await waitForFrame(view, (text) => /READY\s+PORT$/m.test(text), '60-column layout');
    assert.ok(widest(frame) <= 60, `widest line ${widest(frame)}`);
    assert.equal(rows(frame).length, 4, 'one line per application');
    assert.match(frame, /\[ \] a-very-long-app\S*… /, 'long names are cut with an ellipsis');
    assert.match(frame, /READY/);
  });
});
