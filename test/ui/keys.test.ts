import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import type {Key} from 'ink';
import {splitKeys} from '../../src/ui/hooks/use-keys.js';

const NONE: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};

describe('splitKeys', () => {
  it('leaves single keys and escape sequences alone', () => {
    assert.deepEqual(splitKeys('q', NONE), [['q', NONE]]);
    const up = {...NONE, upArrow: true};
    assert.deepEqual(splitKeys('', up), [['', up]]);
    const ctrlC = {...NONE, ctrl: true};
    assert.deepEqual(splitKeys('c', ctrlC), [['c', ctrlC]]);
  });

  it('splits a run into keys with the flags ink sets for each alone', () => {
    const keys = splitKeys(' \rA\t\u007F\u0001x', NONE);
    assert.deepEqual(keys.map(([input]) => input), [' ', '', 'A', '', '', 'a', 'x']);
    assert.equal(keys[1]?.[1].return, true);
    assert.equal(keys[2]?.[1].shift, true);
    assert.equal(keys[3]?.[1].tab, true);
    assert.equal(keys[4]?.[1].backspace, true);
    assert.equal(keys[5]?.[1].ctrl, true);
    assert.equal(keys[6]?.[1].ctrl, false);
  });
});
