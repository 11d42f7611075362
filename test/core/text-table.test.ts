// The one column layout of `ls`, `config list` and the doctor's tables.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {textTable} from '../../src/core/text-table.js';

describe('textTable', () => {
  test('each column as wide as its widest cell, the gap between, the last column unpadded', () => {
    assert.deepEqual(textTable([['NAME', 'PORT', 'READY'], ['user-rpc', '20880', '1'], ['pay', 'dubbo:20880', '12']], '   '), [
      'NAME       PORT          READY',
      'user-rpc   20880         1',
      'pay        dubbo:20880   12',
    ]);
  });

  test('another gap; no rows, no lines', () => {
    assert.deepEqual(textTable([['a', 'bb'], ['ccc', 'd']], '  '), ['a    bb', 'ccc  d']);
    assert.deepEqual(textTable([], '  '), []);
  });
});
