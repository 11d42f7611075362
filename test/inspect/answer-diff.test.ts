// replay's diff of a recorded and a replayed answer: path by path, in the recording's value form.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {MAX_DIFFERENCES, describeAnswer, diffAnswers, formatDifference} from '../../src/inspect/answer-diff.js';
import type {CallAnswer} from '../../src/inspect/call-record.js';

const value = (v: unknown): CallAnswer => ({kind: 'value', value: v});
const lines = (a: CallAnswer | undefined, b: CallAnswer | undefined) => diffAnswers(a, b).map(formatDifference);

describe('diffAnswers', () => {
  test('equal answers have no differences, whatever their attachments', () => {
    const order = {$class: 'com.example.Order', id: 7, items: [{sku: 'a', price: 10.5}], note: null};
    assert.deepEqual(diffAnswers({kind: 'value', value: order, attachments: {traceId: '1'}}, {kind: 'value', value: structuredClone(order), attachments: {traceId: '2'}}), []);
    assert.deepEqual(diffAnswers({kind: 'exception', className: 'java.lang.IllegalStateException', message: 'gone'}, {kind: 'exception', className: 'java.lang.IllegalStateException', message: 'gone'}), []);
    assert.deepEqual(diffAnswers(undefined, undefined), []);
  });

  test('a changed field deep in a POJO is named by its path', () => {
    const recorded = {$class: 'com.example.Order', items: [{price: 1}, {price: 2}, {price: 10.5, 'unit name': 'kg'}]};
    const replayed = {$class: 'com.example.Order', items: [{price: 1}, {price: 2}, {price: 11, 'unit name': 'g'}]};
    assert.deepEqual(lines(value(recorded), value(replayed)), ['$.items[2].price: 10.5 → 11', '$.items[2]["unit name"]: "kg" → "g"']);
  });

  test('missing and added elements and fields, a changed class, a changed type', () => {
    assert.deepEqual(lines(value({a: 1, list: [1, 2, 3]}), value({list: [1, 2], b: true})), ['$.a: 1 → (none)', '$.list[2]: 3 → (none)', '$.b: (none) → true']);
    assert.deepEqual(lines(value({$class: 'com.example.A'}), value({$class: 'com.example.B'})), ['$.$class: "com.example.A" → "com.example.B"']);
    assert.deepEqual(lines(value('7'), value(7)), ['$: "7" → 7']);
    assert.deepEqual(lines(value({x: [1]}), value({x: {0: 1}})), ['$.x: [1] → {"0":1}']);
  });

  test('a value that became an exception, and exceptions that differ, say so', () => {
    assert.deepEqual(lines(value(1), {kind: 'exception', className: 'java.lang.IllegalArgumentException', message: 'bad id'}), ['answer: value 1 → exception java.lang.IllegalArgumentException: bad id']);
    assert.deepEqual(lines({kind: 'exception', className: 'a.B', message: 'x'}, {kind: 'exception', className: 'a.C', message: 'y'}), ['exception class: a.B → a.C', 'exception message: "x" → "y"']);
    assert.deepEqual(lines({kind: 'error', code: 'DT_ERR_NO_ROUTE', message: 'no route'}, {kind: 'error', code: 'DT_ERR_BACKEND_UNAVAILABLE', message: 'down'}), ['error: error [DT_ERR_NO_ROUTE] no route → error [DT_ERR_BACKEND_UNAVAILABLE] down']);
    assert.deepEqual(lines(value(1), undefined), ['answer: value 1 → (no answer)']);
  });

  test('long values are cut, and a diff of very different answers stops with a marker', () => {
    const [first] = lines(value('x'.repeat(500)), value('y'));
    assert.ok(first !== undefined && first.length < 120, first);
    const many = diffAnswers(value(Array.from({length: 200}, (_, i) => i)), value(Array.from({length: 200}, (_, i) => -i - 1)));
    assert.equal(many.length, MAX_DIFFERENCES + 1);
    assert.equal(many.at(-1)?.path, '…');
    assert.equal(describeAnswer({kind: 'undecoded', reason: 'kryo', hexHead: '00'}), 'undecoded (kryo)');
  });
});
