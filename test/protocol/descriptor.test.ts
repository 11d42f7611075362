// countArguments and descriptorTypeNames: Dubbo's ReflectUtils.DESC_REGEX grammar.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {ProtocolError} from '../../src/core/errors.js';
import {countArguments, descriptorTypeNames} from '../../src/protocol/descriptor.js';

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

describe('descriptorTypeNames', () => {
  it('names each parameter type the way call --types takes it', () => {
    assert.deepEqual(descriptorTypeNames(''), []);
    assert.deepEqual(descriptorTypeNames('Ljava/lang/String;IJZBCSFD'), ['java.lang.String', 'int', 'long', 'boolean', 'byte', 'char', 'short', 'float', 'double']);
    assert.deepEqual(descriptorTypeNames('[I[[Ljava/lang/String;[Lcom/foo/Bar$Inner;'), ['int[]', 'java.lang.String[][]', 'com.foo.Bar$Inner[]']);
  });

  it('rejects a malformed descriptor like countArguments', () => {
    assert.throws(() => descriptorTypeNames('Ljava/lang/String'), (error: unknown) => error instanceof ProtocolError && error.code === 'DT_ERR_BAD_BODY');
  });
});
