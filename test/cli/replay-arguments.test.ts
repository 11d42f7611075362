// A recorded call sent again is the call that was recorded: arguments decoded into the value form
// (decodeCall) and encoded back from it with their parameter types (replay's dubboRequestOf, the
// arguments of `call`) give a request frame byte for byte equal to the first one, for the types
// JSON has no word for too (BigDecimal, Date, byte[], NaN), inside POJOs, lists and maps.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {buildArguments} from '../../src/client/arguments.js';
import {parseTypeList} from '../../src/client/java-types.js';
import {encodeRequest, requestAttachments} from '../../src/client/dubbo-client.js';
import type {CallOptions} from '../../src/client/dubbo-client.js';
import {dubboRequestOf} from '../../src/cli/replay-send.js';
import {decodeCall} from '../../src/inspect/decode-call.js';
import {Redaction} from '../../src/inspect/redaction.js';
import {AT, completed} from '../inspect/captured.js';

function recordOf(frame: Buffer) {
  return decodeCall({protocol: 'dubbo', at: AT, origin: 'consumer', completed: completed({application: 'order-rpc'}), request: {bytes: frame, length: frame.length}, answer: undefined}, 1, new Redaction());
}

const CASES: {name: string; types: string; args: string[]}[] = [
  {name: 'strings, numbers, booleans, a long beyond 2^53', types: 'java.lang.String,int,long,double,boolean', args: ['"u-1"', '7', '9223372036854775807', '12.5', 'true']},
  {name: 'BigDecimal, Date and byte[] parameters', types: 'java.math.BigDecimal,java.util.Date,byte[]', args: ['"19.99"', '"2023-11-14T22:13:20.000Z"', '"AAECAw=="']},
  {name: 'a POJO with a nested BigDecimal, Date, enum, list and map', types: 'com.example.Order', args: [JSON.stringify({
    $class: 'com.example.Order', id: 42, total: {$class: 'java.math.BigDecimal', $: '10.50'}, at: {$class: 'java.util.Date', $: '2023-11-14T22:13:20.000Z'},
    color: {$class: 'com.example.Color', name: 'RED'}, tags: ['a', 'b'], extra: {k: 'v'},
  })]},
  {name: 'a List and a Map parameter', types: 'java.util.List,java.util.Map', args: ['[1, "two", null]', '{"a": 1, "b": [true]}']},
];

describe('a recorded call re-encodes to the same request', () => {
  for (const {name, types, args} of CASES) {
    test(name, () => {
      const encoded = buildArguments(args, parseTypeList(types));
      const original: CallOptions = {
        host: '127.0.0.1', port: 1, application: 'order-rpc', service: 'com.example.OrderService', method: 'place',
        parameterTypes: encoded.parameterTypes, args: encoded.args, attachments: {'x-trace': 't-1'}, timeoutMs: 5000,
      };
      const frame = encodeRequest(original);
      const record = recordOf(frame);
      assert.ok(record.arguments !== undefined, JSON.stringify(record.undecodedRequest));
      // Through JSON, as a recording line carries it.
      const reread = JSON.parse(JSON.stringify(record)) as typeof record;
      const again = dubboRequestOf(reread, {host: '127.0.0.1', port: 1, to: undefined, attachmentKey: 'target-application', timeoutMs: 5000});
      assert.equal(again.parameterTypes, original.parameterTypes);
      assert.deepEqual(encodeRequest(again).toString('hex'), frame.toString('hex'));
    });
  }

  test('a NaN double goes back as NaN', () => {
    const record = recordOf(encodeRequest({
      application: 'a', service: 'com.example.S', method: 'm', parameterTypes: 'D', args: [{$class: 'double', $: Number.NaN}], timeoutMs: 5000,
    }));
    assert.deepEqual(record.arguments, [{$class: 'double', $: 'NaN'}]);
    const again = dubboRequestOf(record, {host: '127.0.0.1', port: 1, to: undefined, attachmentKey: 'target-application', timeoutMs: 5000});
    assert.deepEqual(again.args, [{$class: 'double', $: Number.NaN}]);
  });

  test('a call that had no route keeps its recorded target-application; --to replaces it', () => {
    const frame = encodeRequest({application: 'nope-rpc', service: 'com.example.S', method: 'm', parameterTypes: '', args: [], timeoutMs: 5000});
    const record = decodeCall({protocol: 'dubbo', at: AT, origin: 'consumer', completed: completed({application: undefined}), request: {bytes: frame, length: frame.length}, answer: undefined}, 1, new Redaction());
    assert.equal(record.application, undefined);
    const target = {host: '127.0.0.1', port: 1, attachmentKey: 'target-application', timeoutMs: 5000};
    assert.equal(requestAttachments(dubboRequestOf(record, {...target, to: undefined}))['target-application'], 'nope-rpc');
    assert.equal(requestAttachments(dubboRequestOf(record, {...target, to: 'user-rpc'}))['target-application'], 'user-rpc');
  });
});
