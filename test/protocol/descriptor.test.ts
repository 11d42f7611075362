// countArguments: Dubbo's ReflectUtils.DESC_REGEX grammar.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {ProtocolError} from '../../src/core/errors.js';
import {countArguments} from '../../src/protocol/descriptor.js';

describe('countArguments', () => {
  const valid: [string, number][] = [
    ['', 0],
    ['I', 1],
    ['VZBCDFIJS', 9],
    ['Ljava/lang/String;', 1],
    ['Ljava/lang/String;I[Lcom/foo/Bar;', 3],
    ['[[I[[[Ljava/lang/Object;J', 3],
    ['Ljava/lang/String;[Ljava/lang/String;[Ljava/lang/Object;', 3], // generic $invoke
    ['Lcom/foo/Outer$Inner;Lcom/foo/_x$1;', 2],
    ['Lcom/例子/服务;', 1],
    ['LBar;', 1], // default package
  ];
  for (const [desc, n] of valid) {
    it(`counts ${n} in ${JSON.stringify(desc)}`, () => assert.equal(countArguments(desc), n));
  }

  const invalid: [string, RegExp][] = [
    ['Ljava/lang/String', /no closing ";"/],
    ['[', /has no element type/],
    ['I[', /has no element type/],
    ['X', /unexpected "X" at index 0/],
    ['L;', /empty class name/],
    ['Ljava//String;', /empty package or class name/],
    ['Ljava/lang/String;;', /unexpected ";"/],
    ['Lfoo bar;', /unexpected " " in a class name/],
    ['Ljava.lang.String;', /unexpected "\." in a class name/],
    ['i', /unexpected "i"/],
  ];
  for (const [desc, message] of invalid) {
    it(`rejects ${JSON.stringify(desc)}`, () => {
      assert.throws(
        () => countArguments(desc),
        (e: unknown) => e instanceof ProtocolError && e.code === 'DT_ERR_BAD_BODY' && message.test(e.message) && e.message.includes('descriptor'),
      );
    });
  }
});
