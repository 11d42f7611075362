// The value form round trip: a recorded call's parameter types and the JSON of each argument, given
// to `call`'s argument builder (src/client/arguments.ts), encode to Hessian values that decode to
// the same record, for every request Java wrote (test/fixtures/java-hessian).
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import hessian from 'hessian.js';
import {buildArguments} from '../../src/client/arguments.js';
import {parseJavaType} from '../../src/client/java-types.js';
import {encodeRequest} from '../../src/client/dubbo-client.js';
import {decodeCall} from '../../src/inspect/decode-call.js';
import {toValueForm} from '../../src/inspect/java-values.js';
import {Redaction} from '../../src/inspect/redaction.js';
import {EXPECTED_ARGUMENTS} from './java-expected.js';
import {captured, completed, fixtureBody} from './captured.js';
import type {CapturedDubboCall} from '../../src/core/calls.js';

const redaction = new Redaction();

function recordOf(frame: Buffer) {
  const call: CapturedDubboCall = {protocol: 'dubbo', at: 0, origin: 'consumer', completed: completed(), request: captured(frame), answer: undefined};
  return decodeCall(call, 1, redaction);
}

function frameOf(body: Buffer): Buffer {
  const frame = Buffer.alloc(16 + body.length);
  frame.writeUInt16BE(0xdabb, 0);
  frame[2] = 0xc2;
  frame.writeInt32BE(body.length, 12);
  body.copy(frame, 16);
  return frame;
}

describe('value form round trip through call\'s arguments', () => {
  for (const file of Object.keys(EXPECTED_ARGUMENTS)) {
    test(file, () => {
      const recorded = recordOf(frameOf(fixtureBody(file)));
      assert.ok(recorded.arguments !== undefined && recorded.service !== undefined && recorded.method !== undefined);
      // What a recording line holds: JSON text of each argument.
      const texts = recorded.arguments.map((arg) => JSON.stringify(arg));
      const encoded = buildArguments(texts, recorded.parameterTypes.map(parseJavaType));
      assert.deepEqual(encoded.typeNames, recorded.parameterTypes);
      const frame = encodeRequest({
        application: 'x', service: recorded.service, method: recorded.method,
        parameterTypes: encoded.parameterTypes, args: encoded.args, timeoutMs: 3000, ...(recorded.version !== undefined ? {version: recorded.version} : {}),
      });
      const again = recordOf(frame);
      assert.equal(again.undecodedRequest, undefined);
      assert.deepEqual(again.parameterTypes, recorded.parameterTypes, 'the same descriptor');
      assert.deepEqual(again.arguments, recorded.arguments);
    });
  }

  test('the forms JSON has no word for encode as the Java types', () => {
    const encoded = buildArguments(
      ['{"$class":"java.util.Date","$":"2023-11-14T22:14:00.123Z"}', '{"$class":"java.math.BigDecimal","$":"19.99"}', '{"$class":"byte[]","$":"AAEC","size":3}', '{"$class":"double","$":"-Infinity"}', '"NaN"'],
      ['java.util.Date', 'java.math.BigDecimal', 'byte[]', 'double', 'java.lang.Double'].map(parseJavaType),
    );
    const encoder = new hessian.EncoderV2();
    for (const arg of encoded.args) encoder.write(arg);
    const decoder = new hessian.DecoderV2(encoder.get());
    const values = encoded.args.map(() => decoder.read(true));
    assert.deepEqual(values[0], new Date('2023-11-14T22:14:00.123Z'));
    assert.deepEqual(values[1], {$class: 'java.math.BigDecimal', $: {value: '19.99'}});
    assert.deepEqual(values[2], Buffer.from([0, 1, 2]));
    assert.equal(values[3], Number.NEGATIVE_INFINITY);
    assert.ok(Number.isNaN(values[4]));
    assert.deepEqual(values.map(toValueForm), [
      {$class: 'java.util.Date', $: '2023-11-14T22:14:00.123Z'},
      {$class: 'java.math.BigDecimal', $: '19.99'},
      {$class: 'byte[]', $: 'AAEC', size: 3},
      {$class: 'double', $: '-Infinity'},
      {$class: 'double', $: 'NaN'},
    ]);
  });

  test('the same forms nested in a POJO, inferred from "$class"', () => {
    const encoded = buildArguments(['{"$class":"com.example.Item","price":{"$class":"java.math.BigDecimal","$":"5.00"},"at":{"$class":"java.util.Date","$":"2023-11-14T22:14:00.000Z"},"blob":{"$class":"byte[]","$":"/w==","size":1}}']);
    assert.deepEqual(encoded.typeNames, ['com.example.Item']);
    const decoded = new hessian.DecoderV2(new hessian.EncoderV2().write(encoded.args[0]).get()).read(true);
    assert.deepEqual(toValueForm(decoded), {
      $class: 'com.example.Item',
      price: {$class: 'java.math.BigDecimal', $: '5.00'},
      at: {$class: 'java.util.Date', $: '2023-11-14T22:14:00.000Z'},
      blob: {$class: 'byte[]', $: '/w==', size: 1},
    });
  });
});
