import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {buildArguments, buildGenericArguments, GENERIC_DESCRIPTOR} from '../../src/client/arguments.js';
import {buildDescriptor, parseJavaType, parseTypeList, typeDescriptor} from '../../src/client/java-types.js';
import {DubboTunnelError} from '../../src/core/errors.js';

function badArgument(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DubboTunnelError, `expected DubboTunnelError, got ${String(error)}`);
    assert.equal(error.code, 'DT_ERR_BAD_ARGUMENT');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('Java type names and descriptors', () => {
  test('primitives, classes, java.lang short names, arrays in both spellings, generics erased', () => {
    const cases: [string, string][] = [
      ['int', 'I'], ['long', 'J'], ['boolean', 'Z'], ['double', 'D'], ['float', 'F'], ['short', 'S'], ['byte', 'B'], ['char', 'C'],
      ['java.lang.String', 'Ljava/lang/String;'], ['String', 'Ljava/lang/String;'], ['Integer', 'Ljava/lang/Integer;'],
      ['com.foo.Query', 'Lcom/foo/Query;'], ['com.foo.Outer$Inner', 'Lcom/foo/Outer$Inner;'],
      ['int[]', '[I'], ['java.lang.String[][]', '[[Ljava/lang/String;'], ['[I', '[I'], ['[Ljava.lang.String;', '[Ljava/lang/String;'],
      ['[[J', '[[J'], ['java.util.List<java.lang.String>', 'Ljava/util/List;'], [' java.util.Map<String, List<Integer>> ', 'Ljava/util/Map;'],
    ];
    for (const [name, descriptor] of cases) assert.equal(typeDescriptor(parseJavaType(name)), descriptor, name);
  });

  test('a class, a primitive and a user type in one list: java.lang.String,int,com.foo.Query', () => {
    assert.equal(buildDescriptor(parseTypeList('java.lang.String,int,com.foo.Query')), 'Ljava/lang/String;ILcom/foo/Query;');
    // Commas inside generics do not split the list.
    assert.equal(parseTypeList('java.util.Map<String,Integer>,long').length, 2);
    assert.deepEqual(parseTypeList(''), []);
  });

  test('nonsense type names are usage errors that say what was expected', () => {
    badArgument(() => parseJavaType('void'), /void is not one/);
    badArgument(() => parseJavaType('com..Foo'), /is not a Java type/);
    badArgument(() => parseJavaType('[X'), /array name/);
    badArgument(() => parseTypeList('int,,long'), /without empty entries/);
  });
});

describe('building arguments from command-line text', () => {
  test('inference: string, bare word, int, long, double, boolean, map, POJO, list, null', () => {
    const built = buildArguments([
      '"u-1"', 'bare-word', '42', '-7', '3000000000', '9007199254740993', '1.5', '2.0', 'true',
      '{"a":1}', '{"$class":"com.example.Query","name":"ann"}', '[1,"x"]', 'null',
    ]);
    assert.equal(built.parameterTypes, 'Ljava/lang/String;Ljava/lang/String;IIJJDDZLjava/util/Map;Lcom/example/Query;Ljava/util/List;Ljava/lang/Object;');
    assert.deepEqual(built.args, [
      'u-1', 'bare-word', {$class: 'int', $: 42}, {$class: 'int', $: -7}, {$class: 'long', $: 3000000000},
      // Beyond 2^53 the digits are kept as text so the long stays exact.
      {$class: 'long', $: '9007199254740993'},
      {$class: 'double', $: 1.5}, {$class: 'double', $: 2}, true,
      {a: 1}, {$class: 'com.example.Query', $: {name: 'ann'}}, [1, 'x'], null,
    ]);
  });

  test('hessian.js {$class, $} values name the wire type directly', () => {
    const built = buildArguments(['{"$class":"long","$":5}', '{"$class":"java.lang.Integer","$":null}']);
    assert.equal(built.parameterTypes, 'JLjava/lang/Integer;');
    assert.deepEqual(built.args, [{$class: 'long', $: 5}, {$class: 'java.lang.Integer', $: null}]);
  });

  test('nested values: big integers become longs, "$class" objects become POJOs at any depth', () => {
    const built = buildArguments(['{"id":5000000000,"items":[{"$class":"com.example.Item","sku":"a"}],"plain":{"k":1}}']);
    assert.deepEqual(built.args[0], {
      id: {$class: 'long', $: 5000000000},
      items: [{$class: 'com.example.Item', $: {sku: 'a'}}],
      plain: {k: 1},
    });
  });

  test('--types shapes each value the way hessian-lite writes the type', () => {
    const built = buildArguments(
      ['5', '"7"', '123', '1', '[1,2]', '["a","b"]', '"AAEC"', '"RED"', '{"name":"ann"}', '12.50', 'null', '[[1],[2,3]]'],
      parseTypeList('long,java.lang.Long,String,double,int[],String[],byte[],com.example.Color,com.example.Query,java.math.BigDecimal,java.lang.Integer,long[][]'),
    );
    assert.equal(built.parameterTypes,
      'JLjava/lang/Long;Ljava/lang/String;D[I[Ljava/lang/String;[BLcom/example/Color;Lcom/example/Query;Ljava/math/BigDecimal;Ljava/lang/Integer;[[J');
    assert.deepEqual(built.args, [
      {$class: 'long', $: 5},
      {$class: 'long', $: 7},
      '123', // a String parameter takes the text as is
      {$class: 'double', $: 1},
      {$class: '[int', $: [{$class: 'int', $: 1}, {$class: 'int', $: 2}]},
      {$class: '[string', $: ['a', 'b']},
      Buffer.from([0, 1, 2]),
      {$class: 'com.example.Color', $: {name: 'RED'}},
      {$class: 'com.example.Query', $: {name: 'ann'}},
      {$class: 'java.math.BigDecimal', $: {value: '12.50'}},
      null,
      {$class: '[[long', $: [{$class: '[long', $: [{$class: 'long', $: 1}]}, {$class: '[long', $: [{$class: 'long', $: 2}, {$class: 'long', $: 3}]}]},
    ]);
    assert.deepEqual(built.typeNames.slice(0, 3), ['long', 'java.lang.Long', 'java.lang.String']);
  });

  test('mistakes are usage errors naming the argument and the type', () => {
    badArgument(() => buildArguments(['1', '2'], parseTypeList('int')), /names 1 type\(s\) but 2 argument/);
    badArgument(() => buildArguments(['{"a":'], undefined), /argument 1 is not valid JSON/);
    badArgument(() => buildArguments(['3000000000'], parseTypeList('int')), /argument 1 \(int\): 3000000000 is out of range/);
    badArgument(() => buildArguments(['300'], parseTypeList('byte')), /out of range \(-128 to 127\)/);
    badArgument(() => buildArguments(['null'], parseTypeList('int')), /argument 1 \(int\) cannot be null/);
    badArgument(() => buildArguments(['1.5'], parseTypeList('long')), /expected a whole number/);
    badArgument(() => buildArguments(['"x"'], parseTypeList('boolean')), /expected true or false/);
    badArgument(() => buildArguments(['[1]'], parseTypeList('java.util.Map')), /expected a JSON object/);
    badArgument(() => buildArguments(['{}'], parseTypeList('java.util.List')), /expected a JSON array/);
    badArgument(() => buildArguments(['5'], parseTypeList('com.example.Query')), /expected a JSON object for a com.example.Query/);
    badArgument(() => buildArguments(['"ab"'], parseTypeList('char')), /exactly one character/);
    badArgument(() => buildArguments(['["x"]'], parseTypeList('int[]')), /argument 1 element 1 \(int\): expected a whole number/);
    badArgument(() => buildArguments(['99999999999999999999'], parseTypeList('long')), /does not fit in a Java long/);
  });
});

describe('generic ($invoke) arguments', () => {
  test('types null without --types; POJOs become maps with "class"; args wrapped as Object[]', () => {
    const built = buildGenericArguments('findUsers', ['{"$class":"com.example.Query","name":"ann","page":{"$class":"com.example.Page","size":10}}', '"x"']);
    assert.equal(built.parameterTypes, GENERIC_DESCRIPTOR);
    assert.deepEqual(built.args, [
      'findUsers',
      null,
      {$class: '[object', $: [{class: 'com.example.Query', name: 'ann', page: {class: 'com.example.Page', size: 10}}, 'x']},
    ]);
  });

  test('with --types the names go as a String[] in Java source spelling', () => {
    const built = buildGenericArguments('getOrder', ['42', '[1]'], parseTypeList('long,int[]'));
    assert.deepEqual(built.args[1], {$class: '[string', $: ['long', 'int[]']});
    assert.deepEqual(built.args[2], {$class: '[object', $: [{$class: 'long', $: 42}, {$class: '[int', $: [{$class: 'int', $: 1}]}]});
  });
});
