import {afterEach, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {cleanup, render} from 'ink-testing-library';
import {CallCapture} from '../../src/core/calls.js';
import type {CapturedCall} from '../../src/core/calls.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {CallLog} from '../../src/inspect/call-log.js';
import type {CallLogView} from '../../src/inspect/call-record.js';
import {showingSelection} from '../../src/stats/showing-selection.js';
import {StatsStore} from '../../src/stats/stats.js';
import {App} from '../../src/ui/App.js';
import type {InteractiveOutcome} from '../../src/ui/interactive-options.js';
import {FakeSession} from './fake-session.js';
import {Dashboard} from '../../src/ui/components/Dashboard.js';
import {CallsView} from '../../src/ui/components/CallsView.js';
import type {CallsViewProps} from '../../src/ui/components/CallsView.js';
import {callMatches, parseCallFilter} from '../../src/ui/calls-filter.js';
import {detailLines, fitCallLabel, formatBytes, statusTone} from '../../src/ui/calls-format.js';
import {waitFor} from '../support/wait.js';
import {dubboCall, fixtureBody} from '../inspect/captured.js';
import {ArrayCallLog, call, sampleCalls} from './call-records.js';
import {KEY, press, resize, strip, waitForFrame, waitForText, widest} from './helpers.js';

const stores: StatsStore[] = [];

afterEach(() => {
  cleanup();
  for (const store of stores.splice(0)) store.dispose();
});

function dashboard(log: ArrayCallLog) {
  const store = new StatsStore(new TunnelEventBus(), {throttleMs: 10, initial: {addresses: ['127.0.0.1:20880'], port: 20880, applications: ['user-rpc']}});
  stores.push(store);
  const quits = {count: 0};
  const view = render(<Dashboard title="static backends" store={store} attachmentKey="target-application" stopping={false}
    onQuit={() => quits.count++} onPick={() => undefined} calls={log} />);
  return {view, quits};
}

function callsView(log: CallLogView, overrides: Partial<CallsViewProps> = {}) {
  const closed = {count: 0, quit: 0};
  const view = render(<CallsView log={log} columns={100} rows={22} keysActive onClose={() => closed.count++} onQuit={() => closed.quit++} {...overrides} />);
  return {view, closed};
}

/** The list line of call `label` (`UserService#getUser` …). */
function rowsWith(frame: string, text: string): string[] {
  return frame.split('\n').filter((line) => line.includes(text));
}

/** Moves the selection to the row containing `text` (from the newest) and opens its detail. */
async function openDetail(view: ReturnType<typeof render>, text: string): Promise<string> {
  const frame = strip(view.lastFrame());
  const lines = frame.split('\n').slice(2);
  const index = lines.findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `no row with ${text} in\n${frame}`);
  await press(view, KEY.home, ...Array<string>(index).fill(KEY.down), KEY.enter);
  return waitForText(view, 'service  ');
}

describe('calls view', () => {
  it('opens with c from the dashboard, holds the call log open while shown, and lets go on c, esc and unmount', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = dashboard(log);
    let frame = await waitForText(view, 'c calls');
    assert.equal(log.holders, 0, 'no capture while the dashboard shows the table');
    await press(view, '?');
    frame = await waitForText(view, 'the calls view');
    assert.match(frame, /c\s+the calls view: recent calls with their arguments and answers/);
    await press(view, '?', 'c');
    frame = await waitForText(view, 'TIME');
    await waitFor(() => log.holders === 1, {message: 'the view holds the log open'});
    assert.match(frame, /^dubbo-tunnel · static backends/);
    assert.doesNotMatch(frame, /APPLICATION\s+STATE/);
    await press(view, 'c');
    await waitForText(view, 'STATE');
    await waitFor(() => log.holders === 0, {message: 'the view let go of the log'});
    await press(view, 'c');
    await waitForText(view, 'TIME');
    await waitFor(() => log.holders === 1, {message: 'the view holds the log open'});
    await press(view, KEY.escape);
    await waitForText(view, 'STATE');
    await waitFor(() => log.holders === 0, {message: 'the view let go of the log'});
    await press(view, 'c');
    await waitForText(view, 'TIME');
    view.unmount();
    await waitFor(() => log.holders === 0, {message: 'the view let go of the log'});
    assert.equal(log.opened, 3);
  });

  it('lists the calls newest first with time, application, Interface#method, status, latency, sizes, connection and markers', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log);
    const frame = await waitForText(view, 'calls 6');
    const lines = frame.split('\n');
    assert.match(lines[1] ?? '', /^ {2}TIME\s+APPLICATION\s+CALL\s+STATUS\s+LAT\s+REQ\/ANS\s+CONN/);
    const rows = lines.slice(2, 8);
    assert.deepEqual(rows.map((line) => /#(\w+)/.exec(line)?.[1]), ['getUser', 'read', 'sayHello', 'charge', 'placeOrder', 'getUser']);
    assert.match(rows[0] ?? '', /^› \d\d:\d\d:\d\d\.\d{3}\s+user-rpc\s+UserService#getUser\s+OK\s+2\.9ms\s+212B\/168B\s+#3$/);
    assert.match(rowsWith(frame, 'placeOrder')[0] ?? '', /order-rpc\s+OrderService#placeOrder\s+EXCEPTION\s+18ms\s+486B\/1\.3K\s+#4/);
    assert.match(rowsWith(frame, 'charge')[0] ?? '', /\(no route\)\s+PayService#charge\s+SERVICE_NOT_FOUND\s+0\.2ms/);
    assert.match(rowsWith(frame, 'sayHello')[0] ?? '', /\d T\s+greeter\s+Greeter#sayHello\s+grpc OK/);
    assert.match(rowsWith(frame, 'read')[0] ?? '', /\d H\s+file-rpc\s+FileService#read\s+OK\s+42ms\s+190B\/39K\s+#5/);
    // Colours (the tests run without them, so the tone each status gets): OK green, an exception
    // yellow, dubbo-tunnel's own error red, a one-way call dim.
    assert.deepEqual(sampleCalls().map(statusTone), ['green', 'yellow', 'red', 'green', 'green', 'green']);
    assert.equal(statusTone(call({status: undefined, answer: undefined})), 'dim');
  });

  it('shows new calls as they arrive, and says how to get some when there are none', async () => {
    const log = new ArrayCallLog();
    const {view} = callsView(log);
    await waitForText(view, 'no calls yet: calls are captured while this view is open');
    log.add(call({seq: 100, method: 'listUsers'}));
    const frame = await waitForText(view, 'UserService#listUsers');
    assert.match(frame, /^calls 1/);
  });

  it('shows a POJO argument with its Java types one level per line, the attachments and the answer', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 6');
    const frame = await openDetail(view, 'placeOrder');
    assert.match(frame, /^call 2 · \d\d:\d\d:\d\d\.\d{3} · order-rpc · dubbo · consumer #4/);
    assert.match(frame, /service {2}eu\/com\.example\.order\.OrderService:2\.1\n/);
    assert.match(frame, /method {3}placeOrder\(com\.example\.order\.OrderRequest\)\n/);
    assert.match(frame, /status {3}EXCEPTION · 18\.4ms · request 486B · answer 1\.3K/);
    assert.ok(frame.includes([
      'arguments',
      '  [0] com.example.order.OrderRequest {',
      '    customerId: 42',
      '    lines: [',
      '      com.example.order.OrderLine {',
      '        sku: "BOOK-1"',
      '        quantity: 2',
      '        price: java.math.BigDecimal 12.50',
      '      }',
      '    ]',
      '    express: true',
      '    placedAt: java.util.Date 2026-12-07T14:03:05.000Z',
      '    channel: com.example.order.Channel { name: "WEB" }',
      '  }',
      'attachments',
      '  path: "com.example.order.OrderService"',
      '  group: "eu"',
      '  version: "2.1"',
      '  authorization: "<redacted>"',
      'answer',
      '  java.lang.IllegalStateException: customer 42 has no delivery address',
    ].join('\n')), frame);
    const placed = sampleCalls()[1];
    assert.ok(placed !== undefined);
    assert.deepEqual(detailLines(placed, 100, false).filter((line) => line.tone === 'red').map((line) => line.text),
      ['  java.lang.IllegalStateException: customer 42 has no delivery address']);
    await press(view, KEY.escape);
    await waitForText(view, 'TIME');
  });

  it('shows a scalar argument with its declared type and a POJO answer', async () => {
    const log = new ArrayCallLog([call({seq: 1})]);
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 1');
    const frame = await openDetail(view, 'getUser');
    assert.ok(frame.includes('arguments\n  [0] java.lang.String "42"\n'), frame);
    assert.ok(frame.includes('answer\n  com.example.User {\n    id: 42\n    name: "Ann Lee"\n    email: "ann@example.com"\n  }'), frame);
  });

  it("shows dubbo-tunnel's coded error in red", async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 6');
    const frame = await openDetail(view, 'charge');
    assert.match(frame, /^call 3 · .* · \(no route\) · dubbo · consumer #3/);
    assert.match(frame, /arguments\n {2}\[0\] long 990\n/);
    assert.match(frame, /answer\n {2}\[DT_ERR_NO_ROUTE\] no application serves com\.example\.PayService/);
    const unrouted = sampleCalls()[2];
    assert.ok(unrouted !== undefined);
    assert.deepEqual(detailLines(unrouted, 100, false).filter((line) => line.tone === 'red').map((line) => line.text),
      ['status   SERVICE_NOT_FOUND · 0.2ms · request 140B · answer 120B', '  [DT_ERR_NO_ROUTE] no application serves com.example.PayService']);
  });

  it('shows a Triple call with its path, headers, status, trailers and decoded payload', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 6');
    const frame = await openDetail(view, 'sayHello');
    assert.match(frame, /^call 4 · .* · greeter · triple · consumer #7/);
    assert.ok(frame.includes([
      'path  /org.example.Greeter/sayHello',
      'request headers',
      '  content-type: "application/json"',
      '  tri-service-version: ""',
      '  te: "trailers"',
      'response headers',
      '  content-type: "application/json"',
      '  :status: "200"',
      'grpc-status 0 OK',
      'trailers',
      '  grpc-status: "0"',
      'arguments',
      '  [0] { name: "dubbo" }',
      'answer',
      '  { message: "hello dubbo" }',
    ].join('\n')), frame);
    assert.doesNotMatch(frame, /^attachments/m);
  });

  it('shows a Triple payload that could not be decoded as its reason and hex head', async () => {
    const log = new ArrayCallLog([call({
      seq: 1, protocol: 'triple', parameterTypes: [], arguments: undefined, attachments: {}, status: 'grpc INTERNAL', ok: false,
      undecodedRequest: {reason: 'protobuf without a schema', hexHead: '0a 02 34 32'},
      answer: {kind: 'undecoded', reason: 'protobuf without a schema', hexHead: '0a 03 41 6e 6e'},
      triple: {path: '/x.Y/z', requestHeaders: {}, responseHeaders: undefined, trailers: {'grpc-status': '13'}, grpcStatus: 13, grpcMessage: 'boom'},
    })]);
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 1');
    const frame = await openDetail(view, 'getUser');
    assert.match(frame, /response headers: none\n/);
    assert.match(frame, /grpc-status 13 INTERNAL: boom\n/);
    assert.match(frame, /arguments: not decoded \(212B\): protobuf without a schema\n {2}0a 02 34 32\n/);
    assert.match(frame, /answer\n {2}undecoded: protobuf without a schema\n {2}0a 03 41 6e 6e/);
  });

  it('shows binary as its size and a hex head', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 6');
    const frame = await openDetail(view, 'read');
    assert.match(frame, / · file-rpc · dubbo · consumer #5 · via HTTP/);
    assert.match(frame, /answer\n {2}byte\[\] 26 bytes: 25 50 44 46 2d 31 2e 37 0a 25 c3 a2 c3 a3 c3 8f …\n/);
  });

  it('folds a long string until enter, and scrolls a detail taller than the screen', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log, {rows: 14, columns: 80});
    await waitForText(view, 'calls 6');
    let frame = await openDetail(view, 'getUser');
    assert.match(frame, /lines 1–13 of \d+/);
    await press(view, KEY.end);
    frame = await waitForText(view, 'bio:');
    assert.match(frame, /bio: "x{32}…" … \(450 chars, enter to expand\)/);
    await press(view, KEY.enter);
    frame = await waitForText(view, 'enter fold');
    assert.doesNotMatch(frame, /450 chars/);
    // The whole string, cut to the width and continued on the next lines.
    const xs = frame.split('\n').filter((line) => /^\s*(bio: ")?x+"?$/.test(line)).join('').replace(/[^x]/g, '');
    assert.ok(xs.length > 60, frame);
    assert.ok(widest(frame) <= 80, frame);
    await press(view, KEY.end);
    frame = strip(view.lastFrame());
    assert.match(frame, /^\s*}$/m);
    await press(view, KEY.home);
    frame = await waitForText(view, 'lines 1–');
    assert.match(frame, /^call 6/);
  });

  it('folds a long list to its first items', async () => {
    const ids = Array.from({length: 30}, (_, i) => i);
    const log = new ArrayCallLog([call({seq: 1, method: 'getUsers', parameterTypes: ['java.util.List'], arguments: [ids]})]);
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 1');
    let frame = await openDetail(view, 'getUsers');
    assert.match(frame, /\[0\] java\.util\.List \[\n {4}0\n[^]* {4}9\n {4}… \(30 items, enter to expand\)\n {2}\]/);
    await press(view, KEY.enter);
    frame = await waitForText(view, '    29');
    assert.doesNotMatch(frame, /30 items/);
  });

  it('filters by text, app:, svc:, method: and Interface#method; f shows failed calls only', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log);
    await waitForText(view, 'calls 6');
    const methods = (frame: string): string[] => frame.split('\n').slice(2, -1).map((line) => /#(\w+)/.exec(line)?.[1] ?? line);
    await press(view, '/', ...'svc:order');
    let frame = await waitForText(view, '/svc:order_');
    assert.deepEqual(methods(frame), ['placeOrder']);
    assert.match(frame, /^calls 1 of 6 · \/svc:order_/);
    await press(view, KEY.enter);
    frame = await waitForText(view, 'filter svc:order');
    await press(view, '/', KEY.ctrlU, ...'#getUser');
    frame = await waitForText(view, '/#getUser_');
    assert.deepEqual(methods(frame), ['getUser', 'getUser']);
    await press(view, KEY.ctrlU, ...'UserService#get');
    frame = await waitForText(view, '/UserService#get_');
    assert.deepEqual(methods(frame), ['getUser', 'getUser']);
    await press(view, KEY.ctrlU, ...'app:file');
    frame = await waitForText(view, '/app:file_');
    assert.deepEqual(methods(frame), ['read']);
    // Keys typed into the filter are text, not commands.
    await press(view, KEY.ctrlU, ...'greet', KEY.backspace, 't q c');
    frame = await waitForText(view, '/greet q c_');
    assert.match(frame, /no calls match the filter/);
    await press(view, KEY.escape);
    frame = await waitForText(view, 'calls 6');
    await press(view, 'f');
    frame = await waitForText(view, 'failed only');
    assert.deepEqual(methods(frame), ['charge', 'placeOrder']);
    await press(view, '/', ...'getUser');
    frame = await waitForText(view, 'no failed calls match the filter (f shows all; / then esc clears the filter)');
    await press(view, KEY.escape);
    frame = await waitForText(view, 'calls 2 of 6');
    assert.match(frame, /^calls 2 of 6 · failed only/);
    await press(view, '/', ...'pay', KEY.enter);
    frame = await waitForText(view, 'filter pay');
    assert.deepEqual(methods(frame), ['charge']);
    await press(view, 'f');
    frame = await waitForFrame(view, (text) => !(text.split('\n')[0] ?? '').includes('failed only'), 'all calls again');
    assert.deepEqual(methods(frame), ['charge']);
  });

  it('pauses on space: the list stays as it was and counts the calls that arrived', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view, closed} = callsView(log);
    await waitForText(view, 'calls 6');
    await press(view, KEY.space);
    await waitForText(view, 'paused · 0 new');
    log.add(call({seq: 7, method: 'deleteUser'}), call({seq: 8, method: 'renameUser'}));
    let frame = await waitForText(view, 'paused · 2 new');
    assert.doesNotMatch(frame, /deleteUser|renameUser/);
    assert.match(frame, /space resume/);
    await press(view, KEY.space);
    frame = await waitForText(view, 'renameUser');
    assert.match(frame, /^calls 8/);
    assert.doesNotMatch(frame, /paused/);
    await press(view, 'q');
    assert.equal(closed.quit, 1);
  });

  it('says in its header how many calls the log skipped decoding in a flood, and that a recording keeps them all', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log);
    let frame = await waitForText(view, 'calls 6');
    assert.doesNotMatch(frame.split('\n')[0] ?? '', /not decoded/);
    log.skip(1234);
    frame = await waitForText(view, '1234 not decoded');
    assert.match(frame.split('\n')[0] ?? '', /^calls 6 · 1234 not decoded \(too many a second; --record keeps all\)/);
  });

  it('keeps the selection on its call while newer calls arrive, and Home follows the newest again', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log);
    await waitForText(view, 'calls 6');
    await press(view, KEY.down, KEY.down);
    log.add(call({seq: 7, method: 'deleteUser'}));
    await waitForText(view, 'deleteUser');
    await press(view, KEY.enter);
    let frame = await waitForText(view, 'service  ');
    assert.match(frame, /^call 4 /);
    await press(view, KEY.escape, KEY.home, KEY.enter);
    frame = await waitForText(view, 'service  ');
    assert.match(frame, /^call 7 /);
  });

  it('handles keys that arrive together one after another (a held arrow key, a paste, tmux send-keys)', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = callsView(log, {rows: 40});
    await waitForText(view, 'calls 6');
    view.stdin.write(KEY.down + KEY.down + KEY.down + KEY.enter);
    let frame = await waitForText(view, 'service  ');
    assert.match(frame, /^call 3 /);
    view.stdin.write(KEY.escape);
    await waitForText(view, 'TIME');
    // `/fail` typed at once is a filter, not f (failed only) followed by letters.
    view.stdin.write('/fail');
    frame = await waitForText(view, '/fail_');
    assert.doesNotMatch(frame.split('\n')[0] ?? '', /failed only/);
  });

  it('scrolls a list longer than the screen and keeps the selection in view', async () => {
    const log = new ArrayCallLog(Array.from({length: 40}, (_, i) => call({seq: i + 1, method: `m${i + 1}`})));
    const {view} = callsView(log, {rows: 12});
    let frame = await waitForText(view, 'calls 40');
    assert.match(frame, /rows 1–9/);
    await press(view, KEY.end);
    frame = await waitForText(view, 'rows 32–40');
    assert.match(frame, /UserService#m1 /);
    await press(view, KEY.pageUp);
    // The window moves only as far as the selection needs.
    frame = await waitForText(view, 'rows 31–39');
    await press(view, KEY.enter);
    frame = await waitForText(view, 'service  ');
    assert.match(frame, /^call 10 /);
  });

  it('fits a 60-column terminal without wrapping, in the list and the detail', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const {view} = dashboard(log);
    resize(view.stdout, 60, 24);
    await waitForText(view, 'c calls');
    await press(view, 'c');
    let frame = await waitForText(view, 'TIME');
    assert.ok(widest(frame) <= 60, frame);
    assert.ok(frame.split('\n').length <= 23, frame);
    // Sizes and the connection give way first; the call's name keeps the most of what is left.
    assert.match(frame, /^ {2}TIME\s+APPLICA…\s+CALL\s+STATUS\s+LAT$/m);
    assert.match(frame, /^ {2}\d\d:\d\d:\d\d\.\d{3}\s+order-r… O…#placeOrder EXCEPTION\s+18ms$/m);
    assert.match(frame, /^› \d\d:\d\d:\d\d\.\d{3}\s+user-rpc User…#getUser OK\s+2\.9ms$/m);
    for (let i = 0; i < 6; i++) {
      await press(view, KEY.home, ...Array<string>(i).fill(KEY.down), KEY.enter);
      frame = await waitForText(view, 'service  ');
      assert.ok(widest(frame) <= 60, frame);
      assert.ok(frame.split('\n').length <= 23, frame);
      await press(view, KEY.end);
      assert.ok(widest(strip(view.lastFrame())) <= 60, strip(view.lastFrame()));
      await press(view, KEY.escape);
      await waitForText(view, 'TIME');
    }
  });
});

describe('calls view in the interactive up', () => {
  it('opens from the running dashboard with the key router; q in the view stops the session', async () => {
    const log = new ArrayCallLog(sampleCalls());
    const events = new TunnelEventBus();
    const stats = new StatsStore(events, {throttleMs: 10});
    stores.push(stats);
    let session: FakeSession | undefined;
    const exits: InteractiveOutcome[] = [];
    const view = render(<App options={{
      title: 'static backends', discover: () => Promise.resolve([]), preselected: ['user-rpc'], skipPicker: true,
      start: (applications) => {
        session = new FakeSession(applications, events);
        return Promise.resolve(showingSelection(session, stats));
      },
      remember: () => undefined, stats, calls: log,
    }} onExit={(outcome) => exits.push(outcome)} />);
    await waitForText(view, 'c calls');
    await press(view, 'c');
    await waitForText(view, 'OrderService#placeOrder');
    await waitFor(() => log.holders === 1, {message: 'the view holds the log open'});
    // Keys typed into the filter stay there: p is not "pick applications" here.
    await press(view, '/', 'p', 'a', 'y');
    let frame = await waitForText(view, '/pay_');
    assert.match(frame, /PayService#charge/);
    assert.doesNotMatch(frame, /placeOrder/);
    await press(view, KEY.enter, 'q');
    frame = await waitForText(view, 'stopping');
    assert.equal(session?.stopCalls, 1);
    session?.finishStop();
    await waitFor(() => exits.length === 1, {message: 'the app exits'});
    assert.deepEqual(exits, [{kind: 'quit'}]);
    await waitFor(() => log.holders === 0, {message: 'the view let go of the log'});
  });
});

describe('calls view on the session\'s CallLog', () => {
  it('turns capture on only while open, and shows calls decoded from frames written by Java', async () => {
    const bus = new TunnelEventBus();
    const capture = new CallCapture();
    const log = new CallLog({bus, capture, notifyMs: 10});
    // What the listener does: a call is copied and emitted only while the capture is on.
    const finish = (one: CapturedCall): void => {
      if (capture.on) bus.emit('call-captured', one);
    };
    const schedule = dubboCall(fixtureBody('req-decimal-dates-enum.bin'), fixtureBody('resp-exception-attachments.bin'), {
      completed: {application: 'billing-app', target: 'com.example.BillingService#schedule', statusName: 'EXCEPTION', ok: false, connectionId: 9},
    });
    const upload = dubboCall(fixtureBody('req-bytes-100k.bin'), fixtureBody('resp-value-plain.bin'), {completed: {application: 'users-app', connectionId: 9}});
    finish(upload);
    assert.equal(capture.on, false);
    const {view} = callsView(log, {rows: 40});
    await waitFor(() => capture.on, {message: 'the open view turns capture on'});
    await waitForText(view, 'no calls yet');
    finish(schedule);
    finish(upload);
    let frame = await waitForText(view, 'calls 2');
    assert.match(frame, /billing-app\s+BillingService#schedule\s+EXCEPTION/);
    assert.match(frame, /users-app\s+UserService#upload\s+OK/);
    frame = await openDetail(view, 'schedule');
    assert.match(frame, /method {3}schedule\(java\.math\.BigDecimal, java\.util\.Date, java\.util\.Date, com\.example\.Color\)/);
    assert.match(frame, /\[0\] java\.math\.BigDecimal -12345678901234567890\.000000001\n/);
    assert.match(frame, /\[1\] java\.util\.Date 2023-11-14T22:14:00\.000Z\n/);
    assert.match(frame, /\[3\] com\.example\.Color \{ name: "BLUE" \}\n/);
    assert.match(frame, /answer\n {2}java\.lang\.IllegalStateException: order 42 not found\n/);
    await press(view, KEY.escape);
    frame = await waitForText(view, 'TIME');
    frame = await openDetail(view, 'upload');
    assert.match(frame, /\[0\] byte\[\] 102400 bytes: 07 26 45 64 83 a2 c1 e0 ff 1e 3d 5c 7b 9a b9 d8 …\n/);
    view.unmount();
    assert.equal(capture.on, false, 'closing the view lets go of the capture');
    log.close();
  });
});

describe('calls filter', () => {
  const calls = sampleCalls();
  const matching = (text: string, failedOnly = false): number[] =>
    calls.filter((one) => callMatches(one, parseCallFilter(text), failedOnly)).map((one) => one.seq);

  it('matches words against application, service and method, all words together', () => {
    assert.deepEqual(matching(''), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(matching('user-rpc'), [1, 6]);
    assert.deepEqual(matching('USERSERVICE'), [1, 6]);
    assert.deepEqual(matching('app:order svc:OrderService method:place'), [2]);
    assert.deepEqual(matching('app:order method:get'), []);
    assert.deepEqual(matching('#sayHello'), [4]);
    assert.deepEqual(matching('Greeter#'), [4]);
    assert.deepEqual(matching('app:'), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(matching('', true), [2, 3]);
    // A call without a route has no application to match.
    assert.deepEqual(matching('app:pay'), []);
    assert.deepEqual(matching('pay'), [3]);
  });

  it('cuts the interface of a long Interface#method, not the method', () => {
    const placed = call({service: 'com.example.order.OrderService', method: 'placeOrder'});
    assert.deepEqual([30, 23, 16, 13, 11, 6].map((width) => fitCallLabel(placed, width)),
      ['OrderService#placeOrder', 'OrderService#placeOrder', 'Orde…#placeOrder', 'O…#placeOrder', '#placeOrder', '#plac…']);
  });

  it('writes sizes in short human units', () => {
    assert.deepEqual([0, 812, 1024, 1331, 40_213, 1_572_864].map(formatBytes), ['0B', '812B', '1.0K', '1.3K', '39K', '1.5M']);
  });
});
