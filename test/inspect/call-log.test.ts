// The ring of recent calls on a real bus: decoding off the emit, bounds overall and per
// application, notifications at most every interval, records in order, capture held while open.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {CallCapture} from '../../src/core/calls.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {CallLog, DECODE_BATCH, DECODE_BUDGET_MS, DECODE_WINDOW_MS} from '../../src/inspect/call-log.js';
import type {CallRecord} from '../../src/inspect/call-record.js';
import {Redaction} from '../../src/inspect/redaction.js';
import {dubboCall, fixtureBody} from './captured.js';

const request = fixtureBody('req-nulls.bin');
const answer = fixtureBody('resp-null-attachments.bin');

function callOf(application: string, connectionId = 1) {
  return dubboCall(request, answer, {completed: {application, connectionId}});
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** For the tests of the ring: without a recording the log decodes within a budget per window, which has tests of its own below. */
const NO_BUDGET = {decodeBudgetMs: Number.POSITIVE_INFINITY};
/** A call as the listener reports it: its completion, then (captured) its copies right after. */
function completeCall(bus: TunnelEventBus, call: ReturnType<typeof callOf>): void {
  bus.emit('request-completed', call.completed);
  bus.emit('call-captured', call);
}
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

describe('CallLog', () => {
  test('decodes off the emit, on the next turn, and numbers calls in order', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture()});
    const heard: CallRecord[] = [];
    log.onRecord((record) => heard.push(record));
    bus.emit('call-captured', callOf('users-app'));
    bus.emit('call-captured', callOf('users-app', 2));
    assert.equal(log.snapshot().length, 0, 'nothing is decoded inside emit');
    await nextTurn();
    assert.deepEqual(log.snapshot().map((record) => [record.seq, record.connectionId, record.method]), [[1, 1, 'find'], [2, 2, 'find']]);
    assert.deepEqual(heard.map((record) => record.seq), [1, 2]);
    assert.equal(heard[0], log.snapshot()[0], 'the recorder and the view get the same record');
    log.close();
  });

  test('keeps at most `size` calls, the newest', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture(), size: 3, ...NO_BUDGET});
    for (let i = 1; i <= 5; i++) bus.emit('call-captured', callOf('users-app', i));
    await nextTurn();
    assert.deepEqual(log.snapshot().map((record) => record.connectionId), [3, 4, 5]);
    log.close();
  });

  test('one busy application cannot push the others out: at most `perApplication` calls each', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture(), size: 5, perApplication: 2, ...NO_BUDGET});
    bus.emit('call-captured', callOf('quiet-app', 1));
    for (let i = 2; i <= 9; i++) bus.emit('call-captured', callOf('busy-app', i));
    await nextTurn();
    assert.deepEqual(log.snapshot().map((record) => [record.application, record.connectionId]), [['quiet-app', 1], ['busy-app', 8], ['busy-app', 9]]);
    for (let i = 10; i <= 13; i++) bus.emit('call-captured', callOf(`app-${i}`, i));
    await nextTurn();
    // Overall bound: the quiet one is now the oldest of six and goes.
    assert.deepEqual(log.snapshot().map((record) => record.connectionId), [8, 9, 10, 11, 12, 13].slice(-5));
    log.close();
  });

  test('a burst is decoded a slice per turn; the default sizes: 500 overall and per application', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture()});
    const heard: number[] = [];
    log.onRecord((record) => heard.push(record.seq));
    for (let i = 1; i <= 520; i++) bus.emit('call-captured', callOf('users-app', i));
    await nextTurn();
    assert.equal(log.snapshot().length, DECODE_BATCH);
    await nextTurn();
    await nextTurn();
    assert.deepEqual(heard, Array.from({length: 520}, (_, i) => i + 1), 'every record, in order');
    assert.equal(log.snapshot().length, 500);
    assert.equal(log.snapshot()[0]?.connectionId, 21);
    log.close();
  });

  test('the kept calls weigh at most maxBytes of captures; the newest stays even when it alone weighs more', async () => {
    const bus = new TunnelEventBus();
    const oneCall = callOf('users-app');
    const weight = oneCall.request.length + (oneCall.answer?.length ?? 0);
    const log = new CallLog({bus, capture: new CallCapture(), maxBytes: weight * 3, ...NO_BUDGET});
    for (let i = 1; i <= 5; i++) bus.emit('call-captured', callOf('users-app', i));
    await nextTurn();
    assert.deepEqual(log.snapshot().map((record) => record.connectionId), [3, 4, 5]);
    const big = dubboCall(fixtureBody('req-bytes-100k.bin'), undefined, {completed: {application: 'users-app', connectionId: 6}});
    bus.emit('call-captured', big);
    await nextTurn();
    assert.deepEqual(log.snapshot().map((record) => record.connectionId), [6]);
    log.close();
  });

  test('subscribers hear at most once per interval, and hear the last calls too', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture(), notifyMs: 400, ...NO_BUDGET});
    const heardAt: number[] = [];
    log.subscribe(() => heardAt.push(performance.now()));
    bus.emit('call-captured', callOf('users-app'));
    await nextTurn();
    assert.equal(heardAt.length, 1, 'the first batch is told at once');
    for (let i = 0; i < 5; i++) {
      bus.emit('call-captured', callOf('users-app'));
      await nextTurn();
    }
    while (heardAt.length < 2) await sleep(20);
    assert.equal(heardAt.length, 2, 'one notification for all later batches');
    assert.ok((heardAt[1] ?? 0) - (heardAt[0] ?? 0) >= 395, `${(heardAt[1] ?? 0) - (heardAt[0] ?? 0)} ms between notifications`);
    assert.equal(log.snapshot().length, 6);
    await sleep(450);
    assert.equal(heardAt.length, 2, 'nothing new, nothing told');
    log.close();
  });

  test('the snapshot is the same array until calls are added', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture(), ...NO_BUDGET});
    bus.emit('call-captured', callOf('users-app'));
    await nextTurn();
    const first = log.snapshot();
    assert.equal(log.snapshot(), first);
    bus.emit('call-captured', callOf('users-app'));
    await nextTurn();
    assert.notEqual(log.snapshot(), first);
    assert.equal(first.length, 1, 'a snapshot handed out does not change');
    log.close();
  });

  test('open() holds the capture until its release; releasing twice is harmless', () => {
    const capture = new CallCapture();
    const log = new CallLog({bus: new TunnelEventBus(), capture});
    assert.equal(capture.on, false);
    const release = log.open();
    const other = capture.hold();
    assert.equal(capture.on, true);
    release();
    release();
    assert.equal(capture.on, true, 'another holder still holds it');
    other();
    assert.equal(capture.on, false);
    log.close();
  });

  test('attachments are redacted with the given names; a failing reader is logged and the others go on', async () => {
    const bus = new TunnelEventBus();
    const logs: string[] = [];
    bus.on('log', ({message}) => logs.push(message));
    const log = new CallLog({bus, capture: new CallCapture(), redaction: new Redaction(['remote.app'])});
    log.onRecord(() => {
      throw new Error('disk full');
    });
    const seen: number[] = [];
    log.onRecord((record) => seen.push(record.seq));
    bus.emit('call-captured', callOf('users-app'));
    await nextTurn();
    assert.deepEqual(seen, [1]);
    assert.match(logs.join('\n'), /a reader of call records failed: disk full/);
    assert.equal(log.snapshot()[0]?.attachments['remote.application'], '<redacted>');
    assert.equal(log.snapshot()[0]?.attachments['path'], 'com.example.UserService');
    log.close();
  });

  test('close() decodes what was captured and stops listening', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture()});
    bus.emit('call-captured', callOf('users-app'));
    log.close();
    assert.equal(log.snapshot().length, 1);
    bus.emit('call-captured', callOf('users-app'));
    await nextTurn();
    assert.equal(log.snapshot().length, 1);
    assert.equal(bus.listenerCount('call-captured'), 0);
  });

  test('while only a view reads it, decoding stays within its budget per window: the newest calls are decoded, the older ones beyond the ring skipped and counted', async () => {
    const bus = new TunnelEventBus();
    const capture = new CallCapture();
    const log = new CallLog({bus, capture, size: 5, decodeBudgetMs: 0, decodeWindowMs: 40});
    const release = log.open();
    let told = 0;
    log.subscribe(() => told++);
    for (let i = 1; i <= 20; i++) completeCall(bus, callOf('users-app', i));
    await nextTurn();
    assert.deepEqual(log.snapshot().map((record) => record.connectionId), [1], 'a window\'s first slice decodes at least one call, however small the budget');
    assert.equal(capture.on, true);
    await nextTurn();
    assert.equal(log.skipped(), 14, 'over the budget: what waits beyond the ring\'s five is skipped, not decoded');
    assert.equal(log.snapshot().length, 1, 'and nothing more is decoded in this window');
    assert.equal(capture.on, false, 'nor copied: the view\'s capture is let go until the next window');
    // Calls completed meanwhile were not captured: counted as skipped. One that was captured (it
    // arrived before) is emitted right after its completion and is not.
    bus.emit('request-completed', callOf('users-app', 21).completed);
    completeCall(bus, callOf('users-app', 22));
    assert.equal(log.skipped(), 15);
    await waitUntil(() => capture.on);
    while (log.snapshot().at(-1)?.connectionId !== 22) await sleep(10);
    assert.deepEqual(log.snapshot().map((record) => record.connectionId).slice(-4), [18, 19, 20, 22], 'the newest, one window after another');
    const decoded = log.snapshot().at(-1)?.seq ?? 0;
    assert.equal(decoded + log.skipped(), 22, `every call of the 22 was decoded (${decoded}) or counted as skipped (${log.skipped()})`);
    assert.ok(told >= 2, 'subscribers hear of skipped calls too');
    release();
    assert.equal(capture.on, false, 'the last view let go');
    log.close();
  });

  test('the default budget is a fifth of each window', () => {
    assert.equal(DECODE_BUDGET_MS / DECODE_WINDOW_MS, 0.2);
  });

  test('a recording reads every call: no budget, nothing skipped', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture(), size: 5, decodeBudgetMs: 0, decodeWindowMs: 40});
    const heard: number[] = [];
    log.onRecord((record) => heard.push(record.connectionId));
    for (let i = 1; i <= 20; i++) completeCall(bus, callOf('users-app', i));
    await nextTurn();
    assert.deepEqual(heard, Array.from({length: 20}, (_, i) => i + 1));
    assert.equal(log.skipped(), 0);
    log.close();
  });

  test('while it waits for the next window, at most twice the ring\'s size of captured calls is held', async () => {
    const bus = new TunnelEventBus();
    const log = new CallLog({bus, capture: new CallCapture(), size: 5, decodeBudgetMs: 0, decodeWindowMs: 10_000});
    completeCall(bus, callOf('users-app', 1));
    await nextTurn();
    completeCall(bus, callOf('users-app', 2));
    await nextTurn();
    assert.equal(log.snapshot().length, 1, 'the budget is spent: waiting for the next window');
    for (let i = 3; i <= 100; i++) completeCall(bus, callOf('users-app', i));
    // 99 waited: each time they passed ten, the oldest beyond five were skipped.
    assert.ok(log.skipped() >= 99 - 10 && log.skipped() <= 99 - 5, `${log.skipped()} skipped`);
    log.flush();
    assert.deepEqual(log.snapshot().map((record) => record.connectionId), [96, 97, 98, 99, 100], 'flush() decodes what waits at once');
    log.close();
  });
});
